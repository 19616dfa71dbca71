"""The simulator's OKX v5: the public WebSocket protocol, REST routes and playback of the cryptofeed recording.

Speaks what ``ccxt.pro.okx`` uses: ``/ws/v5/public`` and ``/ws/v5/business`` with
``{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}`` (answered
``{"event":"subscribe","arg":{...},"connId":...}``, current state pushed on a
subscribe that joins a running playback) and ``"ping"``; ``instruments`` and
``time`` over REST, and the trade history of the simulator's tapes
(``market/history-trades``, ``market/trades``).  The timeline (recorded and derived frames) is ``_okx.py``'s.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from rxpro.exchanges._table import venue_for

from ._data import data_path, read_rest_log
from ._okx import OkxFrame, OkxRecording, load_okx_recording
from ._sim_venue import BURST_PRICES, Connection, SimulatedVenue, TapeTrade, apply_options, rewrite_urls

__all__ = ["OkxVenue", "okx_trade_burst"]


class OkxVenue(SimulatedVenue):
    """OKX v5 public on the simulator: ``ccxt.pro.okx`` after ``sim.attach``."""

    id = "okx"
    symbols = ("BTC/USDT", "BTC/USD:BTC-220527", "UNI/USD:UNI")

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.recording: OkxRecording | None = None
        self.instruments = {r.url.split("instType=", 1)[1]: r.body for r in read_rest_log(data_path("OKX.0"))}

    # -- recording ----------------------------------------------------------------------
    def load(self, ws_path: str | Path | None = None, rest_path: str | Path | None = None) -> None:
        """Use this cryptofeed-master OKX recording (default: bundled ``OKX.ws.1.0``)."""
        self.recording = load_okx_recording(str(ws_path) if ws_path else None, str(rest_path) if rest_path else None)
        if rest_path is not None:
            self.instruments = dict(self.recording.instruments)

    @property
    def frames(self) -> Sequence[OkxFrame]:
        return self.recording.frames if self.recording is not None else ()

    def is_book_update(self, frame: OkxFrame) -> bool:
        return frame.book_index > 0

    def texts(self, conn: Connection, frame: OkxFrame, names: list[str]) -> list[str]:
        return [self.text(conn, frame)]

    def text(self, conn: Connection, frame: OkxFrame) -> str:
        if not conn.cycle or self.recording is None:
            return frame.text
        msg = orjson.loads(frame.text)
        dt = self.recording.time_span_ms * conn.cycle
        for item in msg.get("data", []):
            if isinstance(item, list):
                item[0] = str(int(item[0]) + dt)
                continue
            if "ts" in item:
                item["ts"] = str(int(item["ts"]) + dt)
            if "tradeId" in item:
                span = self.recording.trade_id_span.get(item.get("instId", ""), 0)
                item["tradeId"] = str(int(item["tradeId"]) + span * conn.cycle)
        return orjson.dumps(msg).decode()

    # -- faults and synthetic data -------------------------------------------------------
    def book_key(self, symbol: str) -> str:
        return f"books:{symbol.replace('/', '-').upper()}"

    def trade_burst(self, symbol: str, count: int, start_id: int) -> tuple[str, Callable[[Connection], Iterator[str]]]:
        inst_id = symbol.replace("/", "-").upper()

        def make(conn: Connection) -> Iterator[str]:
            return okx_trade_burst(inst_id, count, start_id)
        return f"trades:{inst_id}", make

    def tape_key(self, symbol: str) -> str:
        inst_id = symbol.replace("/", "-").upper()
        if inst_id not in self.inst_ids():
            raise ValueError(f"okx has no instrument {symbol!r} (instId {inst_id!r})")
        return f"trades:{inst_id}"

    def tape_frames(self, conn: Connection, key: str, trades: Sequence[TapeTrade]) -> Iterator[str]:
        """``trades`` channel frames as the burst's, one trade each."""
        return okx_trade_frames(key.split(":", 1)[1], trades)

    # -- wiring --------------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v5/public/instruments", self.instruments_route)
        router.add_get("/api/v5/public/time", self.server_time)
        router.add_get("/api/v5/market/history-trades", self.history_trades)
        router.add_get("/api/v5/market/trades", self.recent_trades)
        router.add_get("/ws/v5/public", self.ws)
        router.add_get("/ws/v5/business", self.ws)
        # the private endpoint accepts a connection and never answers its login: a silent
        # private login, the fault rxpro's login timeout exists for (no private data is simulated)
        router.add_get("/ws/v5/private", self.silent_ws)

    def attach(self, exchange: Any, http_url: str, ws_url: str) -> None:
        exchange.urls["api"] = rewrite_urls(exchange.urls["api"], http_url, ws_url, host_label=False)
        exchange.urls["api"]["rest"] = http_url
        apply_options(exchange.options, venue_for(self.id).offline_options or {})

    # -- WebSocket -----------------------------------------------------------------------
    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.server.serve(request, self, False, self.on_text)

    async def silent_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.server.serve(request, self, False, self.ignore)

    async def ignore(self, conn: Connection, text: str) -> None:
        """Recorded (``sim.received``), never answered; pings get their pong."""
        if text == "ping" and self.server.pings_answered():
            await conn.ws.send_str("pong")

    async def on_text(self, conn: Connection, text: str) -> None:
        """Handle ``{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}`` and "ping"."""
        if text == "ping":
            if self.server.pings_answered():
                await conn.ws.send_str("pong")
            return
        try:
            request = orjson.loads(text)
            op, args = request.get("op"), request.get("args") or []
        except (orjson.JSONDecodeError, AttributeError):
            await self._invalid(conn, text)
            return
        if op not in ("subscribe", "unsubscribe"):
            await self._invalid(conn, text)
            return
        for arg in args:
            channel, inst_id = arg.get("channel", ""), arg.get("instId", "")
            key = f"{channel}:{inst_id}"
            if op == "unsubscribe":
                conn.active.pop(key, None)
                await conn.ws.send_str(orjson.dumps(
                    {"event": "unsubscribe", "arg": arg, "connId": conn.conn_tag}).decode())
                continue
            if self.server.config.reject_unknown_symbols and inst_id not in self.inst_ids():
                await conn.ws.send_str(orjson.dumps({
                    "event": "error", "code": "60018",
                    "msg": f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. "
                           "Please use the correct URL, channel and parameters referring to API document.",
                    "connId": conn.conn_tag}).decode())
                continue
            await conn.ws.send_str(orjson.dumps(
                {"event": "subscribe", "arg": arg, "connId": conn.conn_tag}).decode())
            snapshot = self.current_state(conn, channel, inst_id)
            if snapshot is not None:
                await conn.ws.send_str(snapshot)
            conn.active[key] = [key]
            self.server.activate(conn, key)
        self.server.resume(conn)

    async def _invalid(self, conn: Connection, text: str) -> None:
        await conn.ws.send_str(orjson.dumps(
            {"event": "error", "code": "60012", "msg": f"Invalid request: {text}", "connId": conn.conn_tag}).decode())

    def inst_ids(self) -> frozenset[str]:
        ids: set[str] = set()
        for body in self.instruments.values():
            ids.update(d["instId"] for d in orjson.loads(body)["data"])
        if self.recording is not None:
            ids.update(key.split(":", 1)[1] for key in self.recording.keys)
        return frozenset(ids)

    def current_state(self, conn: Connection, channel: str, inst_id: str) -> str | None:
        """What OKX pushes right after a subscribe that joins a running playback.

        ``books``: a snapshot of the book at ``conn``'s position (OKX always starts a
        books subscription with one); ``tickers``/``candle*``/``books5``/``bbo-tbt``:
        the latest frame before the position (OKX pushes current state on subscribe).
        ``None`` when the first recorded frame of that key is still ahead.
        """
        if self.recording is None or channel == "trades":
            return None
        frames = self.recording.frames
        key = f"{channel}:{inst_id}"
        for index in range(min(conn.position, len(frames)) - 1, -1, -1):
            frame = frames[index]
            if frame.key == key:
                if channel == "books":
                    state = self.recording.books[inst_id][frame.book_index]
                    return self.recording.snapshot_text(inst_id, state)
                return self.text(conn, frame)
        return None

    # -- REST ----------------------------------------------------------------------------
    async def instruments_route(self, request: web.Request) -> web.Response:
        body = self.instruments.get(request.query.get("instType", ""))
        if body is None:
            return web.json_response({"code": "0", "data": [], "msg": ""})
        return web.Response(text=body, content_type="application/json")

    async def history_trades(self, request: web.Request) -> web.Response:
        """``GET /api/v5/market/history-trades?instId=&type=&after=&before=&limit=``, newest first.

        ``type=1`` (the default) pages by ``tradeId``: ``after`` keeps ids below it,
        ``before`` ids above it, and of those the newest ``limit`` (100 by default and at
        most) are answered — with ``before`` alone, as OKX documents, the latest trades.
        ``type=2`` pages by ``ts``: ``after`` keeps trades older than it (OKX does not
        support ``before`` there; the simulator ignores it).
        """
        return self._trades_answer(request, history=True)

    async def recent_trades(self, request: web.Request) -> web.Response:
        """``GET /api/v5/market/trades?instId=&limit=``: the newest ``limit`` trades (100 by default, at most 500)."""
        return self._trades_answer(request, history=False)

    def _trades_answer(self, request: web.Request, history: bool) -> web.Response:
        """The tape's trades as OKX lists them, or its error answer.

        ``{"code":"0","msg":"","data":[{"instId":"BTC-USDT","side":"sell","sz":"0.001",
        "px":"61800.01000000","source":"0","tradeId":"1","ts":"1723161200000"}]}``
        """
        query = request.query
        inst_id = query.get("instId", "")
        if not inst_id:
            return _okx_error("50014", "Parameter instId can not be empty.", status=400)
        if inst_id not in self.inst_ids():
            return _okx_error("51001", "Instrument ID does not exist")
        numbers: dict[str, int] = {}
        for name in ("limit", "after", "before", "type") if history else ("limit",):
            if query.get(name, "") != "":
                text = query[name]
                if not (text.isascii() and text.isdigit()):
                    return _okx_error("51000", f"Parameter {name} error", status=400)
                numbers[name] = int(text)
        by_time = numbers.get("type", 1) == 2
        if numbers.get("type", 1) not in (1, 2):
            return _okx_error("51000", "Parameter type error", status=400)
        limit = min(max(numbers.get("limit", 100), 1), 100 if history else 500)
        trades = self.server.tape_history(self.id, f"trades:{inst_id}")
        end = len(trades)
        if "after" in numbers:
            end = bisect.bisect_left(trades, numbers["after"], key=attrgetter("timestamp" if by_time else "id"))
        start = 0
        if "before" in numbers and not by_time:
            start = bisect.bisect_right(trades, numbers["before"], key=attrgetter("id"))
        data = [{"instId": inst_id, "side": t.side, "sz": t.amount, "px": t.price, "source": "0",
                 "tradeId": str(t.id), "ts": str(t.timestamp)}
                for t in reversed(trades[max(start, end - limit):end])]
        return web.Response(body=orjson.dumps({"code": "0", "msg": "", "data": data}), content_type="application/json")

    async def server_time(self, request: web.Request) -> web.Response:
        return web.json_response({"code": "0", "data": [{"ts": str(int(time.time() * 1000))}], "msg": ""})


