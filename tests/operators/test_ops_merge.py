"""merge_exchanges: tagging, arrival order, isolated venue errors, resubscription."""

from __future__ import annotations

import dataclasses
from typing import Any

import ccxt
import pytest
import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from ops_support import live_timers
from rxpro.operators import OperatorArgumentError, VenueEnded, VenueError, Venued, merge_exchanges

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


def test_values_are_tagged_and_interleaved_in_arrival_order() -> None:
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, "b1"), on_next(230, "b2"), on_completed(300))
    okx = scheduler.create_hot_observable(on_next(220, "o1"), on_completed(400))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), (ccxt.okx(), okx)))
    assert results.messages == [
        on_next(210, Venued("binance", "b1")),
        on_next(220, Venued("okx", "o1")),
        on_next(230, Venued("binance", "b2")),
        on_next(300, VenueEnded("binance")),
        on_next(400, VenueEnded("okx")),
        on_completed(400),
    ]
    assert binance.subscriptions == [subscribe(200, 300)]
    assert okx.subscriptions == [subscribe(200, 400)]


def test_venued_is_frozen_and_keeps_the_value_untouched() -> None:
    value = {"symbol": "BTC/USDT"}
    tagged = Venued("binance", value)
    assert tagged.value is value
    with pytest.raises(AttributeError):
        tagged.venue = "okx"  # type: ignore[misc]



def test_merged_items_are_venued_like_the_constructor_makes() -> None:
    value = (1, "BTC/USDT")
    merged: list[Any] = []
    merge_exchanges(("binance", reactivex.of(value))).subscribe(merged.append)
    item, ended = merged
    assert ended == VenueEnded("binance")
    made = Venued("binance", value)
    assert type(item) is Venued and item == made and hash(item) == hash(made) and repr(item) == repr(made)
    assert item.value is value and dataclasses.astuple(item) == ("binance", value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.venue = "okx"  # type: ignore[misc]

def test_a_venue_error_is_isolated_and_the_others_go_on() -> None:
    error = ConnectionError("okx down")
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, 1), on_next(250, 2), on_completed(300))
    okx = scheduler.create_hot_observable(on_error(220, error))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)))
    assert results.messages == [
        on_next(210, Venued("binance", 1)),
        on_next(220, VenueError("okx", error)),
        on_next(250, Venued("binance", 2)),
        on_next(300, VenueEnded("binance")),
        on_completed(300),
    ]


def test_without_isolation_the_first_error_ends_the_merge() -> None:
    error = ConnectionError("okx down")
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(250, 2))
    okx = scheduler.create_hot_observable(on_error(220, error))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx), isolate_errors=False))
    assert results.messages == [on_error(220, error)]
    assert binance.subscriptions == [subscribe(200, 220)]



def test_an_input_failing_while_subscribed_ends_the_merge_before_the_next_input() -> None:
    scheduler = TestScheduler()
    error = RuntimeError("boom")
    failing = reactivex.create(lambda observer, _: observer.on_error(error))  # untagged: can't be isolated
    okx = scheduler.create_hot_observable(on_next(210, "o1"))
    results = scheduler.start(lambda: merge_exchanges(failing, ("okx", okx)))
    assert results.messages == [on_error(200, error)]
    assert okx.subscriptions == []

def test_a_failed_venue_is_resubscribed_after_the_delay() -> None:
    error = ConnectionError("okx down")
    scheduler = TestScheduler()
    okx = scheduler.create_cold_observable(on_next(10, "quote"), on_error(20, error))
    results = scheduler.start(
        lambda: merge_exchanges(("okx", okx), resubscribe_after_ms=30_000), disposed=290
    )
    assert results.messages == [
        on_next(210, Venued("okx", "quote")),
        on_next(220, VenueError("okx", error)),
        on_next(260, Venued("okx", "quote")),
        on_next(270, VenueError("okx", error)),
    ]
    assert okx.subscriptions == [subscribe(200, 220), subscribe(250, 270)]
    assert not live_timers(scheduler)


def test_observables_of_venued_pass_through_and_others_are_rejected() -> None:
    seen: list[Any] = []
    errors: list[Exception] = []
    inner = merge_exchanges(("binance", reactivex.of(1)))
    merge_exchanges(inner, ("okx", reactivex.of(2))).subscribe(seen.append)
    assert seen == [Venued("binance", 1), VenueEnded("binance"), Venued("okx", 2), VenueEnded("okx")]
    merge_exchanges(reactivex.of({"bid": 1})).subscribe(on_error=errors.append)
    assert isinstance(errors[0], OperatorArgumentError) and "(venue, observable)" in str(errors[0])


def test_every_venue_failing_for_good_completes_the_merge_with_the_errors_told_in_band() -> None:
    first, last = ConnectionError("binance down"), ConnectionError("okx down")
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, 1), on_error(220, first))
    okx = scheduler.create_hot_observable(on_error(230, last))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)))
    assert results.messages == [
        on_next(210, Venued("binance", 1)),
        on_next(220, VenueError("binance", first)),
        on_next(230, VenueError("okx", last)),
        on_completed(230),
    ]


def test_an_inner_merge_whose_venues_all_failed_leaves_the_outer_merge_going() -> None:
    # review: an earlier version failed the inner merge there, which ended the outer one (an
    # untagged input's error can't be isolated) and lost okx's values
    down = ConnectionError("binance down")
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, 1), on_error(220, down))
    okx = scheduler.create_hot_observable(on_next(230, 2), on_next(240, 3))
    results = scheduler.start(lambda: merge_exchanges(merge_exchanges(("binance", binance)), ("okx", okx)))
    assert results.messages == [
        on_next(210, Venued("binance", 1)),
        on_next(220, VenueError("binance", down)),
        on_next(230, Venued("okx", 2)),
        on_next(240, Venued("okx", 3)),
    ]


def test_a_merge_where_one_venue_completed_completes_though_the_others_failed() -> None:
    error = ConnectionError("okx down")
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, 1), on_completed(220))
    okx = scheduler.create_hot_observable(on_error(230, error))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)))
    assert results.messages == [
        on_next(210, Venued("binance", 1)),
        on_next(220, VenueEnded("binance")),
        on_next(230, VenueError("okx", error)),
        on_completed(230),
    ]


@pytest.mark.parametrize(
    "streams, match",
    [((), "at least one"), ((("binance", reactivex.empty()), ("binance", reactivex.empty())), "twice"),
     ((("", reactivex.empty()),), "venue"), (((1, reactivex.empty()),), "venue"),
     ((("binance", [1, 2]),), "pairs"), (("binance",), "pairs")],
)
def test_bad_arguments_raise_when_built(streams: tuple[Any, ...], match: str) -> None:
    with pytest.raises(OperatorArgumentError, match=match):
        merge_exchanges(*streams)


def test_bad_resubscribe_delay_raises() -> None:
    with pytest.raises(OperatorArgumentError, match="resubscribe_after_ms"):
        merge_exchanges(("a", reactivex.empty()), resubscribe_after_ms=0)
    with pytest.raises(OperatorArgumentError, match="isolate_errors"):
        merge_exchanges(("a", reactivex.empty()), resubscribe_after_ms=10, isolate_errors=False)
