"""Replay: an rxpro exchange fed from a recording instead of the network.

``rxpro.replay(path)`` builds the replayed class of the recorded exchange,
``type(id, (ReplayExchange, rxpro.exchanges.<id>), {})`` (:func:`replay_class`),
in which three things come from the recording instead of the network:

* ``fetch`` — REST calls are answered from the recorded responses (matched by path
  and query, in any parameter order); a call that was not recorded fails with
  :class:`ReplayMissingResponse` naming the URL;
* connections — the class's ``rx_client_class`` is :class:`ReplayClient`, rxpro's
  client with the recording as its transport: ``connect()`` resolves at once,
  ``transmit()`` keeps what ccxt sends (and answers it where the recording lacks the
  answer, see ``_replay_protocols``), nothing touches a socket;
* ``milliseconds``/``seconds``/``microseconds`` — ccxt's clock reads the replay clock;
* the ``watch_*`` methods of rxpro's stream kinds — they first refuse, with
  :class:`~rxpro._errors.StreamNotRecorded`, a stream, candle timeframe or symbol the
  recording does not hold (``ex.replay.check_recorded``), before ccxt subscribes
  anything: the awaitable raises it, an Observable's ``on_error`` gets it on subscribe,
  and the replay goes on untouched for what it does hold.  What a recording holds is
  the replay's to tell (``ex.replay.recorded_streams``, ``recorded_symbols()``); the
  command line asks it too.

Recorded frames are fed, in recorded time order across connections, through
``client.handle_message`` — rxpro's client hook, as live — so ccxt's own parsers and
rxpro's hub see exactly what they see live.  Before each frame the replay's
virtual-time scheduler (``ex.replay.scheduler``, a ``HistoricalScheduler``) is
advanced to the frame's receive time; rxpro's time operators use it by default
while the replay is open, so ``throttle``/``ohlcv`` give the same result at any speed.

When feeding starts: when ``await ex.replay.run()`` is called, or (``autostart``,
the default) once ccxt opens the first connection *and* the event loop has gone
idle — every subscription made in the same tick, with its markets, connection and
subscribe frame, is in place before the first frame.  After each frame the loop is
let run until idle again, so awaitables see every frame as they would live.

Pace, and nobody listening.  A replay never runs ahead of its listeners:

* paced (``speed=10``): every frame waits for its recorded time at that speed, fed
  or not — frames nobody is subscribed to are passed over *at their recorded pace*,
  so the clock keeps wall pace whether anyone listens or not, as a live market does;
* unpaced (``speed=None``, the default): the feed *pauses* before the next frame
  while nobody listens — no rxpro stream has an observer, no awaitable ``watch_*``
  (or un-watch) waits for its answer, no REST call waits for its recorded time and
  no timed work waits on the virtual clock — and resumes, with that frame, on the
  next subscription (any ``watch`` call wakes it).  So a first pass
  (``to_dataframe(obs, n=100)``) followed by another subscription goes on where the
  first stopped, with nothing skipped meanwhile.  ``await ex.replay.run()`` is the
  explicit "play it all": it feeds to the end whether anyone listens or not.

A request the recording has no answer to (our own recordings keep the server's
answers; the recorder never un-watched) is answered by the venue's replay protocol
as the server would (Binance's ``{"result":null,"id":N}``), so an un-watch during a
replay completes.

The end of the recording: once the last frame is fed (and the REST answers still
waiting are released and the loop is idle), the replay *completes every rxpro
Observable stream* of its exchange(s) — ``on_completed``, as at ``close()`` — so
a backtest ends by itself: ``to_dataframe`` returns what it collected, ``ohlcv``
flushes its last candle, ``throttle`` emits the value it held, ``merge`` completes
once every input did.  A stream subscribed after the end completes at once (the
recording holds nothing more for it).  Then ``ex.replay.finished`` / ``run()``
resolve.  The exchange itself stays open: REST calls are still answered from the
recording, and an awaitable ``watch_*`` waits as it would on a silent live market
(bound it with ``asyncio.wait_for`` or race it with ``ex.replay.finished``).  The
virtual clock stops at the last frame's receive time: a virtual timer due later
does not fire, the streams' completion ends what waits on them instead.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ccxt
import orjson
from aiohttp import WSMessage, WSMsgType
from ccxt.async_support.base.exchange import Exchange as CcxtExchange
from reactivex import abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler import HistoricalScheduler

from rxpro.exchanges._table import venue_for

from ._accessor import has
from ._client import RxClient
from ._errors import ReplayFormatError, ReplayMissingResponse, StreamNotRecorded
from ._recorded import HttpRecord, Recording, WsFrame
from ._registry import exchange_class
from ._replay_formats import FORMAT, load_recording, recorded_symbols
from ._replay_protocols import ReplayProtocol
from ._router import callbacks_of
from ._scheduling import use_virtual_scheduler
from ._scrub import scrub_sent, scrub_url
from ._stream_kinds import STREAM_KINDS, StreamKind, stream_kind_name, stream_order

__all__ = ["Replay", "ReplayClient", "ReplayMissingResponse", "ReplaySummary", "replay", "replay_end",
           "replay_together"]

log = logging.getLogger("rxpro")

#: Frames fed between forced yields to the event loop (keeps Jupyter and timers alive).
_YIELD_EVERY = 512


@dataclass(frozen=True)
class ReplaySummary:
    """What a finished replay fed."""

    frames: int  # frames handed to a ccxt connection
    skipped: int  # frames no open connection had subscribed to
    http: int  # REST calls answered from the recording
    first_ns: int
    last_ns: int

    @property
    def span_seconds(self) -> float:
        return max(self.last_ns - self.first_ns, 0) / 1e9


def _datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def _url_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    # signed/credential parameters are never recorded (see _record.scrub_url): ignore them
    parts = urlsplit(scrub_url(url))
    path = parts.path.rstrip("/") or "/"
    return path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


_REQUEST_IDS = ("id", "req_id", "reqid", "cid", "requestId")


def _sent_key(text: str) -> str:
    """A client frame without its request id, to tell which recorded connection sent it."""
    text = scrub_sent(text)
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if isinstance(message, dict):
        message = {k: v for k, v in message.items() if k not in _REQUEST_IDS}
    return orjson.dumps(message, option=orjson.OPT_SORT_KEYS).decode()


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


class ReplayClient(RxClient):
    """rxpro's client, never opening a socket: the replay feeds it frames.

    The replayed exchange's connections are of this class (``ReplayExchange.rx_client_class``),
    so every hook of :class:`~rxpro._client.RxClient` is the live one; only the transport
    (connect, send, close) is the recording's.
    """

    replay: Replay
    protocol_state: dict[str, Any]
    sent: list[str]
    recorded: list[str]  # recorded connections bound to this client
    _replay_closed: bool

    def adopt(self, hub: Any, tap: Any) -> None:
        super().adopt(hub, tap)
        replay: Replay = hub.exchange.replay
        self.replay = replay
        self.protocol_state = {}
        self.sent = []
        self.recorded = []
        self._replay_closed = False
        replay._clients.append(self)

    def connect(self, session: Any, backoff_delay: int = 0) -> Any:
        if not self.connected.done():
            self.connecting = False
            self.isConnected = True
            self.connectionStarted = self.connectionEstablished = self.replay.now_ms
            self.connected.resolve(self.url)
            self.replay._on_connect(self)
            self.on_connected_callback(self)
        return self.connected

    async def transmit(self, message: Any) -> None:
        if self.closed():
            raise ConnectionError("Cannot Send Message: Connection closed before send")
        text = message if isinstance(message, str) else ccxt.Exchange.json(message)
        self.sent.append(text)
        self.replay._on_send(self, text)

    def closed(self) -> bool:
        return self._replay_closed

    def opening(self) -> bool:
        return False  # open from the start: the replay feeds it

    async def close(self, code: int = 1000) -> None:
        for future in self.futures.values():
            future.cancel()
        self._replay_closed = True
        self.replay._on_close(self)
        if self.error is not None:
            # closed for an error (ccxt's own, e.g. a failed book snapshot): reported as a socket's
            # receive loop reports it; RxClient.on_close decides whether the streams are told
            self.on_close(1006)

    async def aiohttp_close(self) -> None:
        self._replay_closed = True
        self.replay._on_close(self)

    def receive_loop(self) -> None:  # frames come from the replay, not a socket
        return None

    def awaited(self) -> bool:
        """Whether someone waits on one of this connection's futures (rxpro's own
        placeholders under its routes don't count: they are nobody waiting)."""
        if self._replay_closed:
            return False
        return any(not future.done() and callbacks_of(future) for future in self.futures.values())


