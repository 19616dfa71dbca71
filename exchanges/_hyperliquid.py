"""Hyperliquid: what rxpro knows about it.

Its private streams await no WebSocket login answer (each request is signed).  hftbacktest
records it too (its ``hyperliquid`` examples): raw frames of ``wss://api.hyperliquid.xyz/ws``,
``{"channel":"l2Book","data":{"coin":"BTC",...}}`` and ``{"channel":"trades",...}``.  Such a
file used to be taken for a Binance spot recording, and its streams stayed silent; it is now
a Hyperliquid recording, whose streams are named from its channels.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._venue import Venue

__all__ = ["VENUES", "Hyperliquid", "is_hyperliquid_frame"]

#: rxpro's stream of each public channel (Hyperliquid's WebSocket reference)
_STREAMS = {"l2Book": "orderbook", "trades": "trades", "bbo": "bids_asks", "candle": "ohlcv"}
#: the channels of Hyperliquid's frames (other venues send ``{"channel":...}`` frames too)
_CHANNELS = frozenset({*_STREAMS, "subscriptionResponse", "allMids", "activeAssetCtx", "pong", "error"})


def is_hyperliquid_frame(text: str | None) -> bool:
    """Whether a recorded frame is one of Hyperliquid's (``{"channel":"l2Book",...``)."""
    if text is None or not text.startswith('{"channel":"'):
        return False
    return text[12:text.find('"', 12)] in _CHANNELS


class Hyperliquid(Venue):
    """Hyperliquid: the streams of an hftbacktest recording, from its channels."""

    def streams_of(self, channels: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(_STREAMS[c] for c in channels if c in _STREAMS))


VENUES: tuple[Venue, ...] = (
    Hyperliquid("hyperliquid", login_methods=(), hftbacktest_folder="hyperliquid",
                market_stream_url="wss://api.hyperliquid.xyz/ws"),
)
