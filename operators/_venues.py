"""Tagging values with their exchange: ``Venued``, ``VenueError``, ``merge_exchanges``.

A merged multi-exchange stream carries ``Venued(venue, value)`` items -- a
frozen wrapper, so the ccxt dict inside is the exchange's own, untouched --
and, when a venue's stream fails, one ``VenueError(venue, error)`` item
instead of ending the merged stream. The cross-exchange operators
(``best_bid_offer``, ``consolidated_book``, ``spread``) take such a stream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, Union

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable, SingleAssignmentDisposable

from ._errors import OperatorArgumentError
from ._checks import check_positive, describe
from ._scheduling import default_scheduler, seconds

__all__ = ["VenueError", "Venued", "merge_exchanges", "venue_name"]

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
    """

    venue: str
    error: Exception


VenueItem = Union[Venued[Any], VenueError]


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
    already emits ``Venued``/``VenueError`` items (e.g. another merge), which
    pass through as they are.

    With ``isolate_errors`` (default) an error on one tagged stream becomes a
    ``VenueError(venue, error)`` item and the other venues go on; with
    ``resubscribe_after_ms`` the failed stream is subscribed again after
    that delay (for a ccxt.pro stream: a new watch, i.e. a reconnect), which
    is how a venue recovers. Without isolation the first error ends the
    merged stream, as ``reactivex.merge`` does. Errors of untagged (already
    ``Venued``) inputs always end it: they can't be attributed. The merged
    stream completes when every input has ended.

    Example:
        >>> merge_exchanges(('binance', rxpro.ticker(b, 'BTC/USDT')),
        ...                 (okx, rxpro.ticker(okx, 'BTC/USDT')))

    .. marble::
        :alt: merge_exchanges

        binance: -a-----b----|
        okx:     ---x-#
        [       merge_exchanges       ]
                 -A-X-E-B----|   A=Venued('binance', a), E=VenueError('okx', #)

    Args:
        streams: ``(venue, observable)`` pairs and/or observables of
            ``Venued`` items.
        isolate_errors: Turn a venue's error into a ``VenueError`` item.
        resubscribe_after_ms: Resubscribe to a failed venue after this delay
            (needs ``isolate_errors``).
        scheduler: Scheduler for the resubscription timer; else the one given
            at subscribe time, else ``default_scheduler()``.

    Returns:
        An observable of ``Venued`` and ``VenueError`` items.

    Raises:
        OperatorArgumentError: no streams, a bad pair, a venue given twice.
    """
    sources: list[tuple[str | None, Observable[Any]]] = []
    seen: set[str] = set()
    if not streams:
        raise OperatorArgumentError("merge_exchanges() needs at least one stream")
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
    delay = None
    if resubscribe_after_ms is not None:
        delay = seconds(check_positive("resubscribe_after_ms", resubscribe_after_ms))
        if not isolate_errors:
            raise OperatorArgumentError("resubscribe_after_ms needs isolate_errors=True")

    def subscribe(
        observer: abc.ObserverBase[VenueItem], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        lock = threading.RLock()
        group = CompositeDisposable()
        active = len(sources)
        stopped = False

        def finish() -> None:
            nonlocal active, stopped
            active -= 1
            if active == 0 and not stopped:
                stopped = True
                observer.on_completed()

        def fail(error: Exception) -> None:
            nonlocal stopped
            if not stopped:
                stopped = True
                observer.on_error(error)
                group.dispose()

        def attach(venue: str | None, stream: Observable[Any]) -> None:
            slot = SerialDisposable()
            group.add(slot)
            start(venue, stream, slot)

        def start(venue: str | None, stream: Observable[Any], slot: SerialDisposable) -> None:
            def on_next_tagged(value: Any) -> None:
                with lock:
                    if not stopped:
                        observer.on_next(Venued(venue, value))  # type: ignore[arg-type]

            def on_next_untagged(item: Any) -> None:
                with lock:
                    if stopped:
                        return
                    if isinstance(item, (Venued, VenueError)):
                        observer.on_next(item)
                    else:
                        fail(OperatorArgumentError(
                            "merge_exchanges(): an observable given without a venue must emit "
                            f"Venued items; pass (venue, observable) instead. Got {describe(item)}"
                        ))

            def on_error(error: Exception) -> None:
                with lock:
                    if stopped:
                        return
                    if venue is None or not isolate_errors:
                        fail(error)
                        return
                    observer.on_next(VenueError(venue, error))
                    if delay is None:
                        finish()
                        return
                    _scheduler = scheduler or scheduler_ or default_scheduler()

                    def again(_: abc.SchedulerBase, __: Any = None) -> None:
                        with lock:
                            if not stopped:
                                start(venue, stream, slot)

                    slot.disposable = _scheduler.schedule_relative(delay, again)

            def on_completed() -> None:
                with lock:
                    if not stopped:
                        finish()

            # A fresh holder per attempt: a source that fails while being
            # subscribed has already put its resubscription timer in the slot.
            attempt = SingleAssignmentDisposable()
            slot.disposable = attempt
            attempt.disposable = stream.subscribe(
                on_next_untagged if venue is None else on_next_tagged,
                on_error,
                on_completed,
                scheduler=scheduler_,
            )

        with lock:
            for venue, stream in sources:
                if stopped:
                    break
                attach(venue, stream)
        return group

    return Observable(subscribe)