class Replay:
    """Controls one replay: ``ex.replay``.

    ``scheduler`` is the virtual clock; ``run()`` feeds the recording (and returns
    its :class:`ReplaySummary`); ``finished`` is an awaitable of the same summary;
    ``frames``, ``skipped``, ``total``, ``progress`` count what was fed.
    """

    def __init__(self, recording: Recording, protocol: ReplayProtocol, *,
                 speed: float | None = None, autostart: bool = True, timeline: _Timeline | None = None) -> None:
        self.recording = recording
        self.protocol = protocol
        self.timeline = timeline if timeline is not None else _Timeline(recording.start_ns, speed)
        self.timeline.members.append(self)
        self.speed = self.timeline.speed
        self.autostart = autostart
        self.exchange: Any = None
        self.frames = 0
        self.skipped = 0
        self.http_served = 0
        self.total = len(recording.frames)
        self.position = 0
        self._http: dict[tuple[str, tuple[tuple[str, str], ...]], list[HttpRecord]] = {}
        for record in [*protocol.stub_http(recording), *recording.http]:
            self._http.setdefault(_url_key(record.url), []).append(record)
        self.own_format = recording.source == FORMAT
        self._recorded_sends: dict[str, list[str]] = {}
        for _, conn, text in recording.sent:
            self._recorded_sends.setdefault(conn, []).append(_sent_key(text))
        self._clients: list[ReplayClient] = []
        self._bound: dict[str, list[ReplayClient]] = {}  # recorded conn -> clients
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._finished: asyncio.Future[ReplaySummary] | None = None
        self._closed = False
        self._scheduler_token: Any = None
        self._symbols: list[str] | None = None  # recorded_symbols(), once the markets are loaded

    # -- public --------------------------------------------------------------

    @property
    def scheduler(self) -> HistoricalScheduler:
        """The virtual clock (shared by every replay of a ``replay_together``)."""
        return self.timeline.scheduler

    @property
    def now_ns(self) -> int:
        """The replay clock: the receive time of the latest frame fed, in ns."""
        return self.timeline.now_ns

    @property
    def now_ms(self) -> int:
        return self.now_ns // 1_000_000

    @property
    def progress(self) -> float:
        """Fraction of the recording's frames already passed (fed or skipped)."""
        return self.position / self.total if self.total else 1.0

    @property
    def finished(self) -> asyncio.Future[ReplaySummary]:
        if self._finished is None:
            self._finished = asyncio.get_running_loop().create_future()
        return self._finished

    @property
    def running(self) -> bool:
        return self.timeline.running

    @property
    def ended(self) -> bool:
        """The whole recording has been fed and the exchange's streams completed."""
        return self.timeline.ended

    def start(self) -> None:
        """Start feeding in the background (idempotent; starts every replay of the timeline)."""
        if not self._closed:
            self.timeline.start(getattr(self.exchange, "asyncio_loop", None) or asyncio.get_running_loop())

    async def run(self) -> ReplaySummary:
        """Feed the whole recording to its end and return the summary.

        Unlike the feed that starts by itself, this one does not pause while nobody
        listens: ``run()`` is the explicit "play it all" (a backtest, the command line).
        """
        self.timeline.draining = True
        self.start()
        self.wake()
        return await asyncio.shield(self.finished)

    def summary(self) -> ReplaySummary:
        return ReplaySummary(self.frames, self.skipped, self.http_served,
                             self.recording.start_ns, self.now_ns)

    async def close(self) -> None:
        """Stop feeding; idempotent (``await ex.close()`` calls it)."""
        if self._closed:
            return
        self._closed = True
        await self.timeline.member_closed()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(self.summary())
        use_virtual_scheduler(None, self._scheduler_token)
        self._scheduler_token = None

    # -- what the recording holds ----------------------------------------------------

    @property
    def recorded_streams(self) -> tuple[str, ...]:
        """The recording's streams as rxpro names (``l2_book`` -> ``orderbook``), in rxpro's order;
        empty when the recording does not say (any stream is then tried)."""
        names = dict.fromkeys(stream_kind_name(name) for name in self.recording.streams)
        return tuple(sorted(names, key=stream_order))

    def recorded_timeframes(self) -> tuple[str, ...]:
        """The candle timeframes the recording names (``ohlcv:1m``); empty when it names none."""
        return tuple(dict.fromkeys(argument for name, _, argument in
                                   (n.partition(":") for n in self.recording.streams)
                                   if argument and stream_kind_name(name) == "ohlcv"))

    def recorded_book_limits(self) -> tuple[int, ...]:
        """The limits the recorded order books were asked with, where the recording names one for
        each (``orderbook:5``), smallest first; empty when one is the whole book, or none is named."""
        limits = set()
        for name in self.recording.streams:
            kind, _, argument = name.partition(":")
            if stream_kind_name(kind) == "orderbook":
                if not argument.isdigit():
                    return ()
                limits.add(int(argument))
        return tuple(sorted(limits))

    def recorded_book_limit(self) -> int | None:
        """The limit a book of this recording can surely be replayed with: the smallest recorded
        (streams of one channel share the first snapshot ccxt fetched); None: the whole book."""
        limits = self.recorded_book_limits()
        return limits[0] if limits else None

    def recorded_symbols(self) -> list[str]:
        """The ccxt symbols the recording names (its own names mapped to the loaded markets);
        empty when it names none.  Call once the exchange has loaded its markets."""
        if self._symbols is None:
            self._symbols = recorded_symbols(self.exchange)[0]
        return self._symbols

    def check_recorded(self, streams: Sequence[str] = (), symbols: Sequence[str] = (),
                       timeframe: str | None = None) -> None:
        """Raise :class:`StreamNotRecorded` for a stream (rxpro's names: ``ticker``, ``orderbook``...),
        candle ``timeframe`` or ccxt symbol the recording does not hold.

        What the recording does not name (an hftbacktest file names no timeframe, some
        no symbols) is not refused.  Symbols need the exchange's markets loaded.
        """
        known = self.recorded_symbols() if symbols else []
        for symbol in symbols:
            if known and symbol not in known:
                raise StreamNotRecorded(f"the recording has no {symbol}; it has {', '.join(known)}",
                                        symbol=symbol, recorded=tuple(known))
        recorded = self.recorded_streams
        for stream in streams:
            kind = stream_kind_name(stream)
            if recorded and kind not in recorded:
                raise StreamNotRecorded(f"the recording has no {kind} stream; it has {', '.join(recorded)}",
                                        stream=kind, recorded=recorded)
        timeframes = self.recorded_timeframes()
        if timeframe is not None and timeframes and timeframe not in timeframes:
            has = ", ".join(f"ohlcv {t}" for t in timeframes)
            raise StreamNotRecorded(f"the recording has no ohlcv {timeframe} stream; it has {has}",
                                    stream=f"ohlcv:{timeframe}", recorded=tuple(f"ohlcv:{t}" for t in timeframes))

    # -- the replayed exchange's calls ---------------------------------------------

    def attach(self, exchange: Any) -> None:
        """Become ``exchange``'s replay (called while it is built)."""
        self.exchange = exchange
        self._scheduler_token = use_virtual_scheduler(self.scheduler)

    async def fetch(self, url: str, method: str) -> HttpRecord:
        """The recorded REST answer of ``url``, when the feed reaches the time it was received."""
        record = self._answer(url, method)
        if self.running and self.now_ns < record.ts_ns <= self.recording.end_ns:
            await self._wait_until(record.ts_ns)  # the response arrives when it was received
        return record

    def wake(self) -> None:
        """Someone may listen now (a watch call, a REST call): a paused feed looks again."""
        self.timeline.wake()

    def _answer(self, url: str, method: str) -> HttpRecord:
        key = _url_key(url)
        candidates = self._http.get(key)
        if not candidates:
            candidates = self._deeper_book(key)
        if not candidates:
            recorded = sorted({f"{path}{'?' + '&'.join(f'{k}={v}' for k, v in q) if q else ''}"
                               for path, q in self._http})
            raise ReplayMissingResponse(
                f"replay: no recorded response for {method} {url}; recorded: {', '.join(recorded) or 'none'}")
        chosen = candidates[0]
        for record in candidates:  # the latest recorded at or before the replay clock, else the next
            if record.ts_ns <= self.now_ns:
                chosen = record
        self.http_served += 1
        return chosen

    async def _wait_until(self, ns: int) -> None:
        """Block a REST answer until the feed reaches the time it was recorded."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ns, len(self._waiting), future))
        self._waiting.sort(key=lambda w: (w[0], w[1]))
        self.wake()
        await future

    def _release(self, ns: int | None) -> bool:
        """Answer the REST calls recorded up to ``ns`` (all when ``None``); True if any."""
        released = False
        while self._waiting and (ns is None or self._waiting[0][0] <= ns):
            when, _, future = self._waiting.pop(0)
            if ns is not None:
                self._advance(when)
            if not future.done():
                future.set_result(None)
                released = True
        return released

    def _deeper_book(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> list[HttpRecord] | None:
        """A recorded order-book snapshot of the same request with a larger ``limit``.

        ccxt cuts a book to the limit it asked for, so a deeper recorded snapshot
        answers a shallower request (e.g. ``watch_order_book(symbol, 20)``).
        """
        path, query = key
        wanted = dict(query)
        if "limit" not in wanted or not wanted["limit"].isdigit():
            return None
        rest = tuple((k, v) for k, v in query if k != "limit")
        for (other_path, other_query), records in self._http.items():
            other = dict(other_query)
            if (other_path == path and other.get("limit", "").isdigit()
                    and int(other["limit"]) >= int(wanted["limit"])
                    and tuple((k, v) for k, v in other_query if k != "limit") == rest):
                return records
        return None

    def _bind(self, conn: str, client: ReplayClient) -> None:
        bound = self._bound.setdefault(conn, [])
        if client not in bound:
            bound.append(client)
            client.recorded.append(conn)

    def _on_connect(self, client: ReplayClient) -> None:
        """Bind recorded connections to a new ccxt connection.

        Our own recordings: the recorded connection of the same URL, else (when it
        sent nothing to tell it by) of the same host, else by order; connections that
        sent subscriptions are bound when ccxt sends the same frame (``_on_send``).
        Other formats: every recorded connection of the same host, else every unbound one.
        """
        conns = self.recording.connections
        unbound = [c for c in conns if not self._bound.get(c)]
        if self.own_format:
            exact = [c for c in unbound if conns[c] == client.url]
            silent = [c for c in unbound if c not in self._recorded_sends]
            same_host = [c for c in silent if _host(conns[c]) == _host(client.url)]
            matching = exact[:1] or same_host[:1] or silent[:1]
        else:
            host = _host(client.url)
            matching = [c for c in conns if _host(conns[c]) == host]
            if not matching:
                known_hosts = {_host(c.url) for c in self._clients}
                matching = [c for c in unbound if _host(conns[c]) not in known_hosts] or unbound
        for conn in matching:
            self._bind(conn, client)
        if self.autostart:
            self.start()

    def _on_send(self, client: ReplayClient, text: str) -> None:
        if self.own_format:
            key = _sent_key(text)
            if not client.recorded:
                for conn, sends in self._recorded_sends.items():
                    if not self._bound.get(conn) and key in sends:
                        self._bind(conn, client)
                        break
            if any(key in self._recorded_sends.get(conn, ()) for conn in client.recorded):
                return  # the server's answer is in the recording
            # a request the recorder never made (an un-watch, mostly): answered as the server
            # would, else ccxt waits for that answer for ever
        for reply in self.protocol.replies(client, text):
            self._feed_text(client, reply)

    def _on_close(self, client: ReplayClient) -> None:
        for bound in self._bound.values():
            if client in bound:
                bound.remove(client)

    # -- who listens ---------------------------------------------------------------

    def listened(self) -> bool:
        """Whether anyone waits on this replay: an rxpro stream with an observer, an awaitable
        ``watch_*`` (or un-watch) waiting for its answer, or a REST call waiting for its time."""
        if self._closed:
            return False
        if self._waiting:
            return True
        hub = getattr(self.exchange, "_rx_hub", None)
        if hub is not None and hub.has_observers():
            return True
        return any(client.awaited() for client in self._clients)

    # -- feeding -----------------------------------------------------------------

    def _advance(self, ns: int) -> None:
        self.timeline.advance(ns)

    def _feed_text(self, client: ReplayClient, text: str) -> None:
        client.handle_message(WSMessage(WSMsgType.TEXT, text, None))

    def _feed_frame(self, client: ReplayClient, frame: WsFrame) -> None:
        if frame.text is not None:
            client.handle_message(WSMessage(WSMsgType.TEXT, frame.text, None))
        else:
            client.handle_message(WSMessage(WSMsgType.BINARY, frame.binary, None))

    def _complete_streams(self) -> None:
        """The recording has ended: complete the exchange's streams, and any subscribed later.

        The same completion as ``close()`` gives them (``Stream.complete``), without
        closing the exchange.
        """
        hub = getattr(self.exchange, "_rx_hub", None)
        if hub is None or hub.closed:
            return
        hub.end()

    def _finish(self, error: BaseException | None = None) -> None:
        if self._finished is None or self._finished.done():
            return
        if error is None:
            self._finished.set_result(self.summary())
        else:
            self._finished.set_exception(error)


class _VirtualTimer:
    """A call waiting on a replay's clock, cancelled as an ``asyncio.TimerHandle`` is."""

    __slots__ = ("_disposable",)

    def __init__(self, disposable: abc.DisposableBase) -> None:
        self._disposable = disposable

    def cancel(self) -> None:
        self._disposable.dispose()


