"""``rxpro record`` and ``rxpro replay``: the command-line faces of ``rxpro.Recorder`` and ``rxpro.replay``.

Both show progress on stderr (when it is a terminal) and print a summary on
stdout; the recording and replaying themselves live in ``rxpro._record`` /
``rxpro._replay``.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from reactivex.abc import DisposableBase
from reactivex.disposable import CompositeDisposable
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

import rxpro
from rxpro._replay_formats import recorded_symbols
from rxpro._stream_kinds import stream_kind_name
from rxpro.operators import throttle

from ._errors import UserError
from ._output import PipeSafe
from ._session import (
    check_simulated,
    exchange_class,
    load_replay,
    simulator,
    ticker_config,
    validate_stream,
    validate_symbols,
    validate_timeframe,
)
from ._streams import WATCHABLE
from ._streams import source as stream_source
from ._views import View, view_for

__all__ = [
    "RecordOptions",
    "check_recorded",
    "ReplayOptions",
    "ReplayReport",
    "StreamTally",
    "record",
    "record_report",
    "replay",
    "replay_failed",
    "replay_report",
    "size",
    "stream_kind",
]

def stream_kind(name: str) -> str:
    """``'ohlcv:1m'`` -> ``'ohlcv'``, ``'book'`` -> ``'orderbook'``: the stream behind a recorder stream name
    (rxpro's recorder accepts ``book``/``order_book``; cryptofeed records ``l2_book`` and ``candles``)."""
    return stream_kind_name(name)


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def _progress(console: Console, bar: bool) -> Progress:
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if bar:
        columns += [BarColumn(), TaskProgressColumn()]
    columns += [TimeElapsedColumn(), TextColumn("{task.fields[stats]}")]
    # transient: the summary replaces it; on a non-terminal it draws nothing
    return Progress(*columns, console=console, transient=True)


# -- record ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordOptions:
    exchange_id: str
    symbols: tuple[str, ...]
    streams: tuple[str, ...]
    path: Path
    rotate_bytes: int | None = None
    rotate_seconds: float | None = None
    seconds: float | None = None
    simulator: bool = False
    speed: float | None = 1.0
    force: bool = False
    ticker_channel: str | None = None  # the venue's name; None: the one with bid/ask (see ticker_config)


def _rotated_parts(path: Path) -> list[Path]:
    """Existing files that rotating ``path`` would write: ``session.<n>.jsonl.gz`` (``rxpro._record.rotated_path``)."""
    stem, dot, suffixes = path.name.partition(".")
    part = re.compile(rf"{re.escape(stem)}\.\d+{re.escape(dot + suffixes)}")
    folder = path.parent if str(path.parent) else Path(".")
    return sorted(p for p in folder.glob(f"{glob.escape(stem)}.*") if part.fullmatch(p.name))


def _check_output(path: Path, force: bool, rotates: bool = False) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: no folder {folder}")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: {folder} is not writable")
    if path.exists() and not force:
        raise UserError(f"{path} exists; pass --force to overwrite it")
    parts = _rotated_parts(path) if rotates and not force else []
    if parts:
        raise UserError(f"{parts[0]} exists (a rotated part of an earlier recording); "
                        "pass --force to overwrite it, or choose another -o")


async def record(
    options: RecordOptions,
    status: Console,
    report: Callable[[Any], None],
    announce: Callable[[str], None] | None = None,
) -> Any:
    """Record until ``options.seconds`` pass or Ctrl-C; ``report`` gets the summary either way.

    Bad input (exchange, symbols, streams, output path) raises :class:`UserError`
    and leaves no file behind.
    """
    exchange_class(options.exchange_id)
    _check_output(options.path, options.force, rotates=bool(options.rotate_bytes or options.rotate_seconds))
    config = ticker_config(options.exchange_id, options.ticker_channel)
    try:
        recorder = rxpro.Recorder(
            options.exchange_id, list(options.symbols), list(options.streams), options.path,
            config=config, rotate_bytes=options.rotate_bytes, rotate_seconds=options.rotate_seconds,
        )
    except rxpro.InvalidArgument as error:
        raise UserError(str(error)) from None
    if options.simulator:
        check_simulated(options.exchange_id, options.symbols)
    async with AsyncExitStack() as stack:
        if options.simulator:
            sim = await stack.enter_async_context(simulator(options.exchange_id, options.symbols, options.speed))
            recorder.prepare = sim.attach
        recording = False
        try:
            await recorder.start()
            exchange = recorder.exchange
            await validate_symbols(exchange, options.symbols)
            for name in options.streams:
                validate_stream(exchange, stream_kind(name))
                if stream_kind(name) == "ohlcv":
                    validate_timeframe(exchange, name.partition(":")[2] or "1m")
            recording = True
            if announce is not None:
                announce(f"recording {exchange.id} {' '.join(options.symbols)} ({', '.join(options.streams)}) "
                         f"to {options.path}; Ctrl-C to stop")
            await _show_recording(recorder, options, status)
        finally:
            summary = await recorder.close()
            if recording:
                report(summary)
            else:
                for file in summary.files:
                    Path(file).unlink(missing_ok=True)
    return summary


