"""The stream kinds rxpro names: one table for the recorder, the command line and recordings' own names.

Each :class:`StreamKind` has rxpro's name (``orderbook``), the ccxt ``exchange.has``
key of its watch method, whether it is private, the names ``rxpro.record`` accepts
for it (``book``, ``order_book``), the names other recorders wrote for it
(cryptofeed's ``l2_book``, ``candles``), and the ccxt ``watch_*`` methods whose data
a recording of that kind holds (``watch_tickers`` reads what a ``ticker`` recording
kept).  ``rxpro._record`` checks recorder stream names here; ``rxpro._replay`` tells
here which recorded stream a ``watch_*`` call needs; ``rxpro.cli`` lists, validates
and maps stream names from here.  A leaf: it imports nothing of rxpro.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECORDER_USAGE", "STREAM_KINDS", "StreamKind", "recorder_kind", "stream_kind_name", "stream_order"]


@dataclass(frozen=True, slots=True)
class StreamKind:
    """One kind of stream."""

    name: str
    has_key: str  # the ccxt ``exchange.has`` key of its watch method
    private: bool = False
    #: the names ``rxpro.record`` accepts for it (``orderbook[:limit]``, ``ohlcv:<timeframe>``); empty: not recordable
    recorder_names: tuple[str, ...] = ()
    #: the names other recorders (cryptofeed) give it in their recordings
    recorded_as: tuple[str, ...] = ()
    #: the ccxt ``watch_*`` methods that read what a recording of this kind holds
    methods: tuple[str, ...] = ()


STREAM_KINDS: tuple[StreamKind, ...] = (
    StreamKind("ticker", "watchTicker", recorder_names=("ticker",), methods=("watch_ticker", "watch_tickers")),
    StreamKind("tickers", "watchTickers"),  # recorded as ``ticker`` (one channel for one or many symbols)
    StreamKind("bids_asks", "watchBidsAsks", recorder_names=("bids_asks", "bidsasks"), methods=("watch_bids_asks",)),
    StreamKind("trades", "watchTrades", recorder_names=("trades",),
               methods=("watch_trades", "watch_trades_for_symbols")),
    StreamKind("orderbook", "watchOrderBook", recorder_names=("orderbook", "order_book", "book"), recorded_as=("l2_book",),
               methods=("watch_order_book", "watch_order_book_for_symbols")),
    StreamKind("ohlcv", "watchOHLCV", recorder_names=("ohlcv",), recorded_as=("candles",),
               methods=("watch_ohlcv", "watch_ohlcv_for_symbols")),
    StreamKind("liquidations", "watchLiquidations", methods=("watch_liquidations", "watch_liquidations_for_symbols")),
    StreamKind("balance", "watchBalance", private=True, methods=("watch_balance",)),
    StreamKind("orders", "watchOrders", private=True, methods=("watch_orders", "watch_orders_for_symbols")),
    StreamKind("my_trades", "watchMyTrades", private=True, methods=("watch_my_trades", "watch_my_trades_for_symbols")),
    StreamKind("positions", "watchPositions", private=True, methods=("watch_positions",)),
)

#: what ``rxpro.record`` accepts, as its error messages say it
RECORDER_USAGE = "ticker, trades, orderbook[:limit], ohlcv:<timeframe>, bids_asks"

_BY_RECORDER_NAME = {name: kind for kind in STREAM_KINDS for name in kind.recorder_names}
_ORDER = {kind.name: index for index, kind in enumerate(STREAM_KINDS)}
_BY_ANY_NAME = {name: kind for kind in STREAM_KINDS for name in (kind.name, *kind.recorder_names, *kind.recorded_as)}


def recorder_kind(name: str) -> StreamKind | None:
    """The kind of a recorder stream name (``'book:20'`` -> orderbook), or None if ``rxpro.record`` does not know it."""
    return _BY_RECORDER_NAME.get(name.partition(":")[0])


def stream_kind_name(name: str) -> str:
    """``'ohlcv:1m'`` -> ``'ohlcv'``, ``'book'`` / ``'l2_book'`` -> ``'orderbook'``; an unknown name as it is."""
    kind = name.partition(":")[0]
    known = _BY_ANY_NAME.get(kind)
    return known.name if known is not None else kind


def stream_order(name: str) -> int:
    """Sort key: the table's order for rxpro's kinds, then any other name."""
    return _ORDER.get(name, len(_ORDER))
