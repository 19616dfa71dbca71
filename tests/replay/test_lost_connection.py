"""A connection ccxt closes by itself during a replay: the other streams on it hear it and resume.

ccxt's ``load_order_book`` (Bitstamp, KuCoin, Gate, …) ends a book whose REST snapshot failed by
rejecting that book, cancelling every other future of its connection and closing it. In a replay the
other streams on that connection (here Bitstamp's trades) then got nothing more and completed at the
end of the recording, as if no trade had happened.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import pytest

import rxpro
from rxpro.testing import data_path

from .conftest import sink

pytestmark = pytest.mark.timeout(90)

BITSTAMP = data_path("cryptofeed/BITSTAMP.ws.1.0")  # bundled: runs in CI
SYMBOL = "ETH/USD"


def _fail_first_snapshot(ex: Any) -> list[str]:
    """The first REST book snapshot ``ex`` asks for fails (ccxt's load_order_book then tears its
    connection down); the symbols it failed for are in the list returned."""
    real = ex.fetch_rest_order_book_safe
    failed: list[str] = []

    async def first_snapshot_fails(symbol: str, *args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(symbol)
            raise ccxt.ExchangeNotAvailable("the snapshot request failed")
        return await real(symbol, *args, **kwargs)

    ex.fetch_rest_order_book_safe = first_snapshot_fails
    return failed


async def _trade_ids_of_a_clean_replay() -> list[str]:
    ex = rxpro.replay(BITSTAMP, autostart=False)
    try:
        await ex.load_markets()
        trades = sink(rxpro.trades(ex, SYMBOL))
        await asyncio.sleep(0)
        await asyncio.wait_for(ex.replay.run(), 30)
        assert trades.errors == [] and trades.completed
        return [t["id"] for t in trades.items]
    finally:
        await ex.close()


@pytest.mark.parametrize("speed", [None, 8.0])
async def test_trades_sharing_a_connection_ccxt_closed_after_a_failed_book_snapshot_resume(
    speed: float | None,
) -> None:
    """Unpaced (``speed=None``) the replay also used to end before the retry: its backoff was wall
    time, and the frames of the lost connection went by unfed meanwhile. The backoff now passes on
    the replay's clock, so the unpaced replay gives every trade the clean one gives."""
    expected = await _trade_ids_of_a_clean_replay()
    assert len(expected) >= 5
    ex = rxpro.replay(BITSTAMP, autostart=False, speed=speed)
    log: list[tuple[str, Any]] = []
    try:
        await ex.load_markets()
        failed = _fail_first_snapshot(ex)
        rxpro.connection_events(ex).subscribe(lambda e: log.append((e.kind, e)))
        trades = sink(rxpro.trades(ex, SYMBOL))
        trades_log = rxpro.trades(ex, SYMBOL).subscribe(lambda t: log.append(("trade", t["id"])))
        book = sink(rxpro.order_book(ex, SYMBOL))
        await asyncio.sleep(0)
        await asyncio.wait_for(ex.replay.run(), 60)
        trades_log.dispose()
    finally:
        await ex.close()
    assert failed == [SYMBOL]
    losses = [i for i, (kind, _) in enumerate(log) if kind == "disconnected"]
    assert losses, [kind for kind, _ in log]  # the loss is said (it was not: the trades just stopped)
    lost = losses[0]
    assert "snapshot request failed" in str(log[lost][1].error)
    after = [value for kind, value in log[lost:] if kind == "trade"]
    assert after, [kind for kind, _ in log]  # trades came again after the loss (none did before)
    ids = [t["id"] for t in trades.items]
    assert ids == [i for i in expected if i in set(ids)] and len(set(ids)) == len(ids)  # in order, each once
    assert trades.errors == [] and trades.completed
    if speed is None:
        # on the recording's clock the loss costs ~0.1 s of recorded time; the first trade after it
        # comes 2 s later: all of them are delivered
        assert ids == expected
    assert book.items or book.errors  # the book delivers or says why


async def test_the_frame_whose_time_fires_the_retry_is_delivered() -> None:
    """Found in review: the feed routed a frame before its time released the retry, so the first
    frame at or after the retry's time went by unfed. Here the recording holds nothing but ETH/USD
    trades after its first 50 ms: the frame that fires the retry is the next trade, 2 s on."""
    from rxpro._replay import _replay_exchange
    from rxpro._replay_formats import load_recording

    expected = await _trade_ids_of_a_clean_replay()
    recording = load_recording(BITSTAMP)
    start = recording.frames[0].ts_ns
    recording.frames[:] = [f for f in recording.frames
                           if f.ts_ns <= start + 50_000_000 or "live_trades_ethusd" in (f.text or "")]
    ex = _replay_exchange(recording, speed=None, config=None, autostart=False, timeline=None)
    try:
        await ex.load_markets()
        failed = _fail_first_snapshot(ex)
        trades = sink(rxpro.trades(ex, SYMBOL))
        book = sink(rxpro.order_book(ex, SYMBOL))
        await asyncio.sleep(0)
        await asyncio.wait_for(ex.replay.run(), 30)
    finally:
        await ex.close()
    assert failed == [SYMBOL]
    assert [t["id"] for t in trades.items] == expected
    assert book.completed or book.errors  # the cut recording holds no more of its frames: it ends


async def test_a_retry_before_the_replay_feeds_anything_still_comes() -> None:
    """Found in review: a retry scheduled before the feed started (a transient error on the way to
    the first connection) waited on a clock nothing moved, and the stream waited for ever. Until the
    feed runs, a retry waits wall time, as live: the budget runs out and the stream says why."""
    ex = rxpro.replay(BITSTAMP, config={"rxpro": {"retry": {"max_retries": 2, "initial_delay_ms": 10}}})
    try:
        await ex.load_markets()
        calls: list[int] = []

        async def failing(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            raise ccxt.ExchangeNotAvailable("the token request failed")

        ex.watch_trades = failing
        trades = sink(rxpro.trades(ex, SYMBOL))
        for _ in range(200):
            if trades.errors:
                break
            await asyncio.sleep(0.025)
        assert len(calls) == 3, calls  # the first call and two retries
        assert len(trades.errors) == 1 and isinstance(trades.errors[0], ccxt.ExchangeNotAvailable)
        assert "token request failed" in str(trades.errors[0])
    finally:
        await ex.close()
