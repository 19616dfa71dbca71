"""A replay does not race to its end when nobody listens (issue 10, item 2).

A paced replay (``speed=20``) keeps the wall-clock pace whether or not anyone is
subscribed: frames nobody listens to are passed over at their recorded time.  An
unpaced one (``speed=None``) pauses while no rxpro stream, awaitable or REST call
waits on it, and resumes, where it stopped, with the next subscription.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops

import rxpro
from rxpro.operators import Venued, merge_exchanges
from rxpro.testing import Simulator, SimulatorConfig, data_path

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

SPOT = data_path("btcusdt_20240808.gz")  # 347 s of Binance spot BTC/USDT (hftbacktest)
PERP = data_path("usdm/btcusdt_20240808.gz")


async def _first(ex: Any, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The first ``count`` trades of a subscription, then disposed."""
    got: list[dict[str, Any]] = []
    done = asyncio.get_running_loop().create_future()

    def keep(trade: dict[str, Any]) -> None:
        got.append(trade)
        if len(got) == count and not done.done():
            done.set_result(None)

    subscription = rxpro.trades(ex, "BTC/USDT").subscribe(keep)
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        subscription.dispose()
    return got[:count]


async def test_a_paced_replay_keeps_its_pace_after_its_last_subscriber_left() -> None:
    ex = rxpro.replay(SPOT, speed=20)
    try:
        subscription = rxpro.trades(ex, "BTC/USDT").subscribe(lambda _: None)
        await asyncio.sleep(1)
        subscription.dispose()
        first_ns = ex.replay.recording.frames[0].ts_ns
        await asyncio.sleep(1)
        # two wall seconds at 20x: about 40 recorded seconds of the 347, not the whole recording
        assert not ex.replay.ended
        assert ex.replay.progress < 0.5
        recorded_s = (ex.replay.now_ns - first_ns) / 1e9
        assert 10 < recorded_s < 80, recorded_s  # the clock kept (roughly) wall pace meanwhile
        later = sink(rxpro.trades(ex, "BTC/USDT"))
        for _ in range(200):
            if later.items:
                break
            await asyncio.sleep(0.01)
        assert later.items and not later.completed and later.errors == []
    finally:
        await ex.close()


async def test_an_unpaced_replay_pauses_while_nobody_listens_and_resumes_where_it_stopped() -> None:
    ex = rxpro.replay(SPOT)
    try:
        before = await _first(ex, 50)
        paused_at = ex.replay.position
        await asyncio.sleep(0.5)  # ten times the un-watch grace: rxpro has un-watched meanwhile
        assert not ex.replay.ended
        assert ex.replay.position == paused_at, "the replay ran on while nobody listened"
        after = await _first(ex, 50)
        # nothing was passed over while paused: the trade stream goes on from the next trade
        ids = [int(t["id"]) for t in before + after]
        assert ids == list(range(ids[0], ids[0] + 100))
    finally:
        await ex.close()


async def test_an_unpaced_replay_waits_for_an_await_loop() -> None:
    ex = rxpro.replay(SPOT)
    try:
        seen: list[int] = []
        while len(seen) < 30:
            trades = await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 10)
            seen += [int(t["id"]) for t in trades]
            at = ex.replay.position
            await asyncio.sleep(0.05)  # the loop does other work between awaits
            assert ex.replay.position == at, "the replay ran on between two awaits"
        assert not ex.replay.ended
        assert seen == list(range(seen[0], seen[0] + len(seen)))
    finally:
        await ex.close()


async def test_run_plays_the_rest_of_the_recording_without_listeners() -> None:
    # ``run()`` is the explicit "play it all": it does not pause
    ex = rxpro.replay(SPOT)
    try:
        await _first(ex, 10)
        summary = await asyncio.wait_for(ex.replay.run(), 30)
        assert ex.replay.ended and ex.replay.progress == 1.0 and summary.skipped > 0
    finally:
        await ex.close()


async def test_two_unpaced_replays_both_feed_a_board_subscribed_after_a_first_pass() -> None:
    # the cross-exchange notebook: a first pass on each replay, then a live board of both
    spot, perp = rxpro.replay(SPOT), rxpro.replay(PERP)

    def quotes(ex: Any, symbol: str) -> reactivex.Observable[Any]:
        return rxpro.bids_asks(ex, [symbol])

    try:
        for ex, symbol in ((spot, "BTC/USDT"), (perp, "BTC/USDT:USDT")):
            await asyncio.wait_for(quotes(ex, symbol).pipe(ops.take(500), ops.count()), 20)
        venues: list[str] = await asyncio.wait_for(
            merge_exchanges((spot, quotes(spot, "BTC/USDT")), (perp, quotes(perp, "BTC/USDT:USDT"))).pipe(
                ops.map(lambda item: item.venue if isinstance(item, Venued) else "?"),
                ops.take(2000), ops.distinct(), ops.to_list()), 20)
        assert sorted(venues) == ["binance", "binanceusdm"]
    finally:
        await spot.close()
        await perp.close()


async def test_our_own_recording_resumes_after_an_un_watch_it_never_recorded(tmp_path: Path) -> None:
    # the recorder never un-watched, so the recording holds no answer to ccxt's UNSUBSCRIBE: the
    # replay answers it as the server would, else the un-watch (and every later subscribe) waits for ever
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        summary = await rxpro.record("binance", ["BTC/USDT"], ("trades",), tmp_path / "s.jsonl.gz",
                                     duration=2, prepare=sim.attach)
    assert summary.messages > 100
    ex = rxpro.replay(summary.files)
    try:
        before = await _first(ex, 20)
        await asyncio.sleep(0.3)  # the un-watch goes out (and is answered) meanwhile
        assert ex._rx_hub.unwatching == {}
        assert not ex.replay.ended
        after = await _first(ex, 20)
        ids = [int(t["id"]) for t in before + after]
        assert ids == sorted(set(ids)) and len(ids) == 40
    finally:
        await ex.close()
