"""KuCoin spot (and KuCoin Futures): what rxpro knows about them.

* the replay protocol (:class:`KucoinProtocol`): topics ``/market/match:EQZ-BTC``,
  ccxt's own request ids acknowledged;
* offline options bridging ccxt's defaults to the recorded channels and endpoints,
  with placeholder credentials (see :class:`KucoinProtocol`);
* no WebSocket login: ccxt fetches a connection token by REST (``bullet-private``)
  and puts it in the URL, so no ``watch`` awaits a login answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from rxpro._recorded import HttpRecord, Recording, WsFrame
from rxpro._replay_protocols import OWN_SOURCE, ReplayConnection, ReplayProtocol, TopicProtocol, json_object

from ._venue import Venue, frozen

__all__ = ["VENUES", "Kucoin", "KucoinProtocol"]


class KucoinProtocol(TopicProtocol):
    """KuCoin spot: topics ``/market/match:EQZ-BTC``; ccxt's own ids get the ``ack``.

    Client frame ``{"id":"1","type":"subscribe","topic":"/market/match:EQZ-BTC,ANKR-BTC",
    "response":true}`` subscribes one topic per symbol; a recorded frame
    ``{"data":{...},"subject":"trade.l3match","topic":"/market/match:DAPPT-BTC","type":"message"}``
    belongs to its ``topic``.  cryptofeed sent every subscription with ``id`` 1, so the
    recorded ``{"id":"1","type":"ack"}`` frames are dropped and each ccxt request is
    acknowledged with its own id instead.

    ccxt's defaults differ from the recording in two documented ways, bridged with
    ccxt's own options: tickers (``watchTicker.spotMethod = "/market/ticker"``, the
    recorded channel; ccxt defaults to ``/market/snapshot``), and the order-book
    snapshot, recorded as ``/api/v3/market/orderbook/level2`` — the endpoint ccxt
    uses with credentials and no limit, so placeholder credentials are set (they sign
    nothing that leaves the process).
    """

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        kind, topic = message.get("type"), message.get("topic")
        if kind not in ("subscribe", "unsubscribe") or not isinstance(topic, str) or ":" not in topic:
            return None
        channel, _, symbols = topic.partition(":")
        return kind == "subscribe", [f"{channel}:{symbol}" for symbol in symbols.split(",")]

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        return [orjson.dumps({"id": str(message.get("id")), "type": "ack"}).decode()]

    def topic(self, frame: WsFrame, client: ReplayConnection) -> str | None:
        text = frame.text or ""
        if text.startswith('{"id":') and '"type":"ack"' in text:
            return self.DROP
        message = json_object(text)
        return None if message is None else message.get("topic")


#: the bullet-public token call was not recorded (cryptofeed redacted the token as TOKEN)
_PUBLIC_TOKEN = orjson.dumps({"code": "200000", "data": {"token": "TOKEN", "instanceServers": [{
    "endpoint": "wss://push-private.kucoin.com/endpoint", "encrypt": True, "protocol": "websocket",
    "pingInterval": 18000, "pingTimeout": 10000}]}}).decode()


@dataclass(frozen=True, eq=False)
class Kucoin(Venue):
    """KuCoin spot: its topic protocol, and the REST answers derived from the recording."""

    def replay_protocol(self, source: str) -> ReplayProtocol:
        if source == OWN_SOURCE:
            return ReplayProtocol(self)  # ccxt's own connection, requests and answers: fed as recorded
        return KucoinProtocol(self)

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        # ccxt asks /api/v2/symbols; the recorded /api/v1/symbols has the same fields it reads
        symbols = [HttpRecord(r.ts_ns, "GET", "https://api.kucoin.com/api/v2/symbols", r.body)
                   for r in recording.http if "/api/v1/symbols" in r.url][:1]
        return symbols + super().stub_http(recording)


VENUES: tuple[Venue, ...] = (
    Kucoin(
        "kucoin",
        login_methods=(),
        # fetchTickersFees: no allTickers were recorded; hf: ccxt's account-type query is private
        offline_options=frozen({"fetchMarkets": {"types": ["spot"], "fetchTickersFees": False},
                                "watchTicker": {"spotMethod": "/market/ticker"}, "hf": False}),
        placeholder_credentials=True,
        cryptofeed_names=("KUCOIN",),
        unrecorded=(
            HttpRecord(-1, "POST", "https://api.kucoin.com/api/v1/bullet-public", _PUBLIC_TOKEN),
            # with credentials ccxt also asks which markets are marginable: not recorded, none
            HttpRecord(-1, "GET", "https://api.kucoin.com/api/v3/margin/symbols", '{"code":"200000","data":{"items":[]}}'),
            HttpRecord(-1, "GET", "https://api.kucoin.com/api/v1/isolated/symbols",
                       '{"code":"200000","data":{"items":[]}}'),
        ),
    ),
    Venue("kucoinfutures", login_methods=()),
)
