"""Cross-exchange consolidation: ``best_bid_offer``, ``consolidated_book``, ``spread``.

All three are operators on the output of ``merge_exchanges``: a stream of
``Venued`` items (tickers, ``{symbol: ticker}`` dicts as from
``watch_bids_asks``/``watch_tickers``, or order books) and ``VenueError``
items. Values are matched by unified ccxt symbol (see ``_symbols`` for quote
currencies). A venue drops out of the consolidation when its stream fails
(``VenueError``) or ends (``VenueEnded``) or, with ``stale_ms``, when it has
sent nothing for a symbol for ``stale_ms`` on the scheduler's clock; it is
back with its next value. A NaN or infinite price, or a size that is negative,
NaN or infinite, ends the output with ``StreamShapeError`` naming it.
Outputs are frozen dataclasses, emitted when the consolidated view changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from rxpro._errors import OperatorArgumentError, StreamShapeError

from ._board import BadNumber, Quote, VenueBoard, book_side, quote_problem, quotes_of
from ._checks import check_depth, check_positive, describe, is_number, shape_error
from ._scheduling import default_scheduler, seconds
from ._symbols import SymbolMatcher, check_quote_map
from ._venues import Venued, VenueEnded, VenueError, VenueItem, venue_name

__all__ = [
    "BestBidOffer",
    "BookLevel",
    "ConsolidatedBook",
    "Spread",
    "best_bid_offer",
    "consolidated_book",
    "spread",
]

_E = TypeVar("_E")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class BestBidOffer:
    """The best bid and best offer for ``symbol`` across venues, with their venues.

    A side no venue quotes is ``None``. ``timestamp`` is the newest exchange
    timestamp of the two quotes.
    """

    symbol: str
    bid: float | None
    bid_size: float | None
    bid_venue: str | None
    ask: float | None
    ask_size: float | None
    ask_venue: str | None
    timestamp: int | None

    @property
    def crossed(self) -> bool:
        """The best bid is at or above the best ask (an arbitrage, or stale data)."""
        return self.bid is not None and self.ask is not None and self.bid >= self.ask


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price of a consolidated book: total ``size`` and ``(venue, size)`` pairs."""

    price: float
    size: float
    sizes: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class ConsolidatedBook:
    """Immutable snapshot of the books of several venues, aggregated by price."""

    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    venues: tuple[str, ...]
    timestamp: int | None


@dataclass(frozen=True, slots=True)
class Spread:
    """Selling on ``sell_venue`` at its ``bid`` minus buying on ``buy_venue`` at its ``ask``.

    ``absolute`` and ``bps`` are after taker fees: ``bid * (1 - sell fee) -
    ask * (1 + buy fee)``, and that divided by ``ask * (1 + buy fee)`` (the
    money put in) times 10,000. Positive means a profit before transfers.
    """

    symbol: str
    buy_venue: str
    sell_venue: str
    ask: float
    bid: float
    absolute: float
    bps: float
    timestamp: int | None