def _okx_error(code: str, msg: str, status: int = 200) -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": []}, status=status)


def okx_trade_frames(inst_id: str, trades: Sequence[TapeTrade]) -> Iterator[str]:
    """``trades`` channel frames of tape trades, one trade each, as ``okx_trade_burst`` writes its own."""
    for trade in trades:
        yield (f'{{"arg":{{"channel":"trades","instId":"{inst_id}"}},"data":[{{"instId":"{inst_id}",'
               f'"tradeId":"{trade.id}","px":"{trade.price}","sz":"{trade.amount}",'
               f'"side":"{trade.side}","ts":"{trade.timestamp}"}}]}}')


def okx_trade_burst(inst_id: str, count: int, start_id: int) -> Iterator[str]:
    """Synthetic OKX ``trades`` frames with consecutive ``tradeId``."""
    prices = BURST_PRICES
    for i in range(count):
        if i % 1024 == 0:
            ms = int(time.time() * 1000)
        trade_id = start_id + i
        yield (f'{{"arg":{{"channel":"trades","instId":"{inst_id}"}},"data":[{{"instId":"{inst_id}",'
               f'"tradeId":"{trade_id}","px":"{prices[trade_id % 100]}","sz":"0.001",'
               f'"side":"{"sell" if trade_id & 1 else "buy"}","ts":"{ms}"}}]}}')
