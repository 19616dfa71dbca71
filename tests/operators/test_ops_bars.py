"""bars: volume, tick and dollar bars."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex

from ops_support import trade
from rxpro.operators import OperatorArgumentError, StreamShapeError, bars


def run(trades: list[dict[str, Any]], **threshold: Any) -> list[list[Any]]:
    out: list[list[Any]] = []
    reactivex.from_iterable(trades).pipe(bars(**threshold)).subscribe(out.append)
    return out


TRADES = [trade(1, 10, 1.0), trade(2, 12, 2.0), trade(3, 9, 1.0), trade(4, 11, 4.0), trade(5, 10, 0.5)]


def test_tick_bars_hold_n_trades() -> None:
    assert run(TRADES, ticks=2) == [[1, 10, 12, 10, 12, 3.0, 2], [3, 9, 11, 9, 11, 5.0, 2]]


def test_volume_bars_close_on_the_trade_that_reaches_the_volume() -> None:
    assert run(TRADES, volume=3) == [[1, 10, 12, 10, 12, 3.0, 2], [3, 9, 11, 9, 11, 5.0, 2]]
    assert run(TRADES, volume=8.5) == [[1, 10, 12, 9, 10, 8.5, 5]]


def test_notional_bars_sum_cost() -> None:
    # costs: 10, 24, 9 (43 >= 40), 44, 5 (partial, not emitted)
    assert run(TRADES, notional=40) == [[1, 10, 12, 9, 9, 4.0, 3], [4, 11, 11, 11, 11, 4.0, 1]]
    no_cost = [{**t, "cost": None} for t in TRADES]
    assert run(no_cost, notional=40) == run(TRADES, notional=40)


def test_partial_bar_is_not_emitted_on_completion_and_zero_prices_are_skipped() -> None:
    assert run([trade(1, 10), trade(2, 0.0), trade(3, 10)], ticks=3) == []


@pytest.mark.parametrize(
    "threshold",
    [{}, {"volume": 1, "ticks": 1}, {"volume": 0}, {"volume": -1}, {"ticks": 0}, {"ticks": 1.5},
     {"notional": float("inf")}, {"ticks": True}],
)
def test_bad_thresholds_raise_when_built(threshold: dict[str, Any]) -> None:
    with pytest.raises(OperatorArgumentError):
        bars(**threshold)


def test_wrong_shape_errors() -> None:
    errors: list[Exception] = []
    reactivex.from_iterable([[1, 2]]).pipe(bars(ticks=1)).subscribe(on_error=errors.append)
    assert isinstance(errors[0], StreamShapeError) and "bars() expects ccxt trades" in str(errors[0])


def test_a_negative_amount_ends_the_bars_naming_it() -> None:
    # review: 6, then -5, then 4 made one bar, the -5 taken out of its volume
    out: list[list[Any]] = []
    errors: list[Exception] = []
    reactivex.from_iterable([trade(1, 100, 6.0), trade(2, 100, -5.0), trade(3, 100, 4.0)]).pipe(
        bars(volume=5)).subscribe(out.append, errors.append)
    assert out == [[1, 100, 100, 100, 100, 6.0, 1]]
    [error] = errors
    assert isinstance(error, StreamShapeError) and "amount=-5.0" in str(error), error
