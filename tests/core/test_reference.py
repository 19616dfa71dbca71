"""Correctness against references rxpro didn't write: ccxt's validators and the raw recording."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as ccxt_test_ohlcv
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade

import rxpro
from rxpro.testing import data_path, iter_hftbacktest

pytestmark = pytest.mark.timeout(120)

SKIPPED: dict[str, Any] = {}


@pytest.mark.parametrize("exchange_id", ["binance", "okx"])
async def test_emitted_values_pass_ccxts_structure_validators(sim: Any, exchange_id: str, collect: Any) -> None:
    ex = sim.attach(rxpro.exchange(exchange_id))
    try:
        await _validate(ex, collect)
    finally:
        await ex.close()


async def _validate(ex: Any, collect: Any) -> None:
    symbol = "BTC/USDT"
    trades = collect(rxpro.trades(ex, symbol))
    book = collect(rxpro.order_book(ex, symbol))
    ticker = collect(rxpro.ticker(ex, symbol))
    candles = collect(rxpro.ohlcv(ex, symbol, "1m"))
    for c in (trades, book, ticker, candles):
        await c.count(3, timeout=30)
        assert c.errors == []
    now = ex.milliseconds()
    for trade in trades.items[:25]:
        ccxt_test_trade(ex, SKIPPED, "watchTrades", trade, symbol, now, True)
    for snapshot in book.items[:25]:
        ccxt_test_order_book(ex, SKIPPED, "watchOrderBook", snapshot, symbol)
    for value in ticker.items[:25]:
        ccxt_test_ticker(ex, SKIPPED, "watchTicker", value, symbol)
    for candle in candles.items[:25]:
        ccxt_test_ohlcv(ex, SKIPPED, "watchOHLCV", candle, symbol, now)


def reconstruct_binance_book(paths: list[str]) -> tuple[int, dict[float, float], dict[float, float]]:
    """Binance's documented local-book rules, applied to the raw recording (independent of ccxt)."""
    snapshot: dict[str, Any] | None = None
    diffs: list[dict[str, Any]] = []
    for path in paths:
        for _, frame in iter_hftbacktest(path):
            if "lastUpdateId" in frame:
                snapshot = frame
            elif frame.get("stream", "").endswith("@depth@100ms"):
                diffs.append(frame["data"])
    assert snapshot is not None
    last = snapshot["lastUpdateId"]
    bids = {float(p): float(q) for p, q in snapshot["bids"]}
    asks = {float(p): float(q) for p, q in snapshot["asks"]}
    applied = 0
    for diff in diffs:
        if diff["u"] <= last:
            continue  # older than the snapshot: drop
        if applied == 0:
            assert diff["U"] <= last + 1 <= diff["u"], "the first applied diff must bridge the snapshot"
        else:
            assert diff["U"] == last + 1, "a gap in the recorded update ids"
        for side, levels in ((bids, diff["b"]), (asks, diff["a"])):
            for price, quantity in levels:
                p, q = float(price), float(quantity)
                if q == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        last = diff["u"]
        applied += 1
    assert applied > 6000
    return last, bids, asks


async def test_replayed_binance_book_equals_an_independent_reconstruction(sim_once: Any, collect: Any) -> None:
    binance = sim_once.attach(rxpro.binance())
    try:
        await _replay_and_compare(binance, collect)
    finally:
        await binance.close()


async def _replay_and_compare(binance: Any, collect: Any) -> None:
    paths = [str(data_path("btcusdt_20240808.gz")), str(data_path("btcusdt_20240809.gz"))]
    final_nonce, bids, asks = reconstruct_binance_book(paths)
    book = collect(rxpro.order_book(binance, "BTC/USDT"))
    await book.until(lambda c: bool(c.errors) or (bool(c.items) and c.items[-1]["nonce"] >= final_nonce), timeout=90)
    assert book.errors == []
    final = book.items[-1]
    assert final["nonce"] == final_nonce
    expected_bids = sorted(bids.items(), reverse=True)[:100]
    expected_asks = sorted(asks.items())[:100]
    assert [tuple(level) for level in final["bids"][:100]] == expected_bids
    assert [tuple(level) for level in final["asks"][:100]] == expected_asks
    # every emitted snapshot was a consistent book, nonces increasing
    nonces = [s["nonce"] for s in book.items]
    assert nonces == sorted(nonces)
    await asyncio.sleep(0)
