"""The stream names the command line knows and the ``exchange.has`` keys behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reactivex import Observable

import rxpro

__all__ = ["STREAMS", "WATCHABLE", "StreamInfo", "source", "support"]


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


def source(exchange: Any, stream: str, symbol: str, timeframe: str = "1m") -> Observable[Any]:
    """The Observable behind one of ``WATCHABLE`` (what ``rxpro watch`` and ``rxpro replay`` show).

    On a replay, with the params its protocol says the recorded subscription needs
    (Deribit's raw tickers); the order book is the whole book, cut by the view (a ccxt
    ``limit`` is validated per exchange: Binance takes 5, 10, 20, ...).
    """
    protocol = getattr(getattr(exchange, "replay", None), "protocol", None)
    params = getattr(protocol, "stream_params", {}).get(stream)
    if stream == "ticker":
        return rxpro.ticker(exchange, symbol, params)
    if stream == "trades":
        return rxpro.trades(exchange, symbol, params)
    if stream == "orderbook":
        return rxpro.order_book(exchange, symbol, None, params)
    if stream == "ohlcv":
        return rxpro.ohlcv(exchange, symbol, timeframe, params)
    raise ValueError(f"not a watchable stream: {stream!r}")
