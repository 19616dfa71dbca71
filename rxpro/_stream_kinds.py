"""The stream kinds rxpro names: one table for the recorder, the command line and recordings' own names.

Each :class:`StreamKind` has rxpro's name (``orderbook``), the ccxt ``exchange.has``
key of its watch method, whether it is private, the names ``rxpro.record`` accepts
for it (``book``, ``order_book``), and the names other recorders wrote for it
(cryptofeed's ``l2_book``, ``candles``).  ``rxpro._record`` checks recorder stream
names here; ``rxpro.cli`` lists, validates and maps stream names from here.
A leaf: it imports nothing of rxpro.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECORDER_USAGE", "STREAM_KINDS", "StreamKind", "recorder_kind", "stream_kind_name"]


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


STREAM_KINDS: tuple[StreamKind, ...] = (
    StreamKind("ticker", "watchTicker", recorder_names=("ticker",)),
    StreamKind("tickers", "watchTickers"),
    StreamKind("bids_asks", "watchBidsAsks", recorder_names=("bids_asks", "bidsasks")),
    StreamKind("trades", "watchTrades", recorder_names=("trades",)),
    StreamKind("orderbook", "watchOrderBook", recorder_names=("orderbook", "order_book", "book"), recorded_as=("l2_book",)),
    StreamKind("ohlcv", "watchOHLCV", recorder_names=("ohlcv",), recorded_as=("candles",)),
    StreamKind("liquidations", "watchLiquidations"),
    StreamKind("balance", "watchBalance", private=True),
    StreamKind("orders", "watchOrders", private=True),
    StreamKind("my_trades", "watchMyTrades", private=True),
    StreamKind("positions", "watchPositions", private=True),
)

#: what ``rxpro.record`` accepts, as its error messages say it
RECORDER_USAGE = "ticker, trades, orderbook[:limit], ohlcv:<timeframe>, bids_asks"

_BY_RECORDER_NAME = {name: kind for kind in STREAM_KINDS for name in kind.recorder_names}
_BY_ANY_NAME = {name: kind for kind in STREAM_KINDS for name in (kind.name, *kind.recorder_names, *kind.recorded_as)}


def recorder_kind(name: str) -> StreamKind | None:
    """The kind of a recorder stream name (``'book:20'`` -> orderbook), or None if ``rxpro.record`` does not know it."""
    return _BY_RECORDER_NAME.get(name.partition(":")[0])


def stream_kind_name(name: str) -> str:
    """``'ohlcv:1m'`` -> ``'ohlcv'``, ``'book'`` / ``'l2_book'`` -> ``'orderbook'``; an unknown name as it is."""
    kind = name.partition(":")[0]
    known = _BY_ANY_NAME.get(kind)
    return known.name if known is not None else kind
