"""The simulator's Binance spot: the stream protocol, REST routes and playback of the hftbacktest recording.

Speaks what ``ccxt.pro.binance`` uses: raw streams (``/ws``, ``/ws/<stream>``),
combined streams (``/stream?streams=a/b``), ``SUBSCRIBE`` / ``UNSUBSCRIBE`` /
``LIST_SUBSCRIPTIONS`` frames, and ``exchangeInfo`` / ``depth`` / ``time`` / ``ping``
over REST, and the trade history of the simulator's tapes (``historicalTrades``,
``trades``).  The request parsing, the acknowledgement and the stream keys are
Binance facts from ``rxpro.exchanges._binance`` (the replay speaks them too); the
timeline (recorded and derived frames) is ``_binance.py``'s.
"""

from __future__ import annotations

import bisect
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from rxpro.exchanges._binance import Binance, acknowledgement, parse_request, stream_key
from rxpro.exchanges._table import venue_for

from ._binance import KIND_DEPTH, BinanceRecording, Frame, default_binance_paths, depth_key, load_binance_recording
from ._data import BINANCE_SPOT_FILES, data_path
from ._sim_venue import BURST_PRICES, Connection, SimulatedVenue, TapeTrade, apply_options, rewrite_urls

__all__ = ["BinanceVenue", "binance_trade_burst"]


