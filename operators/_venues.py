"""Tagging values with their exchange: ``Venued``, ``VenueError``, ``VenueEnded``, ``merge_exchanges``.

A merged multi-exchange stream carries ``Venued(venue, value)`` items -- a
frozen wrapper, so the ccxt dict inside is the exchange's own, untouched --
and, when a venue's stream fails, one ``VenueError(venue, error)`` item
instead of ending the merged stream; when it completes, one
``VenueEnded(venue)`` item. The cross-exchange operators
(``best_bid_offer``, ``consolidated_book``, ``spread``) take such a stream.

``merge_exchanges`` checks its inputs and, per subscription, runs a
``_Merge`` (the lock, the inputs still running, completion and failure)
with one ``_Input`` per stream (its subscription, tagging, and the
resubscription after an isolated error).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, Union

from reactivex import Observable, abc
from reactivex.disposable import (
    CompositeDisposable,
    SerialDisposable,
    SingleAssignmentDisposable,
)

from rxpro._errors import OperatorArgumentError

from ._checks import check_positive, describe
from ._scheduling import default_scheduler, seconds

__all__ = ["VenueEnded", "VenueError", "Venued", "merge_exchanges", "venue_name"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Venued(Generic[_T]):
    """A value from one exchange: ``venue`` is the ccxt exchange id ('binance')."""

    venue: str
    value: _T


@dataclass(frozen=True, slots=True)
class VenueError:
    """In-band notice that ``venue``'s stream failed with ``error``.

    Consolidating operators drop the venue until it sends data again.
    ``final``: the merge will not subscribe to the venue again (no
    ``resubscribe_after_ms``), so no data can follow; ``spread``, which needs
    both its venues, then ends with ``error``. Not part of equality or repr.
    """

    venue: str
    error: Exception
    final: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VenueEnded:
    """In-band notice that ``venue``'s stream completed: no more data comes from it.

    Consolidating operators drop the venue (its last quote would otherwise
    stay in the consolidation for ever); ``spread``, which needs both its
    venues, completes.
    """

    venue: str


VenueItem = Union[Venued[Any], VenueError, VenueEnded]

# Venued's slot descriptors. merge_exchanges tags every value it passes, and
# the frozen dataclass __init__ (an object.__setattr__ lookup per field) was
# about 40% of its per-item cost.
_SET_VENUE = vars(Venued)["venue"].__set__
_SET_VALUE = vars(Venued)["value"].__set__


def _tag(venue: str, value: Any) -> Venued[Any]:
    """``Venued(venue, value)``, the same object, built without the dataclass ``__init__``."""
    item: Venued[Any] = object.__new__(Venued)
    _SET_VENUE(item, venue)
    _SET_VALUE(item, value)
    return item


def venue_name(venue: object, what: str = "venue") -> str:
    """A venue id from a string or a ccxt exchange (its ``id``)."""
    name = venue if isinstance(venue, str) else getattr(venue, "id", None)
    if not isinstance(name, str) or not name:
        raise OperatorArgumentError(
            f"{what} must be an exchange id string or a ccxt exchange, got {venue!r}"
        )
    return name


def merge_exchanges(
    *streams: tuple[Any, Observable[Any]] | Observable[VenueItem],
    isolate_errors: bool = True,
    resubscribe_after_ms: float | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[VenueItem]:
    """Interleave streams of several exchanges in arrival order, tagged ``Venued``.

    Each argument is ``(venue, observable)`` -- venue a ccxt exchange id or a
    ccxt exchange object, whose ``id`` is used -- or an observable that
    already emits ``Venued``/``VenueError``/``VenueEnded`` items (e.g. another
    merge), which pass through as they are.

    With ``isolate_errors`` (default) an error on one tagged stream becomes a
    ``VenueError(venue, error)`` item and the other venues go on; with
    ``resubscribe_after_ms`` the failed stream is subscribed again after
    that delay (for a ccxt.pro stream: a new watch, i.e. a reconnect), which
    is how a venue recovers. Without isolation the first error ends the
    merged stream, as ``reactivex.merge`` does. Errors of untagged (already
    ``Venued``) inputs always end it: they can't be attributed. A tagged
    stream that completes leaves one ``VenueEnded(venue)`` item. The merged
    stream completes when every input has ended, the isolated errors told
    in-band (the consolidating operators then fail with the last one if no
    venue ended otherwise).

    Example:
        >>> merge_exchanges(('binance', rxpro.ticker(b, 'BTC/USDT')),
        ...                 (okx, rxpro.ticker(okx, 'BTC/USDT')))

    .. marble::
        :alt: merge_exchanges

        binance: -a-----b----|
        okx:     ---x-#
        [       merge_exchanges       ]
                 -A-X-E-B----N|   A=Venued('binance', a), E=VenueError('okx', #), N=VenueEnded('binance')

    Args:
        streams: ``(venue, observable)`` pairs and/or observables of
            ``Venued`` items.
        isolate_errors: Turn a venue's error into a ``VenueError`` item.
        resubscribe_after_ms: Resubscribe to a failed venue after this delay
            (needs ``isolate_errors``).
        scheduler: Scheduler for the resubscription timer; else the one given
            at subscribe time, else ``default_scheduler()``.

    Returns:
        An observable of ``Venued``, ``VenueError`` and ``VenueEnded`` items.

    Raises:
        OperatorArgumentError: no streams, a bad pair, a venue given twice.
    """
    sources = _sources(streams)
    delay = None
    if resubscribe_after_ms is not None:
        delay = seconds(check_positive("resubscribe_after_ms", resubscribe_after_ms))
        if not isolate_errors:
            raise OperatorArgumentError("resubscribe_after_ms needs isolate_errors=True")

    def subscribe(
        observer: abc.ObserverBase[VenueItem], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        merge = _Merge(observer, isolate_errors, delay, scheduler, scheduler_)
        merge.start(sources)
        return merge.group

    return Observable(subscribe)


def _sources(streams: tuple[Any, ...]) -> list[tuple[str | None, Observable[Any]]]:
    """``(venue id, observable)`` per argument; venue ``None`` for an already tagged stream."""
    if not streams:
        raise OperatorArgumentError("merge_exchanges() needs at least one stream")
    sources: list[tuple[str | None, Observable[Any]]] = []
    seen: set[str] = set()
    for stream in streams:
        if isinstance(stream, Observable):
            sources.append((None, stream))
            continue
        if not isinstance(stream, tuple) or len(stream) != 2 or not isinstance(stream[1], Observable):
            raise OperatorArgumentError(
                f"merge_exchanges() takes (venue, observable) pairs or observables of Venued, got {describe(stream)}"
            )
        name = venue_name(stream[0])
        if name in seen:
            raise OperatorArgumentError(f"venue {name!r} given twice to merge_exchanges()")
        seen.add(name)
        sources.append((name, stream[1]))
    return sources


class _Merge:
    """One subscription of ``merge_exchanges``: its observer, lock and running inputs.

    ``group`` holds every input's subscription (and resubscription timer);
    disposing it releases them all. ``stopped`` is read by the inputs.
    """

    def __init__(
        self,
        observer: abc.ObserverBase[VenueItem],
        isolate_errors: bool,
        delay_s: float | None,
        scheduler: abc.SchedulerBase | None,
        subscribe_scheduler: abc.SchedulerBase | None,
    ) -> None:
        self.observer = observer
        self.isolate_errors = isolate_errors
        self.delay_s = delay_s  # resubscribe a failed venue after this long; None: never
        self.subscribe_scheduler = subscribe_scheduler
        self.lock = threading.RLock()
        self.group = CompositeDisposable()
        self.stopped = False
        self._scheduler = scheduler
        self._active = 0

    def start(self, sources: list[tuple[str | None, Observable[Any]]]) -> None:
        with self.lock:
            self._active = len(sources)
            for venue, stream in sources:
                if self.stopped:  # an input failed while being subscribed
                    break
                _Input(self, venue, stream).subscribe()

    def timer_scheduler(self) -> abc.SchedulerBase:
        """Where resubscription timers run: the operator's, else subscribe's, else the default."""
        return self._scheduler or self.subscribe_scheduler or default_scheduler()

    def input_ended(self) -> None:
        """One input completed (or failed, isolated, for good); the last one completes the merge."""
        self._active -= 1
        if self._active == 0 and not self.stopped:
            self.stopped = True
            self.observer.on_completed()

    def fail(self, error: Exception) -> None:
        if not self.stopped:
            self.stopped = True
            self.observer.on_error(error)
            self.group.dispose()


class _Input:
    """One input stream of a merge: tags its values, isolates or passes on its errors."""

    __slots__ = ("_merge", "_lock", "_emit", "_venue", "_stream", "_slot")

    def __init__(self, merge: _Merge, venue: str | None, stream: Observable[Any]) -> None:
        self._merge = merge
        self._lock = merge.lock
        self._emit = merge.observer.on_next
        self._venue = venue
        self._stream = stream
        self._slot = SerialDisposable()  # the current attempt, or the timer before the next one
        merge.group.add(self._slot)

    def subscribe(self) -> None:
        # A fresh holder per attempt: a source that fails while being
        # subscribed has already put its resubscription timer in the slot.
        attempt = SingleAssignmentDisposable()
        self._slot.disposable = attempt
        attempt.disposable = self._stream.subscribe(
            self.on_next_untagged if self._venue is None else self.on_next_tagged,
            self.on_error,
            self.on_completed,
            scheduler=self._merge.subscribe_scheduler,
        )

    def on_next_tagged(self, value: Any) -> None:
        with self._lock:
            if not self._merge.stopped:
                self._emit(_tag(self._venue, value))  # type: ignore[arg-type]

    def on_next_untagged(self, item: Any) -> None:
        with self._lock:
            if self._merge.stopped:
                return
            if isinstance(item, (Venued, VenueError, VenueEnded)):
                self._emit(item)
            else:
                self._merge.fail(OperatorArgumentError(
                    "merge_exchanges(): an observable given without a venue must emit "
                    f"Venued items; pass (venue, observable) instead. Got {describe(item)}"
                ))

    def on_error(self, error: Exception) -> None:
        """Isolated: a ``VenueError`` item, then the input ends or is resubscribed later."""
        merge = self._merge
        with self._lock:
            if merge.stopped:
                return
            if self._venue is None or not merge.isolate_errors:
                merge.fail(error)
                return
            self._emit(VenueError(self._venue, error, merge.delay_s is None))
            if merge.delay_s is None:
                merge.input_ended()
                return
            self._slot.disposable = merge.timer_scheduler().schedule_relative(merge.delay_s, self._again)

    def on_completed(self) -> None:
        with self._lock:
            if not self._merge.stopped:
                if self._venue is not None:
                    self._emit(VenueEnded(self._venue))
                self._merge.input_ended()

    def _again(self, _: abc.SchedulerBase, __: Any = None) -> None:
        with self._lock:
            if not self._merge.stopped:
                self.subscribe()