async def _show_recording(recorder: Any, options: RecordOptions, status: Console) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with _progress(status, bar=options.seconds is not None) as progress:
        task = progress.add_task(f"recording {recorder.exchange.id} {' '.join(options.symbols)}",
                                 total=options.seconds, stats="")
        while True:
            elapsed = loop.time() - started
            summary = recorder.summary()
            progress.update(task, completed=elapsed, stats=(
                f"{summary.messages:,} messages  {size(summary.raw_bytes)} → {size(summary.bytes)} on disk"
                f"  {len(summary.files)} file{'s' if len(summary.files) != 1 else ''}"))
            if options.seconds is not None and elapsed >= options.seconds:
                return
            remaining = 0.25 if options.seconds is None else options.seconds - elapsed
            await asyncio.sleep(min(0.25, remaining))


def record_report(summary: Any) -> list[str]:
    lines = [f"files     {', '.join(summary.files) or '-'}",
             f"messages  {summary.messages:,} received, {summary.sent:,} sent, {summary.http:,} REST responses",
             f"bytes     {summary.bytes:,} on disk ({summary.raw_bytes:,} uncompressed)",
             f"span      {summary.span_seconds:.3f} s"]
    lines += [f"error     {error}" for error in summary.errors]
    return lines


# -- replay ------------------------------------------------------------------------------------

ReplayOutput = Literal["summary", "lines", "json"]


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    paths: tuple[Path, ...]
    exchange_id: str | None = None
    speed: float | None = None
    streams: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    timeframe: str = "1m"
    depth: int = 10
    throttle_ms: float = 100.0
    output: ReplayOutput = "summary"


@dataclass(slots=True)
class StreamTally:
    """What one replayed stream emitted."""

    view: View
    count: int = 0
    last: Any = None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    paths: tuple[str, ...]
    exchange_id: str
    summary: Any
    tallies: dict[str, StreamTally]
    #: the share of the recording played when Ctrl-C (or SIGTERM) stopped it; None: played to its end
    stopped_at: float | None = None


def _open_replay(options: ReplayOptions) -> Any:
    return load_replay(options.paths, options.exchange_id, speed=options.speed, autostart=False)


def check_recorded(exchange: Any, symbols: Sequence[str], streams: Sequence[str],
                   timeframe: str | None = None) -> tuple[str, ...]:
    """A ``UserError`` for a symbol, stream or timeframe the replayed recording does not hold
    (the library's ``StreamNotRecorded``, word for word); returns the recording's symbols.

    Call after ``load_markets()``; a recording that does not name its symbols/streams accepts any.
    """
    try:
        exchange.replay.check_recorded(streams, symbols, timeframe)
    except rxpro.StreamNotRecorded as error:
        raise UserError(str(error)) from None
    return tuple(exchange.replay.recorded_symbols())


def _replay_streams(options: ReplayOptions, exchange: Any) -> tuple[str, ...]:
    kinds = exchange.replay.recorded_streams
    if not options.streams:
        found = tuple(kind for kind in WATCHABLE if kind in kinds)
        return found or ("trades", "orderbook")  # the streams every recording format holds
    return options.streams


