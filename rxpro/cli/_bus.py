"""``rxpro publish`` and ``rxpro watch --nats``: the command-line faces of ``rxpro.nats``.

``publish`` is a feed process: one exchange, some symbols (``--shard K/N`` keeps
every N-th of them), some streams, each published to JetStream under the default
subjects until ``--seconds`` or Ctrl-C. ``watch --nats`` shows a subject (or a
wildcard) of the bus as ``rxpro watch`` shows an exchange's stream. The
publishing and consuming themselves live in ``rxpro.nats``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import orjson
import reactivex.operators as ops
from reactivex import Observable
from rich.console import Console
from rich.live import Live

import rxpro
from rxpro.operators import throttle

from ._errors import UserError
from ._output import PipeSafe
from ._session import (
    exchange_class,
    is_user_error,
    open_exchange,
    simulator,
    validate_stream,
    validate_symbols,
    validate_timeframe,
)
from ._views import View, view_for, waiting

__all__ = [
    "BusWatchOptions",
    "FeedOptions",
    "FeedStream",
    "parse_feed_streams",
    "parse_shard",
    "parse_start",
    "publish_feed",
    "shard_symbols",
    "watch_bus",
]

#: what ``--streams`` may name, and the subject channel each becomes
FEED_STREAMS = ("trades", "ticker", "orderbook:<limit>", "ohlcv:<timeframe>")


@dataclass(frozen=True, slots=True)
class FeedStream:
    """One ``--streams`` entry: ``kind`` (trades, ticker, orderbook, ohlcv) and its limit or timeframe."""

    kind: str
    limit: int | None = None
    timeframe: str | None = None

    @property
    def channel(self) -> str:
        """The subject's channel token: ``trades``, ``ticker``, ``orderbook_20``, ``ohlcv_1m``."""
        if self.kind == "orderbook":
            return f"orderbook_{self.limit}"
        if self.kind == "ohlcv":
            return f"ohlcv_{self.timeframe}"
        return self.kind

    def source(self, exchange: Any, symbol: str) -> Observable[Any]:
        if self.kind == "trades":
            return rxpro.trades(exchange, symbol)
        if self.kind == "ticker":
            return rxpro.ticker(exchange, symbol)
        if self.kind == "orderbook":
            return rxpro.order_book(exchange, symbol, self.limit)
        return rxpro.ohlcv(exchange, symbol, self.timeframe or "1m")


def parse_feed_streams(text: str) -> tuple[FeedStream, ...]:
    """``'trades,orderbook:20,ticker'`` -> the streams; a book without a limit is a :class:`UserError`.

    A full book per update is what a subscriber in the same process gets for free;
    over the bus each update would carry every level (thousands on Binance), so
    ``rxpro publish`` publishes books cut to a limit only.
    """
    streams: list[FeedStream] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        kind, _, argument = name.partition(":")
        if kind == "orderbook":
            if not argument:
                raise UserError("orderbook needs a limit on the bus, e.g. orderbook:20: a full book per update "
                                "is too big to publish (see rxpro publish --help)")
            try:
                limit = int(argument)
            except ValueError:
                limit = 0
            if limit < 1:
                raise UserError(f"orderbook limit must be an integer >= 1, got {argument!r}")
            streams.append(FeedStream("orderbook", limit=limit))
        elif kind == "ohlcv":
            streams.append(FeedStream("ohlcv", timeframe=argument or "1m"))
        elif kind in ("trades", "ticker") and not argument:
            streams.append(FeedStream(kind))
        else:
            raise UserError(f"can't publish stream {name!r}; --streams takes {', '.join(FEED_STREAMS)}")
    if not streams:
        raise UserError("--streams names no stream")
    return tuple(streams)


def parse_shard(text: str | None) -> tuple[int, int]:
    """``'2/3'`` -> ``(2, 3)``; ``None`` -> ``(1, 1)``."""
    if text is None:
        return 1, 1
    index, slash, count = text.partition("/")
    try:
        k, n = int(index), int(count)
    except ValueError:
        k = n = 0
    if not slash or n < 1 or not 1 <= k <= n:
        raise UserError(f"--shard takes K/N with 1 <= K <= N (e.g. 1/2), got {text!r}")
    return k, n


def shard_symbols(symbols: Sequence[str], k: int, n: int) -> tuple[str, ...]:
    """The symbols shard ``k`` of ``n`` publishes: the i-th symbol (from 0) goes to shard ``i % n + 1``."""
    mine = tuple(symbol for i, symbol in enumerate(symbols) if i % n == k - 1)
    if not mine:
        raise UserError(f"shard {k}/{n} has no symbol: {len(symbols)} symbol(s) for {n} shards")
    return mine


def nats_user_error(error: BaseException) -> bool:
    """Whether an rxpro.nats error is about what the user gave (URL, subject, stream, message)."""
    from rxpro.nats import InvalidSubject, NatsUnreachable, NotRxproMessage, StreamNotFound

    return isinstance(error, (InvalidSubject, NatsUnreachable, NotRxproMessage, StreamNotFound))


