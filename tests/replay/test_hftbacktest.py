"""Replay of the bundled hftbacktest Binance recordings (spot and USDⓈ-M) on virtual time."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ccxt
import pytest
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade

import rxpro
from rxpro.operators import default_scheduler, ohlcv, throttle
from rxpro.testing import data_path

from .conftest import Sink, sink

pytestmark = pytest.mark.timeout(60)

SPOT = data_path("btcusdt_20240808.gz")
USDM = data_path("usdm/btcusdt_20240808.gz")
SKIPPED: dict[str, Any] = {}
#: Binance's REST depth snapshot has no time: the first book (before any diff) has none
UNTIMED_SNAPSHOT = {"timestamp": True, "datetime": True}


def check_books(ex: Any, books: list[dict[str, Any]], symbol: str) -> None:
    for index, book in enumerate(books):
        skipped = UNTIMED_SNAPSHOT if index == 0 and book["timestamp"] is None else SKIPPED
        ccxt_test_order_book(ex, skipped, "watchOrderBook", book, symbol)


async def _spot_session(*, books: bool = True, **kwargs: Any) -> dict[str, Sink]:
    ex = rxpro.replay(SPOT, **kwargs)
    try:
        symbol = "BTC/USDT"
        trades = rxpro.trades(ex, symbol)
        sinks = {
            "trades": sink(trades),
            "throttled": sink(trades.pipe(throttle(100))),
            "candles": sink(trades.pipe(ohlcv("1m", close_on_time=True))),
        }
        if books:
            sinks["book"] = sink(rxpro.order_book(ex, symbol, 10))
            sinks["bids_asks"] = sink(rxpro.bids_asks(ex, [symbol]))
        summary = await ex.replay.run()
        assert summary.frames > 0
        assert ex.replay.scheduler.now == datetime.fromtimestamp(summary.last_ns / 1e9, tz=timezone.utc)
        return sinks
    finally:
        await ex.close()


async def test_spot_replay_is_deterministic_and_valid() -> None:
    first = await _spot_session()
    second = await _spot_session()
    for name, values in first.items():
        assert values.errors == [], name
        assert values.items, name
        assert values.items == second[name].items, f"{name} differs between two replays"
    assert len(first["trades"].items) == 9757  # every recorded trade, once
    assert len(first["bids_asks"].items) == 28040
    # throttle(100) on the recording's clock: at most one value per 100 ms of its 346 s
    assert 500 < len(first["throttled"].items) < 3470
    ex = rxpro.exchange("binance")
    try:
        now = first["trades"].items[-1]["timestamp"] + 1
        for trade in first["trades"].items[::7]:
            ccxt_test_trade(ex, SKIPPED, "watchTrades", trade, "BTC/USDT", now, True)
        check_books(ex, first["book"].items, "BTC/USDT")
        for ticker in first["bids_asks"].items[::50]:
            ccxt_test_ticker(ex, SKIPPED, "watchBidsAsks", ticker, "BTC/USDT")
    finally:
        await ex.close()
    # the recording spans 23:54:13 -> 23:59:59 local time; close_on_time closed each minute on virtual time
    minutes = [c[0] for c in first["candles"].items]
    assert minutes == sorted(minutes)
    assert len(set(minutes)) == 7  # exchange time runs 1.27 s ahead: the last trades are at 00:00


async def test_paced_replay_gives_the_same_values() -> None:
    start = time.monotonic()
    paced = await _spot_session(books=False, speed=2000.0)
    elapsed = time.monotonic() - start
    fast = await _spot_session(books=False)
    assert elapsed > 346 / 2000  # the recording lasts 346 s
    for name in paced:
        assert paced[name].items == fast[name].items, name


async def test_usdm_perp_replay() -> None:
    ex = rxpro.replay(USDM)
    assert ex.id == "binanceusdm"
    try:
        symbol = "BTC/USDT:USDT"
        trades = sink(rxpro.trades(ex, symbol))
        book = sink(rxpro.order_book(ex, symbol, 5))
        await ex.replay.run()
        assert trades.errors == book.errors == []
        assert len(trades.items) == 21313
        assert len(book.items) > 6000
        now = ex.milliseconds() + 1
        for trade in trades.items[::50]:
            ccxt_test_trade(ex, SKIPPED, "watchTrades", trade, symbol, now, True)
        check_books(ex, book.items[::50], symbol)
    finally:
        await ex.close()


async def test_awaitables_work_as_live() -> None:
    ex = rxpro.replay(SPOT)
    try:
        trades = await ex.watch_trades("BTC/USDT")
        assert trades and trades[0]["symbol"] == "BTC/USDT"
        book = await ex.watch_order_book("BTC/USDT")
        assert book["bids"][0][0] < book["asks"][0][0]
        assert book["nonce"] > 0
    finally:
        await ex.close()


async def test_operators_default_to_the_virtual_clock_while_open() -> None:
    ex = rxpro.replay(SPOT)
    assert default_scheduler() is ex.replay.scheduler
    await ex.close()
    assert default_scheduler() is not ex.replay.scheduler


async def test_a_rest_call_that_was_not_recorded_names_the_url() -> None:
    ex = rxpro.replay(SPOT)
    try:
        with pytest.raises(ccxt.ExchangeError, match=r"no recorded response for GET https://api\.binance\.com/api/v3/ticker"):
            await ex.fetch_ticker("BTC/USDT")
    finally:
        await ex.close()


async def test_spot_and_two_days_merge_into_one_timeline() -> None:
    ex = rxpro.replay([SPOT, data_path("btcusdt_20240809.gz")], autostart=False)
    try:
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        await asyncio.sleep(0)
        summary = await ex.replay.run()
        ids = [int(t["id"]) for t in trades.items]
        assert ids == sorted(ids) and len(ids) == len(set(ids)) == 9757 + 10147
        assert summary.span_seconds > 600
    finally:
        await ex.close()


async def test_an_exchange_built_with_the_replay_option_replays_the_file() -> None:
    okx = data_path("OKX.ws.1.0")  # 11 s of recording: quick to play twice
    direct = rxpro.replay(okx)
    by_option = rxpro.exchange("okx", {"replay": okx})
    try:
        assert type(by_option) is type(direct) and by_option.replay.scheduler is not direct.replay.scheduler
        got = {name: sink(rxpro.trades(ex, "BTC/USDT")) for name, ex in (("direct", direct), ("option", by_option))}
        await direct.replay.run()
        await by_option.replay.run()
        assert got["option"].items and [t["id"] for t in got["option"].items] == [t["id"] for t in got["direct"].items]
    finally:
        await direct.close()
        await by_option.close()


def test_the_replay_option_on_an_exchange_class_is_an_error_naming_the_way() -> None:
    # ccxt would copy an unknown option onto the instance and go to the network
    with pytest.raises(rxpro.InvalidArgument, match=r"rxpro\.exchange\('binance', \{'replay': path\}\)"):
        rxpro.binance({"replay": SPOT})
    with pytest.raises(rxpro.InvalidArgument, match="replay_speed"):
        rxpro.exchange("binance", {"replay_speed": 10})


@pytest.mark.parametrize("folder", ["hyperliquid", "elsewhere"])  # told by its folder, or by its frames
async def test_a_hyperliquid_recording_is_hyperliquids_and_says_what_it_lacks(folder: str, tmp_path: Path) -> None:
    """hftbacktest's Hyperliquid example (``{"channel":"l2Book",...}`` frames) was taken for a Binance
    spot recording: markets loaded from Binance's, a BTC/USDT stream subscribed, 55 frames fed and
    nothing said.  It is Hyperliquid's now: its streams named from its channels, and a stream ends
    with the REST answer the recording does not hold (Hyperliquid's markets)."""
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "hftbacktest" / "examples" / "hyperliquid" \
        / "btcusd_20250126.gz"
    if not path.is_file():
        pytest.skip(f"hftbacktest's Hyperliquid example is not at {path}")
    if folder != "hyperliquid":
        (tmp_path / folder).mkdir()
        path = Path(shutil.copy(path, tmp_path / folder / path.name))
    ex = rxpro.replay(path, autostart=False)
    try:
        assert ex.id == "hyperliquid" and ex.replay.recorded_streams == ("trades", "orderbook")
        trades = sink(rxpro.trades(ex, "BTC/USDC:USDC"))
        for _ in range(200):
            if trades.errors:
                break
            await asyncio.sleep(0.01)
        [error] = trades.errors
        assert isinstance(error, rxpro.ReplayMissingResponse)
        assert "no recorded response for POST https://api.hyperliquid.xyz/info" in str(error)
    finally:
        await ex.close()
