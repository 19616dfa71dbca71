"""The end of a recording: a virtual-clock replay completes its streams there."""

from __future__ import annotations

import asyncio

import pytest
import reactivex
from reactivex import operators as ops

import rxpro
from rxpro.operators import ohlcv, throttle
from rxpro.testing import data_path

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

OKX = data_path("OKX.ws.1.0")  # 11 s of OKX BTC/USDT


async def test_streams_complete_when_the_recording_ends() -> None:
    ex = rxpro.replay(OKX)
    try:
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        # a 1-minute candle never closes inside 11 s: only the end of the file flushes it
        candles = sink(rxpro.trades(ex, "BTC/USDT").pipe(ohlcv("1m", closed_only=True)))
        throttled = sink(rxpro.trades(ex, "BTC/USDT").pipe(throttle(60_000)))
        summary = await asyncio.wait_for(ex.replay.run(), 30)
        assert ex.replay.ended
        assert trades.completed and candles.completed and throttled.completed
        assert trades.errors == candles.errors == throttled.errors == []
        assert len(trades.items) > 10 and summary.frames > 0
        assert len(candles.items) == 1
        assert candles.items[0][5] == pytest.approx(sum(t["amount"] for t in trades.items))
        assert throttled.items[0] == trades.items[0] and throttled.items[-1] == trades.items[-1]
        # subscribed after the end: nothing more to come, it completes at once
        late = sink(rxpro.trades(ex, "BTC/USDT"))
        assert late.completed and late.items == [] and late.errors == []
        # the exchange stays open: REST is still answered from the recording
        assert "BTC/USDT" in await ex.load_markets()
    finally:
        await ex.close()


async def test_replay_together_completes_every_exchange_at_the_end() -> None:
    exs = rxpro.replay_together({"okx": OKX, "gate": data_path("cryptofeed/GATEIO.ws.1.0")})
    try:
        merged = sink(reactivex.merge(rxpro.trades(exs["okx"], "BTC/USDT"),
                                      rxpro.trades(exs["gate"], "BTC/USDC")).pipe(ops.count()))
        await asyncio.wait_for(exs["okx"].replay.run(), 30)
        assert exs["gate"].replay.ended
        assert merged.completed and merged.errors == [] and merged.items[0] > 0
    finally:
        for ex in exs.values():
            await ex.close()


async def test_work_due_now_in_a_piped_replay_stream_runs_at_once_even_after_the_end() -> None:
    # the default scheduler handed down the pipe puts only timed work on the virtual clock
    ex = rxpro.replay(OKX, autostart=False)
    try:
        before = sink(rxpro.trades(ex, "BTC/USDT").pipe(ops.start_with("START")))
        assert before.items == ["START"]  # at subscribe, not at the next recorded frame
        await asyncio.wait_for(ex.replay.run(), 30)
        after = sink(rxpro.trades(ex, "BTC/USDT").pipe(ops.start_with("START")))
        assert after.items == ["START"] and after.completed
        assert before.completed and len(before.items) > 1
    finally:
        await ex.close()
