"""``rxpro.jupyter``: ``to_dataframe`` and ``live`` dispose what they subscribe."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

pd = pytest.importorskip("pandas")
pytest.importorskip("plotly")
pytest.importorskip("ipywidgets")

import ccxt  # noqa: E402

import rxpro  # noqa: E402
from rxpro import jupyter  # noqa: E402
from rxpro.jupyter import LiveView, live, to_dataframe, to_rows  # noqa: E402
from rxpro.operators import BestBidOffer, Venued  # noqa: E402
from rxpro.testing import Simulator, SimulatorConfig, data_path  # noqa: E402

TRADE = {"symbol": "BTC/USDT", "timestamp": 1723161300000, "price": 61828.0, "amount": 0.5, "info": {"raw": 1}}


def later(action: Any) -> None:
    asyncio.get_running_loop().call_soon(action)


# -- to_dataframe ----------------------------------------------------------------


async def test_to_dataframe_stops_after_n_and_disposes() -> None:
    source: Subject[dict[str, Any]] = Subject()

    def emit() -> None:
        for i in range(5):
            source.on_next({**TRADE, "timestamp": TRADE["timestamp"] + i, "price": 100.0 + i})

    later(emit)
    frame = await to_dataframe(source, n=3)
    assert list(frame["price"]) == [100.0, 101.0, 102.0]
    assert "info" not in frame.columns
    assert frame.index.name == "time" and str(frame.index[0]) == "2024-08-08 23:55:00+00:00"
    assert source.observers == []


async def test_to_dataframe_duration_on_the_given_scheduler() -> None:
    scheduler = TestScheduler()
    source: Subject[float] = Subject()

    def emit_and_advance() -> None:
        source.on_next(1.0)
        scheduler.advance_to(0.5)  # seconds: before the 1000 ms duration
        source.on_next(2.0)
        scheduler.advance_to(1.0)
        source.on_next(3.0)  # after: not collected

    later(emit_and_advance)
    frame = await to_dataframe(source, duration_ms=1000, scheduler=scheduler)
    assert list(frame["value"]) == [1.0, 2.0]
    assert source.observers == []


async def test_to_dataframe_until_completion_with_ohlcv_rows() -> None:
    rows = [[1723161300000, 1.0, 2.0, 0.5, 1.5, 10.0], [1723161360000, 1.5, 3.0, 1.0, 2.0, 5.0, 7]]
    frame = await to_dataframe(reactivex.from_iterable(rows))
    assert list(frame.columns) == ["timestamp", "open", "high", "low", "close", "volume", "count"]
    assert frame["close"].tolist() == [1.5, 2.0]
    assert frame["count"].isna().tolist() == [True, False]


async def test_to_dataframe_raises_the_stream_error_after_disposing() -> None:
    source: Subject[Any] = Subject()
    later(lambda: (source.on_next(TRADE), source.on_error(ccxt.BadSymbol("no such symbol"))))
    with pytest.raises(ccxt.BadSymbol):
        await to_dataframe(source, n=10)
    assert source.observers == []


async def test_cancelling_to_dataframe_disposes() -> None:
    source: Subject[Any] = Subject()
    task = asyncio.ensure_future(to_dataframe(source, n=10))
    await asyncio.sleep(0)
    assert len(source.observers) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.observers == []


async def test_to_dataframe_with_a_synchronous_source() -> None:
    frame = await to_dataframe(reactivex.from_iterable(range(100)), n=3)
    assert frame["value"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": 1.5}, {"n": True}, {"duration_ms": 0}, {"duration_ms": "1s"}])
async def test_to_dataframe_rejects_bad_limits(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        await to_dataframe(reactivex.empty(), **bad)


async def test_to_dataframe_of_a_simulated_exchange_unwatches() -> None:
    async with Simulator(SimulatorConfig(speed=None)) as sim:
        ex = sim.attach(rxpro.binance())
        try:
            frame = await to_dataframe(rxpro.trades(ex, "BTC/USDT"), n=50)
            await sim.wait_for_received(
                lambda f: isinstance(f.data, dict) and f.data.get("method") == "UNSUBSCRIBE", timeout=5)
        finally:
            await ex.close()
    assert len(frame) == 50 and set(frame["symbol"]) == {"BTC/USDT"}


async def test_to_dataframe_on_a_replay_ends_with_the_recording() -> None:
    # 60 s on the replay's virtual clock, an 11 s recording: the recording's end ends it
    ex = rxpro.replay(data_path("OKX.ws.1.0"))
    try:
        everything = sink_values(rxpro.trades(ex, "BTC/USDT"))
        frame = await asyncio.wait_for(to_dataframe(rxpro.trades(ex, "BTC/USDT"), duration_ms=60_000), 20)
        assert ex.replay.ended
        assert len(frame) == len(everything) > 10
        assert list(frame["id"]) == [t["id"] for t in everything]
    finally:
        await ex.close()


async def test_to_dataframe_after_a_replay_ended_returns_at_once() -> None:
    ex = rxpro.replay(data_path("OKX.ws.1.0"))
    try:
        await ex.load_markets()
        first = await asyncio.wait_for(to_dataframe(rxpro.trades(ex, "BTC/USDT"), n=5), 20)
        assert len(first) == 5
        await asyncio.wait_for(ex.replay.run(), 20)
        after = await asyncio.wait_for(to_dataframe(rxpro.trades(ex, "BTC/USDT"), duration_ms=1000), 5)
        assert len(after) == 0
        # a source that never completes, timed on the replay's clock: the ended recording ends it too
        never = await asyncio.wait_for(to_dataframe(reactivex.never()), 5)
        assert len(never) == 0
    finally:
        await ex.close()


async def test_to_dataframe_of_one_of_two_open_replays_is_timed_on_its_own_clock() -> None:
    # review: it took the default, the replay opened last: its own recording was cut at the other's end;
    # and closing the first of two replays left the second's operators on wall-clock time
    from rxpro._scheduling import default_scheduler

    okx = rxpro.replay(data_path("OKX.ws.1.0"))  # 11 s of OKX BTC/USDT, paused while nobody listens
    other = rxpro.replay(data_path("OKX.ws.1.0"))  # opened last: the default clock
    try:
        assert default_scheduler() is other.replay.scheduler
        sink_values(rxpro.trades(other, "BTC/USDT"))
        await asyncio.wait_for(other.replay.run(), 20)  # the other recording has ended
        everything = sink_values(rxpro.trades(okx, "BTC/USDT"))
        frame = await asyncio.wait_for(to_dataframe(rxpro.trades(okx, "BTC/USDT"), duration_ms=60_000), 20)
        assert len(frame) == len(everything) > 10
    finally:
        await okx.close()
    try:
        assert default_scheduler() is other.replay.scheduler  # the one still open
    finally:
        await other.close()


def sink_values(source: Observable[Any]) -> list[Any]:
    values: list[Any] = []
    source.subscribe(values.append)
    return values


def test_rows_of_each_value_shape() -> None:
    bbo = BestBidOffer("BTC/USDT", 1.0, 2.0, "binance", 1.1, 3.0, "okx", 5)
    rows = to_rows([TRADE, bbo, Venued("okx", {"bid": 1.0}), 2.5, (1, "a")])
    assert rows[0] == {k: v for k, v in TRADE.items() if k != "info"}
    assert rows[1]["bid_venue"] == "binance" and rows[1]["ask"] == 1.1
    assert rows[2] == {"venue": "okx", "bid": 1.0}
    assert rows[3] == {"value": 2.5}
    assert rows[4] == {"0": 1, "1": "a"}
    assert to_rows([TRADE], keep_info=True)[0]["info"] == {"raw": 1}


def test_import_without_the_extra_fails_only_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    reloaded = importlib.reload(jupyter)
    try:
        with pytest.raises(ImportError, match=r"pip install rxpro\[jupyter\]"):
            reloaded.live(reactivex.empty())
        with pytest.raises(ImportError, match=r"pip install rxpro\[jupyter\]"):
            asyncio.run(reloaded.to_dataframe(reactivex.empty()))
    finally:
        monkeypatch.undo()
        importlib.reload(jupyter)


# -- live --------------------------------------------------------------------------


def shown(source: Observable[Any], **kwargs: Any) -> LiveView:
    view = live(source, backend="widget", **kwargs)
    view._ipython_display_()  # what a cell does with its last expression
    return view


async def test_live_subscribes_when_shown_and_stop_disposes(capsys: pytest.CaptureFixture[str]) -> None:
    source: Subject[dict[str, Any]] = Subject()
    view = live(source, backend="widget", max_rows=2, interval_ms=0)
    assert source.observers == [] and not view.running
    view._ipython_display_()
    assert len(source.observers) == 1 and view.running
    for price in (1.0, 2.0, 3.0):
        source.on_next({**TRADE, "price": price})
    assert view.frame()["price"].tolist() == [2.0, 3.0]  # the last max_rows
    assert "text/html" in view._widget.outputs[0]["data"]
    view.stop()
    view.stop()  # idempotent
    assert source.observers == [] and not view.running
    source.on_next(TRADE)
    assert view.count == 3


async def test_live_unsubscribes_when_its_last_widget_view_goes_away() -> None:
    source: Subject[float] = Subject()
    view = shown(source)
    view._widget._view_count = 1  # the frontend showed it
    assert len(source.observers) == 1
    view._widget._view_count = 0  # output cleared / cell re-run / notebook closed
    assert source.observers == [] and view.stopped


async def test_live_unsubscribes_when_the_widget_is_closed() -> None:
    source: Subject[float] = Subject()
    view = shown(source)
    view.close()
    assert source.observers == [] and view.stopped


async def test_live_unsubscribes_when_its_cell_runs_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jupyter, "_current_cell_id", "cell-1")
    source: Subject[float] = Subject()
    view = shown(source)
    other: Subject[float] = Subject()
    other_view = shown(other)

    class Info:
        cell_id = "cell-2"

    jupyter._on_pre_run_cell(Info())  # another cell: nothing stops
    assert view.running and other_view.running
    Info.cell_id = "cell-1"
    jupyter._on_pre_run_cell(Info())
    assert source.observers == [] and other.observers == []


async def test_live_throttles_redraws() -> None:
    source: Subject[float] = Subject()
    view = shown(source, kind="line", interval_ms=200)
    draws = view.draws
    for i in range(1000):
        source.on_next(float(i))
    assert view.draws == draws  # the first draw on display opened the interval
    await asyncio.sleep(0.4)
    assert view.draws == draws + 1  # one trailing redraw with the latest state
    figure = view.figure()
    assert list(figure.data[0].y)[-1] == 999.0
    view.stop()


async def test_live_keyed_table_and_completion() -> None:
    quotes = [{"symbol": "BTC/USDT", "last": 1.0}, {"symbol": "ETH/USDT", "last": 2.0}, {"symbol": "BTC/USDT", "last": 3.0}]
    view = shown(reactivex.from_iterable(quotes), key="symbol")
    assert view.completed and not view.running
    assert view.frame().to_dict("records") == [{"symbol": "ETH/USDT", "last": 2.0}, {"symbol": "BTC/USDT", "last": 3.0}]


async def test_live_shows_a_stream_error() -> None:
    source: Subject[Any] = Subject()
    view = shown(source)
    source.on_error(ccxt.BadSymbol("binance does not have market symbol NOPE/USDT"))
    assert source.observers == [] and isinstance(view.error, ccxt.BadSymbol)
    texts = [o["data"]["text/plain"] for o in view._widget.outputs]
    assert any("stream failed: BadSymbol" in text for text in texts)


async def test_live_candlestick_replaces_updated_candles() -> None:
    candles = [[60_000, 1.0, 1.0, 1.0, 1.0, 1.0], [60_000, 1.0, 2.0, 1.0, 2.0, 2.0], [120_000, 2.0, 2.0, 2.0, 2.0, 1.0]]
    view = shown(reactivex.from_iterable(candles), kind="candlestick")
    assert [row["close"] for row in view.rows()] == [2.0, 2.0]
    assert view.figure().data[0].type == "candlestick"


async def test_a_drawing_error_stops_the_view_without_raising() -> None:
    source: Subject[float] = Subject()
    view = shown(source, kind="line", y="missing", interval_ms=0)
    source.on_next(1.0)
    assert isinstance(view.render_error, KeyError) and source.observers == []


async def test_live_on_a_simulated_exchange_unwatches_on_stop() -> None:
    async with Simulator(SimulatorConfig(speed=None)) as sim:
        ex = sim.attach(rxpro.binance())
        try:
            view = shown(rxpro.trades(ex, "BTC/USDT"), kind="line", y="price")
            while view.count < 10:
                await asyncio.sleep(0.01)
            view.stop()
            await sim.wait_for_received(
                lambda f: isinstance(f.data, dict) and f.data.get("method") == "UNSUBSCRIBE", timeout=5)
        finally:
            await ex.close()


@pytest.mark.parametrize("bad", [{"kind": "pie"}, {"max_rows": 0}, {"interval_ms": -1}, {"backend": "tk"}])
def test_live_rejects_bad_arguments(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        live(reactivex.empty(), **bad)


async def test_an_ended_view_says_so_under_its_last_drawing() -> None:
    completed = shown(reactivex.from_iterable([{"symbol": "BTC/USDT", "last": 1.0}] * 3))
    stopped: Subject[dict[str, Any]] = Subject()
    view = shown(stopped)
    stopped.on_next({"symbol": "BTC/USDT", "last": 2.0})
    assert not any("ended" in o["data"]["text/plain"] for o in view._widget.outputs)  # still live
    view.stop()
    for ended, text in ((completed, "live view ended: the stream completed after 3 values"),
                        (view, "live view ended: stopped after 1 value")):
        texts = [o["data"]["text/plain"] for o in ended._widget.outputs]
        assert text in texts and "text/html" in ended._widget.outputs[0]["data"]  # the table stays
