"""``rxpro.replay_together``: Binance spot and USDⓈ-M (hftbacktest, 2024-08-08) on one clock."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from reactivex import Observable
from reactivex import operators as ops

import rxpro
from rxpro._replay_formats import load_recording
from rxpro.operators import Venued, best_bid_offer, merge_exchanges, spread, throttle
from rxpro.testing import data_path

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

RECORDINGS = {"binance": data_path("btcusdt_20240808.gz"), "binanceusdm": data_path("usdm/btcusdt_20240808.gz")}
SYMBOLS = {"binance": "BTC/USDT", "binanceusdm": "BTC/USDT:USDT"}
QUOTES = 6000


async def _session() -> dict[str, Any]:
    """One run: every merged quote with the shared clock at its emission, and the consolidated BBO."""
    exchanges = rxpro.replay_together(RECORDINGS)
    spot, perp = exchanges["binance"], exchanges["binanceusdm"]
    try:
        # the first QUOTES quotes (a full run is ~120k): then both streams are un-watched and the
        # replay passes the rest of the frames without feeding them
        merged = merge_exchanges(*((ex, _as_one_asset(rxpro.bids_asks(ex, [SYMBOLS[ex.id]]))) for ex in (spot, perp)))
        # the clock each quote was emitted at, read from the other exchange: one clock for both
        def stamped(item: Venued[dict[str, Any]]) -> tuple[int, str, tuple[Any, ...]]:
            return perp.milliseconds(), item.venue, _quote(item)

        quotes = sink(merged.pipe(ops.take(QUOTES), ops.map(stamped)))
        bbo = sink(merged.pipe(ops.take(QUOTES), best_bid_offer(quote_map={}), ops.map(asdict)))
        basis = sink(merged.pipe(ops.take(QUOTES), spread("binance", "binanceusdm"), ops.map(asdict)))
        # a time operator on the shared virtual clock (the default scheduler while the replay is open)
        throttled = sink(merged.pipe(ops.take(QUOTES), throttle(100), ops.map(stamped)))
        summaries = [await ex.replay.run() for ex in (spot, perp)]
        assert quotes.errors == bbo.errors == basis.errors == throttled.errors == []
        assert spot.replay.scheduler is perp.replay.scheduler
        assert spot.milliseconds() == perp.milliseconds() == summaries[1].last_ns // 1_000_000
        return {"quotes": quotes.items, "bbo": bbo.items, "spread": basis.items, "throttled": throttled.items,
                "summaries": summaries}
    finally:
        for ex in (spot, perp):
            await ex.close()


def _as_one_asset(quotes: Observable[dict[str, Any]]) -> Observable[dict[str, Any]]:
    # spot BTC/USDT and the perp BTC/USDT:USDT are different markets to the operators' symbol
    # matcher; compared here as one asset, as notebooks/cross_exchange does
    def relabel(quote: dict[str, Any]) -> dict[str, Any]:
        return {**quote, "symbol": "BTC/USDT"}

    return quotes.pipe(ops.map(relabel))


def _quote(item: Venued[Any]) -> tuple[Any, ...]:
    ticker = item.value  # rxpro.bids_asks emits one ticker per update
    return ticker["symbol"], ticker["bid"], ticker["ask"], ticker["bidVolume"], ticker["askVolume"]


def _recorded_book_tickers() -> list[tuple[int, str]]:
    """(receive ns, venue) of every recorded bookTicker frame, merged in recorded order."""
    frames = []
    for order, (venue, path) in enumerate(RECORDINGS.items()):
        for position, frame in enumerate(load_recording(path).frames):
            if frame.text is not None and "@bookTicker" in frame.text[:40]:
                frames.append((frame.ts_ns, order, position, venue))
    frames.sort()
    return [(ns, venue) for ns, _, _, venue in frames]


async def test_two_exchanges_share_one_timeline_in_recorded_order() -> None:
    run = await _session()
    quotes = run["quotes"]
    recorded = _recorded_book_tickers()[:QUOTES]
    # one merged quote per recorded bookTicker frame, venue by venue in recorded (receive-time) order
    assert [venue for _, venue, _ in quotes] == [venue for _, venue in recorded]
    assert [clock for clock, _, _ in quotes] == [ns // 1_000_000 for ns, _ in recorded]
    switches = sum(a[1] != b[1] for a, b in zip(quotes, quotes[1:]))
    assert switches > QUOTES // 10, "the venues should interleave, not follow one another"
    assert {venue for _, venue, _ in quotes} == {"binance", "binanceusdm"}
    # consolidated on one timeline: the best bid and the best offer each come from both venues
    for symbol in {b["symbol"] for b in run["bbo"]}:
        best = [b for b in run["bbo"] if b["symbol"] == symbol]
        assert {b["bid_venue"] for b in best} | {b["ask_venue"] for b in best} == set(SYMBOLS), symbol
    assert run["spread"], "spot and perp quotes meet on the shared timeline"


async def test_replay_together_is_deterministic() -> None:
    first = await _session()
    second = await _session()
    assert first["quotes"] == second["quotes"]
    assert first["bbo"] == second["bbo"]
    assert first["spread"] == second["spread"]
    assert first["throttled"] == second["throttled"]
    assert 0 < len(first["throttled"]) < len(first["quotes"])
    # how many frames are fed rather than skipped after take() ends depends on when ccxt
    # un-watches: the hub waits a grace period of wall time first (rxpro._hub.UNWATCH_GRACE_MS)
    def clock(summaries: list[Any]) -> list[tuple[int, int, int]]:
        return [(s.http, s.first_ns, s.last_ns) for s in summaries]

    assert clock(first["summaries"]) == clock(second["summaries"])
    assert [s.frames + s.skipped for s in first["summaries"]] == [s.frames + s.skipped for s in second["summaries"]]


def test_replay_together_needs_a_recording() -> None:
    with pytest.raises(ValueError):
        rxpro.replay_together({})
