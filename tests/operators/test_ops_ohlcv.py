"""ohlcv: exact against ccxt's build_ohlcvc, on recorded and generated trades."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler

from ops_support import live_timers, trade
from rxpro.operators import OperatorArgumentError, StreamShapeError, ohlcv

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

TIMEFRAMES = ["1s", "1m", "5m", "1h"]
EXCHANGE = ccxt.Exchange()


def run(trades: list[dict[str, Any]], timeframe: str, **options: Any) -> list[list[Any]]:
    out: list[list[Any]] = []
    errors: list[Exception] = []
    reactivex.from_iterable(trades).pipe(ohlcv(timeframe, **options)).subscribe(out.append, errors.append)
    if errors:
        raise errors[0]
    return out


def last_per_timestamp(rows: list[list[Any]]) -> list[list[Any]]:
    latest: dict[int, list[Any]] = {}
    for row in rows:
        latest[row[0]] = row
    return list(latest.values())


# --- differential: recorded Binance trades ----------------------------------

@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_closed_candles_equal_build_ohlcvc_on_recorded_binance_trades(
    binance_trades: list[dict[str, Any]], timeframe: str
) -> None:
    expected = EXCHANGE.build_ohlcvc(binance_trades, timeframe)
    assert len(expected) > 1
    assert run(binance_trades, timeframe, closed_only=True) == expected
    assert last_per_timestamp(run(binance_trades, timeframe)) == expected


def test_recorded_trades_are_real_ccxt_trades(binance_trades: list[dict[str, Any]]) -> None:
    assert len(binance_trades) > 9000
    first = binance_trades[0]
    assert first["symbol"] == "BTC/USDT" and isinstance(first["price"], float)
    assert isinstance(first["timestamp"], int) and first["cost"] == pytest.approx(first["price"] * first["amount"])


# --- differential: generated trades (hypothesis) ----------------------------

prices = st.one_of(
    st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 100.0, 100.5, 99.5]),  # zeros are skipped, repeats tie highs/lows
)
amounts = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
gaps = st.one_of(st.integers(0, 2_000), st.integers(0, 4_000_000))


@st.composite
def sorted_trades(draw: st.DrawFn) -> list[dict[str, Any]]:
    ts = draw(st.integers(0, 2_000_000_000_000))
    trades = []
    for gap, price, amount in draw(st.lists(st.tuples(gaps, prices, amounts), max_size=60)):
        ts += gap
        trades.append(trade(ts, price, amount))
    return trades


@settings(max_examples=100, deadline=None)
@given(trades=sorted_trades(), timeframe=st.sampled_from(TIMEFRAMES))
def test_closed_candles_equal_build_ohlcvc_on_generated_trades(
    trades: list[dict[str, Any]], timeframe: str
) -> None:
    expected = EXCHANGE.build_ohlcvc(trades, timeframe)
    assert run(trades, timeframe, closed_only=True) == expected
    assert last_per_timestamp(run(trades, timeframe)) == expected
    assert run(trades, timeframe, closed_only=True, late="merge") == expected


@settings(max_examples=100, deadline=None)
@given(trades=sorted_trades().flatmap(st.permutations), timeframe=st.sampled_from(TIMEFRAMES))
def test_late_merge_equals_build_ohlcvc_on_unsorted_trades(
    trades: list[dict[str, Any]], timeframe: str
) -> None:
    assert run(trades, timeframe, closed_only=True, late="merge") == EXCHANGE.build_ohlcvc(trades, timeframe)


@settings(max_examples=100, deadline=None)
@given(trades=sorted_trades().flatmap(st.permutations), timeframe=st.sampled_from(TIMEFRAMES))
def test_late_drop_reports_late_trades_and_equals_build_ohlcvc_on_the_rest(
    trades: list[dict[str, Any]], timeframe: str
) -> None:
    dropped: list[dict[str, Any]] = []
    candles = run(trades, timeframe, closed_only=True, on_late=dropped.append)
    kept = [t for t in trades if all(t is not d for d in dropped)]
    assert candles == EXCHANGE.build_ohlcvc(kept, timeframe)
    ms = EXCHANGE.parse_timeframe(timeframe) * 1000
    for late in dropped:  # each was older than the candle open when it came
        assert late["timestamp"] // ms * ms < max(t["timestamp"] for t in trades) // ms * ms


# --- rules ------------------------------------------------------------------

def test_default_mode_emits_the_updated_candle_on_every_trade_as_new_lists() -> None:
    trades = [trade(1_000, 10, 1), trade(30_000, 12, 2), trade(59_999, 9, 1), trade(60_000, 11, 5)]
    rows = run(trades, "1m")
    assert rows == [
        [0, 10, 10, 10, 10, 1, 1],
        [0, 10, 12, 10, 12, 3, 2],
        [0, 10, 12, 9, 9, 4, 3],
        [60_000, 11, 11, 11, 11, 5, 1],
    ]
    assert len({id(row) for row in rows}) == 4


def test_trades_build_ohlcvc_skips_are_skipped() -> None:
    trades = [
        trade(1_000, 10),
        trade(2_000, 0.0),  # zero price
        {**trade(3_000, 10), "price": None},
        {**trade(4_000, 10), "timestamp": None},
        trade(-5_000, 10),  # before since=0
        {**trade(6_000, 11), "timestamp": "6000"},  # safe_integer reads strings
        trade(7_000, float("nan")),
    ]
    assert run(trades, "1m", closed_only=True) == EXCHANGE.build_ohlcvc(trades, "1m") == [[0, 10, 11, 10, 11, 2.0, 2]]


def test_fill_gaps_refuses_a_gap_too_wide_to_be_real_instead_of_blocking_the_loop() -> None:
    # review: a timestamp in seconds, then one in milliseconds, emitted ~28.7 million 1m candles in one on_next
    out: list[list[Any]] = []
    errors: list[Exception] = []
    reactivex.of(trade(1_723_075_200, 100.0), trade(1_723_075_200_000, 100.0)).pipe(
        ohlcv("1m", fill_gaps=True)).subscribe(out.append, errors.append)
    assert len(out) == 1
    [error] = errors
    assert isinstance(error, StreamShapeError) and "28,689,202 empty candles" in str(error) and "seconds" in str(error), error
    # a million empty candles is still filled
    rows = run([trade(0, 1.0), trade(1_000_001 * 1000, 2.0)], "1s", closed_only=True, fill_gaps=True)
    assert len(rows) == 1_000_002 and rows[1] == [1000, 1.0, 1.0, 1.0, 1.0, 0.0, 0]


def test_fill_gaps_emits_flat_candles_between_trades() -> None:
    trades = [trade(1_000, 10, 1), trade(65_000, 12, 1), trade(190_000, 8, 2)]
    assert run(trades, "1m", closed_only=True, fill_gaps=True) == [
        [0, 10, 10, 10, 10, 1, 1],
        [60_000, 12, 12, 12, 12, 1, 1],
        [120_000, 12, 12, 12, 12, 0.0, 0],
        [180_000, 8, 8, 8, 8, 2, 1],
    ]


def test_closed_only_flushes_the_open_candle_on_completion_but_not_on_error() -> None:
    error = RuntimeError("feed down")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, trade(1_000, 10)), on_next(220, trade(61_000, 11)), on_error(230, error)
    )
    results = scheduler.start(lambda: xs.pipe(ohlcv("1m", closed_only=True)))
    assert results.messages == [on_next(220, [0, 10, 10, 10, 10, 1.0, 1]), on_error(230, error)]
    assert xs.subscriptions == [subscribe(200, 230)]


def test_close_on_time_closes_and_fills_a_quiet_market_on_the_scheduler_clock() -> None:
    # TestScheduler ticks are seconds; trade timestamps are ms of the same clock
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, trade(210_000, 10)),  # bucket [180, 240)
        on_next(230, trade(230_000, 12)),
        on_next(250, trade(239_000, 11)),  # in flight past the bucket end: grace keeps it
        on_next(400, trade(400_000, 9)),   # bucket [360, 420)
    )
    results = scheduler.start(
        lambda: xs.pipe(ohlcv("1m", closed_only=True, close_on_time=True, grace_ms=15_000, fill_gaps=True)),
        disposed=500,
    )
    assert results.messages == [
        on_next(255, [180_000, 10, 12, 10, 11, 3.0, 3]),
        on_next(315, [240_000, 11, 11, 11, 11, 0.0, 0]),  # quiet bucket, closed by time
        on_next(375, [300_000, 11, 11, 11, 11, 0.0, 0]),
        on_next(435, [360_000, 9, 9, 9, 9, 1.0, 1]),
        on_next(495, [420_000, 9, 9, 9, 9, 0.0, 0]),
    ]
    assert xs.subscriptions == [subscribe(200, 500)]
    assert not live_timers(scheduler)


def test_close_on_time_drops_trades_for_a_candle_it_already_closed() -> None:
    scheduler = TestScheduler()
    late: list[Any] = []
    xs = scheduler.create_hot_observable(
        on_next(210, trade(210_000, 10)), on_next(245, trade(239_000, 99)), on_completed(300)
    )
    results = scheduler.start(
        lambda: xs.pipe(ohlcv("1m", closed_only=True, close_on_time=True, late="merge", on_late=late.append))
    )
    assert results.messages == [on_next(240, [180_000, 10, 10, 10, 10, 1.0, 1]), on_completed(300)]
    assert [t["price"] for t in late] == [99]


def test_close_on_time_uses_the_operator_scheduler_first() -> None:
    mine = TestScheduler()
    subject: reactivex.subject.Subject[dict[str, Any]] = reactivex.subject.Subject()
    seen: list[Any] = []
    subject.pipe(ohlcv("1s", closed_only=True, close_on_time=True, scheduler=mine)).subscribe(
        seen.append, scheduler=TestScheduler()
    )
    subject.on_next(trade(500, 10))
    mine.advance_to(0.4)
    assert seen == []
    mine.advance_to(0.5)
    assert seen == [[0, 10, 10, 10, 10, 1.0, 1]]


def test_on_late_errors_go_to_on_error() -> None:
    def boom(_: Any) -> None:
        raise ValueError("counter broke")

    errors: list[Exception] = []
    reactivex.from_iterable([trade(120_000, 1), trade(1_000, 1)]).pipe(ohlcv("1m", on_late=boom)).subscribe(
        on_error=errors.append
    )
    assert [str(e) for e in errors] == ["counter broke"]


# --- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("timeframe", ["1x", "abc", "0m", "", "m", 60, None, "1.5m"])
def test_unknown_timeframes_raise_naming_the_value(timeframe: Any) -> None:
    with pytest.raises(OperatorArgumentError, match=repr(timeframe).replace("(", r"\(").replace(".", r"\.")):
        ohlcv(timeframe)


@pytest.mark.parametrize(
    "options, name",
    [({"late": "keep"}, "late"), ({"grace_ms": -1}, "grace_ms"), ({"grace_ms": float("nan")}, "grace_ms"),
     ({"on_late": 3}, "on_late")],
)
def test_bad_options_raise_when_built(options: dict[str, Any], name: str) -> None:
    with pytest.raises(OperatorArgumentError, match=name):
        ohlcv("1m", **options)


@pytest.mark.parametrize("value", [42, "trade", {"price": 1, "amount": 1}, {"timestamp": 1, "price": "1", "amount": 1}])
def test_a_stream_of_the_wrong_shape_errors_naming_the_value(value: Any) -> None:
    errors: list[Exception] = []
    reactivex.from_iterable([value]).pipe(ohlcv("1m")).subscribe(on_error=errors.append)
    assert len(errors) == 1 and isinstance(errors[0], StreamShapeError)
    assert "ohlcv() expects ccxt trades" in str(errors[0]) and type(value).__name__ in str(errors[0])
