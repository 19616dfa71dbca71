"""A stream: the observers of one exchange subscription, and what they receive.

A :class:`Stream` is what every subscriber of ``ex.rx.watch_trades('BTC/USDT')`` (same
exchange instance, method and arguments) shares.  It only shapes and delivers: the
router hands it what one ccxt resolve brought (:class:`Update`), and it turns that
into the values its observers get — one item per new cache entry, a snapshot per
order-book update, a copy of a ticker — filtered by the stream's symbols and
``since`` as ccxt's awaitable filters them.  Subscribing, sharing, un-watching and
recovering from errors are the hub's (``rxpro._hub``); the stream never reaches
back into it except to say that its last observer has gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ccxt
from ccxt.async_support.base.ws.order_book import OrderBook
from reactivex import abc

from ._backfill import GapFiller
from ._values import book_snapshot, frozen_copy

__all__ = ["Stream", "TOPICS", "tell_error", "topic_of", "unified_symbols"]

log = logging.getLogger("rxpro")


#: the ccxt cache family a ``watch_*`` method reads, as ccxt's ``clean_cache`` names them:
#: un-watching one stream of a topic can take a symbol's shared cache from the others
TOPICS: dict[str, str] = {
    "watch_order_book": "orderbook",
    "watch_order_book_for_symbols": "orderbook",
    "watch_trades": "trades",
    "watch_trades_for_symbols": "trades",
    "watch_ticker": "ticker",
    "watch_tickers": "ticker",
    "watch_bids_asks": "bidsasks",
    "watch_ohlcv": "ohlcv",
    "watch_ohlcv_for_symbols": "ohlcv",
    "watch_liquidations": "liquidations",
    "watch_liquidations_for_symbols": "liquidations",
}


def unified_symbols(exchange: Any, symbols: frozenset[str]) -> frozenset[str] | None:
    """``symbols`` as ccxt's unified symbols (``'BTCUSDT'`` is ``'BTC/USDT'``); None before markets are loaded.

    ccxt's ``watch_*`` accept a market id where a symbol is expected; one it can't tell keeps its spelling.
    """
    markets = getattr(exchange, "markets", None)
    if not markets:
        return None
    unified = set()
    for symbol in symbols:
        if symbol in markets:
            unified.add(symbol)
            continue
        try:
            unified.add(exchange.symbol(symbol))
        except Exception:  # noqa: BLE001 - ccxt's BadSymbol: keep the spelling as given
            unified.add(symbol)
    return frozenset(unified)


def topic_of(method: str) -> str:
    """The cache family of a ``watch_*`` method (its own name where ccxt keeps none shared)."""
    return TOPICS.get(method, method)


def tell_error(observer: abc.ObserverBase[Any], error: Exception, description: str) -> None:
    """``observer.on_error(error)``, whatever that raises.

    RxPY's default on_error (subscribe without one) re-raises: that must not keep the
    error from the other observers, nor escape into ccxt's handler.
    """
    try:
        observer.on_error(error)
    except Exception:  # noqa: BLE001
        log.exception("rxpro: %s: an observer's on_error raised", description)


class Stream:
    """The observers of one exchange subscription and how an update reaches them."""

    def __init__(
        self,
        key: Any,
        method: str,
        arguments: dict[str, Any],
        description: str,
        symbols: frozenset[str] | None,
        book_limit: int | None,
        exchange: Any,
        emptied: Callable[[Stream], None],
        rejected: Callable[[Stream, Exception], None] | None = None,
        trade_ids: bool = False,
    ) -> None:
        self.key = key
        self.method = method
        self.arguments = arguments
        self.description = description
        self.topic = topic_of(method)
        self.symbols = symbols
        self._symbols_unified = symbols is None  # spelled as the user gave them until markets load
        # ccxt's own since filter, per item (ccxt applies it to what an await returns)
        since = arguments.get("since")
        self.since: float | None = since if isinstance(since, (int, float)) and not isinstance(since, bool) else None
        self.book_limit = book_limit
        self._candles = method == "watch_ohlcv"  # ccxt resolves [symbol, timeframe, cache]: emit the rows
        self.exchange = exchange
        self._emptied = emptied
        self._rejected = rejected
        # ccxt's structure validators, on what this stream emits (see _nonsense)
        self._checks_trades = self.topic == "trades" or method.startswith("watch_my_trades")
        self._trade_ids = trade_ids  # the venue's trades always carry an id: one without is nonsense
        self.observers: tuple[abc.ObserverBase[Any], ...] = ()
        #: a trades stream's reconnect gaps: filled from REST, or announced (set by its maker)
        self.gaps: GapFiller | None = None
        self._last_frame = -1
        self._last_origin: Any = None  # held, so that its identity can't be reused

    # -- observers -------------------------------------------------------------

    def add(self, observer: abc.ObserverBase[Any]) -> bool:
        """Add an observer; True if it is the first."""
        self.observers = self.observers + (observer,)
        return len(self.observers) == 1

    def remove(self, observer: abc.ObserverBase[Any]) -> bool:
        """Remove an observer; True if that was the last."""
        if observer not in self.observers:
            return False
        self.observers = tuple(o for o in self.observers if o is not observer)
        return not self.observers

    def complete(self) -> None:
        """Complete every observer (the exchange closes, or the recording ended)."""
        if self.gaps is not None:
            self.gaps.close()
        observers, self.observers = self.observers, ()
        for observer in observers:
            try:
                observer.on_completed()
            except Exception:  # noqa: BLE001 - the others must still hear it
                log.exception("rxpro: %s: an observer's on_completed raised", self.description)

    def fail(self, error: Exception) -> None:
        """End every observer with ``error``."""
        if self.gaps is not None:
            self.gaps.close()
        observers, self.observers = self.observers, ()
        for observer in observers:
            tell_error(observer, error, self.description)

    # -- data ------------------------------------------------------------------

    def overlaps(self, other: Stream) -> bool:
        """Whether un-watching one can take data from the other (same cache family, a shared symbol)."""
        if self.topic != other.topic:
            return False
        if self.symbols is None or other.symbols is None:
            return True
        return not self.symbols.isdisjoint(other.symbols)

    def deliver(self, result: Any, batch: list[Any] | None, origin: Any, frame: int, fresh: Any = None) -> None:
        """Push what one resolve brought to every observer (runs inside ccxt's handler).

        ``batch``: the cache entries this frame added (list-shaped streams), else None;
        ``origin``: what the batch was drawn from, to tell a repeat under a second hash;
        ``fresh``: a structure a native handler built new for this resolve (the result or
        one of a ``{symbol: ticker}`` batch), emitted as is: ccxt never changes it
        afterwards, as it never changes a trade. Every other dict is emitted as a copy.
        """
        if not self._symbols_unified:
            self._unify_symbols()
        if batch is not None:
            if origin is self._last_origin and frame == self._last_frame and batch:
                return  # the same entries under a second hash of this stream
            self._last_origin = origin
            self._last_frame = frame
            if self._checks_trades:
                self._deliver_trades(batch)
            else:
                self._deliver_entries(batch)
        elif isinstance(result, OrderBook):
            if not self._nonsense_book(result):
                self.emit(book_snapshot(result, self.book_limit))
        elif (
            type(result) is dict
            and "symbol" not in result
            and result
            and all(type(v) is dict and "symbol" in v for v in result.values())
        ):
            # {symbol: ticker} batches (e.g. okx tickers): one structure per symbol
            symbols = self.symbols
            for symbol, value in result.items():
                if symbols is None or symbol in symbols:
                    self.emit(value if value is fresh else frozen_copy(value))
        elif self.topic != "ticker" or result.get("symbol") is not None or not self._refuse(
                result, "a ticker without a symbol"):
            self.emit(result if result is fresh else frozen_copy(result))

    # -- what ccxt's own structure validators (ccxt.test.exchange.base) would reject ------------

    def _nonsense_trade(self, trade: Any) -> bool:
        """A trade without price, amount or timestamp (or id, where the venue always gives one)."""
        if type(trade) is not dict:
            return False
        if trade.get("price") is None or trade.get("amount") is None or trade.get("timestamp") is None:
            missing = [k for k in ("price", "amount", "timestamp") if trade.get(k) is None]
            return self._refuse(trade, f"a trade without {', '.join(missing)}")
        if self._trade_ids and trade.get("id") is None:
            return self._refuse(trade, "a trade without an id")
        return False

    def _nonsense_book(self, book: Any) -> bool:
        """A book whose best level lacks a positive price or amount (ccxt's test_order_book)."""
        for side in ("bids", "asks"):
            levels = book[side]
            if levels:
                price, amount = levels[0][0], levels[0][1]
                if price is None or amount is None or not price > 0 or not amount > 0:
                    return self._refuse(book, f"an order book whose best {side[:-1]} is {[price, amount]}")
        return False

    def _refuse(self, value: Any, what: str) -> bool:
        """Report ``value`` as a frame error instead of emitting it; always True."""
        if self._rejected is not None:
            info = value.get("info") if isinstance(value, dict) else None
            self._rejected(self, ccxt.BadResponse(
                f"{self.description}: ccxt parsed {what}; not emitted (raw: {str(info)[:200]})"))
        return True

    def _deliver_entries(self, batch: list[Any]) -> None:
        if self._candles and batch and type(batch[0]) is list and len(batch[0]) == 3:
            since = self.since
            for _, _, row in batch:  # [symbol, timeframe, candle] -> the candle
                if since is None or row[0] >= since:
                    self.emit(row)
            return
        if self.since is None:
            symbols = self.symbols
            for item in batch:
                if symbols is not None and type(item) is dict and item.get("symbol") not in symbols:
                    continue
                self.emit(item)
        else:
            for item in self._since_filtered(batch):
                self.emit(item)

    def _deliver_trades(self, batch: list[Any]) -> None:
        """Trades: the nonsense out, the symbol and ``since`` filters, then out — or held by the gap filler."""
        gaps = self.gaps
        if self.since is not None or (gaps is not None and (gaps.held is not None or gaps.window)):
            items = [t for t in self._since_filtered(batch) if not self._nonsense_trade(t)]
            if gaps is not None and gaps.hold(items):
                return
            for item in items:
                self.emit(item)
                if gaps is not None:
                    gaps.last[item.get("symbol")] = item
            return
        # the hot path: one loop, no intermediate lists
        symbols = self.symbols
        ids = self._trade_ids
        last = gaps.last if gaps is not None else None
        for item in batch:
            if type(item) is dict:
                symbol = item.get("symbol")
                if symbols is not None and symbol not in symbols:
                    continue
                if (item.get("price") is None or item.get("amount") is None or item.get("timestamp") is None
                        or (ids and item.get("id") is None)):
                    self._nonsense_trade(item)
                    continue
                if last is not None:
                    last[symbol] = item
            self.emit(item)

    def _since_filtered(self, batch: list[Any]) -> list[Any]:
        """The entries of ``batch`` of the stream's symbols and not older than ``since`` (ccxt's filter)."""
        symbols = self.symbols
        since = self.since
        kept = []
        for item in batch:
            if type(item) is dict:
                if symbols is not None and item.get("symbol") not in symbols:
                    continue
                timestamp = item.get("timestamp")
            elif type(item) is list and len(item) == 3 and type(item[2]) is list and item[2]:
                timestamp = item[2][0]  # [symbol, timeframe, candle] (ohlcv_for_symbols)
            elif type(item) is list and item:
                timestamp = item[0]  # a candle row
            else:
                timestamp = None
            if since is not None and (not timestamp or timestamp < since):
                continue  # ccxt's filter_by_since_limit: no timestamp, or older than since
            kept.append(item)
        return kept

    def _unify_symbols(self) -> None:
        """Filter on unified symbols, however the user spelled them (``'BTCUSDT'`` is ``'BTC/USDT'``).

        ccxt's ``watch_*`` accept a market id where a symbol is expected and emit unified
        symbols; this runs at the first delivery, once markets are loaded.
        """
        if self.symbols is None:
            return
        unified = unified_symbols(self.exchange, self.symbols)
        if unified is not None:
            self._symbols_unified = True
            self.symbols = unified

    def emit(self, value: Any) -> None:
        """Give ``value`` to every observer (an observer that raises gets its own on_error)."""
        for observer in self.observers:
            try:
                observer.on_next(value)
            except Exception as error:  # noqa: BLE001 - one failing subscriber must not starve others
                self.observers = tuple(o for o in self.observers if o is not observer)
                tell_error(observer, error, self.description)
                if not self.observers:
                    self._emptied(self)
