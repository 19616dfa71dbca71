"""``throttle``: at most one value per interval, always the latest one.

``throttle`` checks its arguments and, per subscription, runs a
``_Throttler``: one ``_Window`` per key while an interval is open, holding
back the latest value, and the timers that end the windows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from itertools import count
from operator import itemgetter
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from rxpro._errors import OperatorArgumentError

from ._checks import check_positive, describe, shape_error
from ._scheduling import default_scheduler, seconds

__all__ = ["throttle"]

_T = TypeVar("_T")

_ONE_KEY: Hashable = object()  # the key of every value when throttling the whole stream


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

    def _throttle(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            _scheduler = scheduler or scheduler_ or default_scheduler()
            throttler = _Throttler(observer, _scheduler, duration, key_of, field)
            subscription = source.subscribe(
                throttler.on_next, throttler.on_error, throttler.on_completed, scheduler=scheduler_
            )
            return CompositeDisposable(subscription, throttler.timers)

        return Observable(subscribe)

    return _throttle


def _key_function(key: str | Callable[[Any], Hashable] | None) -> Callable[[Any], Hashable] | None:
    if key is None or callable(key):
        return key
    if isinstance(key, str):
        return itemgetter(key)  # value[key]
    raise OperatorArgumentError(f"key must be None, a field name or a function, got {key!r}")


class _Window:
    """One key's open interval: its timer and the latest value held back."""

    __slots__ = ("key", "timer", "pending", "has_pending", "order")

    def __init__(self, key: Hashable, timer: SingleAssignmentDisposable) -> None:
        self.key = key
        self.timer = timer
        self.pending: Any = None
        self.has_pending = False
        self.order = 0  # when the held value arrived, for the order of the flush on completion


class _Throttler:
    """One subscription of ``throttle``: the open windows by key and their timers.

    ``timers`` holds every open window's timer; disposing it releases them.
    Timers may fire on another thread, so every entry point takes ``_lock``.
    """

    __slots__ = (
        "timers", "_observer", "_emit", "_scheduler", "_duration", "_key_of", "_field",
        "_lock", "_windows", "_sequence", "_stopped",
    )

    def __init__(
        self,
        observer: abc.ObserverBase[Any],
        scheduler: abc.SchedulerBase,
        duration: float,
        key_of: Callable[[Any], Hashable] | None,
        field: str | None,
    ) -> None:
        self.timers = CompositeDisposable()
        self._observer = observer
        self._emit = observer.on_next
        self._scheduler = scheduler
        self._duration = duration
        self._key_of = key_of
        self._field = field  # the key's field name, when it is one
        self._lock = threading.RLock()
        self._windows: dict[Hashable, _Window] = {}
        self._sequence = count()
        self._stopped = False

    def on_next(self, value: Any) -> None:
        """Pass ``value`` and open its key's window, or hold it back in the open one."""
        with self._lock:
            if self._stopped:
                return
            if self._key_of is None:
                key = _ONE_KEY
                window = self._windows.get(key)
            else:
                try:
                    key = self._key_of(value)
                except Exception as error:  # user function: to on_error
                    self._no_key(error, value)
                    return
                try:
                    window = self._windows.get(key)
                except TypeError:
                    unhashable = f"throttle(): the key is an unhashable {describe(key)} for {describe(value)}"
                    self._no_key(TypeError(unhashable), value)
                    return
            if window is None:
                self._open_window(key)
                self._emit(value)
            else:
                window.pending = value
                window.has_pending = True
                if key is not _ONE_KEY:  # one window needs no order for the flush
                    window.order = next(self._sequence)

    def on_error(self, error: Exception) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stop()
            self._observer.on_error(error)

    def on_completed(self) -> None:
        """Emit the held values, oldest arrival first, then complete."""
        with self._lock:
            if self._stopped:
                return
            held = sorted((w for w in self._windows.values() if w.has_pending), key=lambda w: w.order)
            self._stop()
            for window in held:
                self._emit(window.pending)
            self._observer.on_completed()

    def _no_key(self, error: Exception, value: Any) -> None:
        """No key could be had for ``value``: end the stream.

        A field name that doesn't fit the value is the stream's shape
        (``StreamShapeError``); what a user function raises is passed as it is.
        """
        if self._field is not None and isinstance(error, (KeyError, IndexError, TypeError)):
            error = shape_error("throttle", f"values with a {self._field!r} field holding a hashable key", value)
        self.on_error(error)

    def _open_window(self, key: Hashable) -> None:
        timer = SingleAssignmentDisposable()
        window = _Window(key, timer)
        self._windows[key] = window
        self.timers.add(timer)
        timer.disposable = self._scheduler.schedule_relative(self._duration, self._window_ended, window)

    def _window_ended(self, _: abc.SchedulerBase, window: _Window | None = None) -> None:
        """Emit the value held back and open a new window, or close the key's window."""
        assert window is not None  # the state it was scheduled with
        with self._lock:
            self.timers.remove(window.timer)
            if self._stopped or self._windows.get(window.key) is not window:
                return
            if window.has_pending:
                value = window.pending
                window.pending = None
                window.has_pending = False
                self._open_window(window.key)
                self._emit(value)
            else:
                del self._windows[window.key]

    def _stop(self) -> None:
        self._windows.clear()
        self._stopped = True
        self.timers.dispose()
