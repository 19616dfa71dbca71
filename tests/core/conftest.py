"""Fixtures for the core tests: the offline simulator and rxpro exchanges attached to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from reactivex import Observable

import rxpro
from rxpro._hub import Subscription
from rxpro._stream import Stream
from rxpro.testing import Simulator, SimulatorConfig


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # looped so that streams never go quiet however long a test runs at full speed
    async with Simulator(SimulatorConfig(speed=None, loop=True)) as simulator:
        yield simulator


@pytest.fixture
async def sim_once() -> AsyncIterator[Simulator]:
    """The recording played once, as fast as possible."""
    async with Simulator(SimulatorConfig(speed=None)) as simulator:
        yield simulator


@pytest.fixture
async def binance(sim: Simulator) -> AsyncIterator[Any]:
    ex = sim.attach(rxpro.binance())
    try:
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def okx(sim: Simulator) -> AsyncIterator[Any]:
    ex = sim.attach(rxpro.okx())
    try:
        yield ex
    finally:
        await ex.close()


class Collector:
    """Subscribes to an Observable and records what it sees, with awaitable conditions."""

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

    async def until(self, condition: Callable[[Collector], bool], timeout: float = 30.0) -> Collector:
        async def wait() -> None:
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
        return self

    async def count(self, n: int, timeout: float = 30.0) -> Collector:
        return await self.until(lambda c: len(c.items) >= n or bool(c.errors), timeout)

    async def error(self, timeout: float = 30.0) -> BaseException:
        await self.until(lambda c: bool(c.errors), timeout)
        return self.errors[0]

    def dispose(self) -> None:
        self.disposable.dispose()


@pytest.fixture
def collect() -> Callable[[Observable[Any]], Collector]:
    made: list[Collector] = []

    def make(source: Observable[Any]) -> Collector:
        c = Collector(source)
        made.append(c)
        return c

    yield make  # type: ignore[misc]
    for c in made:
        c.dispose()


def subscribe_frames(sim: Simulator, method: str = "SUBSCRIBE", needle: str | None = None) -> list[Any]:
    """The Binance SUBSCRIBE/UNSUBSCRIBE frames the simulator received (optionally for one stream name)."""
    frames = []
    for frame in sim.received:
        data = frame.data
        if isinstance(data, dict) and data.get("method") == method:
            if needle is None or any(needle in p for p in data.get("params", [])):
                frames.append(data)
    return frames


@pytest.fixture
async def sim_binance_factory(sim: Simulator) -> AsyncIterator[Callable[[], Any]]:
    made: list[Any] = []

    def make() -> Any:
        ex = sim.attach(rxpro.binance())
        made.append(ex)
        return ex

    yield make
    for ex in made:
        await ex.close()


def route(exchange: Any, client: Any, method: str, hashes: list[str], arguments: dict[str, Any]) -> list[Any]:
    """A stream routed on ``hashes`` of ``client`` (what a watch call registers), collecting emissions."""
    received: list[Any] = []

    class Sink:
        def on_next(self, value: Any) -> None:
            received.append(value)

        def on_error(self, error: Exception) -> None:
            raise error

        def on_completed(self) -> None:
            pass

    async def never() -> None:
        return None

    stream = Stream(method, method, arguments, method, None, None, exchange, lambda _: None)
    stream.observers = (Sink(),)  # type: ignore[assignment]
    # what a running watch call registers
    exchange._rx_hub.route(Subscription(stream, never, None), client, hashes)
    return received
