"""``throttle``: at most one value per interval, always the latest one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from itertools import count
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from ._errors import OperatorArgumentError
from ._checks import check_positive, describe, shape_error
from ._scheduling import default_scheduler, seconds

__all__ = ["throttle"]

_T = TypeVar("_T")

_ONE_KEY: Hashable = object()  # the key of every value when throttling the whole stream


def _key_function(key: str | Callable[[Any], Hashable] | None) -> Callable[[Any], Hashable] | None:
    if key is None or callable(key):
        return key
    if isinstance(key, str):
        field = key
        return lambda value: value[field]
    raise OperatorArgumentError(f"key must be None, a field name or a function, got {key!r}")


class _Window:
    """One key's open interval: its timer and the latest value held back."""

    __slots__ = ("timer", "pending", "has_pending", "order")

    def __init__(self, timer: SingleAssignmentDisposable) -> None:
        self.timer = timer
        self.pending: Any = None
        self.has_pending = False
        self.order = 0


def throttle(
    interval_ms: float,
    key: str | Callable[[_T], Hashable] | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """At most one value per ``interval_ms``, always the latest, the first at once.

    ccxt.pro's "throttling mode" as an operator. A value arriving when no
    interval is open passes at once and opens an interval; values arriving
    inside it are held back, each replacing the previous one; when the
    interval ends the held value (the latest) is emitted and a new interval
    opens. An interval that ends with nothing held closes, so the next value
    passes at once again. On completion a held value is emitted before
    ``on_completed`` (the last price is never lost); an error passes at once
    and drops the held value.

    With ``key`` (a function, or a field name such as ``'symbol'``) every key
    has its own interval, so a busy symbol never starves a quiet one.

    Example:
        >>> rxpro.ticker(ex, 'BTC/USDT').pipe(throttle(100))
        >>> rxpro.tickers(ex, symbols).pipe(throttle(100, key='symbol'))

    .. marble::
        :alt: throttle

        -a-b-c-------d-----e-f-g-|
        [  throttle(4 ticks)     ]
        -a---c-------d-----e---g-|

    Args:
        interval_ms: Interval length in milliseconds (> 0).
        key: ``None`` to throttle the whole stream, a field name or a function
            of the value to throttle per key. An exception raised by the
            function, or an unhashable key, goes to ``on_error``; with a field
            name, a value without that field (or with an unhashable one) ends
            the stream with ``StreamShapeError``.
        scheduler: Scheduler for the interval timers; else the one given at
            subscribe time, else ``default_scheduler()``.

    Returns:
        An operator function taking an observable and returning the
        throttled observable.

    Raises:
        OperatorArgumentError: ``interval_ms`` is not a positive number, or
            ``key`` is neither ``None``, a string nor callable.
    """
    duration = seconds(check_positive("interval_ms", interval_ms))
    key_of = _key_function(key)
    field = key if isinstance(key, str) else None

    def key_failure(error: Exception, value: Any) -> Exception:
        """The error for ``on_error`` when no key could be had for ``value``.

        A field name that doesn't fit the value is the stream's shape; what a
        user function raises is passed as it is.
        """
        if field is not None and isinstance(error, (KeyError, IndexError, TypeError)):
            return shape_error("throttle", f"values with a {field!r} field holding a hashable key", value)
        return error

    def _throttle(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            _scheduler = scheduler or scheduler_ or default_scheduler()
            lock = threading.RLock()  # timers may fire on another thread
            windows: dict[Hashable, _Window] = {}
            timers = CompositeDisposable()
            sequence = count()
            stopped = False

            def open_window(k: Hashable) -> None:
                timer = SingleAssignmentDisposable()
                window = _Window(timer)
                windows[k] = window
                timers.add(timer)

                def end(_: abc.SchedulerBase, __: Any = None) -> None:
                    with lock:
                        timers.remove(timer)
                        if stopped or windows.get(k) is not window:
                            return
                        if window.has_pending:
                            value = window.pending
                            window.pending = None
                            window.has_pending = False
                            open_window(k)
                            observer.on_next(value)
                        else:
                            del windows[k]

                timer.disposable = _scheduler.schedule_relative(duration, end)

            def on_next(value: _T) -> None:
                with lock:
                    if stopped:
                        return
                    if key_of is None:
                        window = windows.get(_ONE_KEY)
                        k = _ONE_KEY
                    else:
                        try:
                            k = key_of(value)
                        except Exception as error:  # user function: to on_error
                            on_error(key_failure(error, value))
                            return
                        try:
                            window = windows.get(k)
                        except TypeError:  # an unhashable key
                            unhashable = TypeError(
                                f"throttle(): the key is an unhashable {describe(k)} for {describe(value)}"
                            )
                            on_error(key_failure(unhashable, value))
                            return
                    if window is None:
                        open_window(k)
                        observer.on_next(value)
                    else:
                        window.pending = value
                        window.has_pending = True
                        window.order = next(sequence)

            def stop() -> None:
                nonlocal stopped
                stopped = True
                timers.dispose()

            def on_error(error: Exception) -> None:
                with lock:
                    if stopped:
                        return
                    windows.clear()
                    stop()
                    observer.on_error(error)

            def on_completed() -> None:
                with lock:
                    if stopped:
                        return
                    held = sorted(
                        (w for w in windows.values() if w.has_pending), key=lambda w: w.order
                    )
                    windows.clear()
                    stop()
                    for window in held:
                        observer.on_next(window.pending)
                    observer.on_completed()

            subscription = source.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler_
            )
            return CompositeDisposable(subscription, timers)

        return Observable(subscribe)

    return _throttle
