"""book_snapshots, mid_price, vwap, imbalance, default_scheduler."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.scheduler import TimeoutScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import ReactiveTest, TestScheduler

from ops_support import book, live_timers, ticker, trade
from rxpro.operators import (
    OperatorArgumentError,
    StreamShapeError,
    book_snapshots,
    default_scheduler,
    imbalance,
    mid_price,
    vwap,
)

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

TICK_MS = 1000


def run(items: list[Any], operator: Any) -> tuple[list[Any], list[Exception]]:
    out: list[Any] = []
    errors: list[Exception] = []
    reactivex.from_iterable(items).pipe(operator).subscribe(out.append, errors.append)
    return out, errors


# --- book_snapshots -------------------------------------------------------------

def test_book_snapshots_emit_the_latest_top_n_per_symbol_at_fixed_intervals() -> None:
    scheduler = TestScheduler()
    deep = [[100 - i, 1] for i in range(10)]
    xs = scheduler.create_hot_observable(
        on_next(210, book("BTC/USDT", deep, [[101, 1]], timestamp=1)),
        on_next(220, book("BTC/USDT", deep[1:], [[101, 2]], timestamp=2)),  # latest before the 250 tick
        on_next(230, book("ETH/USDT", [[10, 1]], [[11, 1]], timestamp=3)),
        on_next(320, book("BTC/USDT", deep, [[102, 1]], timestamp=4)),  # flushed on completion
        on_completed(330),
    )
    results = scheduler.start(lambda: xs.pipe(book_snapshots(50 * TICK_MS, 3)))
    assert [(m.time, m.value.value["symbol"], m.value.value["timestamp"]) for m in results.messages[:-1]] == [
        (250, "BTC/USDT", 2), (250, "ETH/USDT", 3), (330, "BTC/USDT", 4),
    ]
    first = results.messages[0].value.value
    assert first["bids"] == [[99, 1], [98, 1], [97, 1]] and first["asks"] == [[101, 2]]
    assert results.messages[-1] == on_completed(330)
    assert xs.subscriptions == [subscribe(200, 330)]
    assert not live_timers(scheduler)


def test_book_snapshots_are_new_lists_and_dispose_stops_the_clock() -> None:
    scheduler = TestScheduler()
    live = book("BTC/USDT", [[100, 1]], [[101, 1]])
    xs = scheduler.create_hot_observable(on_next(210, live))
    results = scheduler.start(lambda: xs.pipe(book_snapshots(100 * TICK_MS, 1)), disposed=350)
    snapshot = results.messages[0].value.value
    assert results.messages[0].time == 300
    assert snapshot["bids"] == live["bids"] and snapshot["bids"] is not live["bids"]
    assert snapshot["bids"][0] is not live["bids"][0]
    assert xs.subscriptions == [subscribe(200, 350)]
    assert not live_timers(scheduler)


@pytest.mark.parametrize("args, match", [((0, 5), "interval_ms"), ((100, 0), "depth"), ((-1, 5), "interval_ms"), ((100, "5"), "depth")])
def test_book_snapshots_bad_arguments(args: tuple[Any, Any], match: str) -> None:
    with pytest.raises(OperatorArgumentError, match=match):
        book_snapshots(*args)


def test_book_snapshots_wrong_shape() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, ticker("BTC/USDT", 1, 2)))
    results = scheduler.start(lambda: xs.pipe(book_snapshots(10 * TICK_MS, 5)))
    assert isinstance(results.messages[0].value.exception, StreamShapeError)
    assert xs.subscriptions == [subscribe(200, 210)]



def test_book_snapshots_pass_an_upstream_error_at_once_and_stop_the_clock() -> None:
    scheduler = TestScheduler()
    error = RuntimeError("socket closed")
    xs = scheduler.create_hot_observable(
        on_next(210, book("BTC/USDT", [[100, 1]], [[101, 1]])), on_error(220, error)
    )
    ticks_left: list[float] = []

    def look_at_the_clock(*_: Any) -> None:  # just after the error; the run ends at 1000
        ticks_left.extend(scheduler.to_seconds(t.duetime) for t in live_timers(scheduler))

    scheduler.schedule_absolute(221, look_at_the_clock)
    results = scheduler.start(lambda: xs.pipe(book_snapshots(50 * TICK_MS, 1)))
    assert results.messages == [on_error(220, error)]  # the book held for the 250 tick is dropped
    assert xs.subscriptions == [subscribe(200, 220)]
    assert ticks_left == [1000.0]  # only the test's own disposal: the 250 tick was cancelled
    assert not live_timers(scheduler)


def test_book_snapshots_a_book_with_a_bad_level_ends_the_stream_at_the_tick() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, book("BTC/USDT", [[100]], [[101, 1]])))
    results = scheduler.start(lambda: xs.pipe(book_snapshots(50 * TICK_MS, 1)))
    assert [m.time for m in results.messages] == [250]
    assert isinstance(results.messages[0].value.exception, StreamShapeError)
    assert xs.subscriptions == [subscribe(200, 250)]
    assert not live_timers(scheduler)

# --- mid_price ------------------------------------------------------------------

def test_mid_price_of_tickers_and_books_skipping_one_sided_values() -> None:
    out, errors = run(
        [ticker("X/Y", 100, 102), ticker("X/Y", None, 102), book("X/Y", [[10, 1]], [[11, 1]]), book("X/Y", [], [[11, 1]])],
        mid_price(),
    )
    assert out == [101, 10.5] and not errors


def test_mid_price_wrong_shape() -> None:
    _, errors = run([{"price": 1}], mid_price())
    assert isinstance(errors[0], StreamShapeError) and "mid_price() expects" in str(errors[0])


@pytest.mark.parametrize("value, named", [
    (ticker("X/Y", math.nan, 102), "bid=nan"), (ticker("X/Y", 100, math.inf), "ask=inf"),
    (book("X/Y", [[10, 1]], [[-math.inf, 1]]), "ask=-inf"),
])
def test_mid_price_refuses_a_nan_or_infinite_price_naming_it(value: Any, named: str) -> None:
    # review: a NaN bid gave a NaN mid, with no error
    out, errors = run([ticker("X/Y", 100, 102), value, ticker("X/Y", 100, 104)], mid_price())
    assert out == [101]
    [error] = errors
    assert isinstance(error, StreamShapeError) and named in str(error), error


# --- vwap -----------------------------------------------------------------------

def test_vwap_over_a_window_of_exchange_time() -> None:
    out, _ = run([trade(0, 10, 1), trade(1_000, 20, 1), trade(3_000, 30, 2), trade(3_500, 40, 0)], vwap(2_500))
    # at 3000 the window (500, 3000] holds 20x1 and 30x2
    assert out == [10, 15, pytest.approx(80 / 3), 30]  # at 3500: (1000, 3500] holds 30x2, 40x0


def vwap_reference(trades: list[dict[str, Any]], window: int) -> list[float]:
    """Brute force: after each trade inside the window (timestamp > newest - window), the VWAP of the window."""
    expected = []
    newest = None
    for i, t in enumerate(trades):
        newest = t["timestamp"] if newest is None else max(newest, t["timestamp"])
        if t["timestamp"] <= newest - window:  # late and already outside: nothing changes
            continue
        inside = [u for u in trades[: i + 1] if u["timestamp"] > newest - window]
        expected.append(sum(u["price"] * u["amount"] for u in inside) / sum(u["amount"] for u in inside))
    return expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5_000), st.floats(1, 1e5), st.floats(0.001, 100)), min_size=1, max_size=50),
    st.integers(1, 20_000),
    st.one_of(st.none(), st.randoms(use_true_random=False), st.lists(st.integers(-3_000, 200), max_size=50)),
)
def test_vwap_matches_brute_force(
    steps: list[tuple[int, float, float]], window: int, disorder: Any
) -> None:
    """In order, shuffled, or with trades arriving late by up to 3 s (behind newer ones)."""
    trades, ts = [], 0
    for gap, price, amount in steps:
        ts += gap
        trades.append(trade(ts, price, amount))
    if isinstance(disorder, list):
        for t, delay in zip(trades, disorder):
            t["timestamp"] = max(0, t["timestamp"] + delay)
    elif disorder is not None:
        disorder.shuffle(trades)
    out, errors = run(trades, vwap(window))
    assert not errors
    assert out == pytest.approx(vwap_reference(trades, window), rel=1e-9)


def test_vwap_expires_a_late_trade_that_arrived_behind_newer_ones() -> None:
    # 30 arrives after 120 but is inside (20, 120]; at 200 the window (100, 200] holds 120 and 200 only
    out, _ = run([trade(100, 10), trade(120, 20), trade(30, 1000), trade(200, 30)], vwap(100))
    assert out == [10, 15, pytest.approx(1030 / 3), 25]


def test_vwap_late_trade_outside_the_window_changes_nothing() -> None:
    out, _ = run([trade(100, 10), trade(200, 20), trade(100, 1000), trade(250, 30)], vwap(100))
    assert out == [10, 20, 25]


@pytest.mark.parametrize("price, amount", [("10", 2), (10.0, "2"), (2, "ab"), ("10", "2")])
def test_vwap_numbers_as_strings_are_a_shape_error(price: Any, amount: Any) -> None:
    out, errors = run([trade(1, 10.0, 1.0), {"timestamp": 2, "price": price, "amount": amount}, trade(3, 20.0, 1.0)], vwap(10))
    assert out == [10.0]
    assert len(errors) == 1 and isinstance(errors[0], StreamShapeError) and "'timestamp': 2" in str(errors[0])


@pytest.mark.parametrize("bad, named", [
    ({"timestamp": 2, "price": 200.0, "amount": -0.5}, "amount=-0.5"),
    ({"timestamp": math.nan, "price": 200.0, "amount": 1.0}, "timestamp=nan"),
    ({"timestamp": math.inf, "price": 200.0, "amount": 1.0}, "timestamp=inf"),
])
def test_vwap_refuses_a_negative_amount_or_a_nan_timestamp_naming_it(bad: dict[str, Any], named: str) -> None:
    # review: 100 x 1 then 200 x -0.5 gave 0.0, a price no trade had; a NaN timestamp froze the window
    out, errors = run([trade(1, 100.0, 1.0), bad, trade(3, 300.0, 1.0)], vwap(60_000))
    assert out == [100.0]
    [error] = errors
    assert isinstance(error, StreamShapeError) and named in str(error), error


def test_vwap_a_decimal_nan_amount_is_refused_not_raised() -> None:
    # review: the new negative check compared the NaN first, and decimal.InvalidOperation escaped on_next
    from decimal import Decimal
    for amount in (Decimal("NaN"), Decimal("sNaN")):
        out, errors = run([trade(1, 100.0, 1.0), {"timestamp": 2, "price": 200.0, "amount": amount}], vwap(60_000))
        assert out == [100.0]
        [error] = errors
        assert isinstance(error, StreamShapeError), error


def test_mid_price_and_imbalance_of_finite_numbers_whose_sums_overflow() -> None:
    out, errors = run([ticker("X/Y", 1e308, 1.7e308)], mid_price())
    assert errors == [] and out == [1.35e308]
    out, errors = run([book("X/Y", [[1.0, 1e308], [0.9, 1e308]], [[2.0, 1e308]])], imbalance(2))
    assert errors == [] and out == [pytest.approx(1 / 3)]


def test_vwap_bad_window_and_shape() -> None:
    with pytest.raises(OperatorArgumentError, match="window_ms"):
        vwap(0)
    _, errors = run([42], vwap(10))
    assert isinstance(errors[0], StreamShapeError)


# --- imbalance ------------------------------------------------------------------

def test_imbalance_over_the_top_levels() -> None:
    out, _ = run(
        [book("X/Y", [[10, 3], [9, 100]], [[11, 1]]), book("X/Y", [[10, 1]], [[11, 1]]), book("X/Y", [], [])],
        imbalance(1),
    )
    assert out == [0.5, 0.0]
    out, _ = run([book("X/Y", [[10, 3], [9, 1]], [[11, 1], [12, 4]])], imbalance(2))
    assert out == [(4 - 5) / 9]


@pytest.mark.parametrize("level, named", [([11, -1.0], "ask amount=-1.0"), ([11, math.nan], "ask amount=nan")])
def test_imbalance_refuses_a_negative_or_nan_size_naming_it(level: list[float], named: str) -> None:
    # review: an ask of -1 against a bid of 3 gave 2.0, outside [-1, 1]
    out, errors = run([book("X/Y", [[10, 3]], [[11, 1]]), book("X/Y", [[10, 3]], [level])], imbalance(1))
    assert out == [0.5]
    [error] = errors
    assert isinstance(error, StreamShapeError) and named in str(error), error


def test_imbalance_bad_depth_and_shape() -> None:
    with pytest.raises(OperatorArgumentError, match="depth must be an int >= 1, got 0"):
        imbalance(0)
    _, errors = run([ticker("X/Y", 1, 2)], imbalance(1))
    assert isinstance(errors[0], StreamShapeError) and "imbalance() expects" in str(errors[0])


# --- default_scheduler --------------------------------------------------------------

def test_default_scheduler_without_a_loop_is_the_timeout_singleton() -> None:
    assert default_scheduler() is TimeoutScheduler.singleton()


async def test_default_scheduler_in_a_loop_is_bound_to_it() -> None:
    scheduler = default_scheduler()
    assert isinstance(scheduler, AsyncIOScheduler)
    assert scheduler._loop is asyncio.get_running_loop()
