"""Per-subscription state of the cross-exchange operators.

``VenueBoard`` keeps the latest entry (a quote or a book excerpt) per symbol
and venue, and takes a venue out when its stream fails (``VenueError``),
ends (``VenueEnded``) or goes stale. ``quotes_of`` reads the top of book from the ccxt structures the
operators accept. Nothing here is public.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from reactivex import abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from ._checks import is_number
from ._scheduling import now_seconds

__all__ = ["BadNumber", "Quote", "VenueBoard", "book_side", "price_problem", "quote_problem", "quotes_of", "size_problem"]

_E = TypeVar("_E")

# (symbol, bid, bid size, ask, ask size, exchange timestamp)
Quote = tuple[str, Any, Any, Any, Any, Any]

_EPSILON_S = 1e-9  # float clocks: "elapsed >= stale" must hold at the exact tick


class BadNumber(ValueError):
    """A price that is NaN or infinite, or a size that is negative, NaN or infinite: says which."""


def _finite(number: Any) -> bool:
    try:
        return math.isfinite(number)
    except (TypeError, ValueError, OverflowError):  # a signalling Decimal NaN, an int past float's range
        return False


def price_problem(name: str, price: Any) -> str | None:
    """``'bid=nan'`` for a NaN or infinite price; None for a finite one (or no price)."""
    if price is None or (price.__class__ is float and price - price == 0.0) or _finite(price):
        return None
    return f"{name}={price!r}"


def size_problem(name: str, size: Any) -> str | None:
    """``'bid size=-3.0'`` for a negative, NaN or infinite size; None for a finite size >= 0 (or none)."""
    if size is None or (size.__class__ is float and 0.0 <= size < math.inf) or (_finite(size) and size >= 0):
        return None
    return f"{name}={size!r}"


def quote_problem(quote: Quote) -> str | None:
    """What is wrong with a quote's numbers (a NaN price, a negative size...), or None."""
    _, bid, bid_size, ask, ask_size, _ = quote
    try:  # the usual quote, in one expression: finite prices (x - x is 0), sizes in [0, inf)
        if ((bid is None or bid - bid == 0) and (ask is None or ask - ask == 0)
                and (bid_size is None or 0 <= bid_size < math.inf) and (ask_size is None or 0 <= ask_size < math.inf)):
            return None
    except (TypeError, ArithmeticError, ValueError):  # (a signalling Decimal NaN raises)
        pass
    return (price_problem("bid", bid) or price_problem("ask", ask)
            or size_problem("bid size", bid_size) or size_problem("ask size", ask_size))


def book_side(levels: Any, depth: int) -> tuple[tuple[float, float], ...]:
    """The first ``depth`` ``[price, amount, ...]`` levels, copied as pairs.

    Raises ``TypeError`` when a price or amount is not a number, :class:`BadNumber`
    when a price is NaN or infinite or an amount negative, NaN or infinite.
    """
    side = tuple((level[0], level[1]) for level in levels[:depth])
    for price, amount in side:
        if price.__class__ is float and amount.__class__ is float:
            if price - price == 0.0 and 0.0 <= amount < math.inf:
                continue  # what ccxt's parsers give: a finite price, a size >= 0
        elif not (is_number(price) and is_number(amount)):
            raise TypeError(f"book level {price!r}, {amount!r} is not two numbers")
        problem = price_problem("price", price) or size_problem("amount", amount)
        if problem is not None:
            raise BadNumber(f"book level [{price!r}, {amount!r}]: {problem}")
    return side


def _number_or_none(value: Any) -> bool:
    return value is None or is_number(value)


#: the classes of ccxt's parsed values, checked without a call (the hot path)
_PLAIN = frozenset({float, int, type(None)})


def _numeric(quote: Quote) -> bool:
    """Prices, sizes and timestamp are numbers or ``None`` (no str: they are compared)."""
    _, bid, bid_size, ask, ask_size, timestamp = quote
    plain = _PLAIN
    if (
        bid.__class__ in plain
        and ask.__class__ in plain
        and bid_size.__class__ in plain
        and ask_size.__class__ in plain
        and timestamp.__class__ in plain
    ):
        return True
    return (
        _number_or_none(bid)
        and _number_or_none(ask)
        and _number_or_none(bid_size)
        and _number_or_none(ask_size)
        and _number_or_none(timestamp)
    )


