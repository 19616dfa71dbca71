"""Gapless trades across reconnects (issue 10): the trades a reconnect missed are fetched over REST.

The simulator's trade tape plays a venue's trade sequence whether or not anyone listens, and its
REST history answers the ids the stream carries (Binance historicalTrades, OKX history-trades).
Dropping the connection in the middle of a tape, several times, must leave the subscriber with
every trade id exactly once, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import rxpro
from rxpro.testing import Simulator, SimulatorConfig

from ..core.conftest import Collector

pytestmark = pytest.mark.timeout(120)

COUNT = 20_000
START = 1_000_000


def _subscribes(frame: Any) -> bool:
    data = frame.data
    return isinstance(data, dict) and (data.get("method") == "SUBSCRIBE" or data.get("op") == "subscribe")


@pytest.mark.parametrize(("exchange_id", "config"), [
    ("binance", {"apiKey": "k", "secret": "s"}),  # historicalTrades, paged by fromId (Binance asks a key)
    ("okx", {}),  # history-trades, paged by tradeId
])
async def test_dropping_the_connection_mid_tape_several_times_loses_and_repeats_no_trade(
        exchange_id: str, config: dict[str, Any]) -> None:
    async with Simulator(SimulatorConfig(speed=None, load_recordings=False)) as sim:
        ex = sim.attach(rxpro.exchange(exchange_id, dict(config, enableRateLimit=False)))
        try:
            await ex.load_markets()
            events = Collector(rxpro.connection_events(ex))
            trades = Collector(rxpro.trades(ex, "BTC/USDT"))
            await sim.wait_for_received(_subscribes, timeout=30)  # the server has the subscription
            await asyncio.sleep(0.1)
            tape = sim.trade_tape(exchange_id, "BTC/USDT", count=COUNT, start_id=START, rate=5_000)
            await trades.count(1)
            for _ in range(3):
                await asyncio.sleep(0.8)
                await sim.drop_connections()
            await tape.wait(60)
            await trades.count(COUNT, timeout=60)
            await asyncio.sleep(0.3)  # nothing more may come
            ids = [int(t["id"]) for t in trades.items]
            assert trades.errors == []
            assert ids == list(range(START, START + COUNT))  # every id once, in order
            filled = [e for e in events.items if e.kind == "backfilled"]
            assert filled and sum(e.count or 0 for e in filled) > 0
            assert not [e for e in events.items if e.kind == "gap"]
            # the filled trades are ccxt's REST-parsed structures: same symbol, numbers as numbers
            assert all(t["symbol"] == "BTC/USDT" and isinstance(t["price"], float) for t in trades.items)
        finally:
            await ex.close()


async def test_a_reconnect_gap_that_is_not_filled_is_announced_with_its_time_span() -> None:
    # backfill off (as on a venue without a REST history of the stream's ids): the gap is an event
    async with Simulator(SimulatorConfig(speed=None, load_recordings=False)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": rxpro.HealthPolicy(backfill=False)}}))
        try:
            await ex.load_markets()
            events = Collector(rxpro.connection_events(ex))
            trades = Collector(rxpro.trades(ex, "BTC/USDT"))
            tape = sim.trade_tape("binance", "BTC/USDT", count=5_000, start_id=START, rate=5_000)
            await trades.count(100)
            await sim.drop_connections()
            await events.until(lambda c: any(e.kind == "gap" for e in c.items), timeout=30)
            gap = next(e for e in events.items if e.kind == "gap")
            last, first = gap.gap or (None, None)
            assert last is not None and first is not None and first >= last
            assert "watch_trades" in (gap.stream or "") and "not filled" in str(gap.error)
            assert not any(e.kind == "backfilled" for e in events.items)
            await tape.wait(30)
            ids = [int(t["id"]) for t in trades.items]
            assert ids == sorted(set(ids))  # a gap, but nothing twice and nothing out of order
        finally:
            await ex.close()
