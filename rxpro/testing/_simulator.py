"""The offline exchange simulator: a local aiohttp server speaking Binance spot and OKX v5.

Unmodified ``ccxt.pro.binance`` / ``ccxt.pro.okx`` clients (and subclasses) run
against it after ``Simulator.attach(exchange)``. Recorded data comes from
``_binance.py`` / ``_okx.py``; this module holds the wire protocols, per-connection
playback and fault injection. It never contacts a real exchange and binds to
127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from ._binance import (
    KIND_DEPTH,
    BinanceRecording,
    Frame,
    default_binance_paths,
    load_binance_recording,
)
from ._data import data_path, read_rest_log
from ._okx import OkxFrame, OkxRecording, load_okx_recording

BINANCE = "binance"
OKX = "okx"
EXCHANGES = (BINANCE, OKX)

#: Text sent by ``inject_malformed``: a truncated frame, not valid JSON.
MALFORMED_FRAME = '{"stream":"btcusdt@trade","data":{"e":"trade","E":17231612'


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Simulator settings.

    ``speed``: ``None`` plays recordings as fast as possible (yielding to the event
    loop every ``yield_every`` frames); a float plays at real time times ``speed``.
    ``loop``: restart a finished recording with ids and timestamps shifted so they
    keep increasing. ``load_recordings``: load the bundled Binance and OKX
    recordings on start (set ``False`` for synthetic-only benchmarks).
    """

    speed: float | None = None
    loop: bool = False
    load_recordings: bool = True
    host: str = "127.0.0.1"
    port: int = 0
    yield_every: int = 100
    reject_unknown_symbols: bool = True


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """A client->server WebSocket text frame (``data`` parsed if it is JSON)."""

    conn_id: int
    exchange: str
    path: str
    data: Any
    ts_ns: int


class Burst:
    """Handle of a queued synthetic trade burst: ``await burst.wait()`` until written."""

    def __init__(self, exchange: str, key: str, count: int) -> None:
        self.exchange = exchange
        self.key = key
        self.count = count
        self.sent = 0  # frames handed to the websocket writers, over all connections
        self.connections = 0
        self._finished = 0
        self._done = asyncio.Event()

    def _connection_finished(self) -> None:
        self._finished += 1
        if self._finished >= self.connections:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def wait(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._done.wait(), timeout)


class _Connection:
    """Server-side state of one accepted WebSocket."""

    def __init__(self, conn_id: int, exchange: str, path: str, request: web.Request,
                 ws: web.WebSocketResponse, combined: bool) -> None:
        self.id = conn_id
        self.exchange = exchange
        self.path = path
        self.request = request
        self.ws = ws
        self.combined = combined
        self.active: dict[str, list[str]] = {}  # canonical key -> names the client used
        self.position = 0
        self.cycle = 0
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        self.injections: deque[tuple[Iterator[str], Burst | None]] = deque()
        self.skip: dict[str, int] = {}  # pending sequence gaps per depth/books key
        self.conn_tag = f"{conn_id:08x}"


