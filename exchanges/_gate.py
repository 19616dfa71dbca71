"""Gate: what rxpro knows about it.

* offline options: spot markets only (the recordings are spot), and an empty margin
  pair list ccxt asks for and no recorder kept;
* cryptofeed names its recordings ``GATEIO`` (spot) and ``GATEIO_FUTURES``;
* the login: ``authenticate`` sends a signed ``<type>.login`` request and awaits it;
* the replay of cryptofeed's recordings (:class:`GateProtocol`): ccxt subscribes spot
  books on ``spot.obu`` (order book v2), cryptofeed recorded ``spot.order_book_update``
  and a REST snapshot per market; the replay serves ``spot.obu`` from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from rxpro._errors import StreamNotRecorded
from rxpro._recorded import HttpRecord, Recording, WsFrame
from rxpro._replay_protocols import (THIRD_PARTY_SOURCES, RecordedMarketsProtocol, ReplayConnection, ReplayedBook,
                                    ReplayProtocol, json_object)

from ._venue import Venue, frozen

__all__ = ["VENUES", "Gate", "GateProtocol"]

_SNAPSHOT = "/api/v4/spot/order_book"


class GateProtocol(RecordedMarketsProtocol):
    """Gate spot books on ``spot.obu``, served from a recording of the older channel.

    ccxt 4.5.90 subscribes a spot book with ``{"channel":"spot.obu","event":"subscribe",
    "payload":["ob.NEO_BTC.50"],"id":N}`` and reads ``spot.obu`` updates: ``"full":true``
    snapshots and changes, each with its update id ``u`` (one at or below the book's id is
    skipped).  cryptofeed's recordings hold that market's ``spot.order_book_update`` changes
    (``U``..``u``) and a REST snapshot (``order_book?...&with_id=true``, its ``id``).  The
    connection keeps the recorded book (:class:`ReplayedBook`: the snapshot, then each change
    past its id) and serves the subscriber what an ``ob.<id>.<depth>`` subscription gets: the
    top ``depth`` levels, as a full update on subscribe and after each change.  Changes up to
    the snapshot's id go out as changes ccxt skips, as a live client skips them.  A market
    with no recorded snapshot is refused on subscribe (:meth:`unrecorded`): its changes alone
    build no book.  Everything else is fed as recorded.
    """

    def __init__(self, venue: Any) -> None:
        super().__init__(venue)
        #: market id -> (the recorded snapshot's time in ms, its body)
        self._snapshots: dict[str, tuple[int, dict[str, Any]]] = {}

    def prepare(self, exchange: Any, recording: Recording) -> None:
        for record in recording.http:
            parts = urlsplit(record.url)
            if not parts.path.endswith(_SNAPSHOT):
                continue
            pair = parse_qs(parts.query).get("currency_pair", [""])[0]
            body = json_object(record.body)
            if pair and body is not None and type(body.get("id")) is int and pair not in self._snapshots:
                self._snapshots[pair] = (record.ts_ns // 1_000_000, body)

    def replies(self, client: ReplayConnection, text: str) -> list[str]:
        message = json_object(text)
        event = message.get("event") if message is not None else None
        if message is None or message.get("channel") != "spot.obu" or event not in ("subscribe", "unsubscribe"):
            return []
        books: dict[str, _Served] = client.protocol_state.setdefault("obu", {})
        replies = [orjson.dumps({"time": message.get("time"), "id": message.get("id"), "channel": "spot.obu",
                                 "event": event, "payload": message.get("payload"),
                                 "result": {"status": "success"}}).decode()]
        for name in message.get("payload") or ():
            parts = str(name).split(".")
            if len(parts) != 3 or not parts[2].isdigit():
                continue
            if event == "unsubscribe":
                books.pop(parts[1], None)
                continue
            recorded = self._snapshots.get(parts[1])
            if recorded is None:
                continue
            ms, body = recorded
            book = ReplayedBook()
            book.apply(body.get("bids"), body.get("asks"))
            served = books[parts[1]] = _Served(str(name), int(parts[2]), book, body["id"])
            replies.append(served.full(ms, body["id"]))
        return replies

    def adapt(self, frame: WsFrame, client: ReplayConnection) -> WsFrame:
        text = frame.text
        books = client.protocol_state.get("obu")
        if text is None or not books or '"spot.order_book_update"' not in text:
            return frame
        message = json_object(text)
        result = message.get("result") if message is not None else None
        if message is None or message.get("event") != "update" or not isinstance(result, dict):
            return frame
        served = books.get(result.get("s"))
        if served is None:
            return frame
        update_id = result.get("u")
        if type(update_id) is not int or update_id <= served.update_id:
            # at or below the book's id: a change ccxt skips, as a live client does
            change = {"t": result.get("t"), "full": False, "s": served.name, "u": update_id}
            text = orjson.dumps({"channel": "spot.obu", "event": "update", "result": change}).decode()
        else:
            served.book.apply(result.get("b"), result.get("a"))
            served.update_id = update_id
            text = served.full(result.get("t"), update_id)
        return WsFrame(frame.ts_ns, frame.conn, text)

    def unrecorded(self, exchange: Any, stream: str, arguments: Mapping[str, Any]) -> StreamNotRecorded | None:
        symbol = arguments.get("symbol")
        if stream != "orderbook" or not isinstance(symbol, str):
            return None
        try:
            market = exchange.market(symbol)
        except Exception:  # noqa: BLE001 - ccxt's own call says what is wrong with the symbol
            return None
        if not market.get("spot") or market["id"] in self._snapshots:
            return None
        return StreamNotRecorded(
            f"the recording has no order-book snapshot of {market['symbol']} (GET {_SNAPSHOT}?currency_pair="
            f"{market['id']}): its changes alone build no book", stream="orderbook", symbol=market["symbol"],
            recorded=tuple(sorted(self._snapshots)))


class _Served:
    """One ``spot.obu`` subscription a replay connection serves: its name, depth, book and update id."""

    __slots__ = ("name", "depth", "book", "update_id")

    def __init__(self, name: str, depth: int, book: ReplayedBook, update_id: int) -> None:
        self.name = name
        self.depth = depth
        self.book = book
        self.update_id = update_id

    def full(self, ms: Any, update_id: int) -> str:
        """The ``spot.obu`` full update of the book's top ``depth`` levels."""
        bids, asks = self.book.top(self.depth)
        return orjson.dumps({"channel": "spot.obu", "event": "update", "time_ms": ms, "result": {
            "t": ms, "full": True, "s": self.name, "u": update_id, "b": bids, "a": asks}}).decode()


@dataclass(frozen=True, eq=False)
class Gate(Venue):
    """Gate: for cryptofeed's recordings, its book protocol (see :class:`GateProtocol`)."""

    def replay_protocol(self, source: str) -> ReplayProtocol:
        if source in THIRD_PARTY_SOURCES:
            return GateProtocol(self)
        return super().replay_protocol(source)


VENUES: tuple[Venue, ...] = (
    Gate("gate", offline_options=frozen({"fetchMarkets": {"types": ["spot"]}}),
         cryptofeed_names=("GATEIO", "GATEIO_FUTURES"),
         unrecorded=(HttpRecord(-1, "GET", "https://api.gateio.ws/api/v4/margin/currency_pairs", "[]"),)),
)
