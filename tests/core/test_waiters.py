"""Who waits on a subscription: rxpro un-watches when its last subscriber leaves, unless an
awaitable ``watch_*`` outside rxpro still waits on it.

rxpro's own watch calls, and the futures a settled ccxt ``Future.race`` leaves behind, are not
"someone waiting"; an awaitable that picked up the same future is — also while rxpro's call
is still on its way. (Each scenario was a reproduced bug of an earlier hub.)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import ccxt
import pytest
from reactivex import operators as ops

import rxpro
from rxpro.testing import Simulator, SimulatorConfig

pytestmark = pytest.mark.timeout(60)


def _unsubscribes(sim: Simulator) -> list[Any]:
    return [
        f.data for f in sim.received
        if isinstance(f.data, dict) and (f.data.get("method") == "UNSUBSCRIBE" or f.data.get("op") == "unsubscribe")
    ]


def _is_unsubscribe(frame: Any) -> bool:
    data = frame.data
    return isinstance(data, dict) and (data.get("method") == "UNSUBSCRIBE" or data.get("op") == "unsubscribe")


class AwaitLoop:
    """A plain ccxt.pro ``await watch_trades`` loop, as users write it."""

    def __init__(self, ex: Any, symbol: str) -> None:
        self.iterations = 0
        self.errors: list[BaseException] = []
        self.task = asyncio.ensure_future(self._run(ex, symbol))

    async def _run(self, ex: Any, symbol: str) -> None:
        try:
            while True:
                await ex.watch_trades(symbol)
                self.iterations += 1
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - what the test checks
            self.errors.append(error)

    async def more(self, n: int, timeout: float = 30) -> None:
        target = self.iterations + n
        async with asyncio.timeout(timeout):
            while self.iterations < target and not self.errors:
                await asyncio.sleep(0.01)
        assert self.errors == []

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_an_awaitable_joining_the_observables_call_in_flight_keeps_its_subscription() -> None:
    async with Simulator(SimulatorConfig(speed=None, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        await ex.load_markets()
        loop: AwaitLoop | None = None
        try:
            sim.stall(5000)  # the first update is held back: the Observable's watch call stays in flight
            subscription = rxpro.trades(ex, "BTC/USDT").subscribe(lambda _: None)
            await sim.wait_for_received(lambda f: isinstance(f.data, dict) and f.data.get("params") == ["btcusdt@trade"])
            loop = AwaitLoop(ex, "BTC/USDT")
            for _ in range(5):
                await asyncio.sleep(0)  # the await loop now waits on the same pending future
            subscription.dispose()
            assert not ex._rx_hub.unwatching  # someone else waits: decided at once
            await loop.more(50)  # the awaitable keeps working after the data comes
            assert _unsubscribes(sim) == []
        finally:
            if loop is not None:
                await loop.stop()
            await ex.close()


async def test_take_1_next_to_an_await_loop_leaves_the_loop_subscribed() -> None:
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        loop = AwaitLoop(ex, "BTC/USDT")
        try:
            await loop.more(3)
            first: list[Any] = []
            rxpro.trades(ex, "BTC/USDT").pipe(ops.take(1)).subscribe(first.append)  # disposes inside its first delivery
            await loop.more(10)
            assert len(first) == 1
            assert _unsubscribes(sim) == []
        finally:
            await loop.stop()
            await ex.close()


async def test_a_race_lost_by_rxpros_placeholder_does_not_hold_the_subscription() -> None:
    # trades(BTC) leaves a placeholder under BTC's hash; trades_for_symbols([BTC, ETH]) races
    # it against ETH's future; ETH wins and ccxt leaves a callback on the losing placeholder
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.okx())  # one public connection for both streams
        await ex.load_markets()
        try:
            single: list[Any] = []
            multi: list[Any] = []
            first = rxpro.trades(ex, "BTC/USDT").subscribe(single.append)
            async with asyncio.timeout(30):
                while not single:
                    await asyncio.sleep(0.005)
            sim.burst_trades(exchange="okx", symbol="ETH/USDT", count=3)  # ETH first, at subscription
            second = rxpro.trades_for_symbols(ex, ["BTC/USDT", "ETH/USDT"]).subscribe(multi.append)
            async with asyncio.timeout(30):
                while not any(t["symbol"] == "ETH/USDT" for t in multi):
                    await asyncio.sleep(0)
            first.dispose()
            second.dispose()
            await sim.wait_for_received(_is_unsubscribe, timeout=30)
            channels = {(a["channel"], a["instId"]) for frame in _unsubscribes(sim) for a in frame["args"]}
            assert channels == {("trades", "BTC-USDT"), ("trades", "ETH-USDT")}
        finally:
            await ex.close()


async def test_an_awaitable_that_gave_up_does_not_hold_the_subscription() -> None:
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.okx())
        await ex.load_markets()
        try:
            items: list[Any] = []
            subscription = rxpro.trades(ex, "BTC/USDT").subscribe(items.append)
            async with asyncio.timeout(30):
                while not items:
                    await asyncio.sleep(0.005)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 0.0001)  # waits, then leaves
            subscription.dispose()
            frame = await sim.wait_for_received(_is_unsubscribe, timeout=30)
            assert frame.data["args"] == [{"channel": "trades", "instId": "BTC-USDT"}]
        finally:
            await ex.close()


async def test_a_multi_symbol_stream_disposed_before_every_symbol_updated_unsubscribes() -> None:
    # its call returned on ETH's update; BTC's future (the race's loser) is still pending
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        await ex.load_markets()
        try:
            items: list[Any] = []
            sim.burst_trades(exchange="binance", symbol="ETH/USDT", count=3)
            subscription = rxpro.trades_for_symbols(ex, ["BTC/USDT", "ETH/USDT"]).subscribe(items.append)
            async with asyncio.timeout(30):
                while not items:
                    await asyncio.sleep(0)
            subscription.dispose()
            frame = await sim.wait_for_received(_is_unsubscribe, timeout=30)
            assert sorted(frame.data["params"]) == ["btcusdt@trade", "ethusdt@trade"]
        finally:
            await ex.close()


async def test_take_n_inside_a_burst_leaves_an_await_loop_subscribed() -> None:
    # ccxt handles buffered frames back to back: the await loop, woken by an earlier frame of
    # the same burst, has not awaited again when take(20) disposes on a later one
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        loop = AwaitLoop(ex, "BTC/USDT")
        try:
            await loop.more(3)
            got: list[Any] = []
            rxpro.trades(ex, "BTC/USDT").pipe(ops.take(20)).subscribe(got.append)
            burst = sim.burst_trades(exchange="binance", symbol="BTC/USDT", count=2000)
            await burst.wait(30)
            async with asyncio.timeout(30):
                while len(got) < 20:
                    await asyncio.sleep(0.01)
            await loop.more(10)
            assert _unsubscribes(sim) == []
        finally:
            await loop.stop()
            await ex.close()


async def test_a_call_released_after_markets_loaded_leaves_an_await_loop_subscribed() -> None:
    # subscribed and disposed while its call (and the await loop's) was loading markets: the
    # call registers later and is released then, as the await loop is between iterations
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())  # markets not loaded yet
        subscription = rxpro.trades(ex, "BTC/USDT").subscribe(lambda _: None)
        loop = AwaitLoop(ex, "BTC/USDT")
        try:
            await asyncio.sleep(0)  # both calls are inside load_markets now
            subscription.dispose()
            await loop.more(20)
            assert _unsubscribes(sim) == []
        finally:
            await loop.stop()
            await ex.close()


@contextlib.asynccontextmanager
async def _loop_reports() -> AsyncIterator[list[Any]]:
    """What the loop's exception handler is told ("never retrieved"...) while the block runs, its garbage collected."""
    reports: list[Any] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reports.append(context.get("message")))
    try:
        yield reports
        gc.collect()
        await asyncio.sleep(0)
        gc.collect()
    finally:
        loop.set_exception_handler(previous)


