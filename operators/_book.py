"""Order-book companions: ``book_snapshots``, ``mid_price``, ``imbalance``.

``book_snapshots`` runs a ``_Snapshots`` per subscription (the books updated
since the last tick and the clock); ``mid_price`` and ``imbalance`` map
each value to a number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from operator import itemgetter
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from rxpro._errors import StreamShapeError

from ._board import price_problem, quotes_of, size_problem
from ._checks import check_depth, check_positive, describe, shape_error
from ._scheduling import default_scheduler, seconds

__all__ = ["book_snapshots", "imbalance", "mid_price"]

OrderBook = dict[str, Any]

_SIZE = itemgetter(1)  # a level's amount

_BOOK_SHAPE = "ccxt order books (dicts with 'symbol', 'bids', 'asks')"


def _snapshot(book: Mapping[str, Any], depth: int) -> OrderBook:
    return {
        "symbol": book.get("symbol"),
        "bids": [[level[0], level[1]] for level in book["bids"][:depth]],
        "asks": [[level[0], level[1]] for level in book["asks"][:depth]],
        "timestamp": book.get("timestamp"),
        "datetime": book.get("datetime"),
        "nonce": book.get("nonce"),
    }


def book_snapshots(
    interval_ms: float, depth: int, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[OrderBook]], Observable[OrderBook]]:
    """The top ``depth`` levels of the book every ``interval_ms``, per symbol.

    Like tardis-dev's ``book_snapshot_{depth}_{interval}``: at every tick of
    a fixed clock started at subscription, each symbol whose book was updated
    since the previous tick gets one snapshot -- a new ccxt order-book dict
    (``symbol``, ``bids``, ``asks``, ``timestamp``, ``datetime``, ``nonce``)
    with new level lists, cut to ``depth``. The book is copied at the tick,
    so it is the latest state even when ccxt updates its book object in
    place. On completion books updated since the last tick are emitted.

    Example:
        >>> rxpro.order_book(ex, 'BTC/USDT').pipe(book_snapshots(100, 10))

    .. marble::
        :alt: book_snapshots(interval=3 ticks, depth)

        -a-b----c--------d-|
        [ book_snapshots ]
        ---B-----C--------D|   B = b cut to depth

    Args:
        interval_ms: Snapshot interval in milliseconds (> 0).
        depth: Levels per side (an int >= 1).
        scheduler: Scheduler for the clock; else the one given at subscribe
            time, else ``default_scheduler()``.

    Returns:
        An operator function from order books to order-book snapshots.

    Raises:
        OperatorArgumentError: ``interval_ms`` not > 0 or ``depth`` below 1.
    """
    period = seconds(check_positive("interval_ms", interval_ms))
    levels = check_depth(depth)

    def _book_snapshots(source: Observable[OrderBook]) -> Observable[OrderBook]:
        def subscribe(
            observer: abc.ObserverBase[OrderBook], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            _scheduler = scheduler or scheduler_ or default_scheduler()
            snapshots = _Snapshots(observer, _scheduler, period, levels)
            snapshots.start_clock()
            subscription = source.subscribe(
                snapshots.on_next, snapshots.on_error, snapshots.on_completed, scheduler=scheduler_
            )
            return CompositeDisposable(subscription, snapshots.clock)

        return Observable(subscribe)

    return _book_snapshots


class _Snapshots:
    """One subscription of ``book_snapshots``: the books updated since the last tick, and the clock.

    Ticks fall at start + k * period on the scheduler's clock (absolute
    times, so a slow tick doesn't shift the ones after it). Ticks may fire
    on another thread, so every entry point takes ``_lock``.
    """

    __slots__ = ("clock", "_observer", "_scheduler", "_period", "_depth", "_lock", "_updated", "_start", "_ticks",
                 "_stopped")

    def __init__(self, observer: abc.ObserverBase[OrderBook], scheduler: abc.SchedulerBase, period: float,
                 depth: int) -> None:
        self.clock = SerialDisposable()  # the next tick; released with the subscription
        self._observer = observer
        self._scheduler = scheduler
        self._period = period
        self._depth = depth
        self._lock = threading.RLock()
        self._updated: dict[Any, Mapping[str, Any]] = {}  # symbol -> latest book since the last tick
        self._start = scheduler.now
        self._ticks = 0
        self._stopped = False

    def start_clock(self) -> None:
        self._arm()

    def on_next(self, book: OrderBook) -> None:
        with self._lock:
            if self._stopped:
                return
            # (a dict, what ccxt gives, is let through without the slower Mapping check)
            if (
                (book.__class__ is not dict and not isinstance(book, Mapping))
                or "bids" not in book
                or "asks" not in book
            ):
                self._fail(shape_error("book_snapshots", _BOOK_SHAPE, book))
                return
            self._updated[book.get("symbol")] = book

    def on_error(self, error: Exception) -> None:
        with self._lock:
            self._fail(error)

    def on_completed(self) -> None:
        """Emit the books updated since the last tick, then complete."""
        with self._lock:
            if self._stopped:
                return
            self.clock.dispose()
            if self._flush():
                self._stopped = True
                self._observer.on_completed()

    def _arm(self) -> None:
        self._ticks += 1
        self.clock.disposable = self._scheduler.schedule_absolute(
            self._start + timedelta(seconds=self._period * self._ticks), self._tick
        )

    def _tick(self, _: abc.SchedulerBase, __: Any = None) -> None:
        with self._lock:
            if self._stopped:
                return
            self._arm()
            if self._updated:
                self._flush()

    def _flush(self) -> bool:
        """Emit a snapshot of every updated book; ``False`` when one was not a book (the stream ended)."""
        books = list(self._updated.values())
        self._updated.clear()
        snapshots = []
        for book in books:
            try:
                snapshots.append(_snapshot(book, self._depth))
            except (KeyError, IndexError, TypeError):  # a level that is not [price, amount, ...]
                self._fail(shape_error("book_snapshots", _BOOK_SHAPE, book))
                return False
        for snapshot in snapshots:
            self._observer.on_next(snapshot)
        return True

    def _fail(self, error: Exception) -> None:
        if not self._stopped:
            self._stopped = True
            self.clock.dispose()
            self._updated.clear()
            self._observer.on_error(error)


def mid_price() -> Callable[[Observable[Mapping[str, Any]]], Observable[float]]:
    """The mid price ``(bid + ask) / 2`` of every ticker or order book.

    Values with a missing side (an empty book side, a ``None`` bid or ask)
    are skipped; a NaN or infinite bid or ask ends it with
    ``StreamShapeError`` naming it.

    Example:
        >>> rxpro.ticker(ex, 'BTC/USDT').pipe(mid_price())

    .. marble::
        :alt: mid_price

        -a(100/102)-b(100/-)-c(101/102)-|
        [         mid_price()           ]
        -101-----------------101.5------|

    Returns:
        An operator function from tickers or order books to floats.
    """

    def _mid_price(source: Observable[Mapping[str, Any]]) -> Observable[float]:
        def subscribe(
            observer: abc.ObserverBase[float], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            stopped = False

            def on_next(value: Mapping[str, Any]) -> None:
                nonlocal stopped
                if stopped:
                    return
                quotes = quotes_of(value)
                if quotes is None or len(quotes) != 1:
                    stopped = True
                    observer.on_error(shape_error("mid_price", "a ticker or an order book", value))
                    return
                _, bid, _, ask, _, _ = quotes[0]
                if bid is None or ask is None:
                    return
                try:
                    mid = (bid + ask) / 2
                    finite = mid - mid == 0  # False for a NaN or infinite bid or ask
                except TypeError:
                    stopped = True
                    observer.on_error(shape_error("mid_price", "numeric bid and ask", value))
                    return
                except (ArithmeticError, ValueError):  # a signalling Decimal NaN
                    finite = False
                if not finite:
                    problem = price_problem("bid", bid) or price_problem("ask", ask)
                    if problem is not None:
                        stopped = True
                        observer.on_error(StreamShapeError(
                            f"mid_price() expects finite prices; got {problem} in {describe(value)}"))
                        return
                    mid = bid / 2 + ask / 2  # finite prices whose sum overflows
                observer.on_next(mid)

            return source.subscribe(on_next, observer.on_error, observer.on_completed, scheduler=scheduler_)

        return Observable(subscribe)

    return _mid_price


def imbalance(depth: int) -> Callable[[Observable[Mapping[str, Any]]], Observable[float]]:
    """Order-book imbalance over the top ``depth`` levels, in [-1, 1].

    ``(bid size - ask size) / (bid size + ask size)``, sizes summed over the
    first ``depth`` levels of each side: +1 is all bids, -1 all asks. Books
    with no size on either side are skipped; a negative, NaN or infinite
    size ends it with ``StreamShapeError`` naming it.

    Example:
        >>> rxpro.order_book(ex, 'BTC/USDT').pipe(imbalance(5))

    .. marble::
        :alt: imbalance(1)

        -a(bid 3, ask 1)-b(bid 1, ask 1)-|
        [           imbalance(1)         ]
        -0.5-------------0.0-------------|

    Args:
        depth: Levels per side to sum (an int >= 1).

    Returns:
        An operator function from order books to floats.

    Raises:
        OperatorArgumentError: ``depth`` below 1.
    """
    levels = check_depth(depth)

    def _imbalance(source: Observable[Mapping[str, Any]]) -> Observable[float]:
        def subscribe(
            observer: abc.ObserverBase[float], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            stopped = False

            def on_next(book: Mapping[str, Any]) -> None:
                nonlocal stopped
                if stopped:
                    return
                try:
                    bids = book["bids"][:levels]
                    asks = book["asks"][:levels]
                    bid_size = sum(map(_SIZE, bids))
                    ask_size = sum(map(_SIZE, asks))
                    total = bid_size + ask_size
                except (KeyError, IndexError, TypeError):
                    stopped = True
                    observer.on_error(shape_error("imbalance", _BOOK_SHAPE, book))
                    return
                if not _sizes_fine(total, bids, asks):
                    for side, levels_ in (("bid", bids), ("ask", asks)):
                        for level in levels_:
                            problem = size_problem(f"{side} amount", level[1])
                            if problem is not None:
                                stopped = True
                                observer.on_error(StreamShapeError(
                                    f"imbalance() expects sizes >= 0; got {problem} in {describe(book)}"))
                                return
                    # finite sizes whose sum overflows: the same ratio, of sizes scaled to the largest
                    scale = max(map(_SIZE, [*bids, *asks]))
                    bid_size = sum(level[1] / scale for level in bids)
                    ask_size = sum(level[1] / scale for level in asks)
                    total = bid_size + ask_size
                if total:
                    observer.on_next((bid_size - ask_size) / total)

            return source.subscribe(on_next, observer.on_error, observer.on_completed, scheduler=scheduler_)

        return Observable(subscribe)

    return _imbalance


def _sizes_fine(total: Any, bids: Any, asks: Any) -> bool:
    """No size is negative, NaN or infinite: their sum is finite (x - x is 0) and the smallest is >= 0."""
    try:
        return bool(total - total == 0 and (not bids or min(map(_SIZE, bids)) >= 0)
                    and (not asks or min(map(_SIZE, asks)) >= 0))
    except (TypeError, ArithmeticError, ValueError):
        return False
