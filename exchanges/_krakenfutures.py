"""Kraken Futures: what rxpro knows about it.

cryptofeed names its recordings ``KRAKEN_FUTURES``.  Replaying one (2021) through ccxt
needs two things of the recording, done once it is loaded (:meth:`KrakenFutures.loaded`):

* the instruments answer gave the ids in lower case (``pi_xbtusd``); the venue now gives
  them, and its frames always gave them, in upper case (``"product_id":"PI_XBTUSD"``).
  ccxt takes its market ids from that answer, so every frame named a market ccxt did not
  know: a ``frame_error`` event, and streams that never delivered;
* cryptofeed's ``ticker`` subscribes the ``ticker_lite`` feed, which ccxt reads as best bid
  and ask (``watch_bids_asks``), not as a ticker: the streams are named from the feeds.
"""

from __future__ import annotations

from typing import Any

import orjson

from rxpro._recorded import HttpRecord, Recording
from rxpro._replay_protocols import THIRD_PARTY_SOURCES, json_object

from ._venue import Venue

__all__ = ["VENUES", "KrakenFutures"]

#: the public feeds a recorder subscribes, by rxpro's stream name
_STREAMS = {"book": "orderbook", "trade": "trades", "ticker_lite": "bids_asks", "ticker": "ticker"}
_INSTRUMENTS = "/derivatives/api/v3/instruments"


class KrakenFutures(Venue):
    """Kraken Futures: cryptofeed's recordings made to read as the venue speaks today (see the module)."""

    def loaded(self, recording: Recording) -> None:
        if recording.source not in THIRD_PARTY_SOURCES:
            return  # rxpro's own recordings hold the answers ccxt got
        recording.http = [_upper_case_ids(record) if _INSTRUMENTS in record.url else record
                          for record in recording.http]
        feeds = []
        for _, _, text in recording.sent:
            message = json_object(text)
            if message is not None and message.get("event") == "subscribe":
                feeds.append(message.get("feed"))
        streams = [_STREAMS[feed] for feed in dict.fromkeys(feeds) if feed in _STREAMS]
        if streams:
            recording.streams = streams


def _upper_case_ids(record: HttpRecord) -> HttpRecord:
    """The instruments answer with each ``symbol`` in upper case, as the frames name them."""
    answer = json_object(record.body)
    instruments = answer.get("instruments") if answer is not None else None
    if answer is None or not isinstance(instruments, list):
        return record
    upper: list[Any] = [dict(item, symbol=item["symbol"].upper())
                        if isinstance(item, dict) and isinstance(item.get("symbol"), str) else item
                        for item in instruments]
    return HttpRecord(record.ts_ns, record.method, record.url, orjson.dumps(dict(answer, instruments=upper)).decode())


VENUES: tuple[Venue, ...] = (
    KrakenFutures("krakenfutures", cryptofeed_names=("KRAKEN_FUTURES",)),
)
