"""Awaitables and Observables share one connection, one subscription and one cache."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import rxpro
from rxpro.testing import Simulator, SimulatorConfig

from .conftest import Collector, subscribe_frames

pytestmark = pytest.mark.timeout(60)


async def test_awaitable_and_observable_share_one_connection_and_subscription(
    sim: Simulator, binance: Any, collect: Any
) -> None:
    trades = collect(binance.rx.watch_trades("BTC/USDT"))
    await trades.count(1)
    for _ in range(3):
        awaited = await binance.watch_trades("BTC/USDT")
        last = int(awaited[-1]["id"])
        await trades.until(lambda c: any(int(t["id"]) >= last for t in c.items))
        # everything the awaitable returned was pushed to the Observable too
        assert {t["id"] for t in awaited} <= {t["id"] for t in trades.items}
    assert sim.connections == 1
    assert len(subscribe_frames(sim, needle="btcusdt@trade")) == 1
    # one cache: the entries the Observable emitted are ccxt's own cache entries
    cached = {id(t) for t in binance.trades["BTC/USDT"]}
    assert any(id(t) in cached for t in trades.items)


async def test_the_awaitable_keeps_working_after_the_observable_is_disposed() -> None:
    # paced playback (depth diffs every 100 ms): an awaitable started now really waits
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        binance = sim.attach(rxpro.binance())
        try:
            book = Collector(rxpro.order_book(binance, "BTC/USDT"))
            await book.count(2)
            for _ in range(50):
                waiter = asyncio.ensure_future(binance.watch_order_book("BTC/USDT"))
                for _ in range(3):
                    await asyncio.sleep(0)  # it waits on the future rxpro keeps under the hash
                if not waiter.done():
                    break
                await waiter  # an update slipped in first: try again
            assert not waiter.done()
            book.dispose()  # an awaitable waits on the same subscription: rxpro must not unsubscribe it
            assert not binance._rx_hub.unwatching  # decided at once, not by winning a race
            result = await asyncio.wait_for(waiter, 10)
            assert result["bids"] and result["asks"]
            nonce = result["nonce"]  # (ccxt's book: updated in place)
            again = await asyncio.wait_for(binance.watch_order_book("BTC/USDT"), 10)  # still subscribed
            assert again["nonce"] > nonce
            assert subscribe_frames(sim, "UNSUBSCRIBE") == []
            assert len(subscribe_frames(sim, needle="btcusdt@depth")) == 1
        finally:
            await binance.close()


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        (lambda ex: ex.rx.watch_ticker("BTC/USDT"), dict),
        (lambda ex: ex.rx.watch_trades("BTC/USDT"), dict),
        (lambda ex: ex.rx.watch_order_book("BTC/USDT", 5), dict),
        (lambda ex: ex.rx.watch_ohlcv("BTC/USDT", "1m"), list),
        (lambda ex: ex.rx.watch_bids_asks(["BTC/USDT"]), dict),
        (lambda ex: ex.rx.watch_trades_for_symbols(["BTC/USDT", "ETH/USDT"]), dict),
        (lambda ex: ex.rx.watch_order_book_for_symbols(["BTC/USDT", "ETH/USDT"]), dict),
        (lambda ex: rxpro.tickers(ex, ["BTC/USDT", "ETH/USDT"]), dict),
    ],
)
async def test_every_public_stream_delivers(binance: Any, collect: Any, source: Any, shape: type) -> None:
    values = collect(source(binance))
    await values.count(3, timeout=20)
    assert values.errors == []
    assert all(isinstance(v, shape) for v in values.items)


async def test_okx_streams_deliver(okx: Any, collect: Any) -> None:
    trades = collect(rxpro.trades(okx, "BTC/USDT"))
    book = collect(rxpro.order_book(okx, "BTC/USDT"))
    ticker = collect(rxpro.ticker(okx, "BTC/USDT"))
    for c in (trades, book, ticker):
        await c.count(2, timeout=20)
        assert c.errors == []
    assert book.items[-1]["bids"][0][0] < book.items[-1]["asks"][0][0]


def test_the_accessor_names_every_watch_method_of_the_exchange() -> None:
    ex = rxpro.binance()
    names = dir(ex.rx)
    for name in ("watch_ticker", "watch_trades", "watch_order_book", "watch_ohlcv", "watch_balance", "watch_orders",
                 "watch_my_trades", "watch_positions", "watch_bids_asks", "watch_liquidations", "create_order_ws",
                 "cancel_order_ws", "cancel_all_orders_ws", "edit_order_ws", "cancel_orders_ws", "messages"):
        assert name in names


class _RecordingAccessor:
    """Stands for ``ex.rx``: records which accessor method a module-level source calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def observe(self) -> None:  # marks it as an rx accessor for rxpro._sources
        raise AssertionError("not used")

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> str:
            self.calls.append((name, args))
            return name

        return call


@pytest.mark.parametrize(
    ("source", "args", "method"),
    [
        ("ticker", ("BTC/USDT",), "watch_ticker"),
        ("tickers", (["BTC/USDT"],), "watch_tickers"),
        ("order_book", ("BTC/USDT", 5), "watch_order_book"),
        ("order_book_for_symbols", (["BTC/USDT"],), "watch_order_book_for_symbols"),
        ("trades", ("BTC/USDT",), "watch_trades"),
        ("trades_for_symbols", (["BTC/USDT"],), "watch_trades_for_symbols"),
        ("ohlcv", ("BTC/USDT", "5m"), "watch_ohlcv"),
        ("ohlcv_for_symbols", ([["BTC/USDT", "1m"]],), "watch_ohlcv_for_symbols"),
        ("status", (), "watch_status"),
        ("balance", (), "watch_balance"),
        ("orders", (), "watch_orders"),
        ("orders_for_symbols", (["BTC/USDT"],), "watch_orders_for_symbols"),
        ("my_trades", (), "watch_my_trades"),
        ("my_trades_for_symbols", (["BTC/USDT"],), "watch_my_trades_for_symbols"),
        ("positions", (), "watch_positions"),
        ("liquidations", ("BTC/USDT:USDT",), "watch_liquidations"),
        ("liquidations_for_symbols", (["BTC/USDT:USDT"],), "watch_liquidations_for_symbols"),
        ("bids_asks", (["BTC/USDT"],), "watch_bids_asks"),
    ],
)
def test_module_level_sources_are_the_accessor_streams(source: str, args: tuple[Any, ...], method: str) -> None:
    accessor = _RecordingAccessor()
    exchange = type("FakeExchange", (), {"rx": accessor})()
    assert getattr(rxpro, source)(exchange, *args) == method
    called, passed = accessor.calls[0]
    assert called == method and passed[: len(args)] == args
    assert source in rxpro.__all__
