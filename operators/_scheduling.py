"""Which scheduler an operator's timers run on, and time units.

Times given to operators are milliseconds, like every time in ccxt; reactivex
schedulers take seconds (a float) or a ``timedelta``, so ``seconds()`` converts.
Argument and value checks live in ``_checks``.
"""

from __future__ import annotations

import asyncio

from reactivex import abc
from reactivex.scheduler import TimeoutScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler

from .._scheduling import virtual_scheduler

__all__ = ["default_scheduler", "now_seconds", "seconds"]


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


def seconds(ms: float) -> float:
    """Milliseconds to the seconds a reactivex scheduler takes."""
    return ms / 1000.0


def now_seconds(scheduler: abc.SchedulerBase) -> float:
    """The scheduler's clock in seconds (any epoch: only differences are used)."""
    return scheduler.to_seconds(scheduler.now)