class ReplayExchange:
    """The replayed exchange: an rxpro exchange class with the recording as its network and clock.

    ``type(id, (ReplayExchange, rxpro.exchanges.<id>), {})``: REST calls are answered from
    the recording (``fetch``), connections are :class:`ReplayClient` s fed by the
    recording, and ccxt's clock (``milliseconds``/``seconds``/``microseconds``) reads the
    replay clock.  ``ex.replay`` is the :class:`Replay` controlling it.
    """

    rx_client_class = ReplayClient
    rx_watchdog = False  # a recording's silences are the recording's, not a dead connection
    replay: Replay

    def __init__(self, config: dict[str, Any] | None = None, *, replay: Replay) -> None:
        self.replay = replay  # ccxt's constructor may already read the clock
        replay.attach(self)
        super().__init__(config)  # type: ignore[call-arg]

    def watch(self, url: str, message_hash: str, message: Any = None, subscribe_hash: Any = None,
              subscription: Any = None) -> Any:
        future = super().watch(url, message_hash, message, subscribe_hash, subscription)  # type: ignore[misc]
        self.replay.wake()  # someone waits now: a feed paused for want of listeners goes on
        return future

    def watch_multiple(self, url: str, message_hashes: list[str], message: Any = None,
                       subscribe_hashes: Any = None, subscription: Any = None) -> Any:
        future = super().watch_multiple(url, message_hashes, message, subscribe_hashes,  # type: ignore[misc]
                                        subscription)
        self.replay.wake()
        return future

    def rx_call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> _VirtualTimer:
        """``callback(*args)`` once the replay's clock is ``delay_s`` further on (the hub's retries).

        Before the feed starts nothing moves that clock: then wall time, as live.
        """
        if not self.replay.running:
            return super().rx_call_later(delay_s, callback, *args)  # type: ignore[misc,no-any-return]
        return _VirtualTimer(self.replay.scheduler.schedule_relative(delay_s, lambda _s, _st: callback(*args)))

    def milliseconds(self) -> int:
        return self.replay.now_ns // 1_000_000

    def seconds(self) -> int:
        return self.replay.now_ns // 1_000_000_000

    def microseconds(self) -> int:
        return self.replay.now_ns // 1_000

    async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        if self.asyncio_loop is None:  # type: ignore[has-type]  # ccxt's fetch sets it (via open()) first
            self.asyncio_loop = asyncio.get_running_loop()
        record = await self.replay.fetch(url, method)
        text = record.body
        tap = self._rx_hub.tap  # type: ignore[attr-defined]
        if tap is not None:  # a recording of this replay keeps the answers too, as one of a live session does
            tap.rest_answered(200, url, method, text)
        if self.enableLastHttpResponse:  # type: ignore[attr-defined]
            self.last_http_response = text
        parsed = self.parse_json(text)  # type: ignore[attr-defined]
        if self.enableLastJsonResponse:  # type: ignore[attr-defined]
            self.last_json_response = parsed
        self.handle_errors(200, "OK", url, method, {}, text, parsed, headers or {}, body)  # type: ignore[attr-defined]
        return parsed if parsed is not None else text

    async def close(self, clean_instance_data: bool = False) -> None:
        await self.replay.close()
        await super().close(clean_instance_data)  # type: ignore[misc]

    async def refuse_unrecorded(self, method: str, kind: StreamKind, arguments: Mapping[str, Any]) -> None:
        """Raise :class:`StreamNotRecorded` when ``method(**arguments)`` asks for what the recording lacks.

        Called by the ``watch_*`` methods of the replayed class (see :func:`replay_class`)
        before ccxt subscribes anything.  A method ccxt emulates from another stream
        (``has`` says ``'emulated'``) is left to the method it calls.
        """
        if has(self, method) == "emulated":
            return
        timeframes = [arguments["timeframe"]] if isinstance(arguments.get("timeframe"), str) else []
        symbols = [arguments["symbol"]] if isinstance(arguments.get("symbol"), str) else []
        if isinstance(arguments.get("symbols"), (list, tuple)):
            symbols += [s for s in arguments["symbols"] if isinstance(s, str)]
        pairs = arguments.get("symbolsAndTimeframes")
        if isinstance(pairs, (list, tuple)):
            for pair in pairs:
                if isinstance(pair, (list, tuple)) and len(pair) == 2:
                    symbols.append(pair[0])
                    timeframes.append(pair[1])
        listed: list[str] = []
        if symbols and self.replay.recording.symbols:
            await self.load_markets()  # type: ignore[attr-defined]
            # a symbol the exchange does not list is ccxt's BadSymbol, as live: not refused here
            listed = [market["symbol"] for market in map(self._listed_market, symbols) if market is not None]
        self.replay.check_recorded([kind.name], listed)
        for timeframe in timeframes:
            self.replay.check_recorded(timeframe=timeframe)
        if kind.name == "orderbook":
            self._refuse_unrecorded_depth(arguments, listed or symbols)
        refusal = self.replay.protocol.unrecorded(self, kind.name, arguments)
        if refusal is not None:
            raise refusal

    def _refuse_unrecorded_depth(self, arguments: Mapping[str, Any], symbols: Sequence[str]) -> None:
        """A book the recording can't replay at the asked depth: deeper than it holds, or (where the
        limit picks the venue's channel, ``Venue.book_channel``) on a channel it did not record."""
        limits = self.replay.recorded_book_limits()
        if not limits:
            return
        limit = arguments.get("limit")
        params = arguments.get("params") or {}
        recorded = tuple(f"orderbook:{n}" for n in limits)
        channel_of = venue_for(self.id).book_channel  # type: ignore[attr-defined]
        if channel_of is not None and symbols:
            # the smallest limit's channel: one book per symbol, so of two channels only the first
            # subscribed can have been recorded (rxpro refuses the second: a header may still name it)
            if channel_of(self, symbols[0], limit, params) == channel_of(self, symbols[0], limits[0], params):
                return
        elif isinstance(limit, int) and 0 < limit <= limits[0]:
            return  # a deeper recorded snapshot answers a shallower request
        asked = "the whole book" if limit is None else f"{limit} levels"
        raise StreamNotRecorded(f"the recording has the order book as {', '.join(recorded)}, not {asked}: ask "
                                f"for a limit of at most {limits[0]}", stream="orderbook", recorded=recorded)

    def _listed_market(self, symbol: Any) -> Any:
        try:
            return self.market(symbol)  # type: ignore[attr-defined]  # a market id works as its symbol
        except ccxt.BaseError:
            return None