class Simulator:
    """Local Binance-spot + OKX-v5 exchange for offline ccxt.pro / rxpro runs.

    >>> async with Simulator(SimulatorConfig(speed=None)) as sim:  # doctest: +SKIP
    ...     ex = sim.attach(ccxt.pro.binance())
    ...     trades = await ex.watch_trades("BTC/USDT")
    ...     await ex.close()
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.received: list[ReceivedFrame] = []
        self.http_requests: list[str] = []  # path + query of every REST request, in order
        self.connections = 0
        self.frames_sent = 0
        self._open: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closed = False
        self._stall_until = 0.0
        self._waiters: list[tuple[Callable[[ReceivedFrame], bool], asyncio.Future[ReceivedFrame]]] = []
        self._binance: BinanceRecording | None = None
        self._okx: OkxRecording | None = None
        self._pending_bursts: dict[tuple[str, str], list[tuple[Callable[[_Connection], Iterator[str]], Burst]]] = {}
        self._depth_position: dict[str, int] = {}  # BINANCE symbol -> playback position of last depth subscribe
        with open(data_path("BINANCE.0"), encoding="utf-8") as fh:
            info_line = fh.readline()
        self._exchange_info = info_line.split(": ", 1)[1].rstrip("\n")
        self._binance_symbols = frozenset(
            s["symbol"] for s in orjson.loads(self._exchange_info)["symbols"])
        self._okx_instruments = {r.url.split("instType=", 1)[1]: r.body
                                 for r in read_rest_log(data_path("OKX.0"))}

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the server (127.0.0.1, ephemeral port unless configured)."""
        if self.config.load_recordings:
            self.load_binance_recording()
            self.load_okx_recording()
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self._binance_exchange_info)
        app.router.add_get("/api/v3/depth", self._binance_depth)
        app.router.add_get("/api/v3/time", self._binance_time)
        app.router.add_get("/api/v3/ping", self._binance_ping)
        app.router.add_get("/api/v5/public/instruments", self._okx_instruments_handler)
        app.router.add_get("/api/v5/public/time", self._okx_time)
        app.router.add_get("/ws/v5/public", self._okx_ws)
        app.router.add_get("/ws/v5/business", self._okx_ws)
        # ccxt tells spot from futures by "/stream" in the URL (the real host is
        # stream.binance.com), so attach() uses /stream/ws; /ws is the documented raw path.
        for path in ("/ws", "/ws/{tail}", "/stream/ws", "/stream/ws/{tail}"):
            app.router.add_get(path, self._binance_raw_ws)
        app.router.add_get("/stream", self._binance_combined_ws)
        app.middlewares.append(self._log_http)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Close every connection, cancel every playback task, stop the server. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for conn in list(self._open.values()):
            if conn.task is not None:
                conn.task.cancel()
        for conn in list(self._open.values()):
            if conn.task is not None:
                await asyncio.gather(conn.task, return_exceptions=True)
            try:
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"simulator closing"), 1.0)
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                if conn.request.transport is not None:
                    conn.request.transport.abort()
        for _, future in self._waiters:
            if not future.done():
                future.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """Base HTTP URL, e.g. ``'http://127.0.0.1:54321'``."""
        return f"http://{self.config.host}:{self._port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self._port}"

    @property
    def open_connections(self) -> int:
        return len(self._open)

    # ------------------------------------------------------------------ data sources
    def load_binance_recording(self, paths: Sequence[str | Path] | None = None) -> None:
        """Use these hftbacktest files (default: bundled spot BTCUSDT+ETHUSDT, both days)."""
        self._binance = load_binance_recording(default_binance_paths(paths))

    def load_okx_recording(self, ws_path: str | Path | None = None,
                           rest_path: str | Path | None = None) -> None:
        """Use this cryptofeed-master OKX recording (default: bundled ``OKX.ws.1.0``)."""
        self._okx = load_okx_recording(str(ws_path) if ws_path else None,
                                       str(rest_path) if rest_path else None)
        if rest_path is not None:
            self._okx_instruments = dict(self._okx.instruments)

    def burst_trades(self, exchange: str = BINANCE, symbol: str = "BTC/USDT",
                     count: int = 100_000, start_id: int = 1) -> Burst:
        """Queue ``count`` synthetic trades (ids ``start_id``...) for that trade stream.

        Delivered as fast as possible to every connection subscribed to it, or to the
        next connection that subscribes if none is. Frames are generated lazily.
        """
        self._check_exchange(exchange)
        if exchange == BINANCE:
            market_id = symbol.replace("/", "").upper()
            key = f"{market_id.lower()}@trade"

            def make(conn: _Connection) -> Iterator[str]:
                return _binance_trade_burst(market_id, conn.active.get(key, [key]),
                                            conn.combined, count, start_id)
        else:
            inst_id = symbol.replace("/", "-").upper()
            key = f"trades:{inst_id}"

            def make(conn: _Connection) -> Iterator[str]:
                return _okx_trade_burst(inst_id, count, start_id)
        burst = Burst(exchange, key, count)
        targets = [c for c in self._open.values() if c.exchange == exchange and key in c.active]
        if not targets:
            self._pending_bursts.setdefault((exchange, key), []).append((make, burst))
            burst.connections = 1
        for conn in targets:
            burst.connections += 1
            conn.injections.append((make(conn), burst))
            conn.wake.set()
        return burst

    # ------------------------------------------------------------------ faults
    async def drop_connections(self, exchange: str | None = None) -> None:
        """Abort every open WebSocket (no close frame: the client sees code 1006)."""
        conns = [c for c in self._open.values() if exchange is None or c.exchange == exchange]
        for conn in conns:
            if conn.task is not None:
                conn.task.cancel()
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        deadline = time.monotonic() + 2.0
        while any(c.id in self._open for c in conns) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def stall(self, ms: float) -> None:
        """Send no data frames and answer no pings for ``ms`` milliseconds."""
        self._stall_until = asyncio.get_running_loop().time() + ms / 1000.0

    def inject_malformed(self, exchange: str = BINANCE) -> None:
        """The next frame each open connection of ``exchange`` gets is invalid JSON."""
        self._check_exchange(exchange)
        for conn in self._open.values():
            if conn.exchange == exchange:
                conn.injections.append((iter((MALFORMED_FRAME,)), None))
                conn.wake.set()

    def inject_sequence_gap(self, exchange: str = BINANCE, symbol: str = "BTC/USDT") -> None:
        """Skip the next depth diff (Binance) / books update (OKX) of ``symbol`` on open connections."""
        self._check_exchange(exchange)
        if exchange == BINANCE:
            key = f"{symbol.replace('/', '').lower()}@depth@100ms"
        else:
            key = f"books:{symbol.replace('/', '-').upper()}"
        for conn in self._open.values():
            if conn.exchange == exchange:
                conn.skip[key] = conn.skip.get(key, 0) + 1

    # ------------------------------------------------------------------ client helpers
    def attach(self, exchange: Any) -> Any:
        """Point a ccxt(.pro) binance/okx instance (or subclass) at this simulator.

        Rewrites every REST and WebSocket URL in ``exchange.urls['api']`` to the
        simulator and sets the options needed offline (spot-only markets for
        binance, no currencies fetch). Returns ``exchange``.
        """
        exchange_id = getattr(exchange, "id", None)
        if exchange_id not in EXCHANGES:
            raise ValueError(f"Simulator speaks only {EXCHANGES}, not {exchange_id!r}")
        if not self._port:
            raise RuntimeError("Simulator is not started (use 'async with Simulator()')")
        api = exchange.urls["api"]
        if exchange_id == BINANCE:
            exchange.urls["api"] = _rewrite_urls(api, self.url, self.ws_url, host_label=True)
            fetch_markets = exchange.options.get("fetchMarkets")
            fetch_markets = dict(fetch_markets) if isinstance(fetch_markets, dict) else {}
            fetch_markets["types"] = ["spot"]
            exchange.options["fetchMarkets"] = fetch_markets
            exchange.options["fetchCurrencies"] = False
            exchange.options["fetchMargins"] = False
        else:
            exchange.urls["api"] = _rewrite_urls(api, self.url, self.ws_url, host_label=False)
            exchange.urls["api"]["rest"] = self.url
            fetch_markets = exchange.options.get("fetchMarkets")
            fetch_markets = dict(fetch_markets) if isinstance(fetch_markets, dict) else {}
            fetch_markets["types"] = ["spot", "swap", "future"]
            exchange.options["fetchMarkets"] = fetch_markets
        return exchange

    async def wait_for_received(self, predicate: Callable[[ReceivedFrame], bool],
                                timeout: float = 5.0) -> ReceivedFrame:
        """First received frame (already or later) satisfying ``predicate``."""
        for frame in self.received:
            if predicate(frame):
                return frame
        future: asyncio.Future[ReceivedFrame] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove(waiter)

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _check_exchange(exchange: str) -> None:
        if exchange not in EXCHANGES:
            raise ValueError(f"unknown exchange {exchange!r}, expected one of {EXCHANGES}")

    @web.middleware
    async def _log_http(self, request: web.Request,
                        handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            self.http_requests.append(request.path_qs)
        response: web.StreamResponse = await handler(request)
        return response

    def _record(self, conn: _Connection, text: str) -> None:
        try:
            data: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = text
        frame = ReceivedFrame(conn.id, conn.exchange, conn.path, data, time.time_ns())
        self.received.append(frame)
        for predicate, future in self._waiters:
            if not future.done() and predicate(frame):
                future.set_result(frame)

    def _stalled(self) -> bool:
        return asyncio.get_running_loop().time() < self._stall_until

    async def _serve(self, request: web.Request, exchange: str, combined: bool,
                     on_text: Callable[[_Connection, str], Any],
                     initial: Sequence[str] = ()) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        conn = _Connection(next(self._ids), exchange, request.path_qs, request, ws, combined)
        self._open[conn.id] = conn
        try:
            if initial:
                await self._binance_subscribe(conn, list(initial))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._record(conn, msg.data)
                    await on_text(conn, msg.data)
                elif msg.type == WSMsgType.PING:
                    if not self._stalled():
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.CLOSE:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._open.pop(conn.id, None)
            if conn.task is not None:
                conn.task.cancel()
                await asyncio.gather(conn.task, return_exceptions=True)
        return ws

    def _start_playback(self, conn: _Connection) -> None:
        if conn.task is None:
            conn.task = asyncio.get_running_loop().create_task(
                self._playback(conn), name=f"rxpro-sim-playback-{conn.id}")

    def _take_pending_bursts(self, conn: _Connection, key: str) -> None:
        for make, burst in self._pending_bursts.pop((conn.exchange, key), []):
            conn.injections.append((make(conn), burst))
            conn.wake.set()

    async def _drain_injection(self, conn: _Connection) -> None:
        """Write one queued injection (burst or malformed frame) to ``conn``.

        Bursts bypass ``ws.send_str``: frames are encoded here (server frames are
        unmasked: a 2-10 byte header + UTF-8 text) and written to the transport in
        batches, which is what makes >= 200k frames/s possible in pure Python.
        """
        frames, burst = conn.injections.popleft()
        transport = conn.request.transport
        batch_size = max(self.config.yield_every, 1)
        n = 0
        try:
            while transport is not None and not transport.is_closing():
                batch = list(itertools.islice(frames, batch_size))
                if not batch:
                    break
                if self._stall_until and self._stalled():
                    await asyncio.sleep(self._stall_until - asyncio.get_running_loop().time())
                transport.write(b"".join(map(_encode_text_frame, batch)))
                n += len(batch)
                if burst is not None:
                    burst.sent += len(batch)
                if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                    await _drain(conn.request)
                else:
                    await asyncio.sleep(0)
        finally:
            self.frames_sent += n
            if burst is not None:
                burst._connection_finished()

    async def _flush(self, conn: _Connection, out: list[bytes]) -> None:
        """Write buffered, pre-framed data frames in one transport write."""
        if not out:
            await asyncio.sleep(0)
            return
        if self._stall_until and self._stalled():
            await asyncio.sleep(self._stall_until - asyncio.get_running_loop().time())
        transport = conn.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("connection closed")
        transport.write(b"".join(out))
        self.frames_sent += len(out)
        out.clear()
        if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            await _drain(conn.request)
        else:
            await asyncio.sleep(0)

    async def _playback(self, conn: _Connection) -> None:
        """Play the recording for ``conn``, filtered to its subscriptions.

        Frames are framed once and written in batches of ``yield_every`` (yielding to
        the loop after each batch); paced playback flushes before every wait. While
        nothing is subscribed on the connection the recording (and its clock) pauses.
        """
        frames: Sequence[Frame] | Sequence[OkxFrame]
        recording_frames = (self._binance.frames if conn.exchange == BINANCE and self._binance
                            else self._okx.frames if conn.exchange == OKX and self._okx else [])
        frames = recording_frames
        speed = self.config.speed
        loop = asyncio.get_running_loop()
        yield_every = max(self.config.yield_every, 1)
        t0 = loop.time()
        ns0 = frames[conn.position].ns if conn.position < len(frames) else 0
        scanned = 0
        binance = conn.exchange == BINANCE
        out: list[bytes] = []
        try:
            while True:
                if conn.injections:
                    await self._flush(conn, out)
                    await self._drain_injection(conn)
                    continue
                if conn.position >= len(frames):
                    await self._flush(conn, out)
                    if self.config.loop and frames:
                        conn.cycle += 1
                        conn.position = 0
                        ns0 -= int(((frames[-1].ns - frames[0].ns) + 1_000_000_000))
                        if binance:
                            out.extend(map(_encode_text_frame, self._binance_loop_resets(conn)))
                        continue
                    conn.wake.clear()
                    if not conn.injections:  # one may have arrived during the flush
                        await conn.wake.wait()
                    continue
                if not conn.active:
                    # nothing subscribed (all un-subscribed): the recording pauses on this
                    # connection, rather than spinning through it, until a subscribe
                    await self._flush(conn, out)
                    paused = loop.time()
                    conn.wake.clear()
                    if not conn.active and not conn.injections:
                        await conn.wake.wait()
                    t0 += loop.time() - paused
                    continue
                frame = frames[conn.position]
                names = conn.active.get(frame.key)
                if names is None:
                    conn.position += 1
                    scanned += 1
                    if scanned % 5000 == 0:
                        await self._flush(conn, out)
                    continue
                if speed is not None:
                    delay = t0 + (frame.ns - ns0) / 1e9 / speed - loop.time()
                    if delay > 0:
                        await self._flush(conn, out)
                        # interruptible: an injection queued meanwhile goes out first
                        conn.wake.clear()
                        if not conn.injections:
                            try:
                                await asyncio.wait_for(conn.wake.wait(), delay)
                            except asyncio.TimeoutError:
                                pass
                        continue
                conn.position += 1
                if conn.skip and conn.skip.get(frame.key):
                    if binance and frame.kind == KIND_DEPTH or not binance and frame.book_index > 0:  # type: ignore[union-attr]
                        conn.skip[frame.key] -= 1
                        continue
                if binance:
                    out.extend(map(_encode_text_frame, self._binance_texts(conn, frame, names)))  # type: ignore[arg-type]
                else:
                    out.append(_encode_text_frame(self._okx_text(conn, frame)))  # type: ignore[arg-type]
                if len(out) >= yield_every:
                    await self._flush(conn, out)
        except ConnectionError:
            return

    # ------------------------------------------------------------------ binance
    def _binance_known(self, stream: str) -> bool:
        market = stream.split("@", 1)[0]
        if market.startswith("!"):
            return True
        upper = market.upper()
        return upper in self._binance_symbols or (
            self._binance is not None and upper in self._binance.symbols)

    @staticmethod
    def _binance_canonical(stream: str) -> str:
        market, _, channel = stream.partition("@")
        if channel in ("depth", "depth@100ms", "depth@1000ms"):
            return f"{market}@depth@100ms"  # recorded at 100ms; serves every diff-depth speed
        return stream

    def _binance_texts(self, conn: _Connection, frame: Frame, names: list[str]) -> list[str]:
        payload = frame.payload
        if conn.cycle:
            payload = self._binance_shift(frame, conn.cycle)
            if not payload:
                return []
        if not conn.combined:
            return [payload] * len(names)
        return [frame.envelope if name == frame.key and not conn.cycle
                else f'{{"stream":"{name}","data":{payload}}}' for name in names]

    def _binance_shift(self, frame: Frame, cycle: int) -> str:
        """Payload of ``frame`` in loop cycle ``cycle``: ids and times shifted forward."""
        rec = self._binance
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
            shift = self._binance_depth_shift(symbol) * cycle
            if "U" in data:
                if data["u"] <= snapshot.last_update_id:
                    return ""  # pre-snapshot diffs are replaced by the reset diff
                data["U"] = max(data["U"], snapshot.last_update_id + 1) + shift
            data["u"] += shift
        return orjson.dumps(data).decode()

    def _binance_depth_shift(self, symbol: str) -> int:
        rec = self._binance
        assert rec is not None
        diffs = rec.depth[f"{symbol.lower()}@depth@100ms"]
        return diffs[-1].last_id - rec.snapshots[symbol].last_update_id + 1

    def _binance_loop_resets(self, conn: _Connection) -> list[str]:
        """Diffs that turn the end-of-recording book back into the recorded snapshot."""
        rec = self._binance
        assert rec is not None
        texts = []
        for key, names in conn.active.items():
            if not key.endswith("@depth@100ms"):
                continue
            symbol = key.split("@", 1)[0].upper()
            if symbol not in rec.snapshots:
                continue
            snapshot = rec.snapshots[symbol]
            _, end_bids, end_asks = rec.book_at(symbol, len(rec.frames))
            snap_bids, snap_asks = dict(snapshot.bids), dict(snapshot.asks)
            update_id = snapshot.last_update_id + self._binance_depth_shift(symbol) * conn.cycle
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

    async def _binance_raw_ws(self, request: web.Request) -> web.WebSocketResponse:
        tail = request.match_info.get("tail", "")
        initial = [tail] if "@" in tail else []
        return await self._serve(request, BINANCE, False, self._binance_text, initial)

    async def _binance_combined_ws(self, request: web.Request) -> web.WebSocketResponse:
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        return await self._serve(request, BINANCE, True, self._binance_text, streams)

    async def _binance_text(self, conn: _Connection, text: str) -> None:
        """Handle ``{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}`` and friends."""
        try:
            request = orjson.loads(text)
            method, request_id = request.get("method"), request.get("id")
        except (orjson.JSONDecodeError, AttributeError):
            await conn.ws.send_str(orjson.dumps(
                {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"},
                 "id": None}).decode())
            return
        params = request.get("params") or []
        if method == "SUBSCRIBE":
            if self.config.reject_unknown_symbols and not all(map(self._binance_known, params)):
                await conn.ws.send_str(orjson.dumps(
                    {"error": {"code": 2, "msg": "Invalid request: invalid stream"},
                     "id": request_id}).decode())
                return
            await conn.ws.send_str(orjson.dumps({"result": None, "id": request_id}).decode())
            await self._binance_subscribe(conn, params)
        elif method == "UNSUBSCRIBE":
            for name in params:
                key = self._binance_canonical(name)
                names = conn.active.get(key, [])
                if name in names:
                    names.remove(name)
                if not names:
                    conn.active.pop(key, None)
            await conn.ws.send_str(orjson.dumps({"result": None, "id": request_id}).decode())
        elif method == "LIST_SUBSCRIPTIONS":
            result = [name for names in conn.active.values() for name in names]
            await conn.ws.send_str(orjson.dumps({"result": result, "id": request_id}).decode())
        else:
            await conn.ws.send_str(orjson.dumps(
                {"error": {"code": 2, "msg": f"Invalid request: unknown variant `{method}`"},
                 "id": request_id}).decode())

    async def _binance_subscribe(self, conn: _Connection, names: Sequence[str]) -> None:
        for name in names:
            key = self._binance_canonical(name)
            if key.endswith("@depth@100ms"):
                self._depth_position[key.split("@", 1)[0].upper()] = conn.position
            current = conn.active.setdefault(key, [])
            if name not in current:
                current.append(name)
            self._take_pending_bursts(conn, key)
        conn.wake.set()  # a paused playback resumes
        self._start_playback(conn)

    async def _binance_exchange_info(self, request: web.Request) -> web.Response:
        return web.Response(text=self._exchange_info, content_type="application/json")

    async def _binance_depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "").upper()
        limit = int(request.query.get("limit", "100"))
        if not self._binance_known(symbol.lower()):
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if self._binance is None or symbol not in self._binance.snapshots:
            return web.json_response({"lastUpdateId": 1, "bids": [], "asks": []})
        text = self._binance.depth_snapshot_text(symbol, self._depth_position.get(symbol, 0), limit)
        return web.Response(text=text, content_type="application/json")

    async def _binance_time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": int(time.time() * 1000)})

    async def _binance_ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    # ------------------------------------------------------------------ okx
    def _okx_text(self, conn: _Connection, frame: OkxFrame) -> str:
        if not conn.cycle or self._okx is None:
            return frame.text
        msg = orjson.loads(frame.text)
        dt = self._okx.time_span_ms * conn.cycle
        for item in msg.get("data", []):
            if isinstance(item, list):
                item[0] = str(int(item[0]) + dt)
                continue
            if "ts" in item:
                item["ts"] = str(int(item["ts"]) + dt)
            if "tradeId" in item:
                span = self._okx.trade_id_span.get(item.get("instId", ""), 0)
                item["tradeId"] = str(int(item["tradeId"]) + span * conn.cycle)
        return orjson.dumps(msg).decode()

    async def _okx_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, OKX, False, self._okx_handle)

    async def _okx_handle(self, conn: _Connection, text: str) -> None:
        """Handle ``{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}`` and "ping"."""
        if text == "ping":
            if not self._stalled():
                await conn.ws.send_str("pong")
            return
        try:
            request = orjson.loads(text)
            op, args = request.get("op"), request.get("args") or []
        except (orjson.JSONDecodeError, AttributeError):
            await conn.ws.send_str(orjson.dumps(
                {"event": "error", "code": "60012", "msg": f"Invalid request: {text}",
                 "connId": conn.conn_tag}).decode())
            return
        if op not in ("subscribe", "unsubscribe"):
            await conn.ws.send_str(orjson.dumps(
                {"event": "error", "code": "60012", "msg": f"Invalid request: {text}",
                 "connId": conn.conn_tag}).decode())
            return
        for arg in args:
            channel, inst_id = arg.get("channel", ""), arg.get("instId", "")
            key = f"{channel}:{inst_id}"
            if op == "unsubscribe":
                conn.active.pop(key, None)
                await conn.ws.send_str(orjson.dumps(
                    {"event": "unsubscribe", "arg": arg, "connId": conn.conn_tag}).decode())
                continue
            known = inst_id in self._okx_inst_ids()
            if self.config.reject_unknown_symbols and not known:
                await conn.ws.send_str(orjson.dumps({
                    "event": "error", "code": "60018",
                    "msg": f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. "
                           "Please use the correct URL, channel and parameters referring to API document.",
                    "connId": conn.conn_tag}).decode())
                continue
            await conn.ws.send_str(orjson.dumps(
                {"event": "subscribe", "arg": arg, "connId": conn.conn_tag}).decode())
            snapshot = self._okx_current_state(conn, channel, inst_id)
            if snapshot is not None:
                await conn.ws.send_str(snapshot)
            conn.active[key] = [key]
            self._take_pending_bursts(conn, key)
        conn.wake.set()  # a paused playback resumes
        self._start_playback(conn)

    def _okx_inst_ids(self) -> frozenset[str]:
        ids: set[str] = set()
        for body in self._okx_instruments.values():
            ids.update(d["instId"] for d in orjson.loads(body)["data"])
        if self._okx is not None:
            ids.update(key.split(":", 1)[1] for key in self._okx.keys)
        return frozenset(ids)

    def _okx_current_state(self, conn: _Connection, channel: str, inst_id: str) -> str | None:
        """What OKX pushes right after a subscribe that joins a running playback.

        ``books``: a snapshot of the book at ``conn``'s position (OKX always starts a
        books subscription with one); ``tickers``/``candle*``/``books5``/``bbo-tbt``:
        the latest frame before the position (OKX pushes current state on subscribe).
        ``None`` when the first recorded frame of that key is still ahead.
        """
        if self._okx is None or channel == "trades":
            return None
        frames = self._okx.frames
        key = f"{channel}:{inst_id}"
        for index in range(min(conn.position, len(frames)) - 1, -1, -1):
            frame = frames[index]
            if frame.key == key:
                if channel == "books":
                    state = self._okx.books[inst_id][frame.book_index]
                    return self._okx.snapshot_text(inst_id, state)
                return self._okx_text(conn, frame)
        return None

    async def _okx_instruments_handler(self, request: web.Request) -> web.Response:
        body = self._okx_instruments.get(request.query.get("instType", ""))
        if body is None:
            return web.json_response({"code": "0", "data": [], "msg": ""})
        return web.Response(text=body, content_type="application/json")

    async def _okx_time(self, request: web.Request) -> web.Response:
        return web.json_response({"code": "0", "data": [{"ts": str(int(time.time() * 1000))}],
                                  "msg": ""})


