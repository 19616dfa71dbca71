"""Which scheduler runs rxpro's timed work: the one module that decides it.

* :func:`scheduler_for` — an ``AsyncIOScheduler`` on an exchange's loop (users pass it
  to operators of Observables combined from several streams);
* :func:`stream_scheduler` — the subscribe-time default handed down the pipe of an rxpro
  stream (``ExchangeObservable``): timed work on the exchange's loop, or on the virtual
  clock of its replay; work due now at once;
* :func:`default_scheduler` — what rxpro's operators use when neither the operator nor
  ``subscribe`` gave one: the virtual clock of the replay open in this context, else the
  running loop's, else RxPY's ``TimeoutScheduler``;
* :func:`use_virtual_scheduler` — a replay makes its clock that default while it is open.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from reactivex import abc, typing
from reactivex.scheduler import CurrentThreadScheduler, TimeoutScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.scheduler.periodicscheduler import PeriodicScheduler

__all__ = [
    "StreamScheduler",
    "default_scheduler",
    "scheduler_for",
    "stream_scheduler",
    "use_virtual_scheduler",
    "virtual_scheduler",
]


def scheduler_for(exchange: Any = None) -> AsyncIOScheduler:
    """An ``AsyncIOScheduler`` on ``exchange``'s loop (or the running loop)."""
    loop = getattr(exchange, "asyncio_loop", None) or asyncio.get_running_loop()
    return AsyncIOScheduler(loop)


#: The virtual-time schedulers of the replays open in this context, oldest first (see ``rxpro.replay``).
_virtual_schedulers: ContextVar[tuple[abc.SchedulerBase, ...]] = ContextVar("rxpro_virtual_schedulers", default=())


def virtual_scheduler() -> abc.SchedulerBase | None:
    """The virtual-time scheduler of the replay opened last of those open here, else ``None``."""
    open_ = _virtual_schedulers.get()
    return open_[-1] if open_ else None


def use_virtual_scheduler(scheduler: abc.SchedulerBase | None, token: Any = None) -> Any:
    """Make ``scheduler`` the operators' default in this context; returns the token that undoes it.

    ``None`` + token: that replay closed; the one opened before it (still open) is the default again
    (closing one of two open replays left the other's operators on wall-clock time).
    """
    if scheduler is not None:
        _virtual_schedulers.set((*_virtual_schedulers.get(), scheduler))
        return scheduler
    if token is not None:
        _virtual_schedulers.set(tuple(s for s in _virtual_schedulers.get() if s is not token))
    return None


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


class StreamScheduler(PeriodicScheduler):
    """Timed work on ``timed`` (the loop's or a replay's clock); work due now runs at once.

    What an operator schedules for now (``start_with``, ``concat``, ``of`` inside
    ``flat_map``) runs on the current thread's trampoline, as RxPY does without a
    scheduler; only what waits for time goes to the clock, so a replay's virtual clock
    stopped at the end of its recording holds back nothing that was due at once.
    """

    def __init__(self, timed: abc.SchedulerBase) -> None:
        super().__init__()
        self.timed = timed

    @property
    def now(self) -> datetime:
        return self.timed.now

    def schedule(self, action: typing.ScheduledAction[Any], state: Any = None) -> abc.DisposableBase:
        return CurrentThreadScheduler.singleton().schedule(lambda _, s: action(self, s), state)

    def schedule_relative(
        self, duetime: typing.RelativeTime, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        return self.timed.schedule_relative(duetime, lambda _, s: action(self, s), state)

    def schedule_absolute(
        self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        return self.timed.schedule_absolute(duetime, lambda _, s: action(self, s), state)


def stream_scheduler(exchange: Any) -> abc.SchedulerBase | None:
    """The default scheduler of ``exchange``'s pipelines: a replay's clock, else its loop's."""
    replay = getattr(exchange, "replay", None)
    timed = getattr(replay, "scheduler", None)
    if not isinstance(timed, abc.SchedulerBase):
        try:
            timed = scheduler_for(exchange)
        except RuntimeError:  # no loop yet: the stream itself reports that on subscribe
            return None
    return StreamScheduler(timed)
