"""Bitfinex (API v2): what rxpro knows about it.

* the replay protocol (:class:`BitfinexProtocol`): server-numbered channels, and the
  sequence numbers cryptofeed asked for (``conf`` flag 65536) removed for ccxt;
* its markets, derived from the recorded pair list (:func:`bitfinex_conf`, kept in
  ``exchanges/data/stubs/BITFINEX.conf.0``);
* the login: ``authenticate`` sends ``{"event":"auth",...}`` and awaits the answer.

``bitfinex1`` (the v1 API class ccxt no longer ships) is redirected to ``bitfinex``
(see ``_retired.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rxpro._recorded import WsFrame
from rxpro._replay_protocols import OWN_SOURCE, ReplayConnection, ReplayProtocol, TopicProtocol, json_object

from ._venue import StubFile, Venue, frozen, recorded_answer

__all__ = ["VENUES", "Bitfinex", "BitfinexProtocol", "bitfinex_conf"]

#: Bitfinex ``conf`` flag: every channel message ends with a sequence number.
SEQ_ALL = 65536


class BitfinexProtocol(TopicProtocol):
    """Bitfinex v2: channels are numbered by the server (``chanId``).

    Client frame ``{"event":"subscribe","channel":"trades","symbol":"tBFTUSD"}``; the
    recorded answer ``{"event":"subscribed","channel":"trades","chanId":232953,
    "symbol":"tBFTUSD","pair":"BFTUSD"}`` is fed for ccxt's subscriptions only, and
    then the channel's frames ``[232953,"te",[id,mts,amount,price],7]``.

    cryptofeed asked ``{"event":"conf","flags":65536}`` (``SEQ_ALL``): the server then
    appends a sequence number to every channel frame (the trailing ``7`` above).  ccxt
    asks ``flags: 131072`` (checksums) instead, and its trades handler reads a
    3-element frame as an update — so for a connection that did not ask ``SEQ_ALL``
    the trailing number is removed, as the server would not have sent it.  No ``cs``
    checksum frames were recorded (cryptofeed did not ask for them): ccxt's book
    checksum is never checked in this replay.  Markets: ``stubs/BITFINEX.conf.0``,
    derived from the recorded pair list (see :func:`bitfinex_conf`).
    """

    @staticmethod
    def _key(message: dict[str, Any]) -> str:
        return f"{message.get('channel')}:{message.get('symbol') or message.get('key')}"

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        if message.get("event") == "subscribe":
            return True, [self._key(message)]
        return None

    def replies(self, client: ReplayConnection, text: str) -> list[str]:
        message = json_object(text)
        if message is not None and message.get("event") == "conf":
            client.protocol_state["flags"] = int(message.get("flags") or 0)
        if message is not None and message.get("event") == "unsubscribe":
            chan_id = str(message.get("chanId"))
            client.protocol_state.setdefault("channels", set()).discard(chan_id)
            return [orjson.dumps({"event": "unsubscribed", "status": "OK", "chanId": message.get("chanId")}).decode()]
        return super().replies(client, text)

    def topic(self, frame: WsFrame, client: ReplayConnection) -> str | None:
        text = frame.text or ""
        channels: set[str] = client.protocol_state.setdefault("channels", set())
        if text.startswith("["):
            chan_id = text[1:text.find(",")]
            return None if chan_id in channels else self.DROP
        message = json_object(text)
        if message is None or message.get("event") != "subscribed":
            return None
        key = self._key(message)
        if key in client.protocol_state.get("topics", ()):
            channels.add(str(message.get("chanId")))
        return key

    def adapt(self, frame: WsFrame, client: ReplayConnection) -> WsFrame:
        text = frame.text
        if (text is None or not text.startswith("[")
                or client.protocol_state.get("flags", 0) & SEQ_ALL):
            return frame
        message = orjson.loads(text)
        if len(message) >= 3 and isinstance(message[-1], int):
            return WsFrame(frame.ts_ns, frame.conn, orjson.dumps(message[:-1]).decode())
        return frame


def bitfinex_conf(list_pair_exchange: str) -> str:
    """``conf/pub:info:pair,pub:info:pair:futures,pub:list:pair:securities,pub:list:pair:margin``.

    From the recorded ``conf/pub:list:pair:exchange`` (2021-04): ``pub:info:pair`` has one
    entry ``[pair, [null × 12]]`` per recorded pair — the per-pair order-size limits
    were not recorded, so they stay ``null``; futures, securities and margin lists are
    empty (cryptofeed recorded the futures pair list but this recording streams spot
    pairs only; securities and margin were not recorded).
    """
    pairs = orjson.loads(list_pair_exchange)[0]
    info = [[pair, [None] * 12] for pair in pairs]
    return orjson.dumps([info, [], [], []]).decode()


def _build_conf(recordings: Path) -> tuple[float, str]:
    ts, body = recorded_answer(recordings, "cryptofeed/BITFINEX.0",
                               "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange")
    return ts, bitfinex_conf(body)


@dataclass(frozen=True, eq=False)
class Bitfinex(Venue):
    """Bitfinex: its numbered-channel protocol."""

    def replay_protocol(self, source: str) -> ReplayProtocol:
        if source == OWN_SOURCE:
            return ReplayProtocol(self)  # ccxt's own connection, requests and answers: fed as recorded
        return BitfinexProtocol(self)


VENUES: tuple[Venue, ...] = (
    Bitfinex("bitfinex", offline_options=frozen({}), cryptofeed_names=("BITFINEX",),
             stub_files=(StubFile("BITFINEX.conf.0", "https://api-pub.bitfinex.com/v2/conf/pub:info:pair,"
                                  "pub:info:pair:futures,pub:list:pair:securities,pub:list:pair:margin", _build_conf),)),
)
