"""throttle: latest value, first at once, per key, on virtual time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from rxpro.operators import OperatorArgumentError, StreamShapeError, throttle

from ops_support import live_timers

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

TICK_MS = 1000  # TestScheduler ticks are seconds


def test_first_passes_at_once_then_the_latest_per_interval() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(150, "x"),  # before subscription
        on_next(210, "a"),
        on_next(220, "b"),
        on_next(230, "c"),  # latest of the interval [210, 310): emitted at 310
        # emitting c opened the interval [310, 410); nothing came, so it closed
        on_next(420, "d"),  # no interval open: passes at once, opens [420, 520)
        on_next(450, "e"),
        on_next(460, "f"),  # latest of [420, 520): at 520, opens [520, 620)
        on_completed(600),
    )
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS)))
    assert results.messages == [
        on_next(210, "a"),
        on_next(310, "c"),
        on_next(420, "d"),
        on_next(520, "f"),
        on_completed(600),
    ]
    assert xs.subscriptions == [subscribe(200, 600)]


def test_at_most_one_value_per_interval_on_a_busy_stream() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        [on_next(t, t) for t in range(201, 700)] + [on_completed(700)]
    )
    results = scheduler.start(lambda: xs.pipe(throttle(50 * TICK_MS)))
    times = [m.time for m in results.messages if m.value.kind == "N"]
    values = [m.value.value for m in results.messages if m.value.kind == "N"]
    assert times == [201, 251, 301, 351, 401, 451, 501, 551, 601, 651, 700]
    # every emission is the latest value seen by then (a value and a timer due at
    # the same tick: the value, scheduled first, is seen first), never the first
    assert values == [201, 251, 301, 351, 401, 451, 501, 551, 601, 651, 699]


def test_last_value_before_completion_is_never_lost() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, 1), on_next(220, 2), on_next(230, 3), on_completed(240)
    )
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS)))
    assert results.messages == [on_next(210, 1), on_next(240, 3), on_completed(240)]
    assert xs.subscriptions == [subscribe(200, 240)]


def test_errors_pass_at_once_and_drop_the_held_value() -> None:
    error = RuntimeError("boom")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, 1), on_next(220, 2), on_error(230, error))
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS)))
    assert results.messages == [on_next(210, 1), on_error(230, error)]
    assert xs.subscriptions == [subscribe(200, 230)]


def test_dispose_releases_upstream_and_timers() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, 1), on_next(220, 2), on_next(600, 3))
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS)), disposed=250)
    assert results.messages == [on_next(210, 1)]  # 2 was due at 310, after disposal
    assert xs.subscriptions == [subscribe(200, 250)]


def test_per_key_a_busy_key_does_not_starve_a_quiet_one() -> None:
    scheduler = TestScheduler()
    busy = [on_next(t, {"symbol": "BTC/USDT", "last": t}) for t in range(201, 400, 2)]
    quiet = [on_next(250, {"symbol": "ETH/USDT", "last": 1}), on_next(260, {"symbol": "ETH/USDT", "last": 2})]
    xs = scheduler.create_hot_observable(sorted(busy + quiet, key=lambda m: m.time) + [on_completed(400)])
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS, key="symbol")))
    eth = [(m.time, m.value.value["last"]) for m in results.messages
           if m.value.kind == "N" and m.value.value["symbol"] == "ETH/USDT"]
    btc = [(m.time, m.value.value["last"]) for m in results.messages
           if m.value.kind == "N" and m.value.value["symbol"] == "BTC/USDT"]
    assert eth == [(250, 1), (350, 2)]
    assert btc == [(201, 201), (301, 301), (400, 399)]


def test_key_function_errors_go_to_on_error() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, {"symbol": "A"}), on_next(220, {}))
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS, key=lambda v: v["symbol"])))
    assert results.messages[0] == on_next(210, {"symbol": "A"})
    assert results.messages[1].time == 220 and isinstance(results.messages[1].value.exception, KeyError)
    assert xs.subscriptions == [subscribe(200, 220)]


def test_an_unhashable_key_goes_to_on_error_not_out_of_on_next() -> None:
    subject: reactivex.subject.Subject[dict[str, Any]] = reactivex.subject.Subject()
    seen: list[Any] = []
    errors: list[Exception] = []
    subject.pipe(throttle(100, key=lambda v: v["symbols"], scheduler=TestScheduler())).subscribe(
        seen.append, errors.append
    )
    subject.on_next({"symbols": ("BTC/USDT",)})
    subject.on_next({"symbols": ["BTC/USDT"]})  # a list: unhashable
    subject.on_next({"symbols": ("ETH/USDT",)})
    assert seen == [{"symbols": ("BTC/USDT",)}]
    assert len(errors) == 1 and isinstance(errors[0], TypeError)
    assert "unhashable" in str(errors[0]) and "['BTC/USDT']" in str(errors[0])
    assert not subject.observers


@pytest.mark.parametrize("value", [{"last": 1}, [1, 2], 42, "BTC/USDT", {"symbol": ["BTC/USDT"]}])
def test_field_key_on_a_wrong_shaped_value_is_a_stream_shape_error(value: Any) -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, {"symbol": "A"}), on_next(220, value), on_next(230, {"symbol": "B"}))
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS, key="symbol")))
    assert results.messages[0] == on_next(210, {"symbol": "A"})
    assert len(results.messages) == 2 and results.messages[1].time == 220
    error = results.messages[1].value.exception
    assert isinstance(error, StreamShapeError)
    assert "throttle() expects" in str(error) and "'symbol'" in str(error) and repr(value) in str(error)
    assert xs.subscriptions == [subscribe(200, 220)]
    assert not live_timers(scheduler)


def test_operator_scheduler_wins_over_subscribe_scheduler() -> None:
    mine = TestScheduler()
    theirs = TestScheduler()
    seen: list[Any] = []
    subject: reactivex.subject.Subject[int] = reactivex.subject.Subject()
    subject.pipe(throttle(10 * TICK_MS, scheduler=mine)).subscribe(seen.append, scheduler=theirs)
    subject.on_next(1)
    subject.on_next(2)
    subject.on_next(3)
    assert len(live_timers(mine)) == 1 and not live_timers(theirs)
    mine.advance_to(10)
    assert seen == [1, 3]


async def test_default_scheduler_in_asyncio_uses_the_running_loop() -> None:
    subject: reactivex.subject.Subject[int] = reactivex.subject.Subject()
    seen: list[int] = []
    subject.pipe(throttle(20)).subscribe(seen.append)
    subject.on_next(1)
    subject.on_next(2)
    subject.on_next(3)
    assert seen == [1]
    await asyncio.sleep(0.05)
    assert seen == [1, 3]


@pytest.mark.parametrize("bad", [0, -1, -0.5, float("nan"), float("inf"), "100", None, True])
def test_bad_interval_raises_when_built(bad: Any) -> None:
    with pytest.raises(OperatorArgumentError, match="interval_ms"):
        throttle(bad)


def test_bad_key_raises_when_built() -> None:
    with pytest.raises(OperatorArgumentError, match="key"):
        throttle(100, key=42)  # type: ignore[arg-type]


def test_combines_with_reactivex_operators() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, 1), on_next(220, 2), on_completed(230))
    results = scheduler.start(lambda: xs.pipe(throttle(100 * TICK_MS), ops.map(lambda x: x * 10)))
    assert results.messages == [on_next(210, 10), on_next(230, 20), on_completed(230)]


def test_dispose_cancels_every_pending_timer() -> None:
    scheduler = TestScheduler()
    subject: reactivex.subject.Subject[dict[str, Any]] = reactivex.subject.Subject()
    seen: list[Any] = []
    subscription = subject.pipe(throttle(100 * TICK_MS, key="symbol", scheduler=scheduler)).subscribe(seen.append)
    for symbol in ("A", "B", "C"):
        subject.on_next({"symbol": symbol})
        subject.on_next({"symbol": symbol, "held": True})
    assert len(live_timers(scheduler)) == 3
    subscription.dispose()
    assert not live_timers(scheduler)
    assert not subject.observers
    scheduler.advance_to(1000)
    assert len(seen) == 3  # the held values died with the subscription
