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
        real = ex.fetch_rest_order_book_safe
        failed: list[str] = []

        async def first_snapshot_fails(symbol: str, *args: Any, **kwargs: Any) -> Any:
            if not failed:
                failed.append(symbol)
                raise ccxt.ExchangeNotAvailable("the snapshot request failed")
            return await real(symbol, *args, **kwargs)

        ex.fetch_rest_order_book_safe = first_snapshot_fails
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