def _recorded_only(method: str, kind: StreamKind, implementation: Callable[..., Any]) -> Callable[..., Any]:
    """``implementation`` (a ``watch_*`` coroutine) that first refuses what the recording lacks."""
    signature = inspect.signature(implementation)

    @functools.wraps(implementation)
    async def watch(self: ReplayExchange, *args: Any, **kwargs: Any) -> Any:
        try:
            arguments = signature.bind(self, *args, **kwargs).arguments
        except TypeError:  # ccxt's own error says what is wrong with the call
            arguments = {}
        await self.refuse_unrecorded(method, kind, arguments)
        return await implementation(self, *args, **kwargs)

    return watch


@functools.lru_cache(maxsize=None)
def replay_class(exchange_id: str) -> type[Any]:
    """The replayed-exchange class of ``exchange_id`` (a subclass of ``rxpro.exchanges.<id>``).

    Its ``watch_*`` methods of rxpro's stream kinds (``_stream_kinds``: ticker, trades,
    order book, candles, ... ) refuse, with :class:`StreamNotRecorded`, a stream, candle
    timeframe or symbol the recording does not hold, before ccxt subscribes anything:
    the awaitable raises it and an Observable's ``on_error`` gets it on subscribe.
    Other ``watch_*`` methods (mark prices, funding rates, ...) are not checked.
    """
    base = exchange_class(exchange_id)
    namespace: dict[str, Any] = {
        "__module__": "rxpro.exchanges",
        "__qualname__": exchange_id,
        "__doc__": f"{exchange_id}, replayed from a recording (see rxpro.replay).",
    }
    for kind in STREAM_KINDS:
        for method in kind.methods:
            implementation = getattr(base, method, None)
            # ccxt's base stubs (NotSupported) stay as they are: the exchange has no such method
            if callable(implementation) and implementation is not getattr(CcxtExchange, method, None):
                namespace[method] = _recorded_only(method, kind, implementation)
    return type(exchange_id, (ReplayExchange, base), namespace)


