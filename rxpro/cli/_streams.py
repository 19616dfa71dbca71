"""The stream names the command line knows and the ``exchange.has`` keys behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["STREAMS", "WATCHABLE", "StreamInfo", "support"]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream as ``rxpro exchanges`` lists it."""

    name: str
    has_key: str  # the ccxt ``exchange.has`` key of its watch method
    private: bool = False


STREAMS: tuple[StreamInfo, ...] = (
    StreamInfo("ticker", "watchTicker"),
    StreamInfo("tickers", "watchTickers"),
    StreamInfo("bids_asks", "watchBidsAsks"),
    StreamInfo("trades", "watchTrades"),
    StreamInfo("orderbook", "watchOrderBook"),
    StreamInfo("ohlcv", "watchOHLCV"),
    StreamInfo("liquidations", "watchLiquidations"),
    StreamInfo("balance", "watchBalance", private=True),
    StreamInfo("orders", "watchOrders", private=True),
    StreamInfo("my_trades", "watchMyTrades", private=True),
    StreamInfo("positions", "watchPositions", private=True),
)

#: What ``rxpro watch`` can show; each has a view in ``_views``.
WATCHABLE: tuple[str, ...] = ("ticker", "trades", "orderbook", "ohlcv")

_BY_NAME = {info.name: info for info in STREAMS}


def support(exchange: Any, stream: str) -> bool | str:
    """``True``, ``'emulated'`` or ``False``: whether ``exchange`` has ``stream`` (per ``exchange.has``)."""
    value = exchange.has.get(_BY_NAME[stream].has_key)
    if value == "emulated":
        return "emulated"
    return bool(value)
