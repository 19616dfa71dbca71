"""Argument and value checks shared by the operators.

Argument checks (``check_positive``, ``check_depth``, ``timeframe_ms``) run
when an operator is built and raise ``OperatorArgumentError`` naming the bad
value. Value checks (``is_number``, ``shape_error`` with the expected shapes
such as ``TRADE_SHAPE``) run on the stream and end it with
``StreamShapeError``. Scheduler choice and time units live in ``_scheduling``.
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from typing import Any

import ccxt

from rxpro._errors import OperatorArgumentError, StreamShapeError

__all__ = [
    "TRADE_SHAPE",
    "SymbolGuard",
    "check_depth",
    "check_flag",
    "check_positive",
    "describe",
    "is_number",
    "negative_error",
    "not_finite_error",
    "shape_error",
    "timeframe_ms",
]


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (numpy's and ``Decimal`` too), else raise."""
    if isinstance(value, bool) or not is_number(value) or _numpy_bool(value):
        raise OperatorArgumentError(f"{name} must be a number > 0, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (ValueError, OverflowError):  # a signalling Decimal NaN; a Fraction past float's range
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise OperatorArgumentError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _numpy_bool(value: object) -> bool:
    """numpy's bool (``numpy.bool_``, named ``bool`` since numpy 2), without importing numpy."""
    cls = value.__class__
    return cls.__module__ == "numpy" and cls.__name__ in ("bool", "bool_")


def check_flag(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool (numpy's too), else raise: ``'false'`` is not False."""
    if isinstance(value, bool):
        return value
    if _numpy_bool(value):
        return bool(value)
    raise OperatorArgumentError(f"{name} must be True or False, got {value!r}")


def check_depth(value: object, name: str = "depth") -> int:
    """Return ``value`` if it is an int >= 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OperatorArgumentError(f"{name} must be an int >= 1, got {value!r}")
    return value


def timeframe_ms(timeframe: object) -> int:
    """A ccxt timeframe ('1s', '1m', '5m', '1h', '1d', ...) in milliseconds.

    Uses ``ccxt.Exchange.parse_timeframe``, the function ``build_ohlcvc``
    buckets with, so '1M' is 30 days and '1y' 365 days as in ccxt.
    """
    if not isinstance(timeframe, str):
        raise OperatorArgumentError(f"timeframe must be a ccxt timeframe string like '1m', got {timeframe!r}")
    try:
        value = ccxt.Exchange.parse_timeframe(timeframe)
    except Exception as exc:  # ccxt raises NotSupported, int() raises ValueError
        raise OperatorArgumentError(f"unknown timeframe {timeframe!r}: {exc}") from exc
    if value <= 0:
        raise OperatorArgumentError(f"timeframe must be longer than zero, got {timeframe!r}")
    return int(value * 1000)


def describe(value: Any) -> str:
    """A short description of a value for error messages."""
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{type(value).__name__}: {text}"


#: what the trade operators (ohlcv, bars, vwap) expect, for their ``shape_error``
TRADE_SHAPE = "ccxt trades (dicts with 'timestamp', 'price' and 'amount' as numbers)"


def shape_error(operator: str, expected: str, value: Any) -> StreamShapeError:
    """The error sent to ``on_error`` when a value has the wrong shape."""
    return StreamShapeError(f"{operator}() expects {expected}; got {describe(value)}")


def not_finite_error(operator: str, field: str, number: Any, value: Any) -> StreamShapeError:
    """The error sent to ``on_error`` for a NaN or infinite number where the running sums can't take one."""
    return StreamShapeError(f"{operator}() expects a finite {field!r} in each trade; got {field}={number!r} in "
                            f"{describe(value)}")


def negative_error(operator: str, field: str, number: Any, value: Any) -> StreamShapeError:
    """The error sent to ``on_error`` for a negative size, which no trade has."""
    return StreamShapeError(f"{operator}() expects an {field!r} >= 0 in each trade; got {field}={number!r} in "
                            f"{describe(value)}")


_NUMBERS = (int, numbers.Real, Decimal)


def is_number(value: object) -> bool:
    """A real number: int, float (what ccxt's parsers give), numpy's, ``Decimal``, ``Fraction``.

    Not a str (ccxt's raw ``info`` strings) or None. Checked where a value enters
    an operator's state, not on every arithmetic step.
    """
    return value.__class__ is float or isinstance(value, _NUMBERS)


class SymbolGuard:
    """The one symbol a trade operator (``ohlcv``, ``bars``, ``vwap``) builds its series from.

    ccxt's ``build_ohlcvc`` is fed one market's trades; a stream of several
    (``watch_trades_for_symbols``, a merge) would blend their prices into one
    series. An operator asks ``mixed(symbol)`` for a trade whose ``symbol`` is not
    (the same object as) ``guard.symbol`` — ccxt's trades of one market share
    its symbol string, so that test is the hot path — and gets the error that
    says so at the first trade of a second symbol (trades without a symbol are
    taken as the stream's).
    """

    __slots__ = ("operator", "symbol")

    def __init__(self, operator: str) -> None:
        self.operator = operator
        self.symbol: Any = None

    def mixed(self, symbol: Any) -> StreamShapeError | None:
        if symbol is self.symbol or symbol is None:
            return None
        if self.symbol is None:
            self.symbol = symbol
            return None
        if symbol == self.symbol:
            self.symbol = symbol  # the same text: later trades pass the identity test
            return None
        return StreamShapeError(
            f"{self.operator}() builds one market's series, got trades of {self.symbol!r} and then {symbol!r}: "
            "split the stream by symbol first (one operator per symbol, e.g. with reactivex's group_by)"
        )
