"""Operators deliver or say why: inputs that used to leave a stream quiet for good now end it with an error.

Each case was found by feeding the operators adversarial but possible input (a NaN amount,
as ``ccxt``'s ``safe_number`` gives for ``"NaN"``; trades of several symbols, as
``watch_trades_for_symbols`` emits; a venue that fails for good under ``spread``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import reactivex
from reactivex import operators as ops
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler

from ops_support import book, live_timers, ticker, trade
from rxpro.operators import (
    OperatorArgumentError,
    StreamShapeError,
    VenueError,
    Venued,
    bars,
    book_snapshots,
    merge_exchanges,
    ohlcv,
    spread,
    throttle,
    vwap,
)

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed


def run(items: list[Any], operator: Any) -> tuple[list[Any], list[Exception], bool]:
    out: list[Any] = []
    errors: list[Exception] = []
    done: list[bool] = []
    reactivex.from_iterable(items).pipe(operator).subscribe(out.append, errors.append, lambda: done.append(True))
    return out, errors, bool(done)


def tape(bad_at: int, **bad: Any) -> list[dict[str, Any]]:
    """200 trades 100 ms apart, amount 0.5, with ``bad`` fields on trade ``bad_at``."""
    trades = [trade(i * 100, 100.0 + i % 7, 0.5) for i in range(200)]
    trades[bad_at] = {**trades[bad_at], **bad}
    return trades


# -- NaN and infinity: the running sums never recover from them --------------------------------


@pytest.mark.parametrize(("field", "value", "threshold"), [
    ("amount", math.nan, {"volume": 2}), ("amount", math.inf, {"volume": 2}),
    ("amount", math.nan, {"ticks": 4}), ("cost", math.nan, {"notional": 200}),
    ("cost", -math.inf, {"notional": 200}), ("amount", Decimal("NaN"), {"volume": 2}),
])
def test_bars_end_with_a_shape_error_at_a_non_finite_amount_or_cost(
    field: str, value: Any, threshold: dict[str, Any]
) -> None:
    for bad_at in (0, 5):  # opening a bar, or inside one
        out, errors, done = run(tape(bad_at, **{field: value}), bars(**threshold))
        assert len(errors) == 1 and isinstance(errors[0], StreamShapeError), (bad_at, out, errors)
        assert "finite" in str(errors[0]) and repr(value) in str(errors[0])
        assert not done and len(out) <= 1  # the bars before it, then the error: no later bar


@pytest.mark.parametrize(("field", "value"), [("amount", math.nan), ("amount", math.inf), ("price", math.nan),
                                              ("price", -math.inf), ("amount", np.float64("nan"))])
def test_vwap_ends_with_a_shape_error_at_a_non_finite_price_or_amount(field: str, value: Any) -> None:
    out, errors, done = run(tape(5, **{field: value}), vwap(1_000))
    assert len(out) == 5 and all(math.isfinite(v) for v in out)
    assert len(errors) == 1 and isinstance(errors[0], StreamShapeError) and "finite" in str(errors[0])
    assert not done


def test_vwap_emits_nothing_while_the_window_holds_only_zero_amounts() -> None:
    # 0.1 + 0.2 - 0.1 - 0.2 is 2.8e-17 in floats: the running sums must not take that for volume
    for first, second in ((100.0, 200.0), (1.5, 3.25), (60_000.0, 60_010.0)):
        out, errors, _ = run([trade(0, first, 0.1), trade(1, second, 0.2), trade(500, 300.0, 0.0),
                              trade(1_001, 300.0, 0.0), trade(1_400, 300.0, 0.0)], vwap(1_000))
        assert errors == [] and len(out) == 3, out  # after the 4th trade the window holds no volume
        assert out[2] == pytest.approx((first * 0.1 + second * 0.2) / 0.3)
    out, _, _ = run([trade(0, 10.0, 0.1), trade(1_001, 300.0, 0.0), trade(1_002, 20.0, 0.2)], vwap(1_000))
    assert out == [10.0, pytest.approx(20.0)]  # volume again: a price again, from that trade alone


# -- trades of several symbols: one series of two markets' prices --------------------------------


@pytest.mark.parametrize("operator", [ohlcv("1m"), ohlcv("1m", closed_only=True), bars(ticks=3), vwap(60_000)],
                         ids=["ohlcv", "ohlcv closed_only", "bars", "vwap"])
def test_trade_operators_refuse_a_second_symbol_naming_both(operator: Any) -> None:
    trades = [trade(1, 60_000.0), trade(2, 60_010.0), trade(3, 3_000.0, symbol="ETH/USDT"), trade(4, 60_020.0)]
    out, errors, done = run(trades, operator)
    assert len(errors) == 1 and isinstance(errors[0], StreamShapeError) and not done
    assert "'BTC/USDT'" in str(errors[0]) and "'ETH/USDT'" in str(errors[0])
    assert all(3_000.0 not in row for row in out if isinstance(row, list)) and 3_000.0 not in out


def test_trade_operators_take_one_symbol_however_it_is_spelled_and_trades_without_one() -> None:
    same = "".join(["BTC", "/", "USDT"])  # equal, not the same object
    trades = [trade(1, 10.0), trade(2, 11.0, symbol=same), {**trade(3, 12.0), "symbol": None}]
    out, errors, _ = run(trades, ohlcv("1m", closed_only=True))
    assert errors == [] and out == [[0, 10.0, 12.0, 10.0, 12.0, 3.0, 3]]


# -- spread: a venue gone for good ------------------------------------------------------------


def test_spread_ends_with_the_error_of_a_venue_that_will_not_come_back() -> None:
    scheduler = TestScheduler()
    down = ConnectionError("okx down")
    binance = scheduler.create_hot_observable(
        *[on_next(210 + 10 * i, ticker("BTC/USDT", 100 + i, 101 + i)) for i in range(10)])
    okx = scheduler.create_hot_observable(on_next(215, ticker("BTC/USDT", 102, 103)), on_error(235, down))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(
        spread("binance", "okx")))
    assert [m.time for m in results.messages if m.value.kind == "N"] == [215, 220, 230]
    assert results.messages[-1].time == 235 and results.messages[-1].value.kind == "E"
    assert results.messages[-1].value.exception is down  # said, where it used to go quiet until disposed
    assert binance.subscriptions[0].unsubscribe == 235 and not live_timers(scheduler)


def test_spread_waits_for_a_venue_the_merge_subscribes_to_again() -> None:
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(
        *[on_next(210 + 10 * i, ticker("BTC/USDT", 100 + i, 101 + i)) for i in range(10)])
    okx = scheduler.create_cold_observable(on_next(5, ticker("BTC/USDT", 102, 103)), on_error(20, ConnectionError()))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx), resubscribe_after_ms=40_000)
                              .pipe(spread("binance", "okx")), disposed=300)
    # quiet while okx is down (220-265), back after the resubscribe; no error: okx was coming back
    assert [(m.time, m.value.kind) for m in results.messages] == [(t, "N") for t in (210, 220, 265, 270, 280)]


def test_a_venue_error_of_a_third_venue_or_one_built_by_hand_does_not_end_the_spread() -> None:
    out, errors, done = run([Venued("a", ticker("S/USDT", 9, 10)), Venued("b", ticker("S/USDT", 11, 12)),
                             VenueError("c", RuntimeError(), final=True), VenueError("b", RuntimeError()),
                             Venued("b", ticker("S/USDT", 11.5, 12))], spread("a", "b"))
    assert errors == [] and done and [(s.ask, s.bid) for s in out] == [(10, 11), (10, 11.5)]


def test_a_merge_says_whether_a_venue_error_is_final() -> None:
    failing = reactivex.throw(ConnectionError("gone"))
    for delay, final in ((None, True), (1_000, False)):
        items: list[Any] = []
        merge_exchanges(("okx", failing), resubscribe_after_ms=delay).pipe(
            ops.take(1)).subscribe(items.append)
        assert isinstance(items[0], VenueError) and items[0].final is final


# -- book_snapshots: a bad book is said at once, and named ----------------------------------------


def test_book_snapshots_name_the_one_book_without_sides() -> None:
    # (said at the tick that copies it: checking every arriving book's sides cost ~+30 % per book)
    scheduler = TestScheduler()
    bad = {**book("ETH/USDT", [[1, 1]], [[2, 1]]), "bids": None}
    xs = scheduler.create_hot_observable(on_next(205, book("BTC/USDT", [[1, 1]], [[2, 1]])), on_next(207, bad))
    results = scheduler.start(lambda: xs.pipe(book_snapshots(10 * 1000, 5)))
    assert [(m.time, m.value.kind) for m in results.messages] == [(210, "E")]
    error = results.messages[0].value.exception
    assert isinstance(error, StreamShapeError) and "ETH/USDT" in str(error) and "BTC/USDT" not in str(error)
    assert not live_timers(scheduler)


def test_book_snapshots_name_the_one_book_whose_levels_are_not_levels() -> None:
    source: Subject[Any] = Subject()
    errors: list[Exception] = []
    scheduler = TestScheduler()
    source.pipe(book_snapshots(1_000, 5, scheduler=scheduler)).subscribe(on_error=errors.append)
    source.on_next(book("BTC/USDT", [[1, 1]], [[2, 1]]))
    source.on_next(book("ETH/USDT", [[1, 1]], [3]))  # a level that is a number
    scheduler.advance_by(1.0)
    assert len(errors) == 1 and "ETH/USDT" in str(errors[0]) and "BTC/USDT" not in str(errors[0])


# -- arguments: numbers of any real kind, flags that are flags ------------------------------------


@pytest.mark.parametrize("interval", [np.int64(100), np.float32(100.0), Decimal("100"), Fraction(100)])
def test_intervals_of_numpy_decimal_or_fraction_type_are_taken(interval: Any) -> None:
    throttle(interval)
    vwap(interval)
    bars(volume=interval)


@pytest.mark.parametrize("interval", [np.bool_(True), Decimal("NaN"), Decimal("sNaN"), np.float64("inf"),
                                      Fraction(-1, 3), "100"])
def test_intervals_that_are_not_finite_positive_numbers_are_refused_naming_them(interval: Any) -> None:
    with pytest.raises(OperatorArgumentError, match="interval_ms must be"):
        throttle(interval)


@pytest.mark.parametrize("flag", ["closed_only", "close_on_time", "fill_gaps"])
@pytest.mark.parametrize("value", ["false", 0, None, 1.0])
def test_ohlcv_flags_must_be_bools(flag: str, value: Any) -> None:
    with pytest.raises(OperatorArgumentError, match=f"{flag} must be True or False, got {value!r}"):
        ohlcv("1m", **{flag: value})
    ohlcv("1m", **{flag: np.bool_(False)})