class _ReplayClock(HistoricalScheduler):
    """A replay's virtual clock: it counts the timed work waiting on it, and says when more comes.

    Work waiting on the replay's time (``to_dataframe(duration_ms=...)``, a cold source
    subscribed on this clock) is someone listening: an unpaced feed does not pause
    while there is any (see ``_Timeline``).
    """

    def __init__(self, initial: datetime, on_schedule: Callable[[], None]) -> None:
        super().__init__(initial)
        self.pending = 0
        self.fired = 0  # the timed work run so far (the feed settles when a frame's time ran some)
        self._on_schedule = on_schedule

    def schedule_absolute(self, duetime: Any, action: Any, state: Any = None) -> abc.DisposableBase:
        counted = True

        def uncount() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.pending -= 1

        def run(scheduler: Any, state_: Any) -> Any:
            uncount()
            self.fired += 1
            return action(scheduler, state_)

        self.pending += 1
        item = super().schedule_absolute(duetime, run, state)
        self._on_schedule()
        return CompositeDisposable(item, Disposable(uncount))


class _Timeline:
    """One virtual clock and one feed for the replays played on it.

    ``rxpro.replay`` gives each exchange its own; ``replay_together`` gives several
    exchanges one, and the feed interleaves their recordings by receive time (ties:
    the order the recordings were given, then file order), so every exchange, every
    operator and ``milliseconds()`` see the same instant.
    """

    def __init__(self, start_ns: int, speed: float | None) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be a number > 0 or None, got {speed!r}")
        self.speed = speed
        self.scheduler = _ReplayClock(_datetime(start_ns), self.wake)
        self.now_ns = start_ns
        self.members: list[Replay] = []
        self.task: asyncio.Task[None] | None = None
        self.ended = False
        self.end_future: asyncio.Future[None] | None = None
        self.draining = False  # run() was called: feed to the end, listened to or not
        self._wake: asyncio.Event | None = None
        _TIMELINES[self.scheduler] = self

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _listened(self) -> bool:
        return self.draining or self.scheduler.pending > 0 or any(member.listened() for member in self.members)

    async def _until_listened(self) -> None:
        """An unpaced feed with nobody listening waits here (a paced one never does)."""
        if self._wake is None:
            self._wake = asyncio.Event()
        while not self._listened():
            self._wake.clear()
            await self._wake.wait()
            # look once the loop is idle: an un-watch's request is answered meanwhile
            await _settle()

    def advance(self, ns: int) -> None:
        if ns > self.now_ns:
            self.now_ns = ns
            target = _datetime(ns)
            if target > self.scheduler.now:
                self.scheduler.advance_to(target)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.task is None:
            for member in self.members:
                if member._finished is None:
                    member._finished = loop.create_future()
            self.task = loop.create_task(self._feed(), name="rxpro-replay")

    async def member_closed(self) -> None:
        """Stop feeding once every replay of the timeline is closed."""
        if all(member._closed for member in self.members) and self.running:
            assert self.task is not None
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def _end(self) -> None:
        """Every frame is fed: complete the streams of every replay of the timeline."""
        self.ended = True
        for member in self.members:
            if not member._closed:
                member._complete_streams()
        if self.end_future is not None and not self.end_future.done():
            self.end_future.set_result(None)

    def end(self) -> asyncio.Future[None]:
        """A future done once the recording has ended (see ``_end``)."""
        if self.end_future is None:
            self.end_future = asyncio.get_running_loop().create_future()
            if self.ended:
                self.end_future.set_result(None)
        return self.end_future

    def _release(self, ns: int | None) -> bool:
        released = False
        for member in self.members:
            released = member._release(ns) or released
        return released

    def _next_waiting(self) -> int | None:
        stamps = [member._waiting[0][0] for member in self.members if member._waiting]
        return min(stamps) if stamps else None

    def _merged(self) -> Iterator[tuple[Replay, WsFrame]]:
        if len(self.members) == 1:
            member = self.members[0]
            for frame in member.recording.frames:
                yield member, frame
            return
        streams = [((frame.ts_ns, index, position), member, frame)
                   for index, member in enumerate(self.members)
                   for position, frame in enumerate(member.recording.frames)]
        streams.sort(key=lambda item: item[0])
        for _, member, frame in streams:
            yield member, frame

    async def _feed(self) -> None:
        try:
            await _settle()
            speed = self.speed
            loop = asyncio.get_running_loop()
            wall0 = loop.time()
            ns0 = min((m.recording.frames[0].ts_ns for m in self.members if m.recording.frames), default=0)
            since_yield = 0
            for member, frame in self._merged():
                waiting = self._next_waiting()
                if waiting is not None and waiting <= frame.ts_ns and self._release(frame.ts_ns):
                    await _settle()
                if speed is None:
                    if not self._listened():
                        await self._until_listened()
                else:
                    # every frame at its time, fed or not: the clock keeps wall pace
                    delay = wall0 + (frame.ts_ns - ns0) / 1e9 / speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                member.position += 1
                fired = self.scheduler.fired
                self.advance(frame.ts_ns)
                if self.scheduler.fired != fired:
                    # work this frame's time released (a retry subscribing again) runs before the
                    # frame is routed: the frame that fires a retry is the stream's again
                    await _settle()
                client = None if member._closed else member.protocol.route(frame, member._bound.get(frame.conn, ()))
                if client is None or client.closed():
                    member.skipped += 1
                    since_yield += 1
                    if since_yield >= _YIELD_EVERY * 8:
                        since_yield = 0
                        await asyncio.sleep(0)
                    continue
                member._feed_frame(client, member.protocol.adapt(frame, client))
                member.frames += 1
                since_yield += 1
                ready = getattr(loop, "_ready", None)
                if ready or ready is None or since_yield >= _YIELD_EVERY:
                    since_yield = 0
                    await _settle()
            await _settle()
            while self._release(None):
                await _settle()
            self._end()
            await _settle()
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            for member in self.members:
                member._finish(error)
            raise
        for member in self.members:
            member._finish()


