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
    "check_depth",
    "check_positive",
    "describe",
    "is_number",
    "shape_error",
    "timeframe_ms",
]


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OperatorArgumentError(f"{name} must be a number > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise OperatorArgumentError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


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


_NUMBERS = (int, numbers.Real, Decimal)


def is_number(value: object) -> bool:
    """A real number: int, float (what ccxt's parsers give), numpy's, ``Decimal``, ``Fraction``.

    Not a str (ccxt's raw ``info`` strings) or None. Checked where a value enters
    an operator's state, not on every arithmetic step.
    """
    return value.__class__ is float or isinstance(value, _NUMBERS)
