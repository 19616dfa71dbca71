"""Coinbase Exchange parser cases (issue 9): the bundled 2021 recording of the Exchange (Pro) feed.

Frames: ``cryptofeed/COINBASE.ws.28.0`` (cryptofeed's master recording, 10 products:
level2 snapshots and l2updates, ticker, matches), as received.  Every recorded product is
watched as a user watches it (one stream per product and channel).  Markets: ccxt's parse
of the recorded products answer (``cryptofeed/COINBASE.0``).

No cryptofeed column: cryptofeed 2.4.1's Coinbase feed speaks Advanced Trade
(``advanced-trade-ws.coinbase.com``, ``market_trades``), another protocol; it has no parser
for these frames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.pro
import orjson

import rxpro
from rxpro._replay_formats import load_recording
from rxpro.testing import data_path

from _cases import Case
from _native_cases import Watch, feeder, watched

__all__ = ["CASES"]

URL = "wss://ws-feed.pro.coinbase.com"
#: the frame's "type" -> the channel it belongs to
CHANNEL_OF_TYPE = {"match": "matches", "snapshot": "level2", "l2update": "level2", "ticker": "ticker"}


@functools.cache
def _markets() -> list[dict[str, Any]]:
    """ccxt's own parse of the recorded products answer."""
    parser = ccxt.coinbaseexchange()
    body = orjson.loads(load_recording(data_path("cryptofeed/COINBASE.0")).http[0].body)
    parser.publicGetProducts = lambda params=None: body
    return parser.fetch_markets()  # type: ignore[no-any-return]


@functools.cache
def _frames() -> tuple[str, ...]:
    return tuple(frame.text for frame in load_recording(data_path("cryptofeed/COINBASE.ws.28.0")).frames
                 if frame.text is not None)


def _texts(channel: str) -> list[str]:
    return [text for text in _frames() if CHANNEL_OF_TYPE.get(orjson.loads(text).get("type")) == channel]


def _products(channel: str) -> list[str]:
    return sorted({orjson.loads(text)["product_id"] for text in _texts(channel)})


def _exchanges(watches: list[Watch], subscriptions: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[bool], Any]]:
    def plain() -> Any:
        exchange = ccxt.pro.coinbaseexchange()
        exchange.set_markets(_markets())
        return watched(exchange, URL, watches, subscriptions)

    def rx(native: bool, routed: bool = True) -> Any:
        exchange = rxpro.coinbaseexchange({"rxpro": {"native": native}})
        exchange.set_markets(_markets())
        return watched(exchange, URL, watches, subscriptions, routed)

    return plain, rx


def _case(channel: str, label: str, method: str, arguments: Callable[[str], tuple[Any, ...]],
          subscriptions: Callable[[str], dict[str, Any]] | None = None) -> Case:
    by_id = {market["id"]: market["symbol"] for market in _markets()}
    products = _products(channel)
    watches: list[Watch] = [(method, arguments(by_id[product]), (f"{channel}:{product}",)) for product in products]
    subscribed: dict[str, Any] = {}
    for product in products:
        subscribed.update(subscriptions(product) if subscriptions else {})
    plain, rx = _exchanges(watches, subscribed)
    return Case("coinbaseexchange", label, _texts(channel), plain, rx, feeder(URL))


def _level2(limit: int | None) -> Callable[[str], dict[str, Any]]:
    # what watch_order_book leaves in the connection's subscriptions (ccxt reads the book's depth there)
    def subscriptions(product: str) -> dict[str, Any]:
        return {f"level2:{product}": {"messageHash": f"level2:{product}", "marketId": product, "limit": limit}}

    return subscriptions


def _cases() -> list[Case]:
    return [
        _case("matches", "matches", "watch_trades", lambda symbol: (symbol,)),
        _case("ticker", "ticker", "watch_ticker", lambda symbol: (symbol,)),
        _case("level2", "level2/l2update, full book", "watch_order_book", lambda symbol: (symbol,), _level2(None)),
        _case("level2", "level2/l2update, limit 20", "watch_order_book", lambda symbol: (symbol, 20), _level2(20)),
    ]


CASES: list[Case] = _cases()