class _Consolidation(Generic[_E, _R]):
    """What differs between the consolidating operators."""

    def __init__(
        self,
        name: str,
        expected: str,
        entries_of: Callable[[Any], list[tuple[str, _E]] | None],
        result_of: Callable[[str, Mapping[str, _E]], tuple[Any, _R] | None],
        needs: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.expected = expected
        self.entries_of = entries_of
        self.result_of = result_of
        #: venues without which nothing can be emitted: one that failed for good (or ended) ends the output
        self.needs = needs


def _consolidating(
    spec: _Consolidation[_E, _R],
    stale_ms: float | None,
    quote_map: Mapping[str, str] | None,
    scheduler: abc.SchedulerBase | None,
) -> Callable[[Observable[VenueItem]], Observable[_R]]:
    """The operator for ``spec``: checks the common arguments, runs a ``_Consolidator`` per subscription."""
    stale_s = None if stale_ms is None else seconds(check_positive("stale_ms", stale_ms))
    checked_map = check_quote_map(quote_map)

    def _operator(source: Observable[VenueItem]) -> Observable[_R]:
        def subscribe(
            observer: abc.ObserverBase[_R], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            _scheduler = (scheduler or scheduler_ or default_scheduler()) if stale_s is not None else None
            consolidator = _Consolidator(spec, observer, SymbolMatcher(checked_map, spec.name), _scheduler, stale_s)
            subscription = source.subscribe(
                consolidator.on_next, consolidator.on_error, consolidator.on_completed, scheduler=scheduler_
            )
            return CompositeDisposable(subscription, consolidator.board.disposable)

        return Observable(subscribe)

    return _operator


class _Consolidator(Generic[_E, _R]):
    """One subscription of a consolidating operator: the venue board and the last output per symbol.

    ``board.disposable`` holds the staleness timers, which may fire on
    another thread, so every entry point takes ``_lock``.
    """

    def __init__(
        self,
        spec: _Consolidation[_E, _R],
        observer: abc.ObserverBase[_R],
        matcher: SymbolMatcher,
        scheduler: abc.SchedulerBase | None,
        stale_s: float | None,
    ) -> None:
        self._spec = spec
        self._observer = observer
        self._matcher = matcher
        self._lock = threading.RLock()
        self._last: dict[str, Any] = {}  # symbol -> comparison key of the last output
        self._stopped = False
        self._venues: set[str] = set()  # every venue heard of
        self._failed: dict[str, Exception] = {}  # venue -> its error, for those that failed for good
        self.board: VenueBoard[_E] = VenueBoard(scheduler, stale_s, self._changed, self._lock)

    def on_next(self, item: VenueItem) -> None:
        """Put a venue's entries on the board, or take the venue off on ``VenueError`` / ``VenueEnded``."""
        spec = self._spec
        with self._lock:
            if self._stopped:
                return
            if isinstance(item, VenueError):
                if item.final and item.venue in spec.needs:
                    # nothing could ever be emitted again: say why rather than go quiet
                    self._fail(item.error)
                    return
                self._venues.add(item.venue)
                if item.final:
                    self._failed[item.venue] = item.error
                self.board.drop_venue(item.venue)
                return
            if isinstance(item, VenueEnded):
                self._venues.add(item.venue)
                if item.venue in spec.needs:
                    self.on_completed()  # nothing could ever be emitted again: end as that venue did
                    return
                self.board.drop_venue(item.venue)  # its last quote would stay for ever
                return
            if not isinstance(item, Venued):
                self._fail(shape_error(spec.name, "Venued items (see merge_exchanges())", item))
                return
            try:
                entries = spec.entries_of(item.value)
            except BadNumber as bad:
                self._fail(StreamShapeError(
                    f"{spec.name}() expects finite prices and sizes >= 0; got {bad} from venue {item.venue!r} in "
                    f"{describe(item.value)}"
                ))
                return
            if entries is None:
                self._fail(shape_error(spec.name, f"Venued {spec.expected}", item.value))
                return
            venue = item.venue
            self._venues.add(venue)
            for symbol, entry in entries:
                try:
                    matched = self._matcher.match(symbol, venue)
                except Exception as error:
                    self._fail(error)
                    return
                self.board.put(matched, venue, entry)

    def on_error(self, error: Exception) -> None:
        with self._lock:
            self._fail(error)

    def on_completed(self) -> None:
        """The end of the merged stream: completed, unless every venue in it failed for good (then the last error)."""
        with self._lock:
            if self._failed and self._venues <= self._failed.keys():
                # nothing could follow: say why rather than end as a market does
                self._fail(list(self._failed.values())[-1])
            elif not self._stopped:
                self._stopped = True
                self.board.disposable.dispose()
                self._observer.on_completed()

    def _changed(self, symbol: str) -> None:
        """The board changed for ``symbol``: emit the new output if it differs from the last."""
        result = self._spec.result_of(symbol, self.board.entries.get(symbol, {}))
        if result is None:
            self._last.pop(symbol, None)
            return
        key, output = result
        last = self._last
        if symbol not in last or last[symbol] != key:
            last[symbol] = key
            self._observer.on_next(output)

    def _fail(self, error: Exception) -> None:
        if not self._stopped:
            self._stopped = True
            self.board.disposable.dispose()
            self._observer.on_error(error)


def _quote_entries(value: Any) -> list[tuple[str, Quote]] | None:
    """``(symbol, quote)`` pairs of a value; None if it is no quote; :class:`BadNumber` for a NaN price, a negative size..."""
    quotes = quotes_of(value)
    if quotes is None:
        return None
    for quote in quotes:
        problem = quote_problem(quote)
        if problem is not None:
            raise BadNumber(f"{quote[0]} {problem}")
    return [(q[0], q) for q in quotes]


_QUOTE_SHAPE = "tickers, {symbol: ticker} dicts or order books"


def _better(price: Any, size: Any, venue: str, best: Any, best_size: Any, best_venue: str, higher: bool) -> bool:
    if price != best:
        return price > best if higher else price < best
    if (size or 0) != (best_size or 0):
        return (size or 0) > (best_size or 0)
    return venue < best_venue


def _bbo_result(symbol: str, venues: Mapping[str, Quote]) -> tuple[Any, BestBidOffer]:
    bid = bid_size = bid_venue = bid_ts = None
    ask = ask_size = ask_venue = ask_ts = None
    for venue, (_, b, bs, a, as_, ts) in venues.items():
        if b is not None and (bid_venue is None or _better(b, bs, venue, bid, bid_size, bid_venue, True)):
            bid, bid_size, bid_venue, bid_ts = b, bs, venue, ts
        if a is not None and (ask_venue is None or _better(a, as_, venue, ask, ask_size, ask_venue, False)):
            ask, ask_size, ask_venue, ask_ts = a, as_, venue, ts
    stamps = [t for t in (bid_ts, ask_ts) if t is not None]
    key = (bid, bid_size, bid_venue, ask, ask_size, ask_venue)
    return key, BestBidOffer(symbol, bid, bid_size, bid_venue, ask, ask_size, ask_venue, max(stamps) if stamps else None)


def best_bid_offer(
    *,
    stale_ms: float | None = None,
    quote_map: Mapping[str, str] | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[VenueItem]], Observable[BestBidOffer]]:
    """The consolidated best bid and offer across venues (an NBBO), per symbol.

    Takes the output of ``merge_exchanges``: tickers (``bid``/``ask``,
    ``bidVolume``/``askVolume``), ``{symbol: ticker}`` dicts (from
    ``watch_bids_asks`` or ``watch_tickers``) or order books (top level).
    Emits a ``BestBidOffer`` whenever the best price, its size or its venue
    changes on either side. Equal prices go to the larger size, then to the
    venue id first in alphabetical order. A venue drops out on
    ``VenueError``, on ``VenueEnded`` or after ``stale_ms`` without a value
    for that symbol (arrival time on the scheduler's clock, not exchange time,
    which may be skewed), and is back with its next value; when no venue is
    left a ``BestBidOffer`` with ``None`` sides is emitted. When the merged
    stream ends after every venue in it failed for good (final ``VenueError``,
    none ended otherwise), it fails with the last of their errors. A NaN or
    infinite price, or a negative, NaN or infinite size, ends it with
    ``StreamShapeError`` naming it.

    Example:
        >>> merge_exchanges(('binance', b_tickers), ('okx', o_tickers)).pipe(
        ...     best_bid_offer(stale_ms=5_000))

    .. marble::
        :alt: best_bid_offer (B=binance, O=okx quotes as bid/ask)

        -B(100/101)-O(100.5/102)-----O(100.5/100.9)-|
        [            best_bid_offer()               ]
        -X----------Y----------------Z--------------|
        X=100@B/101@B  Y=100.5@O/101@B  Z=100.5@O/100.9@O

    Args:
        stale_ms: Drop a venue's quote for a symbol after this long without
            an update (> 0); ``None`` never.
        quote_map: How quote currencies relate, e.g. ``{'USD': 'USDT'}``;
            without it, one base quoted in two currencies by different venues
            is a ``QuoteCurrencyError`` (one venue's own BTC/USDT and
            BTC/USDC are just two symbols).
        scheduler: Scheduler for staleness timers; else the one given at
            subscribe time, else ``default_scheduler()``.

    Returns:
        An operator function from ``Venued`` quotes to ``BestBidOffer``.

    Raises:
        OperatorArgumentError: bad ``stale_ms`` or ``quote_map``.
    """
    spec: _Consolidation[Quote, BestBidOffer] = _Consolidation(
        "best_bid_offer", _QUOTE_SHAPE, _quote_entries, _bbo_result
    )
    return _consolidating(spec, stale_ms, quote_map, scheduler)


BookEntry = tuple[tuple[tuple[float, float], ...], tuple[tuple[float, float], ...], Any]


def _aggregate(sides: list[tuple[str, tuple[tuple[float, float], ...]]], depth: int, descending: bool) -> tuple[BookLevel, ...]:
    by_price: dict[float, list[tuple[str, float]]] = {}
    for venue, levels in sides:
        for price, size in levels:
            by_price.setdefault(price, []).append((venue, size))
    prices = sorted(by_price, reverse=descending)[:depth]
    result = []
    for price in prices:
        sizes = tuple(sorted(by_price[price]))
        result.append(BookLevel(price, sum(size for _, size in sizes), sizes))
    return tuple(result)


def consolidated_book(
    depth: int,
    *,
    stale_ms: float | None = None,
    quote_map: Mapping[str, str] | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[VenueItem]], Observable[ConsolidatedBook]]:
    """Order books of several venues aggregated price by price, top ``depth`` levels.

    Takes ``Venued`` ccxt order books (from ``merge_exchanges``). Each level
    is a ``BookLevel(price, size, sizes)`` with the total size and the size
    per venue (``(venue, size)`` pairs by venue id). Emits an immutable
    ``ConsolidatedBook`` whenever the aggregated top ``depth`` changes. The
    venue's levels are copied when its book arrives (ccxt updates its book
    objects in place). Venues drop out on ``VenueError``, ``VenueEnded`` or
    staleness as in ``best_bid_offer``, and fail as it does when every venue
    failed for good; a level with a NaN or infinite price, or a negative, NaN
    or infinite amount, ends it with ``StreamShapeError`` naming it.

    Example:
        >>> merge_exchanges(('binance', b_book), ('okx', o_book)).pipe(consolidated_book(10))

    .. marble::
        :alt: consolidated_book(1)

        -B(bid 100x1)-O(bid 100x2)-O(bid 99x5)-|
        [          consolidated_book(1)        ]
        -X------------Y------------Z-----------|
        X=100:1{B:1}  Y=100:3{B:1,O:2}  Z=100:1{B:1}

    Args:
        depth: Levels per side in the snapshot (an int >= 1).
        stale_ms: Drop a venue's book after this long without an update.
        quote_map: How quote currencies relate (see ``best_bid_offer``).
        scheduler: Scheduler for staleness timers.

    Returns:
        An operator function from ``Venued`` order books to ``ConsolidatedBook``.

    Raises:
        OperatorArgumentError: ``depth`` below 1, bad ``stale_ms`` or ``quote_map``.
    """
    levels = check_depth(depth)

    def entries_of(book: Any) -> list[tuple[str, BookEntry]] | None:
        if not isinstance(book, Mapping) or not isinstance(book.get("symbol"), str):
            return None
        timestamp = book.get("timestamp")
        if timestamp is not None and not is_number(timestamp):
            return None
        try:
            return [(book["symbol"], (book_side(book["bids"], levels), book_side(book["asks"], levels), timestamp))]
        except (KeyError, IndexError, TypeError):  # book_side: a level that is not two numbers
            return None

    def result_of(symbol: str, venues: Mapping[str, BookEntry]) -> tuple[Any, ConsolidatedBook]:
        names = tuple(sorted(venues))
        bids = _aggregate([(v, venues[v][0]) for v in names], levels, True)
        asks = _aggregate([(v, venues[v][1]) for v in names], levels, False)
        stamps = [venues[v][2] for v in names if venues[v][2] is not None]
        key = (bids, asks)
        return key, ConsolidatedBook(symbol, bids, asks, names, max(stamps) if stamps else None)

    spec: _Consolidation[BookEntry, ConsolidatedBook] = _Consolidation(
        "consolidated_book", "order books (dicts with 'symbol', 'bids', 'asks')", entries_of, result_of
    )
    return _consolidating(spec, stale_ms, quote_map, scheduler)