#: virtual clock -> its timeline, so that ``replay_end`` can tell a replay's clock
_TIMELINES: weakref.WeakKeyDictionary[HistoricalScheduler, _Timeline] = weakref.WeakKeyDictionary()


def replay_end(scheduler: Any) -> asyncio.Future[None] | None:
    """For a replay's virtual clock, a future done once that replay's recording has ended.

    ``None`` for any other scheduler.  ``rxpro.jupyter.to_dataframe`` uses it so that
    waiting on a replay's clock ends with the recording.
    """
    try:
        timeline = _TIMELINES.get(scheduler)
    except TypeError:  # not weak-referenceable: not a replay's clock
        return None
    return None if timeline is None else timeline.end()


async def _settle() -> None:
    """Let the loop run until nothing else is ready (deterministic: no I/O is involved)."""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    for _ in range(1000):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            return
    # an event loop without a visible ready queue: a fixed number of turns above


PathOrPaths = str | Path | Sequence[str | Path]


def replay(
    path_or_paths: PathOrPaths,
    exchange_id: str | None = None,
    *,
    speed: float | None = None,
    config: dict[str, Any] | None = None,
    autostart: bool = True,
) -> Any:
    """An rxpro exchange that plays a recording through ccxt's own parsers, offline.

    ``path_or_paths``: our ``.jsonl.gz`` files (rotated parts may be given together;
    a later part alone replays, but without order books -- their snapshot is in an
    earlier part, see ``rxpro._record``),
    hftbacktest ``.gz`` files, cryptofeed master ``EX.ws.N.0`` (its ``EX.0`` and
    ``EX.http.0.0`` are read along) or cryptofeed v3 ``.jsonl.zst``.
    ``exchange_id``: the ccxt id, when the file does not say it.  ``speed``:
    ``None`` feeds as fast as possible on virtual time; ``10.0`` paces the frames at
    ten times real time.  ``config``: ccxt's config dict.

    >>> ex = rxpro.replay("btcusdt_20240808.gz")                 # doctest: +SKIP
    >>> rxpro.trades(ex, "BTC/USDT").subscribe(print)            # doctest: +SKIP
    >>> await ex.replay.run(); await ex.close()                  # doctest: +SKIP
    """
    recording = load_recording(path_or_paths, exchange_id)
    return _replay_exchange(recording, speed=speed, config=config, autostart=autostart, timeline=None)


