"""The Observable type of rxpro's streams: it hands the exchange's scheduler down its pipe.

RxPY's own time operators (``sample``, ``buffer_with_time``, ``debounce``, ``delay``,
``timeout``, ...) use the scheduler given to them, else the one given at ``subscribe``,
else a ``TimeoutScheduler`` whose timers call observers on worker threads — off the
asyncio loop that ccxt and every rxpro stream live on. A source can't pass a scheduler
to the operators piped after it, but the subscribe-time scheduler is RxPY's own way to
give them a default: piping an rxpro stream gives back an Observable that subscribes
with the exchange's scheduler when the caller gave none. That scheduler puts timed work
on an ``AsyncIOScheduler`` on the exchange's loop, or on the virtual clock of a replay,
and runs what is due now at once, as RxPY does by default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, TypeVar

from reactivex import Observable, abc, typing
from reactivex.pipe import pipe as _pipe
from reactivex.scheduler import CurrentThreadScheduler
from reactivex.scheduler.periodicscheduler import PeriodicScheduler

from ._scheduling import scheduler_for

__all__ = ["ExchangeObservable", "StreamScheduler", "stream_scheduler"]

_T = TypeVar("_T")


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


class ExchangeObservable(Observable[_T]):
    """An Observable of one exchange; operators piped after it default to its scheduler.

    ``rxpro.trades(ex, s).pipe(ops.buffer_with_time(1.0))`` buffers on ``ex``'s asyncio
    loop (or a replay's virtual clock) without a ``scheduler=``; a scheduler passed to
    an operator or to ``subscribe`` still wins. Combining with other Observables
    (``reactivex.merge(a, b)``) drops the default: pass ``rxpro.scheduler_for(ex)``.
    """

    def __init__(self, subscribe: Callable[..., abc.DisposableBase], exchange: Any) -> None:
        super().__init__(subscribe)
        self.exchange = exchange

    def pipe(self, *operators: Callable[[Any], Any]) -> Any:  # type: ignore[override]
        result = _pipe(self, *operators)
        if isinstance(result, Observable) and not isinstance(result, ExchangeObservable):
            return _with_default_scheduler(result, self.exchange)
        return result


def _with_default_scheduler(source: Observable[Any], exchange: Any) -> ExchangeObservable[Any]:
    def subscribe(observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        return source.subscribe(observer, scheduler=scheduler or stream_scheduler(exchange))

    return ExchangeObservable(subscribe, exchange)
