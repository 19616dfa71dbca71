"""The streams the command line shows, and the Observable behind each (names and ``has`` keys: ``rxpro._stream_kinds``)."""

from __future__ import annotations

from typing import Any

from reactivex import Observable

import rxpro
from rxpro._stream_kinds import STREAM_KINDS, StreamKind

__all__ = ["STREAMS", "WATCHABLE", "StreamInfo", "source", "support"]

#: One stream as ``rxpro exchanges`` lists it (rxpro's table of stream kinds).
StreamInfo = StreamKind
STREAMS: tuple[StreamKind, ...] = STREAM_KINDS

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
    ``limit`` is validated per exchange: Binance takes 5, 10, 20, ...), or on a replay
    of books recorded with a limit (``orderbook:5``), that limit.
    """
    replay = getattr(exchange, "replay", None)
    protocol = getattr(replay, "protocol", None)
    params = getattr(protocol, "stream_params", {}).get(stream)
    if stream == "ticker":
        return rxpro.ticker(exchange, symbol, params)
    if stream == "trades":
        return rxpro.trades(exchange, symbol, params)
    if stream == "orderbook":
        limit = replay.recorded_book_limit() if replay is not None else None
        return rxpro.order_book(exchange, symbol, limit, params)
    if stream == "ohlcv":
        return rxpro.ohlcv(exchange, symbol, timeframe, params)
    raise ValueError(f"not a watchable stream: {stream!r}")