def _fee_rates(fees: float | Mapping[str, float] | None, buy: str, sell: str) -> tuple[float, float]:
    def rate(value: object, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise OperatorArgumentError(f"{what} must be a taker fee rate in [0, 1), e.g. 0.001; got {value!r}")
        return float(value)

    if fees is None:
        return 0.0, 0.0
    if isinstance(fees, Mapping):
        missing = [v for v in (buy, sell) if v not in fees]
        if missing:
            raise OperatorArgumentError(f"fees has no taker fee for {', '.join(map(repr, missing))}: {dict(fees)!r}")
        return rate(fees[buy], f"fees[{buy!r}]"), rate(fees[sell], f"fees[{sell!r}]")
    return rate(fees, "fees"), rate(fees, "fees")


def spread(
    buy_venue: Any,
    sell_venue: Any,
    fees: float | Mapping[str, float] | None = None,
    *,
    stale_ms: float | None = None,
    quote_map: Mapping[str, str] | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[VenueItem]], Observable[Spread]]:
    """The cross-exchange spread: best bid on ``sell_venue`` minus best ask on ``buy_venue``.

    Takes the same ``Venued`` quotes as ``best_bid_offer``. For each symbol
    both venues quote, emits a ``Spread`` (absolute and in basis points of
    the fee-adjusted buy price, after taker ``fees``) whenever it changes;
    nothing while either side is missing, stale or failed. A venue whose
    stream failed for good (``merge_exchanges`` without
    ``resubscribe_after_ms``: its ``VenueError`` is ``final``) ends the
    spread with that venue's error, as no spread could follow; one whose
    stream completed (``VenueEnded``) completes it.

    Example:
        >>> merge_exchanges(('binance', b), ('okx', o)).pipe(
        ...     spread('binance', 'okx', fees={'binance': 0.001, 'okx': 0.0008}))

    .. marble::
        :alt: spread('B', 'O')

        -B(ask 100)-O(bid 101)-O(bid 99)-|
        [        spread('B', 'O')        ]
        ------------X----------Y---------|   X=+1 (100 bps)  Y=-1 (-100 bps)

    Args:
        buy_venue: Exchange id (or ccxt exchange) to buy on, at its ask.
        sell_venue: Exchange id (or ccxt exchange) to sell on, at its bid.
        fees: Taker fee rate for both venues (``0.001`` = 0.1%), or a
            mapping venue -> rate naming both; ``None`` for no fees.
        stale_ms: Drop a venue's quote after this long without an update.
        quote_map: How quote currencies relate (see ``best_bid_offer``).
        scheduler: Scheduler for staleness timers.

    Returns:
        An operator function from ``Venued`` quotes to ``Spread``.

    Raises:
        OperatorArgumentError: a bad or repeated venue, bad fees,
            ``stale_ms`` or ``quote_map``.
    """
    buy = venue_name(buy_venue, "buy_venue")
    sell = venue_name(sell_venue, "sell_venue")
    if buy == sell:
        raise OperatorArgumentError(f"buy_venue and sell_venue must differ, both are {buy!r}")
    buy_fee, sell_fee = _fee_rates(fees, buy, sell)

    def entries_of(value: Any) -> list[tuple[str, Quote]] | None:
        return _quote_entries(value)

    def result_of(symbol: str, venues: Mapping[str, Quote]) -> tuple[Any, Spread] | None:
        buy_quote = venues.get(buy)
        sell_quote = venues.get(sell)
        if buy_quote is None or sell_quote is None:
            return None
        ask = buy_quote[3]
        bid = sell_quote[1]
        if ask is None or bid is None:
            return None
        cost = ask * (1 + buy_fee)
        absolute = bid * (1 - sell_fee) - cost
        bps = absolute / cost * 10_000 if cost else float("nan")
        stamps = [t for t in (buy_quote[5], sell_quote[5]) if t is not None]
        return (ask, bid), Spread(symbol, buy, sell, ask, bid, absolute, bps, max(stamps) if stamps else None)

    spec: _Consolidation[Quote, Spread] = _Consolidation("spread", _QUOTE_SHAPE, entries_of, result_of,
                                                         frozenset((buy, sell)))
    return _consolidating(spec, stale_ms, quote_map, scheduler)