def _ticker_quote(ticker: Mapping[str, Any]) -> Quote:
    return (
        ticker["symbol"],
        ticker.get("bid"),
        ticker.get("bidVolume"),
        ticker.get("ask"),
        ticker.get("askVolume"),
        ticker.get("timestamp"),
    )


def quotes_of(value: Any) -> list[Quote] | None:
    """Top of book from a ticker, an order book or a ``{symbol: ticker}`` dict.

    ``None`` when the value is none of these shapes, or a price, size or
    timestamp in it is neither a number nor ``None``.
    """
    quotes = _quotes_of(value)
    if quotes is not None:
        for quote in quotes:  # (a loop: all() over a generator costs more than the check)
            if not _numeric(quote):
                return None
    return quotes


def _quotes_of(value: Any) -> list[Quote] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        if "bids" in value and "asks" in value:
            bids = value["bids"]
            asks = value["asks"]
            bid, bid_size = (bids[0][0], bids[0][1]) if bids else (None, None)
            ask, ask_size = (asks[0][0], asks[0][1]) if asks else (None, None)
            symbol = value["symbol"]
            if not isinstance(symbol, str):
                return None
            return [(symbol, bid, bid_size, ask, ask_size, value.get("timestamp"))]
        if "symbol" in value and ("bid" in value or "ask" in value):
            if not isinstance(value["symbol"], str):
                return None
            return [_ticker_quote(value)]
        if "symbol" not in value and value and all(
            isinstance(t, Mapping) and isinstance(t.get("symbol"), str) and ("bid" in t or "ask" in t)
            for t in value.values()
        ):
            return [_ticker_quote(t) for t in value.values()]
    except (KeyError, IndexError, TypeError):
        return None
    return None


class VenueBoard(Generic[_E]):
    """Latest entry per (symbol, venue); calls ``changed(symbol)`` on every change."""

    def __init__(
        self,
        scheduler: abc.SchedulerBase | None,
        stale_s: float | None,
        changed: Callable[[str], None],
        lock: threading.RLock,
    ) -> None:
        self.entries: dict[str, dict[str, _E]] = {}
        self.disposable = CompositeDisposable()
        self._scheduler = scheduler
        self._stale_s = stale_s
        self._changed = changed
        self._lock = lock
        self._seen: dict[tuple[str, str], float] = {}
        self._timers: dict[tuple[str, str], SingleAssignmentDisposable] = {}

    def put(self, symbol: str, venue: str, entry: _E) -> None:
        self.entries.setdefault(symbol, {})[venue] = entry
        if self._stale_s is not None:
            key = (symbol, venue)
            assert self._scheduler is not None
            self._seen[key] = now_seconds(self._scheduler)
            if key not in self._timers:
                self._arm(key, self._stale_s)
        self._changed(symbol)

    def drop_venue(self, venue: str) -> None:
        """Take ``venue`` out of every symbol (its stream failed or ended)."""
        for symbol in [s for s, venues in self.entries.items() if venue in venues]:
            self._remove((symbol, venue))

    def _remove(self, key: tuple[str, str]) -> None:
        symbol, venue = key
        venues = self.entries[symbol]
        del venues[venue]
        if not venues:
            del self.entries[symbol]
        self._seen.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            self.disposable.remove(timer)
        self._changed(symbol)

    def _arm(self, key: tuple[str, str], delay_s: float) -> None:
        # One timer per (symbol, venue) at a time, re-armed for the time left
        # when it finds a newer update: O(1) per update, no timer per update.
        assert self._scheduler is not None and self._stale_s is not None
        stale_s = self._stale_s
        timer = SingleAssignmentDisposable()
        self._timers[key] = timer
        self.disposable.add(timer)

        def check(scheduler: abc.SchedulerBase, _: Any = None) -> None:
            with self._lock:
                if self._timers.get(key) is not timer:
                    return
                elapsed = now_seconds(scheduler) - self._seen[key]
                if elapsed >= stale_s - _EPSILON_S:
                    self._remove(key)
                else:
                    del self._timers[key]
                    self.disposable.remove(timer)
                    self._arm(key, stale_s - elapsed)

        timer.disposable = self._scheduler.schedule_relative(delay_s, check)
