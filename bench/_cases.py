"""What a parser benchmark case is (issue 9): one venue's channel, its recorded frames, how to feed them.

``bench/bench_parsers.py`` collects ``CASES`` from every ``bench/_cases_<venue>.py`` module and
runs, per case, interleaved and side by side: the orjson floor, cryptofeed (when installed),
ccxt.pro's handler, rxpro with native parsers, rxpro with them off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Case"]


@dataclass(frozen=True)
class Case:
    """One channel of one venue, over real recorded frames."""

    venue: str  # ccxt id: "binance", "binanceusdm", "okx", "coinbaseexchange", "bybit"
    channel: str  # the row's label: "trade", "bookTicker", "depth diff, full book", ...
    texts: Sequence[str]  # the frames' text as received, in order
    #: a ready plain ccxt.pro exchange (markets set offline, books seeded where the channel needs it)
    ccxt_exchange: Callable[[], Any]
    #: a ready rxpro exchange, native parsers on or off, with one Observable subscribed as users do;
    #: ``routed=False``: no Observable, its connection resolving as ccxt's own client does
    rxpro_exchange: Callable[..., Any]
    #: hand one decoded frame to an exchange's handler, as its WebSocket client would
    feed: Callable[[Any, Any], None]
    #: a fresh function feeding one raw text to cryptofeed's parser for this channel, or None
    cryptofeed: Callable[[], Callable[[str], Any]] | None = None
    #: frames that are not this channel's updates (subscription answers...): counted out of "per update"
    updates: int | None = None
