"""Bybit v5: what rxpro knows about it.

* its WebSocket trading calls take ``orderLinkId`` (up to 36 characters): rxpro generates
  one per call that has none;
* every public trade carries an id;
* the native handlers of its public channels (``_bybit_native.BybitNative``: publicTrade,
  orderbook, tickers);
* cryptofeed names its recordings ``BYBIT``; their replay (:class:`BybitProtocol`): topics
  ``tickers.BTCUSDT`` per category connection, and the instruments requests ccxt makes
  answered from the ones the recorder made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from rxpro._errors import StreamNotRecorded
from rxpro._recorded import HttpRecord, Recording, WsFrame
from rxpro._replay_protocols import (THIRD_PARTY_SOURCES, ReplayConnection, ReplayedBook, ReplayProtocol, TopicProtocol,
                                    json_object)

from ._bybit_native import BybitNative
from ._venue import Venue, frozen

__all__ = ["VENUES", "Bybit", "BybitProtocol"]

_Connection = TypeVar("_Connection", bound=ReplayConnection)


class BybitProtocol(TopicProtocol):
    """Bybit v5 public streams: one connection per category, topics ``orderbook.200.BTCUSDT``.

    Client frame ``{"op":"subscribe","req_id":"1","args":["tickers.BTCUSDT"]}`` subscribes its
    ``args``; a recorded frame ``{"topic":"tickers.BTCUSDT","type":"snapshot","data":{...}}``
    belongs to its ``topic``.  The spot and linear connections share a host and their topics'
    names (``tickers.BTCUSDT`` is both markets), so a frame goes only to the ccxt connection of
    the URL it was recorded on.  The recorder's subscription answers carry no request id
    (``"req_id":""``): they are dropped, and each ccxt request is answered with its own id.

    Order books: a recorded book answers a shallower subscription of the same market (ccxt
    asks ``orderbook.50`` by default, cryptofeed recorded ``orderbook.200``): each recorded
    frame becomes a snapshot of the subscribed depth under the subscribed topic
    (:meth:`adapt`).  A deeper book than was recorded is refused on subscribe
    (:meth:`unrecorded`).
    """

    def __init__(self, venue: Any) -> None:
        super().__init__(venue)
        self._urls: dict[str, str] = {}
        #: (connection URL, market id) -> the depth of the book recorded on it
        self._depths: dict[tuple[str, str], int] = {}

    def prepare(self, exchange: Any, recording: Recording) -> None:
        self._urls = dict(recording.connections)
        for _, conn, text in recording.sent:
            message = json_object(text)
            change = self.subscribed(message) if message is not None else None
            if change is None or not change[0]:
                continue
            for topic in change[1]:
                book = _BOOK.fullmatch(topic)
                if book is not None:
                    key = (self._urls.get(conn, ""), book[2])
                    self._depths[key] = max(self._depths.get(key, 0), int(book[1]))

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        op, args = message.get("op"), message.get("args")
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            return None
        return op == "subscribe", [arg for arg in args if isinstance(arg, str)]

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        return [orjson.dumps({"success": True, "ret_msg": "", "conn_id": "replay",
                              "req_id": message.get("req_id", ""), "op": message.get("op")}).decode()]

    def topic(self, frame: WsFrame, client: ReplayConnection) -> str | None:
        topic = _topic_of(frame.text)
        if topic is None:
            message = json_object(frame.text)
            if message is not None and "op" in message and "topic" not in message:
                return self.DROP  # the recorder's own subscription answers and pongs
            return None
        return _subscribed_book(topic, client) or topic

    def route(self, frame: WsFrame, clients: Sequence[_Connection]) -> _Connection | None:
        url = self._urls.get(frame.conn)
        return super().route(frame, [c for c in clients if url is None or getattr(c, "url", None) == url])

    def adapt(self, frame: WsFrame, client: ReplayConnection) -> WsFrame:
        """A recorded book frame as a shallower subscription gets it: a snapshot of its depth.

        The connection keeps the recorded book (snapshot, then deltas) and sends the
        subscriber the top levels each frame leaves, as a ``snapshot`` (Bybit sends
        ``orderbook.1`` so, and a subscriber resets its book on any snapshot).
        """
        topic = _topic_of(frame.text)
        subscribed = _subscribed_book(topic, client) if topic is not None else None
        if topic is None or subscribed is None or subscribed == topic:
            return frame  # not a book, or the depth recorded: as it is (read once, in ``topic``)
        message = json_object(frame.text)
        data = message.get("data") if message is not None else None
        if message is None or not isinstance(data, dict):
            return frame
        books: dict[str, ReplayedBook] = client.protocol_state.setdefault("books", {})
        book = books.get(topic)
        if message.get("type") == "snapshot" or book is None:
            book = books[topic] = ReplayedBook()
        book.apply(data.get("b"), data.get("a"))
        bids, asks = book.top(int(subscribed.split(".", 2)[1]))
        message = dict(message, topic=subscribed, type="snapshot", data=dict(data, b=bids, a=asks))
        return WsFrame(frame.ts_ns, frame.conn, orjson.dumps(message).decode())

    def unrecorded(self, exchange: Any, stream: str, arguments: Mapping[str, Any]) -> StreamNotRecorded | None:
        limit = arguments.get("limit")
        if stream != "orderbook" or type(limit) is not int:
            return None
        symbol = arguments.get("symbol")
        symbols = [symbol] if isinstance(symbol, str) else list(arguments.get("symbols") or ())
        for symbol in symbols:
            try:
                market = exchange.market(symbol)
            except Exception:  # noqa: BLE001 - ccxt's own call says what is wrong with the symbol
                continue
            category = "spot" if market.get("spot") else "linear" if market.get("linear") else "inverse"
            depths = [depth for (url, market_id), depth in self._depths.items()
                      if market_id == market["id"] and url.endswith("/" + category)]
            if depths and limit > max(depths):
                return StreamNotRecorded(
                    f"the recording's {market['symbol']} book is {max(depths)} levels deep "
                    f"(orderbook.{max(depths)}); limit {limit} asks for more",
                    stream="orderbook", symbol=market["symbol"], recorded=(f"orderbook:{max(depths)}",))
        return None


#: Bybit's book depths (``orderbook.<depth>.<id>``), shallowest first
_DEPTHS = (1, 50, 200, 500, 1000)
_BOOK = re.compile(r"orderbook\.(\d+)\.(.+)")



def _topic_of(text: str | None) -> str | None:
    """The ``topic`` of a recorded frame, or None: read off the text where Bybit puts it first
    (``{"topic":"tickers.BTCUSDT",...``), else from the parsed frame."""
    if text is None:
        return None
    if text.startswith('{"topic":"'):
        end = text.find('"', 10)
        if end > 10 and "\\" not in text[10:end]:
            return text[10:end]
    message = json_object(text)
    topic = message.get("topic") if message is not None else None
    return topic if isinstance(topic, str) else None


def _subscribed_book(topic: str, client: ReplayConnection) -> str | None:
    """The book topic ``client`` subscribed that a recorded ``orderbook.<depth>.<id>`` answers:
    the same market, as deep or shallower (the shallowest); None if none."""
    book = _BOOK.fullmatch(topic) if topic.startswith("orderbook.") else None
    if book is None:
        return None
    own = client.protocol_state.get("topics", ())
    depth, market_id = int(book[1]), book[2]
    for subscribed in _DEPTHS:
        if subscribed > depth:
            break
        if f"orderbook.{subscribed}.{market_id}" in own:
            return f"orderbook.{subscribed}.{market_id}"
    return None


#: the instruments requests cryptofeed made (``category=…&status=Trading&limit=1000``) and what
#: ccxt's ``fetch_markets`` asks instead (spot: no filter; linear: ``limit=1000``, and again with
#: ``status=PreLaunch``); the recorded answers hold the markets that were trading
_INSTRUMENTS = "https://api.bybit.com/v5/market/instruments-info"
_CCXT_ASKS = {"spot": "?category=spot", "linear": "?category=linear&limit=1000"}
_NONE_PRELAUNCH = HttpRecord(-1, "GET", _INSTRUMENTS + "?category=linear&limit=1000&status=PreLaunch",
                             '{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[],"nextPageCursor":""}}')


@dataclass(frozen=True, eq=False)
class Bybit(Venue):
    """Bybit: for cryptofeed's recordings, its topic protocol and the instruments answers derived from them."""

    def replay_protocol(self, source: str) -> ReplayProtocol:
        if source in THIRD_PARTY_SOURCES:
            return BybitProtocol(self)
        return ReplayProtocol(self)  # rxpro's own recordings hold ccxt's requests and the answers to them

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        derived = []
        for category, asked in _CCXT_ASKS.items():
            recorded = [r for r in recording.http
                        if r.url.startswith(_INSTRUMENTS) and f"category={category}&" in r.url + "&"
                        and "status=Trading" in r.url]
            derived += [HttpRecord(r.ts_ns, r.method, _INSTRUMENTS + asked, r.body) for r in recorded[:1]]
        return derived + [_NONE_PRELAUNCH] + super().stub_http(recording)


def book_channel(exchange: Any, symbol: str, limit: int | None, params: Mapping[str, Any]) -> str:
    """The topic depth ccxt bybit's ``watch_order_book`` subscribes: the limit, else 50 (100 for options)."""
    if limit is not None:
        return f"orderbook.{limit}"
    markets = exchange.markets or {}
    market = markets.get(symbol)
    option = market.get("option") is True if market is not None else symbol.count("-") >= 3  # BTC/USDC:USDC-241227-60000-C
    return "orderbook.100" if option else "orderbook.50"


VENUES: tuple[Venue, ...] = (
    Bybit("bybit", cryptofeed_names=("BYBIT",), generates_client_order_id=True, trade_ids=True,
          client_order_id_params=("orderLinkId", "clientOrderId"),  # ccxt sends params over its orderLinkId
          book_channel=book_channel,
          native=(BybitNative,),
          # the recordings hold spot and linear instruments (ccxt also asks inverse and options)
          offline_options=frozen({"fetchMarkets": {"types": ["spot", "linear"]}})),
)