# -- publish ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedOptions:
    exchange_id: str
    symbols: tuple[str, ...]
    streams: tuple[FeedStream, ...]
    nats_url: str
    shard: tuple[int, int] = (1, 1)
    seconds: float | None = None
    simulator: bool = False
    speed: float | None = 1.0
    stream_name: str = "RXPRO"
    replicas: int = 1
    prefix: str = "rxpro"
    #: with ``simulator``: synthetic trades per symbol on top of the recording; the feed ends once they are stored
    burst: int | None = None
    max_buffered: int = 100_000


#: the simulator's synthetic trade ids start here, far above recorded ones
BURST_START_ID = 10**12


async def publish_feed(options: FeedOptions, report: Callable[[str], None],
                       announce: Callable[[str], None] | None = None) -> int:
    """Publish until ``options.seconds`` pass or Ctrl-C; ``report`` gets one line per stream. Returns the values published."""
    import rxpro.nats as bus

    symbols = shard_symbols(options.symbols, *options.shard)
    publish_options = bus.PublishOptions(
        prefix=options.prefix, max_buffered=options.max_buffered,
        stream_settings=bus.StreamSettings(name=options.stream_name, replicas=options.replicas),
    )
    try:
        for stream in options.streams:
            bus.subject_for(options.exchange_id, stream.channel, symbols[0], options.prefix)
    except bus.InvalidSubject as error:
        raise UserError(str(error)) from None
    publishers: list[tuple[str, Any]] = []
    burst_seen = [0]

    def count_burst(trade: Any) -> None:
        if int(trade.get("id") or 0) >= BURST_START_ID:
            burst_seen[0] += 1

    async with AsyncExitStack() as stack:
        sim: Any = None
        if options.burst is not None:
            if not options.simulator:
                raise UserError("--burst needs --simulator: it sends synthetic trades from the local simulator")
            if not any(stream.kind == "trades" for stream in options.streams):
                raise UserError("--burst sends trades: add trades to --streams")
            cls = exchange_class(options.exchange_id)
            sim = await stack.enter_async_context(simulator(options.exchange_id, symbols, options.speed))
            exchange = sim.attach(cls())
            stack.push_async_callback(exchange.close)
        else:
            exchange = await stack.enter_async_context(open_exchange(
                options.exchange_id, symbols, simulated=options.simulator, speed=options.speed))
        await validate_symbols(exchange, symbols)
        for stream in options.streams:
            validate_stream(exchange, stream.kind)
            if stream.kind == "ohlcv":
                validate_timeframe(exchange, stream.timeframe or "1m")
        try:
            nc = await bus.connect(options.nats_url)
        except bus.NatsUnreachable as error:
            raise UserError(str(error)) from None
        stack.push_async_callback(nc.close)
        try:
            for symbol in symbols:
                for stream in options.streams:
                    source = stream.source(exchange, symbol)
                    if options.burst is not None and stream.kind == "trades":
                        source = source.pipe(ops.do_action(count_burst))
                    publisher = bus.publish(source, nc, exchange=exchange,
                                            channel=stream.channel, symbol=symbol, options=publish_options)
                    await stack.enter_async_context(publisher)
                    publishers.append((bus.subject_for(exchange.id, stream.channel, symbol, options.prefix),
                                       publisher))
        except bus.NatsError as error:
            if nats_user_error(error):
                raise UserError(str(error)) from None
            raise
        if announce is not None:
            k, n = options.shard
            shard = f" (shard {k}/{n})" if n > 1 else ""
            where = "the simulator" if options.simulator else exchange.id
            announce(f"publishing {exchange.id} {' '.join(symbols)}{shard} "
                     f"({', '.join(s.channel for s in options.streams)}) from {where} to {options.nats_url} "
                     f"stream {publishers[0][1].stream}; Ctrl-C to stop")
        burst_done: Any = None
        if sim is not None and options.burst is not None:
            trades = [p for subject, p in publishers if ".trades." in subject]
            for symbol in symbols:
                sim.burst_trades(options.exchange_id, symbol, count=options.burst, start_id=BURST_START_ID)
            burst_done = asyncio.ensure_future(_bursts_stored(trades, burst_seen, len(symbols) * options.burst))
        try:
            await _until_done([publisher for _, publisher in publishers], options.seconds, burst_done)
        finally:
            for subject, publisher in publishers:
                summary = publisher.summary()
                report(f"{subject}: {summary.published:,} published, {summary.stored:,} stored, "
                       f"{summary.duplicates:,} duplicates")
    return sum(publisher.summary().published for _, publisher in publishers)


async def _bursts_stored(trades: Sequence[Any], seen: list[int], count: int) -> None:
    """Until the trade publishers got all ``count`` burst trades and JetStream acknowledged them."""
    while seen[0] < count:
        await asyncio.sleep(0.05)
    for publisher in trades:
        await publisher.flush()


