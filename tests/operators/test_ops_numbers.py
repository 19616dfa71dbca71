"""Numbers given as strings (as some raw feeds send them): every operator ends the
stream with a StreamShapeError naming the value, and nothing raises out of on_next."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ccxt
import pytest
from reactivex.subject import Subject

from ops_support import book, ticker, trade
from rxpro.operators import (
    StreamShapeError,
    Venued,
    bars,
    best_bid_offer,
    consolidated_book,
    ohlcv,
    spread,
    vwap,
)


def push(operator: Callable[[Any], Any], items: list[Any]) -> tuple[list[Any], list[Exception]]:
    """Push ``items`` one by one through a Subject: a raise out of on_next fails the test."""
    subject: Subject[Any] = Subject()
    out: list[Any] = []
    errors: list[Exception] = []
    subject.pipe(operator).subscribe(out.append, errors.append)
    for item in items:
        subject.on_next(item)
    subject.on_completed()
    return out, errors


def assert_shape_error(errors: list[Exception], operator: str, excerpt: str) -> None:
    assert len(errors) == 1, errors
    assert isinstance(errors[0], StreamShapeError), errors[0]
    assert f"{operator}() expects" in str(errors[0]) and excerpt in str(errors[0])


def bad_trade(ts: int, price: Any, amount: Any) -> dict[str, Any]:
    return {"timestamp": ts, "price": price, "amount": amount, "marker": "bad"}


def no_amount(ts: int, price: float) -> dict[str, Any]:
    return {"timestamp": ts, "price": price, "amount": None}


# --- ohlcv ------------------------------------------------------------------------

OHLCV_MODES = [{}, {"closed_only": True}, {"late": "merge"}]


@pytest.mark.parametrize("options", OHLCV_MODES)
@pytest.mark.parametrize(
    "trades",
    [
        [bad_trade(1_000, 10.0, "1.5"), trade(2_000, 11.0, 2.0)],  # opens a candle
        [trade(1_000, 10.0, 1.5), bad_trade(2_000, 11.0, "2.0")],  # inside a candle
        [no_amount(1_000, 10.0), bad_trade(2_000, 11.0, "2.0")],  # after a None amount
        [trade(1_000, 10.0, 1), bad_trade(2_000, 11.0, "2")],  # int volume
        [trade(1_000, 10.0, 1.0), bad_trade(61_000, 11.0, "2.0")],  # opens the next candle
        [trade(1_000, 10.0, 1.0), bad_trade(2_000, "11.0", 2.0)],
        [bad_trade(1_000, "10.0", 2.0)],
        [trade(1_000, 10.0, 1.0), bad_trade(2_000, 11.0, Decimal("2"))],
        [bad_trade(1_000, 10.0, [1.0])],
    ],
)
def test_ohlcv_non_numbers_are_a_shape_error(trades: list[dict[str, Any]], options: dict[str, Any]) -> None:
    out, errors = push(ohlcv("1m", **options), trades)
    assert_shape_error(errors, "ohlcv", "'marker': 'bad'")
    assert all(isinstance(row[5], (int, float, type(None))) for row in out)


def test_ohlcv_late_merged_string_amount_is_a_shape_error() -> None:
    trades = [trade(61_000, 10.0, 1.0), bad_trade(1_000, 11.0, "2.0")]
    out, errors = push(ohlcv("1m", late="merge"), trades)
    assert_shape_error(errors, "ohlcv", "'marker': 'bad'")
    assert out == [[60_000, 10.0, 10.0, 10.0, 10.0, 1.0, 1]]


def test_ohlcv_dropped_late_trade_is_not_looked_at() -> None:
    late: list[Any] = []
    out, errors = push(ohlcv("1m", on_late=late.append), [trade(61_000, 10.0, 1.0), bad_trade(1_000, 11.0, "2.0")])
    assert not errors and late == [bad_trade(1_000, 11.0, "2.0")]


def test_ohlcv_none_amounts_still_sum_like_build_ohlcvc() -> None:
    trades = [no_amount(1_000, 10.0), trade(2_000, 11.0, 2.0), no_amount(3_000, 9.0), no_amount(61_000, 9.5)]
    out, errors = push(ohlcv("1m", closed_only=True), trades)
    assert not errors
    assert out == ccxt.Exchange().build_ohlcvc(trades, "1m") == [
        [0, 10.0, 11.0, 9.0, 9.0, 2.0, 3], [60_000, 9.5, 9.5, 9.5, 9.5, None, 1]
    ]


# --- bars -------------------------------------------------------------------------

@pytest.mark.parametrize("threshold", [{"volume": 1}, {"volume": 100}, {"ticks": 1}, {"ticks": 3}, {"notional": 5}])
@pytest.mark.parametrize(
    "trades",
    [
        [bad_trade(1, 10.0, "1.5")],
        [trade(1, 10.0, 0.1), bad_trade(2, 10.0, "1.5")],
        [bad_trade(1, "10.0", 1.5)],
        [bad_trade(1, 2, "ab")],  # 2 * "ab" is a str
    ],
)
def test_bars_non_numbers_are_a_shape_error(trades: list[dict[str, Any]], threshold: dict[str, Any]) -> None:
    out, errors = push(bars(**threshold), trades)
    assert_shape_error(errors, "bars", "'marker': 'bad'")
    assert all(isinstance(bar[5], (int, float)) for bar in out)


@pytest.mark.parametrize("notional", [5, 100])
@pytest.mark.parametrize(
    "trades",
    [
        [{"marker": "bad", **trade(1, 10.0, 1.0), "cost": "10.0"}],
        [trade(1, 10.0, 0.1), {"marker": "bad", **trade(2, 10.0, 1.0), "cost": "10.0"}],
    ],
)
def test_dollar_bars_string_cost_is_a_shape_error(trades: list[dict[str, Any]], notional: float) -> None:
    out, errors = push(bars(notional=notional), trades)
    assert_shape_error(errors, "bars", "'marker': 'bad'")
    assert out == []


# --- vwap -------------------------------------------------------------------------

def test_vwap_string_amount_is_a_shape_error() -> None:
    out, errors = push(vwap(1_000), [trade(1, 10.0, 1.0), bad_trade(2, 2, "ab")])
    assert_shape_error(errors, "vwap", "'marker': 'bad'")
    assert out == [10.0]


# --- best_bid_offer, spread, consolidated_book ------------------------------------

@pytest.mark.parametrize(
    "quote",
    [
        ticker("BTC/USDT", "100", 101.0),
        ticker("BTC/USDT", 100.0, "101"),
        ticker("BTC/USDT", 100.0, 101.0, bid_volume="1"),
        ticker("BTC/USDT", 100.0, 101.0, ask_volume="1"),
        {"BTC/USDT": ticker("BTC/USDT", "100", 101.0)},
        book("BTC/USDT", [["100", 1.0]], [[101.0, 1.0]]),
        book("BTC/USDT", [[100.0, 1.0]], [[101.0, "1"]]),
    ],
)
@pytest.mark.parametrize("first", [True, False])
def test_quotes_with_string_numbers_are_a_shape_error(quote: Any, first: bool) -> None:
    good = Venued("a", ticker("BTC/USDT", 100.5, 101.5))
    items = [Venued("b", quote), good] if first else [good, Venued("b", quote)]
    for name, operator in (("best_bid_offer", best_bid_offer()), ("spread", spread("a", "b"))):
        out, errors = push(operator, items)
        assert_shape_error(errors, name, "'BTC/USDT'")
        assert all(isinstance(getattr(v, "bid", None), (float, type(None))) for v in out)


@pytest.mark.parametrize(
    "levels",
    [([["100", 1.0]], [[101.0, 1.0]]), ([[100.0, "1"]], [[101.0, 1.0]]), ([[100.0, 1.0]], [[101.0, 1.0], ["102", 1.0]])],
)
def test_consolidated_book_string_levels_are_a_shape_error(levels: tuple[list[Any], list[Any]]) -> None:
    items = [Venued("a", book("BTC/USDT", [[100.0, 2.0]], [[101.0, 2.0]])), Venued("b", book("BTC/USDT", *levels))]
    out, errors = push(consolidated_book(5), items)
    assert_shape_error(errors, "consolidated_book", "'BTC/USDT'")
    assert len(out) == 1


# --- numbers that are not str: Decimal and Fraction work throughout -------------------


@pytest.mark.parametrize("number", [Decimal, Fraction])
def test_exact_number_types_flow_through_the_trade_operators(number: Any) -> None:
    trades = [trade(60_000 * i + 1, number(100 + i), number(2)) for i in range(4)]
    candles, errors = push(ohlcv("1m", closed_only=True), trades)
    assert errors == [] and [c[1] for c in candles] == [100, 101, 102, 103]  # the last at completion
    assert all(c[5] == 2 for c in candles)
    volume_bars, errors = push(bars(volume=3), trades)
    assert errors == [] and [b[5] for b in volume_bars] == [4, 4]
    prices, errors = push(vwap(60_000), trades)
    assert errors == [] and prices == [100, 101, 102, 103]


@pytest.mark.parametrize("number", [Decimal, Fraction])
def test_exact_number_types_flow_through_the_consolidating_operators(number: Any) -> None:
    items = [Venued("a", ticker("BTC/USDT", number(100), number(102))),
             Venued("b", ticker("BTC/USDT", number(101), number(103)))]
    out, errors = push(best_bid_offer(), items)
    assert errors == [] and (out[-1].bid, out[-1].bid_venue, out[-1].ask, out[-1].ask_venue) == (101, "b", 102, "a")
