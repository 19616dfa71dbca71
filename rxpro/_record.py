"""Record: every raw frame and REST response of an rxpro exchange, to gzip JSON lines.

``rxpro.record(...)`` / ``Recorder`` subscribe to rxpro Observables and write, one
JSON object per line (orjson), close to cryptofeed's v3 layout::

    {"t":"header","format":"rxpro/1","exchange":"binance","streams":[..],"symbols":[..],"recorded_ns":..,"ccxt":"4.5.90"}
    {"t":"http","ts_ns":..,"method":"GET","url":"https://api.binance.com/api/v3/exchangeInfo","status":200,"body":"{...}"}
    {"t":"connect","conn":"c1","url":"wss://stream.binance.com:9443/ws/0","ts_ns":..}
    {"t":"send","conn":"c1","ts_ns":..,"data":"{\\"method\\":\\"SUBSCRIBE\\",...}"}
    {"t":"recv","conn":"c1","ts_ns":..,"data":"<text exactly as received>"}   (binary: "b64")

Rotation (``rotate_bytes``/``rotate_seconds``) starts ``session.1.jsonl.gz``,
``session.2.jsonl.gz``...; each part repeats the header, every REST answer so far and
the open connections, so it loads and replays on its own -- but an order book is not
carried over: a part replayed alone shows no book until the exchange's next full
snapshot in that part (OKX/Bitfinex/Coinbase send one only at subscription, so none
at all), and a Binance-style book, synchronised on a REST snapshot whose update id
lies in an earlier part, does not resync from the repeated snapshot.  Replay the
parts together (``rxpro.replay([part0, part1, ...])``) for books.

Times are ``time.time_ns()`` at receipt.  The gzip stream is flushed with
``Z_SYNC_FLUSH`` at least once a second, so a crash loses at most the last second.
Credentials never reach the file: signed query parameters and tokens are dropped
from URLs; an authentication frame (``op``/``event``/``method`` naming auth, login,
logon or a signature, or any credential-like field such as ``signature``, ``sign``,
``authSig``, ``apiKey``, ``passphrase``, ``token``) keeps only its structure, every
other value -- positional ``args`` too -- blanked; session tokens in server answers
(``listenKey``, ``token``, ``access_token``...) are blanked and then also wherever
they come back (URL path segments, frames); the exchange's configured
``apiKey``/``secret``/``password``/``uid``/``privateKey``/``token`` strings are
replaced as whole values only (see ``Scrubber``).  Request headers and request
bodies are not recorded; binary frames are written as received.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import inspect
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ccxt
import orjson
from aiohttp import WSMsgType
from reactivex import Observable
from reactivex.disposable import CompositeDisposable

from ._errors import InvalidArgument
from ._exchange import exchange as build_exchange
from ._replay_formats import FORMAT
from ._scrub import Scrubber
from ._sources import bids_asks, ohlcv, order_book, ticker, trades
from ._stream_kinds import RECORDER_USAGE, recorder_kind

__all__ = ["DEFAULT_STREAMS", "RecordSummary", "Recorder", "record"]

DEFAULT_STREAMS: tuple[str, ...] = ("ticker", "trades", "orderbook", "ohlcv:1m")

_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class RecordSummary:
    """What one recording wrote."""

    files: tuple[str, ...]
    messages: int  # received websocket frames
    sent: int  # client frames (subscriptions)
    http: int  # REST responses
    bytes: int  # compressed bytes on disk, all files
    raw_bytes: int  # uncompressed JSON-lines bytes
    first_ns: int
    last_ns: int
    errors: tuple[str, ...] = ()

    @property
    def span_seconds(self) -> float:
        return max(self.last_ns - self.first_ns, 0) / 1e9


def rotated_path(path: Path, index: int) -> Path:
    """``session.jsonl.gz`` -> ``session.1.jsonl.gz`` (index 0 is ``path`` itself)."""
    if index == 0:
        return path
    stem, dot, suffixes = path.name.partition(".")
    return path.with_name(f"{stem}.{index}{dot}{suffixes}" if dot else f"{stem}.{index}")


class _Writer:
    """Gzip JSON lines with rotation and once-a-second sync flushes."""

    def __init__(self, path: Path, rotate_bytes: int | None, rotate_seconds: float | None,
                 scrubber: Scrubber) -> None:
        self.base = path
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.scrubber = scrubber
        self.files: list[str] = []
        self.index = 0
        self.raw_bytes = 0
        self.disk_bytes_closed = 0
        self._raw: Any = None
        self._gzip: gzip.GzipFile | None = None
        self._opened_at = 0.0
        self._last_flush = 0.0
        self._dirty = False
        self.preamble: list[bytes] = []  # header + REST + open connections: repeated in every part

    def open(self) -> None:
        path = rotated_path(self.base, self.index)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(path, "wb")
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        self.files.append(str(path))
        self._opened_at = self._last_flush = time.monotonic()
        for line in self.preamble:
            self._write_line(line)

    def _write_line(self, line: bytes) -> None:
        assert self._gzip is not None
        line = self.scrubber.last_resort(line)
        self._gzip.write(line)
        self.raw_bytes += len(line)
        self._dirty = True

    def write(self, record: dict[str, Any], *, preamble: bool = False) -> None:
        line = orjson.dumps(record) + b"\n"
        if preamble:
            self.preamble.append(line)
        if self._gzip is None:
            return
        self._write_line(line)
        now = time.monotonic()
        if self._rotation_due(now):
            self.rotate()
        elif now - self._last_flush >= _FLUSH_SECONDS:
            self.flush()

    def _rotation_due(self, now: float) -> bool:
        if self.rotate_seconds is not None and now - self._opened_at >= self.rotate_seconds:
            return True
        return self.rotate_bytes is not None and self._raw is not None and self._raw.tell() >= self.rotate_bytes

    @property
    def disk_bytes(self) -> int:
        return self.disk_bytes_closed + (self._raw.tell() if self._raw is not None and not self._raw.closed else 0)

    def flush(self) -> None:
        if self._gzip is not None and self._dirty:
            self._gzip.flush(zlib.Z_SYNC_FLUSH)
            self._raw.flush()
            self._dirty = False
        self._last_flush = time.monotonic()

    def tick(self) -> None:
        """Called once a second: flush, and rotate by time even when nothing arrives."""
        if self._gzip is None:
            return
        if self._rotation_due(time.monotonic()):
            self.rotate()
        else:
            self.flush()

    def rotate(self) -> None:
        self.close()
        self.index += 1
        self.open()

    def close(self) -> None:
        if self._gzip is not None:
            self._gzip.close()
            self._raw.close()
            self.disk_bytes_closed += Path(self.files[-1]).stat().st_size
            self._gzip = None
            self._raw = None


def _stream(exchange: Any, name: str, symbol: str) -> Observable[Any]:
    argument = name.partition(":")[2]
    known = recorder_kind(name)
    if known is None:
        raise InvalidArgument(f"unknown stream {name!r}; use {RECORDER_USAGE}")
    if known.name == "ticker":
        return ticker(exchange, symbol)
    if known.name == "trades":
        return trades(exchange, symbol)
    if known.name == "orderbook":
        return order_book(exchange, symbol, int(argument) if argument else None)
    if known.name == "ohlcv":
        return ohlcv(exchange, symbol, argument or "1m")
    return bids_asks(exchange, [symbol])


def check_streams(streams: Sequence[str]) -> None:
    """Raise ``InvalidArgument`` naming the first stream name ``record`` does not know."""
    for name in streams:
        kind = recorder_kind(name)
        argument = name.partition(":")[2]
        if kind is None:
            raise InvalidArgument(f"unknown stream {name!r}; use {RECORDER_USAGE}")
        if kind.name == "orderbook" and argument and (not argument.isdigit() or int(argument) < 1):
            raise InvalidArgument(f"stream {name!r}: the order book limit must be an integer >= 1, got {argument!r}")


class Recorder:
    """Records one exchange's streams to ``path`` while open (``async with``).

    ``prepare(exchange)`` (optional, may be async) runs right after the exchange is
    built, before anything connects — e.g. ``prepare=simulator.attach``.

    A recording that cannot start fails instead of writing a file: ``start()`` loads
    the exchange's markets before the file is opened and raises what that raised
    (``ExchangeNotAvailable`` with no network).  A recording that received nothing
    and failed (every connection refused, every stream rejected) is removed at
    ``close()``; its summary lists no file and says why (``errors``), ``failure`` is
    the error, and ``async with`` / :func:`record` raise it.
    """

    def __init__(
        self,
        exchange_id: str,
        symbols: Sequence[str],
        streams: Sequence[str] = DEFAULT_STREAMS,
        path: str | Path = "session.jsonl.gz",
        *,
        config: dict[str, Any] | None = None,
        rotate_bytes: int | None = None,
        rotate_seconds: float | None = None,
        prepare: Callable[[Any], Any] | None = None,
    ) -> None:
        if isinstance(symbols, str):
            symbols = [symbols]
        if not symbols:
            raise InvalidArgument("record: give at least one symbol")
        check_streams(streams)
        if rotate_bytes is not None and rotate_bytes <= 0:
            raise InvalidArgument(f"rotate_bytes must be > 0, got {rotate_bytes!r}")
        if rotate_seconds is not None and rotate_seconds <= 0:
            raise InvalidArgument(f"rotate_seconds must be > 0, got {rotate_seconds!r}")
        self.exchange_id = exchange_id
        self.symbols = list(symbols)
        self.streams = list(streams)
        self.path = Path(path)
        self.config = dict(config or {})
        self.prepare = prepare
        self.exchange: Any = None
        self.messages = 0
        self.sent = 0
        self.http = 0
        self.first_ns = 0
        self.last_ns = 0
        self.errors: list[str] = []
        secrets = [str(self.config.get(k) or "") for k in ("apiKey", "secret", "password", "uid", "privateKey", "token")]
        self._scrubber = Scrubber(secrets)
        self._writer = _Writer(self.path, rotate_bytes, rotate_seconds, self._scrubber)
        self._subscriptions = CompositeDisposable()
        self._ticker: asyncio.Task[None] | None = None
        self._connections = 0
        self._conns: dict[Any, str] = {}
        self._started = False
        self._closed = False
        self._summary: RecordSummary | None = None
        self._stream_errors: list[Exception] = []
        self._connection_error: BaseException | None = None  # the latest connection failure
        #: why nothing was recorded (see the class docstring), once closed
        self.failure: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        await self.close()
        if exc_type is None and self.failure is not None:
            raise self.failure

    async def start(self) -> None:
        """Build the exchange, load its markets, open the file and subscribe the streams.

        Raises what loading the markets raised (the file is then never opened).
        """
        if self._started:
            return
        self._started = True
        exchange = build_exchange(self.exchange_id, self.config)
        self.exchange = exchange
        if self.prepare is not None:
            result = self.prepare(exchange)
            if inspect.isawaitable(result):
                await result
        exchange.rx_tap(self)
        self._subscriptions.add(exchange.rx.connection_events().subscribe(self._connection_event))
        self._writer.write({
            "t": "header", "format": FORMAT, "exchange": exchange.id, "streams": self.streams,
            "symbols": self.symbols, "recorded_ns": time.time_ns(), "ccxt": ccxt.__version__,
        }, preamble=True)
        try:
            # the exchange answers before anything is written: no network, no file
            await exchange.load_markets()
        except BaseException:
            self._subscriptions.dispose()
            self._closed = True
            await exchange.close()
            raise
        self._writer.open()
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="rxpro-record-flush")
        for symbol in self.symbols:
            for name in self.streams:
                source = _stream(exchange, name, symbol)
                self._subscriptions.add(source.subscribe(on_error=self._error_handler(name, symbol)))

    def _error_handler(self, name: str, symbol: str) -> Callable[[Exception], None]:
        def on_error(error: Exception) -> None:
            self._stream_errors.append(error)
            self.errors.append(f"{name} {symbol}: {error!r}")

        return on_error

    def _connection_event(self, event: Any) -> None:
        if event.kind in ("disconnected", "retrying") and event.error is not None:
            self._connection_error = event.error

    async def close(self) -> RecordSummary:
        """Unsubscribe, close the exchange, flush and close the file; idempotent."""
        if self._summary is not None:
            return self._summary
        self._subscriptions.dispose()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        try:
            if self.exchange is not None:
                # frames keep arriving until the connections are closed, and other
                # subscribers of this exchange still see them: keep writing until then
                await self.exchange.close()
        finally:
            self._closed = True
            self._writer.close()
        if not self.messages:
            self._fail_if_broken()
        self._summary = self.summary()
        return self._summary

    def _fail_if_broken(self) -> None:
        """Nothing was received: if something failed, that is the outcome, and no file stays behind."""
        failure = self._stream_errors[0] if self._stream_errors else self._connection_error
        if failure is None:
            return  # a quiet market (or a short recording): an honest empty recording
        if self._connection_error is not None:
            self.errors.append(f"connection: {self._connection_error!r}")
        for file in self._writer.files:
            Path(file).unlink(missing_ok=True)
        self._writer.files.clear()
        self.failure = failure

    def summary(self) -> RecordSummary:
        return RecordSummary(tuple(self._writer.files), self.messages, self.sent, self.http,
                             self._writer.disk_bytes, self._writer.raw_bytes, self.first_ns, self.last_ns,
                             tuple(self.errors))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_SECONDS)
            self._writer.tick()

    # -- hooks -----------------------------------------------------------------

    def _stamp(self) -> int:
        ns = time.time_ns()
        if not self.first_ns:
            self.first_ns = ns
        self.last_ns = ns
        return ns

    # -- the tap: what rxpro's client and exchange hand to the recorder -----------

    def _conn(self, client: Any) -> str:
        conn = self._conns.get(client)
        if conn is None:
            self._connections += 1
            conn = self._conns[client] = f"c{self._connections}"
        return conn

    def rest_answered(self, status: Any, url: str, method: str, body: Any) -> None:
        if self._closed:
            return
        self.http += 1
        scrubber = self._scrubber
        text = scrubber.answer(body if isinstance(body, str) else str(body))  # learns tokens first
        self._writer.write({"t": "http", "ts_ns": self._stamp(), "method": method, "url": scrubber.url(url),
                            "status": status, "body": text}, preamble=True)

    def connection_opened(self, client: Any) -> None:
        if not self._closed:
            record = {"t": "connect", "conn": self._conn(client), "url": self._scrubber.url(client.url),
                      "ts_ns": self._stamp()}
            self._writer.write(record, preamble=True)

    def frame_received(self, client: Any, message: Any) -> None:
        if self._closed or message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return
        self.messages += 1
        record: dict[str, Any] = {"t": "recv", "conn": self._conn(client), "ts_ns": self._stamp()}
        if message.type == WSMsgType.TEXT:
            record["data"] = self._scrubber.answer(message.data)
        else:
            record["b64"] = base64.b64encode(message.data).decode()
        self._writer.write(record)

    def frame_sent(self, client: Any, text: str) -> None:
        if not self._closed:
            self.sent += 1
            self._writer.write({"t": "send", "conn": self._conn(client), "ts_ns": self._stamp(),
                                "data": self._scrubber.sent(text)})


async def record(
    exchange_id: str,
    symbols: Sequence[str],
    streams: Sequence[str] = DEFAULT_STREAMS,
    path: str | Path = "session.jsonl.gz",
    *,
    config: dict[str, Any] | None = None,
    rotate_bytes: int | None = None,
    rotate_seconds: float | None = None,
    duration: float | None = None,
    prepare: Callable[[Any], Any] | None = None,
) -> RecordSummary:
    """Record ``streams`` of ``symbols`` on ``exchange_id`` to ``path`` for ``duration`` seconds.

    Without ``duration`` it records until cancelled (the file is closed either way).
    Fails, leaving no file, when nothing could be recorded: the exchange's error
    (``ExchangeNotAvailable`` with no network, the last connection error when the
    WebSocket never connected, a stream's error when every stream was refused).

    >>> summary = await rxpro.record("binance", ["BTC/USDT"], duration=60)   # doctest: +SKIP
    >>> ex = rxpro.replay(summary.files)                                      # doctest: +SKIP
    """
    recorder = Recorder(exchange_id, symbols, streams, path, config=config, rotate_bytes=rotate_bytes,
                        rotate_seconds=rotate_seconds, prepare=prepare)
    try:
        await recorder.start()
        if duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)
    finally:
        summary = await recorder.close()
    if recorder.failure is not None:
        raise recorder.failure
    return summary