async def _until_done(publishers: Sequence[Any], seconds: float | None, ended: Any = None) -> None:
    """Until ``seconds`` pass, ``ended`` is done, or a publisher fails (its error is raised)."""
    waits = [asyncio.ensure_future(publisher.finished()) for publisher in publishers]
    if ended is not None:
        waits.append(ended)
    try:
        done, _ = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            finished.result()
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


# -- watch --nats ----------------------------------------------------------------------------


Output = Literal["live", "lines", "json"]


def parse_start(text: str) -> Any:
    """``--start``: new, all, a stream sequence, or an ISO time (UTC unless it says otherwise)."""
    if text in ("new", "all"):
        return text
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--start takes new, all, a sequence number or an ISO time, got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class BusWatchOptions:
    nats_url: str
    subject: str
    start: str = "new"
    durable: str | None = None
    throttle_ms: float = 100.0
    depth: int = 10
    seconds: float | None = None
    output: Output = "live"


def _kind(value: Any) -> str:
    import rxpro.nats as bus

    try:
        return bus.channel_of(value)  # the shape rules the publisher used
    except Exception:  # noqa: BLE001 - unknown shapes print as JSON
        return "json"


class _Views:
    """One view per (channel, symbol) seen on the subject; the first one for the live table."""

    def __init__(self, subject: str, depth: int) -> None:
        import rxpro.nats as bus

        self.depth = depth
        self.views: dict[tuple[str, str], View] = {}
        self.fixed: tuple[str, str, str, str] | None = None
        if "*" not in subject and ">" not in subject:
            try:
                parts = bus.parse_subject(subject)
                channel, _, timeframe = parts.channel.partition("_")
                self.fixed = (parts.exchange, channel, parts.symbol, timeframe)
            except bus.InvalidSubject:
                self.fixed = None

    def view(self, value: Any) -> View | None:
        if self.fixed is not None:
            exchange, kind, symbol, timeframe = self.fixed
        else:
            exchange, kind, symbol, timeframe = "", _kind(value), "", "1m"
            if isinstance(value, dict):
                symbol = str(value.get("symbol") or "")
        if kind not in ("ticker", "trades", "orderbook", "ohlcv"):
            return None
        key = (kind, symbol)
        view = self.views.get(key)
        if view is None:
            view = view_for(kind, exchange or "nats", symbol, self.depth, timeframe or "1m")
            self.views[key] = view
        return view


async def watch_bus(options: BusWatchOptions, console: Console, announce: Callable[[str], None] | None = None) -> None:
    """Show ``options.subject`` until ``options.seconds`` pass or Ctrl-C (cancellation)."""
    import rxpro.nats as bus

    start = parse_start(options.start)
    try:
        source = bus.stream(options.subject, options.nats_url, start=start, durable=options.durable)
    except (bus.InvalidSubject, rxpro.InvalidArgument) as error:
        raise UserError(str(error)) from None
    views = _Views(options.subject, options.depth)
    output = options.output if views.fixed is not None else ("lines" if options.output == "live" else options.output)
    finished = asyncio.Event()
    failures: list[Exception] = []

    def fail(error: Exception) -> None:
        failures.append(error)
        finished.set()

    if announce is not None:
        durable = f" as durable {options.durable}" if options.durable else ""
        announce(f"watching {options.subject} on {options.nats_url} from {options.start}{durable}; Ctrl-C to stop")
    throttled = source if options.throttle_ms <= 0 else source.pipe(
        throttle(options.throttle_ms, key=lambda value: (_kind(value), value.get("symbol")
                                                         if isinstance(value, dict) else None)))
    try:
        if output == "live":
            first = views.view({})
            assert first is not None
            with Live(waiting(first.title()), console=console, auto_refresh=False) as live:
                def show(value: Any) -> None:
                    view = views.view(value)
                    if view is not None:
                        view.add(value)
                        live.update(view.render(), refresh=True)

                subscription = throttled.subscribe(show, fail, finished.set)
                await _run(finished, options.seconds, subscription.dispose)
        else:
            out = PipeSafe(sys.stdout)

            def emit(value: Any) -> None:
                view = views.view(value)
                if options.output == "json" or view is None:
                    text = orjson.dumps(value, default=str).decode()
                else:
                    view.add(value)
                    text = view.line(value)
                if not out.line(text):
                    fail(BrokenPipeError())

            # every trade is an event worth its line (and every value, for --json with --throttle 0)
            lines = source if views.fixed is not None and views.fixed[1] == "trades" else throttled
            subscription = lines.subscribe(emit, fail, finished.set)
            await _run(finished, options.seconds, subscription.dispose)
    finally:
        await source.wait_closed()  # acknowledged (durable) and disconnected, also on Ctrl-C
    if failures:
        failure = failures[0]
        if nats_user_error(failure) or is_user_error(failure):
            raise UserError(str(failure)) from failure
        raise failure


async def _run(finished: asyncio.Event, seconds: float | None, dispose: Callable[[], None]) -> None:
    try:
        await asyncio.wait_for(finished.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    finally:
        dispose()