async def replay(options: ReplayOptions, status: Console, report: Callable[[ReplayReport], None],
                 announce: Callable[[str], None] | None = None) -> ReplayReport:
    """Play the recording through ccxt's parsers into the chosen streams; ``report`` gets the result,
    also when Ctrl-C stops it half-way (what was played until then, as ``record`` does)."""
    exchange = _open_replay(options)
    subscriptions = CompositeDisposable()
    try:
        recording = exchange.replay.recording
        await exchange.load_markets()  # answered from the recording
        _, unmatched = recorded_symbols(exchange)
        if unmatched:
            status.print(f"note: skipping recorded {', '.join(unmatched)}: not in the recorded markets",
                         highlight=False, markup=False)
        await validate_symbols(exchange, options.symbols)
        recorded = check_recorded(exchange, options.symbols, options.streams)
        symbols = options.symbols or recorded
        if not symbols:
            raise UserError(f"{options.paths[0]} does not name its symbols; pass --symbol")
        streams = _replay_streams(options, exchange)
        timeframe = next(iter(exchange.replay.recorded_timeframes()), options.timeframe)
        if "ohlcv" in streams:
            validate_timeframe(exchange, timeframe)
        tallies: dict[str, StreamTally] = {}
        out = PipeSafe(sys.stdout)
        for symbol in symbols:
            for stream in streams:
                view = view_for(stream, exchange.id, symbol, options.depth, timeframe)
                tallies[f"{stream} {symbol}"] = tally = StreamTally(view)
                subscriptions.add(_subscribe(exchange, stream, symbol, timeframe, tally, options, out))
        if announce is not None:
            live = f"; `rxpro watch {exchange.id} {symbols[0]} --replay {options.paths[0]}` shows it live" \
                if options.output == "summary" else ""
            announce(f"replaying {exchange.id} {' '.join(symbols)} ({', '.join(streams)}) from "
                     f"{', '.join(map(str, options.paths))}; Ctrl-C to stop{live}")
        try:
            result = await _show_replay(exchange, status, out)
        except asyncio.CancelledError:
            # stopped (Ctrl-C, SIGTERM): say what was played until then, then stop
            report(ReplayReport(tuple(recording.paths), exchange.id, exchange.replay.summary(), tallies,
                                stopped_at=exchange.replay.progress))
            raise
        outcome = ReplayReport(tuple(recording.paths), exchange.id, result, tallies)
    finally:
        subscriptions.dispose()
        await exchange.close()
    if out.broken:
        raise BrokenPipeError()
    report(outcome)
    return outcome


def _subscribe(exchange: Any, stream: str, symbol: str, timeframe: str, tally: StreamTally,
               options: ReplayOptions, out: PipeSafe) -> DisposableBase:
    source = stream_source(exchange, stream, symbol, timeframe)

    def count(value: Any) -> None:
        tally.count += 1
        tally.last = value
        tally.view.add(value)

    def failed(error: Exception) -> None:
        tally.errors.append(f"{type(error).__name__}: {' '.join(str(error).split())}")

    subscriptions = CompositeDisposable(source.subscribe(count, failed))
    if options.output == "summary":
        return subscriptions
    # the replay's virtual clock drives throttle, so the lines are the same at any --speed
    lines = source if stream == "trades" or options.throttle_ms <= 0 else source.pipe(
        throttle(options.throttle_ms, key=(lambda candle: candle[0]) if stream == "ohlcv" else None))

    def emit(value: Any) -> None:
        out.line(orjson.dumps(value, default=str).decode() if options.output == "json" else tally.view.line(value))

    subscriptions.add(lines.subscribe(emit, lambda _: None))
    return subscriptions


async def _show_replay(exchange: Any, status: Console, out: PipeSafe) -> Any:
    control = exchange.replay
    with _progress(status, bar=True) as progress:
        task = progress.add_task(f"replaying {exchange.id}", total=max(control.total, 1), stats="")
        run = asyncio.ensure_future(control.run())
        try:
            while not run.done() and not out.broken:
                progress.update(task, completed=control.position, stats=f"{control.frames:,} frames fed")
                await asyncio.wait({run}, timeout=0.1)
            return run.result() if run.done() else control.summary()
        finally:
            if not run.done():
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
            out.flush()


def replay_report(outcome: ReplayReport) -> list[str]:
    summary = outcome.summary
    lines = [f"files     {', '.join(outcome.paths)}",
             f"exchange  {outcome.exchange_id}",
             f"frames    {summary.frames:,} fed, {summary.skipped:,} not subscribed, {summary.http:,} REST answers",
             f"span      {summary.span_seconds:.3f} s of recorded time"]
    if outcome.stopped_at is not None:
        lines.append(f"stopped   at {outcome.stopped_at:.1%} of the recording")
    for name, tally in outcome.tallies.items():
        last = tally.view.line(tally.last) if tally.last is not None else "-"
        lines.append(f"{name:<22}{tally.count:>8,}  last: {last}")
        lines += [f"error     {name}: {error}" for error in tally.errors]
    return lines


def replay_failed(outcome: ReplayReport) -> bool:
    """Whether a stream failed for a reason other than the user's choice."""
    return any(tally.errors for tally in outcome.tallies.values())

