"""The offline exchange simulator: a local aiohttp server, generic, speaking each venue through a venue object.

Unmodified ``ccxt.pro.binance`` / ``ccxt.pro.okx`` clients (and subclasses) run
against it after ``Simulator.attach(exchange)``.  This module is the generic part:
connections, WebSocket framing, per-connection playback and pacing, bursts, trade
tapes and fault injection.  Each exchange protocol is a venue object (``_sim_binance.py``,
``_sim_okx.py``; see ``_sim_venue.SimulatedVenue``) holding its routes, what a
client frame subscribes and the frames a subscription gets; the recorded data comes
from ``_binance.py`` / ``_okx.py``.  It never contacts a real exchange and binds
to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from ._sim_binance import BinanceVenue
from ._sim_binance import binance_trade_burst as _binance_trade_burst  # noqa: F401 - bench/_stream_consumers.py
from ._sim_okx import OkxVenue
from ._sim_venue import Burst, Connection, SimulatedVenue, SimulatorConfig, Tape, TapeTrade

__all__ = ["BINANCE", "EXCHANGES", "MALFORMED_FRAME", "OKX", "SIMULATED_VENUES", "TAPE_BATCH_INTERVAL", "Burst",
           "ReceivedFrame", "Simulator", "SimulatorConfig", "Tape", "TapeTrade"]

#: The venues a simulator speaks unless told otherwise.
SIMULATED_VENUES: tuple[type[SimulatedVenue], ...] = (BinanceVenue, OkxVenue)
BINANCE = BinanceVenue.id
OKX = OkxVenue.id
EXCHANGES = tuple(venue.id for venue in SIMULATED_VENUES)

#: Text sent by ``inject_malformed``: a truncated frame, not valid JSON.
MALFORMED_FRAME = '{"stream":"btcusdt@trade","data":{"e":"trade","E":17231612'

#: seconds between the batches of a tape without a rate: one batch (``yield_every`` trades) per millisecond
TAPE_BATCH_INTERVAL = 0.001


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """A client->server WebSocket text frame (``data`` parsed if it is JSON)."""

    conn_id: int
    exchange: str
    path: str
    data: Any
    ts_ns: int


class Simulator:
    """Local Binance-spot + OKX-v5 exchange for offline ccxt.pro / rxpro runs.

    >>> async with Simulator(SimulatorConfig(speed=None)) as sim:  # doctest: +SKIP
    ...     ex = sim.attach(ccxt.pro.binance())
    ...     trades = await ex.watch_trades("BTC/USDT")
    ...     await ex.close()

    ``venues``: the venue objects' classes to speak (default: ``SIMULATED_VENUES``).
    """

    def __init__(self, config: SimulatorConfig | None = None,
                 venues: Sequence[type[SimulatedVenue]] | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.received: list[ReceivedFrame] = []
        self.http_requests: list[str] = []  # path + query of every REST request, in order
        self.connections = 0
        self.frames_sent = 0
        self.venues: dict[str, SimulatedVenue] = {cls.id: cls(self) for cls in venues or SIMULATED_VENUES}
        self._open: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closed = False
        self._stall_until = 0.0
        self._stall_pongs = False
        self._handshake_delay_s = 0.0
        self._closing = asyncio.Event()  # set by close(): a delayed handshake stops waiting
        self._waiters: list[tuple[Callable[[ReceivedFrame], bool], asyncio.Future[ReceivedFrame]]] = []
        self._pending_bursts: dict[tuple[str, str], list[tuple[Callable[[Connection], Iterator[str]], Burst]]] = {}
        self._tapes: dict[tuple[str, str], Tape] = {}  # the latest tape of each trade stream
        self._tape_history: dict[tuple[str, str], list[TapeTrade]] = {}  # every tape trade of a stream, by id
        self._tape_tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the server (127.0.0.1, ephemeral port unless configured)."""
        app = web.Application()
        for venue in self.venues.values():
            if self.config.load_recordings:
                venue.load()
            venue.add_routes(app.router)
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
        self._closing.set()
        for task in self._tape_tasks:
            task.cancel()
        await asyncio.gather(*self._tape_tasks, return_exceptions=True)
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

    def open_connection_ids(self) -> frozenset[int]:
        """The ids (``ReceivedFrame.conn_id``) of the connections open now."""
        return frozenset(self._open)

    # ------------------------------------------------------------------ venues and data
    def venue(self, exchange: str) -> SimulatedVenue:
        """The venue object speaking ``exchange`` (``ValueError`` for one this simulator does not speak)."""
        self._check_exchange(exchange)
        return self.venues[exchange]

    def load_binance_recording(self, paths: Sequence[str | Path] | None = None) -> None:
        """Use these hftbacktest files (default: bundled spot BTCUSDT+ETHUSDT, both days)."""
        venue = self.venue(BINANCE)
        assert isinstance(venue, BinanceVenue)
        venue.load(paths)

    def load_okx_recording(self, ws_path: str | Path | None = None,
                           rest_path: str | Path | None = None) -> None:
        """Use this cryptofeed-master OKX recording (default: bundled ``OKX.ws.1.0``)."""
        venue = self.venue(OKX)
        assert isinstance(venue, OkxVenue)
        venue.load(ws_path, rest_path)

    def burst_trades(self, exchange: str = BINANCE, symbol: str = "BTC/USDT",
                     count: int = 100_000, start_id: int = 1) -> Burst:
        """Queue ``count`` synthetic trades (ids ``start_id``...) for that trade stream.

        Delivered as fast as possible to every connection subscribed to it, or to the
        next connection that subscribes if none is. Frames are generated lazily.
        """
        key, make = self.venue(exchange).trade_burst(symbol, count, start_id)
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

    def trade_tape(self, exchange: str = BINANCE, symbol: str = "BTC/USDT", count: int = 20_000,
                   start_id: int = 1, rate: float | None = None) -> Tape:
        """Start producing ``symbol``'s trade sequence on ``exchange``: ``count`` trades, ids ``start_id``...

        Unlike a burst (written whole to each subscriber), a tape models the venue's own
        trades: one task produces them whether or not anyone is connected, and a
        connection subscribed to the symbol's trade stream receives, in the venue's wire
        format, the trades produced while it is subscribed — none from before, and none
        while it is away (``drop_connections``, ``close_connections`` and ``stall`` do not
        stop the tape).  The venue's REST trade history answers every trade produced so
        far (``tape.trades``), and nothing else.

        ``rate``: trades per second; ``None``: as fast as possible, in batches of
        ``SimulatorConfig.yield_every`` trades, at most one batch per
        ``TAPE_BATCH_INTERVAL`` (100,000 trades/s by default) whether or not anyone is
        subscribed, so that a client reconnecting misses what was produced meanwhile.
        Connections that read slower get their frames late, never fewer.  Timestamps are
        the milliseconds of production: they never go back, and trades produced in the
        same millisecond share one.  A symbol's next tape must start after the ids of
        its previous one, once that one is done.
        """
        if not self._port or self._closed:
            raise RuntimeError("Simulator is not running (use 'async with Simulator()')")
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number >= 0, not {count!r}")
        if not isinstance(start_id, int) or start_id < 1:
            raise ValueError(f"start_id must be a whole number >= 1, not {start_id!r}")
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be None or > 0 trades per second, not {rate!r}")
        key = self.venue(exchange).tape_key(symbol)
        previous = self._tapes.get((exchange, key))
        if previous is not None and not previous.done:
            raise ValueError(f"{previous!r} is still producing {symbol} on {exchange}")
        history = self._tape_history.setdefault((exchange, key), [])
        if history and start_id <= history[-1].id:
            raise ValueError(f"start_id {start_id} must follow the ids {symbol} on {exchange} already traded "
                             f"(last {history[-1].id})")
        tape = Tape(exchange, symbol, key, count, start_id, rate)
        self._tapes[(exchange, key)] = tape
        task = asyncio.get_running_loop().create_task(self._produce(tape, history),
                                                      name=f"rxpro-sim-tape-{exchange}-{key}")
        self._tape_tasks.add(task)
        task.add_done_callback(self._tape_tasks.discard)
        task.add_done_callback(lambda _: tape.finish())  # also when cancelled before it ever ran
        return tape

    def tape_history(self, exchange: str, key: str) -> Sequence[TapeTrade]:
        """Every trade the tapes of stream ``key`` produced so far, by id (what a venue's REST history answers)."""
        return self._tape_history.get((exchange, key), ())

    async def _produce(self, tape: Tape, history: list[TapeTrade]) -> None:
        """Produce ``tape``'s trades on schedule; hand each batch to the connections subscribed at that moment.

        Trade ``i`` is due ``i / rate`` seconds after the start (without a rate, batch
        ``k`` is due after ``k * TAPE_BATCH_INTERVAL``); at most ``yield_every`` trades
        are produced per turn of the event loop.  The frames go through each
        connection's own writer (its injection queue), after what it was already sent.
        """
        venue = self.venues[tape.exchange]
        loop = asyncio.get_running_loop()
        batch_size = max(self.config.yield_every, 1)
        per_step, step = (1, 1.0 / tape.rate) if tape.rate is not None else (batch_size, TAPE_BATCH_INTERVAL)
        started = loop.time()
        while not tape.done:
            due = min(tape.count, (int((loop.time() - started) / step) + 1) * per_step)
            n = min(batch_size, due - tape.produced)
            if n > 0:
                batch = tape.next_trades(n)
                history.extend(batch)
                for conn in self._open.values():
                    if conn.exchange == tape.exchange and tape.key in conn.active:
                        conn.injections.append((venue.tape_frames(conn, tape.key, batch), None))
                        conn.wake.set()
            delay = started + (tape.produced // per_step) * step - loop.time()
            await asyncio.sleep(max(delay, 0.0))

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

    async def close_connections(self, exchange: str | None = None, code: int = 1000) -> None:
        """Close every open WebSocket cleanly: a close frame with ``code`` (1000, 1001, 1011...)."""
        conns = [c for c in self._open.values() if exchange is None or c.exchange == exchange]
        for conn in conns:
            if conn.task is not None:
                conn.task.cancel()
        for conn in conns:
            try:
                await asyncio.wait_for(conn.ws.close(code=code, message=b"simulator closing"), 1.0)
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                if conn.request.transport is not None:
                    conn.request.transport.abort()
        deadline = time.monotonic() + 2.0
        while any(c.id in self._open for c in conns) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def stall(self, ms: float, *, pongs: bool = False) -> None:
        """Send no data frames for ``ms`` milliseconds; answer no pings either, unless ``pongs``.

        With ``pongs`` the socket looks alive to a keepalive (ccxt's ping/pong) while no
        data comes: only a watch on the data itself notices.
        """
        self._stall_until = asyncio.get_running_loop().time() + ms / 1000.0
        self._stall_pongs = pongs

    def delay_handshakes(self, ms: float) -> None:
        """Answer each WebSocket handshake from now on ``ms`` milliseconds late (0: at once again).

        A client's connection is then still opening for that long after its subscribe call.
        """
        if not ms >= 0:
            raise ValueError(f"delay_handshakes: ms must be >= 0, got {ms!r}")
        self._handshake_delay_s = ms / 1000.0

    def inject_malformed(self, exchange: str = BINANCE) -> None:
        """The next frame each open connection of ``exchange`` gets is invalid JSON."""
        self.inject_frame(MALFORMED_FRAME, exchange)

    def inject_frame(self, text: str, exchange: str = BINANCE) -> None:
        """The next frame each open connection of ``exchange`` gets is ``text``, as given."""
        self._check_exchange(exchange)
        for conn in self._open.values():
            if conn.exchange == exchange:
                conn.injections.append((iter((text,)), None))
                conn.wake.set()

    def inject_sequence_gap(self, exchange: str = BINANCE, symbol: str = "BTC/USDT") -> None:
        """Skip the next depth diff (Binance) / books update (OKX) of ``symbol`` on open connections."""
        key = self.venue(exchange).book_key(symbol)
        for conn in self._open.values():
            if conn.exchange == exchange:
                conn.skip[key] = conn.skip.get(key, 0) + 1

    # ------------------------------------------------------------------ client helpers
    def attach(self, exchange: Any) -> Any:
        """Point a ccxt(.pro) binance/okx instance (or subclass) at this simulator.

        Rewrites every REST and WebSocket URL in ``exchange.urls['api']`` to the
        simulator and sets the venue's offline options (``rxpro.exchanges._table``:
        e.g. spot-only markets and no currencies for binance). Returns ``exchange``.
        """
        exchange_id = getattr(exchange, "id", None)
        if exchange_id not in self.venues:
            raise ValueError(f"Simulator speaks only {tuple(self.venues)}, not {exchange_id!r}")
        if not self._port:
            raise RuntimeError("Simulator is not started (use 'async with Simulator()')")
        self.venues[exchange_id].attach(exchange, self.url, self.ws_url)
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
    def _check_exchange(self, exchange: str) -> None:
        if exchange not in self.venues:
            raise ValueError(f"unknown exchange {exchange!r}, expected one of {tuple(self.venues)}")

    @web.middleware
    async def _log_http(self, request: web.Request,
                        handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            self.http_requests.append(request.path_qs)
        response: web.StreamResponse = await handler(request)
        return response

    def _record(self, conn: Connection, text: str) -> None:
        try:
            data: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = text
        frame = ReceivedFrame(conn.id, conn.exchange, conn.path, data, time.time_ns())
        self.received.append(frame)
        for predicate, future in self._waiters:
            if not future.done() and predicate(frame):
                future.set_result(frame)

    # ------------------------------------------------------------------ what venues call
    def stalled(self) -> bool:
        """Within a ``stall()``: no data frames."""
        return asyncio.get_running_loop().time() < self._stall_until

    def pings_answered(self) -> bool:
        """Whether a ping gets its pong now (not within a ``stall()``, unless it keeps pongs)."""
        return self._stall_pongs or not self.stalled()

    async def serve(self, request: web.Request, venue: SimulatedVenue, combined: bool,
                    on_text: Callable[[Connection, str], Awaitable[None]],
                    initial: Sequence[str] = ()) -> web.WebSocketResponse:
        """Accept a WebSocket of ``venue``: record and pass on its text frames, answer pings."""
        if self._handshake_delay_s:
            try:
                await asyncio.wait_for(self._closing.wait(), self._handshake_delay_s)
            except asyncio.TimeoutError:
                pass
            if self._closed or request.transport is None or request.transport.is_closing():
                # closing, or the client gave up waiting (its connect timeout): no handshake
                raise web.HTTPServiceUnavailable()
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        conn = Connection(next(self._ids), venue, request.path_qs, request, ws, combined)
        self._open[conn.id] = conn
        try:
            if initial:
                await venue.subscribe(conn, list(initial))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._record(conn, msg.data)
                    await on_text(conn, msg.data)
                elif msg.type == WSMsgType.PING:
                    if self.pings_answered():
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

    def activate(self, conn: Connection, key: str) -> None:
        """``conn`` now receives stream ``key``: bursts queued for it start."""
        for make, burst in self._pending_bursts.pop((conn.exchange, key), []):
            conn.injections.append((make(conn), burst))
            conn.wake.set()

    def resume(self, conn: Connection) -> None:
        """Start (or wake) ``conn``'s playback after a subscribe."""
        conn.wake.set()  # a paused playback resumes
        if conn.task is None:
            conn.task = asyncio.get_running_loop().create_task(
                self._playback(conn), name=f"rxpro-sim-playback-{conn.id}")

    async def _drain_injection(self, conn: Connection) -> None:
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
                if self._stall_until and self.stalled():
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

    async def _flush(self, conn: Connection, out: list[bytes]) -> None:
        """Write buffered, pre-framed data frames in one transport write."""
        if not out:
            await asyncio.sleep(0)
            return
        if self._stall_until and self.stalled():
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

    async def _playback(self, conn: Connection) -> None:
        """Play the recording for ``conn``, filtered to its subscriptions.

        Frames are framed once and written in batches of ``yield_every`` (yielding to
        the loop after each batch); paced playback flushes before every wait. While
        nothing is subscribed on the connection the recording (and its clock) pauses;
        so does a looped recording that went round once without a frame for what is
        subscribed (a stream it holds no frame of), until the subscriptions change.
        """
        venue = conn.venue
        frames = venue.frames
        speed = self.config.speed
        loop = asyncio.get_running_loop()
        yield_every = max(self.config.yield_every, 1)
        t0 = loop.time()
        ns0 = frames[conn.position].ns if conn.position < len(frames) else 0
        scanned = 0
        sent_in_cycle = False  # a frame for what is subscribed went out since the last wrap
        cycle_keys = frozenset(conn.active)  # what was subscribed when this round began
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
                        if not sent_in_cycle and not conn.injections and frozenset(conn.active) == cycle_keys:
                            # round once with nothing to send: pause (clock too) rather than
                            # spin through the recording, until a subscription changes
                            paused = loop.time()
                            conn.wake.clear()
                            await conn.wake.wait()
                            t0 += loop.time() - paused
                        sent_in_cycle = False
                        cycle_keys = frozenset(conn.active)
                        conn.cycle += 1
                        conn.position = 0
                        ns0 -= int(((frames[-1].ns - frames[0].ns) + 1_000_000_000))
                        out.extend(map(_encode_text_frame, venue.loop_resets(conn)))
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
                sent_in_cycle = True
                if conn.skip and conn.skip.get(frame.key) and venue.is_book_update(frame):
                    conn.skip[frame.key] -= 1
                    continue
                out.extend(map(_encode_text_frame, venue.texts(conn, frame, names)))
                if len(out) >= yield_every:
                    await self._flush(conn, out)
        except ConnectionError:
            return


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
