"""A stream the recording does not hold is refused, naming what it holds (issue 10, item 3).

``rxpro.StreamNotRecorded`` (a ``ccxt.BadRequest``): on subscribe of the Observable,
and from the awaitable ``watch_*``, before ccxt subscribes anything — the replay is
left as it was for the streams it does hold.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import ccxt
import pytest

import rxpro
from rxpro.testing import Simulator, SimulatorConfig, data_path

from .conftest import Sink, sink

pytestmark = pytest.mark.timeout(60)

SPOT = data_path("btcusdt_20240808.gz")  # hftbacktest: depth, bookTicker and trade streams
OKX = data_path("OKX.ws.1.0")  # cryptofeed: ticker, trades and l2_book, no candles


async def _settled(out: Sink) -> Sink:
    for _ in range(500):
        if out.errors or out.completed or out.items:
            break
        await asyncio.sleep(0.01)
    return out


async def test_an_observable_of_a_stream_the_recording_lacks_fails_and_leaves_the_replay_as_it_was() -> None:
    ex = rxpro.replay(SPOT)
    try:
        ticker = await _settled(sink(rxpro.ticker(ex, "BTC/USDT")))
        assert ticker.items == [] and not ticker.completed
        [error] = ticker.errors
        assert isinstance(error, rxpro.StreamNotRecorded) and isinstance(error, ccxt.BadRequest)
        assert str(error) == "the recording has no ticker stream; it has bids_asks, trades, orderbook"
        assert error.stream == "ticker" and error.recorded == ("bids_asks", "trades", "orderbook")
        # nothing was subscribed for it: the replay has not moved
        assert ex.replay.position == 0 and not ex.replay.running and not ex.replay.ended
        trades = await _settled(sink(rxpro.trades(ex, "BTC/USDT")))
        assert trades.items and trades.errors == [] and not trades.completed
    finally:
        await ex.close()


async def test_the_awaitable_raises_instead_of_waiting_for_ever() -> None:
    ex = rxpro.replay(SPOT)
    try:
        with pytest.raises(rxpro.StreamNotRecorded, match="no ticker stream; it has bids_asks, trades, orderbook"):
            await asyncio.wait_for(ex.watch_ticker("BTC/USDT"), 5)
        with pytest.raises(rxpro.StreamNotRecorded, match="no ticker stream"):
            await asyncio.wait_for(ex.watch_tickers(["BTC/USDT"]), 5)
        # what it holds still plays
        trades = await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 5)
        assert trades and trades[0]["symbol"] == "BTC/USDT"
        quote = await asyncio.wait_for(ex.watch_bids_asks(["BTC/USDT"]), 5)
        assert quote["BTC/USDT"]["bid"] is not None
    finally:
        await ex.close()


async def test_a_symbol_the_recording_lacks_is_refused_naming_the_ones_it_has() -> None:
    ex = rxpro.replay(SPOT)
    try:
        other = await _settled(sink(rxpro.trades(ex, "ETH/USDT")))
        [error] = other.errors
        assert isinstance(error, rxpro.StreamNotRecorded)
        assert str(error) == "the recording has no ETH/USDT; it has BTC/USDT"
        with pytest.raises(rxpro.StreamNotRecorded, match="no ETH/USDT"):
            await asyncio.wait_for(ex.watch_order_book_for_symbols(["BTC/USDT", "ETH/USDT"]), 5)
        # the market id is the recorded symbol too
        by_id = await _settled(sink(rxpro.trades(ex, "BTCUSDT")))
        assert by_id.items and by_id.errors == []
    finally:
        await ex.close()


async def test_a_third_party_recording_names_its_streams() -> None:
    ex = rxpro.replay(OKX)
    try:
        await ex.load_markets()
        assert ex.replay.recorded_symbols() == ["BTC/USD:BTC-220527", "UNI/USD:UNI", "BTC/USDT"]
        with pytest.raises(rxpro.StreamNotRecorded, match="no ohlcv stream; it has ticker, trades, orderbook"):
            await asyncio.wait_for(ex.watch_ohlcv("BTC/USDT", "1m"), 5)
        assert await asyncio.wait_for(ex.watch_ticker("BTC/USDT"), 5)
    finally:
        await ex.close()


async def test_a_deribit_ticker_at_an_interval_the_recording_lacks_is_refused_naming_the_param() -> None:
    """The 2021 recording holds ``ticker.<instrument>.raw``; a plain ticker makes ccxt subscribe
    ``.100ms``, a channel no recorded frame belongs to: it was silent until the recording ended."""
    ex = rxpro.replay(data_path("cryptofeed/DERIBIT.ws.1.0"), autostart=False)
    try:
        await ex.load_markets()
        symbol = ex.replay.recorded_symbols()[0]
        plain = sink(rxpro.ticker(ex, symbol))
        raw = sink(rxpro.ticker(ex, symbol, {"interval": "raw"}))
        await asyncio.sleep(0)
        await ex.replay.run()
        [error] = plain.errors
        assert isinstance(error, rxpro.StreamNotRecorded) and plain.items == []
        assert "pass params={'interval': 'raw'}" in str(error) and error.recorded == ("ticker:raw",)
        assert raw.items and raw.errors == [] and raw.completed
    finally:
        await ex.close()


async def test_our_own_recording_refuses_a_timeframe_it_did_not_record(tmp_path: Path) -> None:
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        summary = await rxpro.record("binance", ["BTC/USDT"], ("trades", "ohlcv:1m"), tmp_path / "s.jsonl.gz",
                                     duration=1, prepare=sim.attach)
    ex = rxpro.replay(summary.files)
    try:
        assert ex.replay.recorded_streams == ("trades", "ohlcv")
        with pytest.raises(rxpro.StreamNotRecorded, match="no ohlcv 5m stream; it has ohlcv 1m"):
            await asyncio.wait_for(ex.watch_ohlcv("BTC/USDT", "5m"), 5)
        with pytest.raises(rxpro.StreamNotRecorded, match="no orderbook stream; it has trades, ohlcv"):
            await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 5)
        candles = await _settled(sink(rxpro.ohlcv(ex, "BTC/USDT", "1m")))
        assert candles.errors == []
    finally:
        await ex.close()


def test_the_error_is_exported_under_ccxt_bad_request() -> None:
    assert issubclass(rxpro.StreamNotRecorded, ccxt.BadRequest)
    assert not issubclass(rxpro.StreamNotRecorded, ccxt.NotSupported)
