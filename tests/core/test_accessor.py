"""What a newcomer types on ``ex.rx`` means what it means on ccxt (issue 10's smaller things)."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

import rxpro

from .conftest import Collector

pytestmark = pytest.mark.timeout(60)


async def test_ccxt_camel_case_names_work_on_the_accessor(binance: Any) -> None:
    ticker = Collector(binance.rx.watchTicker("BTC/USDT"))
    trades = Collector(binance.rx.watchTrades("BTC/USDT"))
    await ticker.count(1)
    await trades.count(1)
    assert ticker.errors == [] and ticker.items[0]["symbol"] == "BTC/USDT"
    assert trades.items[0]["symbol"] == "BTC/USDT"
    assert binance.rx.watchOHLCV is not None and binance.rx.createOrderWs is not None


async def test_limit_on_a_list_stream_is_refused_naming_it(binance: Any) -> None:
    error = await Collector(binance.rx.watch_trades("BTC/USDT", None, 50)).error()
    assert isinstance(error, rxpro.InvalidArgument) and "limit=50" in str(error)
    error = await Collector(binance.rx.watch_ohlcv("BTC/USDT", "1m", None, 10)).error()
    assert isinstance(error, rxpro.InvalidArgument) and "limit=10" in str(error)
    book = Collector(rxpro.order_book(binance, "BTC/USDT", 5))  # a book's limit is its depth: kept
    await book.count(1)
    assert len(book.items[0]["bids"]) == 5


@pytest.mark.parametrize(("exchange_id", "method", "has_key"), [
    ("blofin", "watch_balance", "watchBalance"), ("htx", "watch_positions", "watchPositions")])
async def test_methods_ccxt_implements_but_flags_none_in_has_are_streams(exchange_id: str, method: str,
                                                                          has_key: str) -> None:
    ex = rxpro.exchange(exchange_id)
    ex.set_markets([{"id": "BTC-USDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "baseId": "BTC",
                     "quoteId": "USDT", "type": "spot", "spot": True, "active": True, "precision": {},
                     "limits": {}, "info": {}}])  # offline: no markets to load
    try:
        assert ex.has.get(has_key) is None
        # ccxt's awaitable runs it; so does rxpro: without credentials it fails as ccxt's does
        error = await Collector(getattr(ex.rx, method)()).error()
        assert not isinstance(error, ccxt.NotSupported), error
        assert isinstance(error, ccxt.AuthenticationError), error
    finally:
        await ex.close()


async def test_a_method_the_exchange_does_not_implement_is_still_refused() -> None:
    ex = rxpro.exchange("bitstamp")
    try:
        assert not ex.has.get("watchPositions")
        error = await Collector(ex.rx.watch_positions()).error()
        assert isinstance(error, ccxt.NotSupported)
    finally:
        await ex.close()