class BinanceVenue(SimulatedVenue):
    """Binance spot on the simulator: ``ccxt.pro.binance`` after ``sim.attach``."""

    id = "binance"
    symbols = ("BTC/USDT", "ETH/USDT")

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.recording: BinanceRecording | None = None
        venue = venue_for(self.id)
        assert isinstance(venue, Binance)
        self.venue = venue
        self.exchange_info = venue.markets() or '{"symbols":[]}'  # the bundled exchangeInfo (2021)
        self.market_ids = frozenset(s["symbol"] for s in orjson.loads(self.exchange_info)["symbols"])
        self.depth_position: dict[str, int] = {}  # market id -> playback position of its last depth subscribe

    # -- recording ----------------------------------------------------------------------
    def load(self, paths: Sequence[str | Path] | None = None) -> None:
        """Use these hftbacktest files (default: bundled spot BTCUSDT+ETHUSDT, both days)."""
        self.recording = load_binance_recording(default_binance_paths(paths))

    def load_for(self, symbols: Sequence[str]) -> None:
        # one recorded day per symbol: enough to loop on, and a quarter of the start-up time
        files: list[Path] = []
        for symbol in symbols:
            stem = symbol.replace("/", "").lower()
            recorded = [data_path(name) for name in sorted(BINANCE_SPOT_FILES) if name.startswith(f"{stem}_")]
            files.extend(recorded[:1])
        self.load(files)

    @property
    def frames(self) -> Sequence[Frame]:
        return self.recording.frames if self.recording is not None else ()

    def is_book_update(self, frame: Frame) -> bool:
        return frame.kind == KIND_DEPTH

    def texts(self, conn: Connection, frame: Frame, names: list[str]) -> list[str]:
        payload = frame.payload
        if conn.cycle:
            payload = self._shifted(frame, conn.cycle)
            if not payload:
                return []
        if not conn.combined:
            return [payload] * len(names)
        return [frame.envelope if name == frame.stream and not conn.cycle
                else f'{{"stream":"{name}","data":{payload}}}' for name in names]

    def _shifted(self, frame: Frame, cycle: int) -> str:
        """Payload of ``frame`` in loop cycle ``cycle``: ids and times shifted forward."""
        rec = self.recording
        assert rec is not None
        data = orjson.loads(frame.payload)
        symbol = data.get("s", frame.key.split("@", 1)[0].upper())
        dt = rec.time_span_ms * cycle
        dtrade = rec.trade_id_span.get(symbol, 0) * cycle
        for field in ("E", "T", "O", "C"):
            if field in data:
                data[field] += dt
        for field in ("t", "a", "f", "l", "F", "L"):
            if isinstance(data.get(field), int):
                data[field] += dtrade
        if "k" in data:
            k = data["k"]
            k["t"] += dt
            k["T"] += dt
            k["f"] += dtrade
            k["L"] += dtrade
        if symbol in rec.snapshots and ("u" in data):
            snapshot = rec.snapshots[symbol]
            shift = self._depth_shift(symbol) * cycle
            if "U" in data:
                if data["u"] <= snapshot.last_update_id:
                    return ""  # pre-snapshot diffs are replaced by the reset diff
                data["U"] = max(data["U"], snapshot.last_update_id + 1) + shift
            data["u"] += shift
        return orjson.dumps(data).decode()

    def _depth_shift(self, symbol: str) -> int:
        rec = self.recording
        assert rec is not None
        diffs = rec.depth[depth_key(symbol)]
        return diffs[-1].last_id - rec.snapshots[symbol].last_update_id + 1

    def loop_resets(self, conn: Connection) -> list[str]:
        """Diffs that turn the end-of-recording book back into the recorded snapshot."""
        rec = self.recording
        assert rec is not None
        texts = []
        for key, names in conn.active.items():
            symbol = key.split("@", 1)[0].upper()
            if key != depth_key(symbol) or symbol not in rec.snapshots:
                continue
            snapshot = rec.snapshots[symbol]
            _, end_bids, end_asks = rec.book_at(symbol, len(rec.frames))
            snap_bids, snap_asks = dict(snapshot.bids), dict(snapshot.asks)
            update_id = snapshot.last_update_id + self._depth_shift(symbol) * conn.cycle
            first_diff = rec.frames[rec.depth[key][0].index]
            event_ms = orjson.loads(first_diff.payload)["E"] + rec.time_span_ms * conn.cycle
            payload = orjson.dumps({
                "e": "depthUpdate", "E": event_ms, "s": symbol, "U": update_id, "u": update_id,
                "b": [[p, "0.00000000"] for p in end_bids if p not in snap_bids] + snapshot.bids,
                "a": [[p, "0.00000000"] for p in end_asks if p not in snap_asks] + snapshot.asks,
            }).decode()
            for name in names:
                texts.append(f'{{"stream":"{name}","data":{payload}}}' if conn.combined else payload)
        return texts

    # -- faults and synthetic data -------------------------------------------------------
    def book_key(self, symbol: str) -> str:
        return depth_key(symbol.replace("/", ""))

    def trade_burst(self, symbol: str, count: int, start_id: int) -> tuple[str, Callable[[Connection], Iterator[str]]]:
        market_id = symbol.replace("/", "").upper()
        key = f"{market_id.lower()}@trade"

        def make(conn: Connection) -> Iterator[str]:
            return binance_trade_burst(market_id, conn.active.get(key, [key]), conn.combined, count, start_id)
        return key, make

    def tape_key(self, symbol: str) -> str:
        market_id = symbol.replace("/", "").upper()
        if not self.known(market_id.lower()):
            raise ValueError(f"binance has no market {symbol!r} (market id {market_id!r})")
        return f"{market_id.lower()}@trade"

    def tape_frames(self, conn: Connection, key: str, trades: Sequence[TapeTrade]) -> Iterator[str]:
        """``trade`` events as the burst's: ``{"e":"trade","E":..,"s":"BTCUSDT","t":1,"p":..,"q":..,...}``."""
        return binance_trade_frames(key.split("@", 1)[0].upper(), list(conn.active.get(key, (key,))),
                                    conn.combined, trades)

    # -- wiring --------------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v3/exchangeInfo", self.exchange_info_route)
        router.add_get("/api/v3/depth", self.depth)
        router.add_get("/api/v3/time", self.server_time)
        router.add_get("/api/v3/ping", self.ping)
        router.add_get("/api/v3/historicalTrades", self.historical_trades)
        router.add_get("/api/v3/trades", self.recent_trades)
        # ccxt tells spot from futures by "/stream" in the URL (the real host is
        # stream.binance.com), so attach() uses /stream/ws; /ws is the documented raw path.
        for path in ("/ws", "/ws/{tail}", "/stream/ws", "/stream/ws/{tail}"):
            router.add_get(path, self.raw_ws)
        router.add_get("/stream", self.combined_ws)

    def attach(self, exchange: Any, http_url: str, ws_url: str) -> None:
        exchange.urls["api"] = rewrite_urls(exchange.urls["api"], http_url, ws_url, host_label=True)
        apply_options(exchange.options, self.venue.offline_options or {})

    # -- WebSocket -----------------------------------------------------------------------
    async def raw_ws(self, request: web.Request) -> web.WebSocketResponse:
        tail = request.match_info.get("tail", "")
        initial = [tail] if "@" in tail else []
        return await self.server.serve(request, self, False, self.on_text, initial)

    async def combined_ws(self, request: web.Request) -> web.WebSocketResponse:
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        return await self.server.serve(request, self, True, self.on_text, streams)

    async def on_text(self, conn: Connection, text: str) -> None:
        """Handle ``{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}`` and friends."""
        request = parse_request(text)
        if request is None:
            await conn.ws.send_str(orjson.dumps(
                {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"},
                 "id": None}).decode())
            return
        if request.method == "SUBSCRIBE":
            if self.server.config.reject_unknown_symbols and not all(map(self.known, request.streams)):
                await conn.ws.send_str(orjson.dumps(
                    {"error": {"code": 2, "msg": "Invalid request: invalid stream"},
                     "id": request.id}).decode())
                return
            await conn.ws.send_str(acknowledgement(request.id))
            await self.subscribe(conn, request.streams)
        elif request.method == "UNSUBSCRIBE":
            for name in request.streams:
                key = stream_key(name)
                names = conn.active.get(key, [])
                if name in names:
                    names.remove(name)
                if not names:
                    conn.active.pop(key, None)
            await conn.ws.send_str(acknowledgement(request.id))
        elif request.method == "LIST_SUBSCRIPTIONS":
            await conn.ws.send_str(acknowledgement(request.id, [name for names in conn.active.values() for name in names]))
        else:
            await conn.ws.send_str(orjson.dumps(
                {"error": {"code": 2, "msg": f"Invalid request: unknown variant `{request.method}`"},
                 "id": request.id}).decode())

    async def subscribe(self, conn: Connection, names: Sequence[str]) -> None:
        for name in names:
            key = stream_key(name)
            market_id = key.split("@", 1)[0].upper()
            if key == depth_key(market_id):
                self.depth_position[market_id] = conn.position
            current = conn.active.setdefault(key, [])
            if name not in current:
                current.append(name)
            self.server.activate(conn, key)
        self.server.resume(conn)

    def known(self, stream: str) -> bool:
        market = stream.split("@", 1)[0]
        if market.startswith("!"):
            return True
        upper = market.upper()
        return upper in self.market_ids or (self.recording is not None and upper in self.recording.symbols)

    # -- REST ----------------------------------------------------------------------------
    async def exchange_info_route(self, request: web.Request) -> web.Response:
        return web.Response(text=self.exchange_info, content_type="application/json")

    async def depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "").upper()
        limit = int(request.query.get("limit", "100"))
        if not self.known(symbol.lower()):
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if self.recording is None or symbol not in self.recording.snapshots:
            return web.json_response({"lastUpdateId": 1, "bids": [], "asks": []})
        text = self.recording.depth_snapshot_text(symbol, self.depth_position.get(symbol, 0), limit)
        return web.Response(text=text, content_type="application/json")

    async def historical_trades(self, request: web.Request) -> web.Response:
        """``GET /api/v3/historicalTrades?symbol=&limit=&fromId=``: ids >= ``fromId`` (else the most recent), ascending.

        Binance wants an ``X-MBX-APIKEY`` header here (ccxt refuses to send the request
        without an ``apiKey``); the simulator does not check it.
        """
        return self._trades_answer(request, ("symbol", "limit", "fromId"))

    async def recent_trades(self, request: web.Request) -> web.Response:
        """``GET /api/v3/trades?symbol=&limit=``: the most recent trades, ascending."""
        return self._trades_answer(request, ("symbol", "limit"))

    def _trades_answer(self, request: web.Request, accepted: tuple[str, ...]) -> web.Response:
        """The tape's trades as Binance lists them (``limit`` 500 by default, at most 1000), or its error answer.

        ``[{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.00001200",
        "time":1499865549590,"isBuyerMaker":true,"isBestMatch":true}]``.  As Binance
        does, a parameter the endpoint doesn't read is refused (-1104): ``startTime``,
        which ccxt adds for a ``since``, among them.
        """
        query = request.query
        read = sum(1 for name in query if name in accepted)
        if read < len(query):
            return _binance_error(-1104, f"Not all sent parameters were read; read '{read}' parameter(s) "
                                         f"but was sent '{len(query)}'.")
        symbol = query.get("symbol", "").upper()
        if not symbol:
            return _binance_error(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        if not self.known(symbol.lower()):
            return _binance_error(-1121, "Invalid symbol.")
        numbers: dict[str, int] = {}
        for name in ("limit", "fromId"):
            if name in query:
                text = query[name]
                if not (text.isascii() and text.isdigit() and len(text) <= 20):
                    return _binance_error(-1100, f"Illegal characters found in parameter '{name}'; "
                                                 "legal range is '^[0-9]{1,20}$'.")
                numbers[name] = int(text)
        limit = min(max(numbers.get("limit", 500), 1), 1000)
        history = self.server.tape_history(self.id, f"{symbol.lower()}@trade")
        if "fromId" in numbers:
            first = bisect.bisect_left(history, numbers["fromId"], key=attrgetter("id"))
            trades = history[first:first + limit]
        else:
            trades = history[max(len(history) - limit, 0):]
        body = orjson.dumps([{"id": t.id, "price": t.price, "qty": _qty(t.amount),
                              "quoteQty": f"{Decimal(t.price) * Decimal(t.amount):.8f}", "time": t.timestamp,
                              "isBuyerMaker": t.side == "sell", "isBestMatch": True} for t in trades])
        return web.Response(body=body, content_type="application/json")

    async def server_time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": int(time.time() * 1000)})

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({})


def _binance_error(code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=400)


@functools.lru_cache(maxsize=256)
def _qty(amount: str) -> str:
    """A quantity as Binance writes it: eight decimals (``'0.00100000'``)."""
    return f"{Decimal(amount):.8f}"


def binance_trade_frames(market_id: str, names: list[str], combined: bool,
                         trades: Sequence[TapeTrade]) -> Iterator[str]:
    """``trade`` events of tape trades, as ``binance_trade_burst`` writes its own (``m``: the buyer is maker)."""
    for trade in trades:
        payload = (f'{{"e":"trade","E":{trade.timestamp},"s":"{market_id}","t":{trade.id},'
                   f'"p":"{trade.price}","q":"{_qty(trade.amount)}","T":{trade.timestamp},'
                   f'"m":{"true" if trade.side == "sell" else "false"},"M":true}}')
        if combined:
            for name in names:
                yield f'{{"stream":"{name}","data":{payload}}}'
        else:
            for _ in names:
                yield payload


def binance_trade_burst(market_id: str, names: list[str], combined: bool, count: int,
                        start_id: int) -> Iterator[str]:
    """Synthetic ``trade`` events, e.g. ``{"e":"trade","E":..,"s":"BTCUSDT","t":1,...}``."""
    prices = BURST_PRICES
    for i in range(count):
        if i % 1024 == 0:
            ms = int(time.time() * 1000)
        trade_id = start_id + i
        payload = (f'{{"e":"trade","E":{ms},"s":"{market_id}","t":{trade_id},'
                   f'"p":"{prices[trade_id % 100]}","q":"0.00100000","T":{ms},'
                   f'"m":{"true" if trade_id & 1 else "false"},"M":true}}')
        if combined:
            for name in names:
                yield f'{{"stream":"{name}","data":{payload}}}'
        else:
            for _ in names:
                yield payload
