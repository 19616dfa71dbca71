"""Scheduler choice and argument validation shared by the operators.

Times given to operators are milliseconds, like every time in ccxt; reactivex
schedulers take seconds (a float) or a ``timedelta``, so ``seconds()`` converts.
"""

from __future__ import annotations

import asyncio
import math
import numbers
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ccxt
from reactivex import abc
from reactivex.scheduler import TimeoutScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler

from .._scheduling import virtual_scheduler
from ._errors import OperatorArgumentError, StreamShapeError

__all__ = [
    "TRADE_SHAPE",
    "check_depth",
    "check_positive",
    "default_scheduler",
    "describe",
    "is_mapping",
    "is_number",
    "now_seconds",
    "seconds",
    "shape_error",
    "timeframe_ms",
]


def default_scheduler() -> abc.SchedulerBase:
    """The scheduler used when neither the operator nor ``subscribe`` gave one.

    During ``rxpro.replay`` the replay's virtual-time scheduler; else an
    ``AsyncIOScheduler`` bound to the running asyncio loop when called from
    inside one (where ccxt.pro streams live), else the ``TimeoutScheduler``
    singleton.
    """
    virtual = virtual_scheduler()
    if virtual is not None:
        return virtual
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return TimeoutScheduler.singleton()
    return AsyncIOScheduler(loop)


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


def seconds(ms: float) -> float:
    """Milliseconds to the seconds a reactivex scheduler takes."""
    return ms / 1000.0


def now_seconds(scheduler: abc.SchedulerBase) -> float:
    """The scheduler's clock in seconds (any epoch: only differences are used)."""
    return scheduler.to_seconds(scheduler.now)


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


def is_mapping(value: object) -> bool:
    return isinstance(value, Mapping)


_NUMBERS = (int, numbers.Real, Decimal)


def is_number(value: object) -> bool:
    """A real number: int, float (what ccxt's parsers give), numpy's, ``Decimal``, ``Fraction``.

    Not a str (ccxt's raw ``info`` strings) or None. Checked where a value enters
    an operator's state, not on every arithmetic step.
    """
    return value.__class__ is float or isinstance(value, _NUMBERS)
