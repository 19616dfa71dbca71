"""Which scheduler an operator's timers run on (decided by ``rxpro._scheduling``), and time units.

Times given to operators are milliseconds, like every time in ccxt; reactivex
schedulers take seconds (a float) or a ``timedelta``, so ``seconds()`` converts.
Argument and value checks live in ``_checks``.
"""

from __future__ import annotations

from reactivex import abc

from .._scheduling import default_scheduler  # the one place that decides it

__all__ = ["default_scheduler", "now_seconds", "seconds"]


def seconds(ms: float) -> float:
    """Milliseconds to the seconds a reactivex scheduler takes."""
    return ms / 1000.0


def now_seconds(scheduler: abc.SchedulerBase) -> float:
    """The scheduler's clock in seconds (any epoch: only differences are used)."""
    return scheduler.to_seconds(scheduler.now)
