"""Bitstamp: what rxpro knows about it.

* the replay protocol (:class:`BitstampProtocol`): channels ``live_trades_ethusd``;
* its markets, derived from the recorded ``trading-pairs-info`` (:func:`bitstamp_markets`,
  kept in ``exchanges/data/stubs/BITSTAMP.markets.0``);
* no WebSocket login: ccxt fetches a token by REST (``websockets_token``) and sends
  it with each private subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rxpro._recorded import WsFrame
from rxpro._replay_protocols import OWN_SOURCE, ReplayConnection, ReplayProtocol, TopicProtocol, json_object

from ._venue import StubFile, Venue, frozen, recorded_answer

__all__ = ["VENUES", "Bitstamp", "BitstampProtocol", "bitstamp_markets"]


class BitstampProtocol(TopicProtocol):
    """Bitstamp: channels ``diff_order_book_ethusd``, ``live_trades_ethusd``.

    Client frame ``{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}``;
    recorded frame ``{"data":{...},"channel":"live_trades_ethusd","event":"trade"}``.
    The recorded ``bts:subscription_succeeded`` frames are fed for ccxt's channels
    only.  Markets: ``stubs/BITSTAMP.markets.0``, derived from the recorded
    ``trading-pairs-info`` (see :func:`bitstamp_markets`).
    """

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        event, data = message.get("event"), message.get("data")
        if event not in ("bts:subscribe", "bts:unsubscribe") or not isinstance(data, dict):
            return None
        return event == "bts:subscribe", [str(data.get("channel"))]

    def topic(self, frame: WsFrame, client: ReplayConnection) -> str | None:
        message = json_object(frame.text)
        channel = None if message is None else message.get("channel")
        return channel if isinstance(channel, str) else None


def bitstamp_markets(trading_pairs_info: str) -> str:
    """``/api/v2/markets/`` from the recorded ``/api/v2/trading-pairs-info/`` (2022-01).

    Per pair: ``market_symbol = url_symbol``; ``base_currency`` / ``counter_currency``
    from ``name`` (``"BTC/USD"``); ``minimum_order_value`` is the number of
    ``minimum_order`` (``"20.0 USD"`` -> ``"20.0"``); ``market_type = "SPOT"`` (Bitstamp
    had no other market type then); ``base_decimals``, ``counter_decimals``,
    ``trading``, ``instant_and_market_orders``, ``description`` are copied.  Fields
    the old layout lacks (``instant_order_counter_decimals``, order-amount limits)
    are left out rather than invented.
    """
    markets = []
    for pair in orjson.loads(trading_pairs_info):
        base, _, counter = str(pair["name"]).partition("/")
        market: dict[str, Any] = {
            "name": pair["name"],
            "market_symbol": pair["url_symbol"],
            "base_currency": base,
            "base_decimals": pair["base_decimals"],
            "counter_currency": counter,
            "counter_decimals": pair["counter_decimals"],
            "minimum_order_value": str(pair.get("minimum_order", "")).split(" ", 1)[0] or None,
            "trading": pair["trading"],
            "instant_and_market_orders": pair["instant_and_market_orders"],
            "description": pair["description"],
            "market_type": "SPOT",
        }
        markets.append(market)
    return orjson.dumps(markets).decode()


def _build_markets(recordings: Path) -> tuple[float, str]:
    ts, body = recorded_answer(recordings, "cryptofeed/BITSTAMP.0", "https://www.bitstamp.net/api/v2/trading-pairs-info/")
    return ts, bitstamp_markets(body)


@dataclass(frozen=True, eq=False)
class Bitstamp(Venue):
    """Bitstamp: its channel protocol."""

    def replay_protocol(self, source: str) -> ReplayProtocol:
        if source == OWN_SOURCE:
            return ReplayProtocol(self)  # ccxt's own connection, requests and answers: fed as recorded
        return BitstampProtocol(self)


VENUES: tuple[Venue, ...] = (
    Bitstamp("bitstamp", login_methods=(), offline_options=frozen({}), cryptofeed_names=("BITSTAMP",),
             stub_files=(StubFile("BITSTAMP.markets.0", "https://www.bitstamp.net/api/v2/markets/", _build_markets),)),
)