def _rewrite_urls(urls: Any, http_base: str, ws_base: str, host_label: bool) -> Any:
    """Copy of a ccxt ``urls['api']`` tree with every URL pointing at the simulator.

    ``host_label``: keep the first host label as a path prefix for WebSocket URLs
    (``wss://stream.binance.com:9443/ws`` -> ``ws://127.0.0.1:P/stream/ws``) so
    ccxt's spot/futures detection by URL keeps working; unknown hosts end up on
    paths the simulator does not serve (404), never on the network.
    """
    if isinstance(urls, dict):
        return {k: _rewrite_urls(v, http_base, ws_base, host_label) for k, v in urls.items()}
    if not isinstance(urls, str) or "://" not in urls:
        return urls
    parts = urlsplit(urls)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.scheme in ("ws", "wss"):
        prefix = f"/{parts.hostname.split('.', 1)[0]}" if host_label and parts.hostname else ""
        return f"{ws_base}{prefix}{path}"
    return f"{http_base}{path}"


_WRITE_HIGH_WATER = 1 << 20


def _encode_text_frame(text: str) -> bytes:
    """One unmasked, final WebSocket text frame (RFC 6455 section 5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


async def _drain(request: web.Request) -> None:
    """Wait until the peer has read enough of the transport's write buffer."""
    drain_helper = getattr(request.protocol, "_drain_helper", None)
    if drain_helper is not None:  # aiohttp's BaseProtocol flow control
        await drain_helper()
        return
    transport = request.transport
    while transport is not None and not transport.is_closing() and \
            transport.get_write_buffer_size() > _WRITE_HIGH_WATER // 2:
        await asyncio.sleep(0.001)


_BURST_PRICES = tuple(f"{61800 + i * 0.01:.8f}" for i in range(100))


def _binance_trade_burst(market_id: str, names: list[str], combined: bool, count: int,
                         start_id: int) -> Iterator[str]:
    """Synthetic ``trade`` events, e.g. ``{"e":"trade","E":..,"s":"BTCUSDT","t":1,...}``."""
    prices = _BURST_PRICES
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


def _okx_trade_burst(inst_id: str, count: int, start_id: int) -> Iterator[str]:
    """Synthetic OKX ``trades`` frames with consecutive ``tradeId``."""
    prices = _BURST_PRICES
    for i in range(count):
        if i % 1024 == 0:
            ms = int(time.time() * 1000)
        trade_id = start_id + i
        yield (f'{{"arg":{{"channel":"trades","instId":"{inst_id}"}},"data":[{{"instId":"{inst_id}",'
               f'"tradeId":"{trade_id}","px":"{prices[trade_id % 100]}","sz":"0.001",'
               f'"side":"{"sell" if trade_id & 1 else "buy"}","ts":"{ms}"}}]}}')