def replay_together(
    recordings: Mapping[str, PathOrPaths],
    *,
    speed: float | None = None,
    config: dict[str, Any] | None = None,
    autostart: bool = True,
) -> dict[str, Any]:
    """Several exchanges replayed on one clock: ``{exchange_id: exchange}``.

    ``recordings`` maps a ccxt id to its recording files (as for :func:`replay`).
    The frames of all recordings are fed in one merged receive-time order (ties: the
    order of ``recordings``, then file order) on one ``HistoricalScheduler`` (every
    ``ex.replay.scheduler`` is the same object), and every exchange's
    ``milliseconds()`` reads the same clock — so a cross-exchange pipeline sees one
    timeline and gives the same result on every run.  Feeding starts once the first
    connection of any of them opens and the loop is idle (or on ``await
    ex.replay.run()`` of any of them), and runs until every recording is fed;
    ``config`` (ccxt's config dict) applies to each exchange.

    >>> exs = rxpro.replay_together({"binance": "btcusdt_20240808.gz",
    ...                              "binanceusdm": "usdm/btcusdt_20240808.gz"})  # doctest: +SKIP
    >>> merged = rxpro.operators.merge_exchanges(...)             # doctest: +SKIP
    """
    if not recordings:
        raise ValueError("replay_together needs at least one recording")
    loaded = {exchange_id: load_recording(paths, exchange_id) for exchange_id, paths in recordings.items()}
    timeline = _Timeline(min(r.start_ns for r in loaded.values()), speed)
    return {exchange_id: _replay_exchange(recording, speed=speed, config=config, autostart=autostart,
                                          timeline=timeline)
            for exchange_id, recording in loaded.items()}


def _replay_exchange(recording: Recording, *, speed: float | None, config: dict[str, Any] | None,
                     autostart: bool, timeline: _Timeline | None) -> Any:
    if recording.exchange_id is None:
        raise ValueError(f"{recording.paths[0]}: the exchange is not recorded; pass exchange_id")
    venue = venue_for(recording.exchange_id)
    for url in dict.fromkeys(recording.connections.values()):
        reason = venue.unreplayable_urls.get(url.rstrip("/"))
        if reason is not None:
            raise ReplayFormatError(f"{recording.paths[0]}: can't be replayed: recorded on {url}, {reason}")
    protocol = venue.replay_protocol(recording.source)
    settings = protocol.configure(dict(config or {}))
    settings.setdefault("enableRateLimit", False)  # nothing goes over a network
    controller = Replay(recording, protocol, speed=speed, autostart=autostart, timeline=timeline)
    exchange = replay_class(recording.exchange_id)(settings, replay=controller)
    protocol.prepare(exchange, recording)
    return exchange
