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

from typing import Any, Callable, TypeVar

from reactivex import Observable, abc
from reactivex.pipe import pipe as _pipe

from ._scheduling import stream_scheduler

__all__ = ["ExchangeObservable"]

_T = TypeVar("_T")


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