async def test_a_failed_login_inside_a_private_stream_leaves_no_unretrieved_error() -> None:
    # ccxt's okx authenticate() drops what watch() returns and awaits the shared future
    async with _loop_reports() as reports:
        async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
            ex = sim.attach(rxpro.okx())
            await ex.load_markets()  # (public markets; the simulator has no private REST)
            ex.apiKey, ex.secret, ex.password = "k", "s", "p"
            errors: list[BaseException] = []
            try:
                subscription = rxpro.orders(ex).subscribe(on_error=errors.append)
                async with asyncio.timeout(30):
                    while not any("authenticated" in c.futures for c in ex.clients.values()):
                        await asyncio.sleep(0.01)
                client = next(c for c in ex.clients.values() if "authenticated" in c.futures)
                client.reject(ccxt.AuthenticationError("login failed"), "authenticated")  # as okx does
                async with asyncio.timeout(30):
                    while not errors:
                        await asyncio.sleep(0.01)
                assert isinstance(errors[0], ccxt.AuthenticationError)
                subscription.dispose()
            finally:
                await ex.close()
    assert reports == []


async def test_a_private_stream_whose_endpoint_refuses_leaves_no_unretrieved_error() -> None:
    # ccxt's binance makes an 'authenticate:signature:spot' future for concurrent callers and
    # rejects it when the ws-api connection fails: nobody awaits it (found by an adversarial review)
    async with _loop_reports() as reports:
        async with Simulator(SimulatorConfig(speed=10, loop=True)) as sim:  # its ws-api answers 404
            retry = rxpro.RetryPolicy(max_retries=2, initial_delay_ms=50.0)
            ex = sim.attach(rxpro.binance({"apiKey": "k", "secret": "s", "rxpro": {"retry": retry}}))
            errors: list[BaseException] = []
            try:
                subscription = rxpro.balance(ex).subscribe(on_error=errors.append)
                async with asyncio.timeout(30):
                    while not errors:
                        await asyncio.sleep(0.01)
                assert isinstance(errors[0], ccxt.NetworkError) and "404" in str(errors[0])
                subscription.dispose()
            finally:
                await ex.close()
    assert reports == []
