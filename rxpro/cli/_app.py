"""The click command group behind ``rxpro`` and ``python -m rxpro``, and its exit codes.

Exit codes: 0 done; 1 the exchange, network or rxpro failed; 2 a bad command
line, exchange id, symbol, stream, timeframe or file; 130 Ctrl-C; 143 SIGTERM;
141 stdout closed early (``| head``). Every error is one line on stderr
(``--debug`` adds the traceback).
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import traceback
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

import click
import orjson
from rich.console import Console
from rich.table import Table

from ._errors import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Interrupted,
    UserError,
)
from ._output import PipeSafe
from ._streams import STREAMS, WATCHABLE


class Finite(click.FloatRange):
    """``click.FloatRange`` that refuses ``nan`` and ``inf`` (which pass its bounds), as bad input: exit 2."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number

__all__ = ["cli", "main"]

_T = TypeVar("_T")


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` whose Ctrl-C (SIGTERM too) first lets the coroutine close what it opened.

    asyncio.run cancels the task on SIGINT and raises ``KeyboardInterrupt`` once it
    has unwound; SIGTERM gets the same cancellation here. Exit 130 / 143.
    """
    try:
        return asyncio.run(_terminable(coroutine))
    except KeyboardInterrupt:
        raise Interrupted() from None


async def _terminable(coroutine: Coroutine[Any, Any, _T]) -> _T:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
        handled = True
    except (NotImplementedError, RuntimeError, ValueError):  # no signal handlers here (Windows, a thread)
        handled = False
    try:
        return await coroutine
    except asyncio.CancelledError:
        if terminated:
            raise Interrupted(EXIT_TERMINATED) from None
        raise
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)


def _note(text: str) -> None:
    """A status line on stderr, so stdout stays data."""
    click.echo(f"rxpro: {text}", err=True)


def _stdout() -> Console:
    return Console(highlight=False)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Examples:\n\n\b\n"
    "  rxpro watch binance BTC/USDT --stream orderbook --depth 10\n"
    "  rxpro watch okx BTC/USDT --simulator --stream trades --seconds 10\n"
    "  rxpro record binance BTC/USDT ETH/USDT --streams ticker,trades -o session.jsonl.gz --seconds 60\n"
    "  rxpro replay session.jsonl.gz --speed 10 --print\n"
    "  rxpro publish binance BTC/USDT ETH/USDT --streams trades,orderbook:20 --nats nats://127.0.0.1:4222\n"
    "  rxpro watch --nats nats://127.0.0.1:4222 'rxpro.binance.trades.*'",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")  # read by main()
@click.version_option(package_name="rxpro", prog_name="rxpro")
def cli(debug: bool) -> None:
    """ccxt.pro WebSocket streams as ReactiveX Observables, from the command line.

    Add --simulator to watch or record to run offline on the bundled recordings
    of Binance BTC/USDT, ETH/USDT and OKX BTC/USDT.
    """


# -- exchanges ---------------------------------------------------------------------------------


@cli.command(short_help="Exchange ids and the streams each has.")
@click.argument("ids", nargs=-1, metavar="[EXCHANGE]...")
@click.option("--stream", "stream", type=click.Choice([s.name for s in STREAMS]), help="Only exchanges with this stream.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def exchanges(ids: tuple[str, ...], stream: str | None, as_json: bool) -> int:
    """Exchange ids, their status and the streams each has (from ccxt's exchange.has).

    Lists the CCXT Pro manual's 64 ids and every other ccxt.pro id: supported, redirected to the id
    ccxt renamed it to, or unsupported (with the reason).
    """
    rows = _listing(ids)
    if stream is not None:
        rows = [row for row in rows if stream in row.streams]
    if as_json:
        click.echo(orjson.dumps([row.as_json() for row in rows], option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    private = {s.name for s in STREAMS if s.private}
    table = Table(title=f"{len(rows)} exchanges", caption="* emulated by ccxt from another stream")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("name")
    table.add_column("public streams")
    table.add_column("private streams")
    table.add_column("status")
    for row in rows:
        names = [f"{s}*" if s in row.emulated else s for s in row.streams]
        public = [n for n, s in zip(names, row.streams) if s not in private]
        own = [n for n, s in zip(names, row.streams) if s in private]
        table.add_row(row.id, row.name, " ".join(public), " ".join(own), row.status)
    _stdout().print(table)
    return EXIT_OK


def _listing(ids: Sequence[str]) -> list[Any]:
    from ._exchanges import exchange_streams

    try:
        return exchange_streams(ids)
    except KeyboardInterrupt:
        raise Interrupted() from None


# -- watch -------------------------------------------------------------------------------------

_TICKER_CHANNEL_HELP = ("The venue's ticker channel, where ccxt offers a choice (Binance: ticker, with the best "
                        "bid/ask, the default here; or miniTicker, ccxt's default, without).")


@cli.command(short_help="A live view of one stream: ticker, trades, orderbook or ohlcv.")
@click.argument("exchange")
@click.argument("symbol", required=False)
@click.option("--stream", "-s", type=click.Choice(WATCHABLE), default="ticker", show_default=True)
@click.option("--throttle", "throttle_ms", type=Finite(min=0), default=100, show_default=True,
              help="At most one screen update per this many ms (0: every update).")
@click.option("--timeframe", default="1m", show_default=True, help="Candle length for --stream ohlcv.")
@click.option("--depth", type=click.IntRange(min=1), default=10, show_default=True,
              help="Order book levels, or rows of trades and candles.")
@click.option("--seconds", type=Finite(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--simulator", is_flag=True, help="Offline: the bundled recording on a local simulator.")
@click.option("--speed", type=Finite(min=0, min_open=True), default=1.0, show_default=True,
              help="Playback speed of --simulator or --replay, times real time.")
@click.option("--replay", "replay_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Offline: play this recording (rxpro record, hftbacktest, cryptofeed) at --speed.")
@click.option("--plain", is_flag=True, help="One line per update (the default when stdout is not a terminal).")
@click.option("--json", "as_json", is_flag=True, help="One JSON value per update.")
@click.option("--ticker-channel", metavar="NAME", help=_TICKER_CHANNEL_HELP)
@click.option("--nats", "nats_url", metavar="URL",
              help="Watch a NATS subject instead: rxpro watch --nats URL SUBJECT (see rxpro publish).")
@click.option("--start", default="new", show_default=True,
              help="With --nats: new, all, a stream sequence or an ISO time.")
@click.option("--durable", metavar="NAME", help="With --nats: a durable consumer; the next watch resumes after it.")
def watch(exchange: str, symbol: str | None, stream: str, throttle_ms: float, timeframe: str, depth: int,
          seconds: float | None, simulator: bool, speed: float, replay_file: Path | None, plain: bool,
          as_json: bool, ticker_channel: str | None, nats_url: str | None, start: str, durable: str | None) -> int:
    """Watch one stream of SYMBOL on EXCHANGE, live (e.g. rxpro watch binance BTC/USDT -s orderbook).

    SYMBOL is a unified symbol (BTC/USDT) or the exchange's market id (BTCUSDT).

    With --nats URL, watch SUBJECT (wildcards welcome) on a NATS JetStream bus instead:
    rxpro watch --nats nats://127.0.0.1:4222 rxpro.binance.trades.BTC_USDT
    """
    from ._watch import Output, WatchOptions, watch as run_watch

    console = _stdout()
    output: Output = "json" if as_json else "lines" if plain or not console.is_terminal else "live"
    if nats_url is not None:
        from ._bus import BusWatchOptions, watch_bus

        if symbol is not None:
            raise click.UsageError("with --nats, give one SUBJECT (e.g. rxpro.binance.trades.BTC_USDT)")
        if simulator or replay_file is not None:
            raise click.UsageError("--nats reads the bus: --simulator and --replay don't go with it")
        bus_options = BusWatchOptions(nats_url, exchange, start, durable, throttle_ms, depth, seconds, output)
        run(watch_bus(bus_options, console, None if output == "live" else _note))
        return EXIT_OK
    if symbol is None:
        raise click.UsageError("Missing argument 'SYMBOL'.")
    if durable is not None or start != "new":
        raise click.UsageError("--start and --durable go with --nats URL SUBJECT")
    if simulator and replay_file is not None:
        raise click.UsageError("--simulator and --replay exclude each other")
    if ticker_channel is not None and replay_file is not None:
        raise click.UsageError("--ticker-channel and --replay exclude each other: a replay plays the recorded channel")
    options = WatchOptions(exchange, symbol, stream, throttle_ms, timeframe, depth, seconds, simulator, speed, output,
                           replay_file, ticker_channel)
    announce = None if output == "live" else _note
    run(run_watch(options, console, announce))
    return EXIT_OK


# -- record / replay ---------------------------------------------------------------------------


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


@cli.command(short_help="Record streams to a gzip JSON-lines file.")
@click.argument("exchange")
@click.argument("symbols", nargs=-1, required=True, metavar="SYMBOL...")
@click.option("--streams", default="ticker,trades,orderbook,ohlcv:1m", show_default=True,
              help="Comma-separated: ticker, trades, orderbook[:limit], ohlcv:<timeframe>, bids_asks.")
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False, path_type=Path), default="session.jsonl.gz",
              show_default=True, help="The gzip JSON-lines file (rotated parts get .1, .2, ...).")
@click.option("--rotate-mb", type=Finite(min=0, min_open=True), help="Start a new file after this many MB.")
@click.option("--rotate-minutes", type=Finite(min=0, min_open=True),
              help="Start a new file after this many minutes.")
@click.option("--seconds", type=Finite(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--simulator", is_flag=True, help="Offline: record the bundled recording from a local simulator.")
@click.option("--speed", type=Finite(min=0, min_open=True), default=1.0, show_default=True,
              help="Playback speed of --simulator, times real time.")
@click.option("--force", is_flag=True, help="Overwrite the output file.")
@click.option("--ticker-channel", metavar="NAME", help=_TICKER_CHANNEL_HELP)
def record(exchange: str, symbols: tuple[str, ...], streams: str, path: Path, rotate_mb: float | None,
           rotate_minutes: float | None, seconds: float | None, simulator: bool, speed: float, force: bool,
           ticker_channel: str | None) -> int:
    """Record raw frames and REST answers of SYMBOL... on EXCHANGE to a file that `rxpro replay` plays.

    Ends after --seconds or at Ctrl-C (exit 130); the file is closed and the summary printed either way.
    """
    from ._recording import RecordOptions, record as run_record, record_report

    names = tuple(name.strip() for name in streams.split(",") if name.strip())
    if not names:
        raise UserError("--streams names no stream")
    options = RecordOptions(
        exchange, symbols, names, path,
        rotate_bytes=int(rotate_mb * 1024 * 1024) if rotate_mb else None,
        rotate_seconds=rotate_minutes * 60 if rotate_minutes else None,
        seconds=seconds, simulator=simulator, speed=speed, force=force, ticker_channel=ticker_channel,
    )

    def report(summary: Any) -> None:
        for line in record_report(summary):
            click.echo(line)

    summary = run(run_record(options, _stderr(), report, _note))
    return EXIT_ERROR if summary.errors and not summary.messages else EXIT_OK


@cli.command(short_help="Play a recording offline, then summarize it (watch --replay: a live view).")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILE...")
@click.option("--exchange", "exchange_id", help="The ccxt id, for files that don't record it.")
@click.option("--speed", type=Finite(min=0, min_open=True),
              help="Times real time (e.g. 10); default: as fast as possible on the recording's clock.")
@click.option("--stream", "-s", "streams", multiple=True, type=click.Choice(WATCHABLE),
              help="Streams to play (repeatable); default: every recorded one.")
@click.option("--symbol", "symbols", multiple=True, help="Symbols to play (repeatable); default: every recorded one.")
@click.option("--timeframe", default="1m", show_default=True, help="Candle length for ohlcv, if not recorded.")
@click.option("--depth", type=click.IntRange(min=1), default=10, show_default=True, help="Order book levels in lines.")
@click.option("--throttle", "throttle_ms", type=Finite(min=0), default=100, show_default=True,
              help="With --print/--json: at most one line per stream per this many recorded ms.")
@click.option("--print", "print_lines", is_flag=True, help="Print a line per (throttled) update.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON value per (throttled) update.")
def replay(files: tuple[Path, ...], exchange_id: str | None, speed: float | None, streams: tuple[str, ...],
           symbols: tuple[str, ...], timeframe: str, depth: int, throttle_ms: float, print_lines: bool,
           as_json: bool) -> int:
    """Play FILE... (rxpro, hftbacktest or cryptofeed recordings) through ccxt's parsers, offline.

    Shows progress, then what each stream emitted (a summary, also after Ctrl-C); --print or --json
    print the values as they come. For a live view of one stream, use
    `rxpro watch EXCHANGE SYMBOL --replay FILE [-s STREAM] [--speed N]`.
    """
    from ._recording import ReplayOptions, ReplayOutput, replay as run_replay, replay_failed, replay_report

    output: ReplayOutput = "json" if as_json else "lines" if print_lines else "summary"
    options = ReplayOptions(files, exchange_id, speed, streams, symbols, timeframe, depth, throttle_ms, output)

    def report(outcome: Any) -> None:
        echo = click.echo if output == "summary" else _note
        for line in replay_report(outcome):
            echo(line)

    outcome = run(run_replay(options, _stderr(), report, _note))
    return EXIT_ERROR if replay_failed(outcome) else EXIT_OK


# -- publish ---------------------------------------------------------------------------------


@cli.command(short_help="Publish streams to NATS JetStream (a feed process).")
@click.argument("exchange")
@click.argument("symbols", nargs=-1, required=True, metavar="SYMBOL...")
@click.option("--streams", default="trades", show_default=True,
              help="Comma-separated: trades, ticker, orderbook:<limit>, ohlcv:<timeframe>.")
@click.option("--nats", "nats_url", required=True, metavar="URL",
              help="The NATS server(s): nats://127.0.0.1:4222 (comma-separate a cluster's).")
@click.option("--shard", metavar="K/N", help="Publish only every N-th symbol, starting with the K-th (1/2, 2/2).")
@click.option("--seconds", type=Finite(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--simulator", is_flag=True, help="Offline: the bundled recording on a local simulator.")
@click.option("--speed", type=Finite(min=0, min_open=True), default=1.0, show_default=True,
              help="Playback speed of --simulator, times real time.")
@click.option("--stream-name", default="RXPRO", show_default=True,
              help="The JetStream stream, created on <prefix>.> when none stores the subjects.")
@click.option("--replicas", type=click.IntRange(min=1, max=5), default=1, show_default=True,
              help="Replicas of a stream this creates (3 on a 3-node cluster).")
@click.option("--prefix", default="rxpro", show_default=True, help="Subjects are <prefix>.<exchange>.<channel>.<symbol>.")
@click.option("--burst", type=click.IntRange(min=1), metavar="COUNT",
              help="With --simulator: COUNT synthetic trades per symbol as fast as possible; ends once they are stored.")
@click.option("--buffer", "max_buffered", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Updates per stream waiting for JetStream's acknowledgement; one more stops the feed (exit 1).")
def publish(exchange: str, symbols: tuple[str, ...], streams: str, nats_url: str, shard: str | None,
            seconds: float | None, simulator: bool, speed: float, stream_name: str, replicas: int,
            prefix: str, burst: int | None, max_buffered: int) -> int:
    """Publish SYMBOL... of EXCHANGE to NATS JetStream, one message per update, until --seconds or Ctrl-C.

    Subjects: <prefix>.<exchange>.<channel>.<symbol>, e.g. rxpro.binance.orderbook_20.BTC_USDT.
    Order books go out only with a limit (orderbook:20): every update carries the top levels.
    """
    from ._bus import FeedOptions, parse_feed_streams, parse_shard, publish_feed

    options = FeedOptions(exchange, symbols, parse_feed_streams(streams), nats_url, parse_shard(shard), seconds,
                          simulator, speed, stream_name, replicas, prefix, burst, max_buffered)
    run(publish_feed(options, click.echo, _note))
    return EXIT_OK


# -- demo --------------------------------------------------------------------------------------


@cli.command(short_help="Offline demo: a throttled ticker and book from recorded Binance data.")
@click.option("--seconds", type=Finite(min=0, min_open=True), default=5.0, show_default=True)
@click.option("--symbol", type=click.Choice(["BTC/USDT", "ETH/USDT"]), default="BTC/USDT", show_default=True)
@click.option("--speed", type=Finite(min=0, min_open=True), default=20.0, show_default=True,
              help="Playback speed, times real time.")
def demo(seconds: float, symbol: str, speed: float) -> int:
    """Offline: replay recorded Binance data, print a throttled ticker and book."""
    from rxpro._demo import demo as run_demo

    out = PipeSafe(sys.stdout)
    run(run_demo(seconds, symbol=symbol, speed=speed, out=cast(TextIO, out)))
    if out.broken:
        raise BrokenPipeError()
    return EXIT_OK


# -- main --------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _interrupted(error: BaseException) -> bool:
    """Whether ``error`` wraps a Ctrl-C: Python 3.11 turns a KeyboardInterrupt raised in a class body's
    ``__set_name__`` (ccxt's ``ImplicitAPI``, while ccxt is being imported) into a RuntimeError."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="rxpro", standalone_mode=False)
    except Interrupted as interrupted:
        return interrupted.exit_code
    except (click.Abort, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help() if error.ctx else "", err=False)
        return EXIT_OK
    except click.UsageError as error:
        where = error.ctx.command_path if error.ctx else "rxpro"
        click.echo(f"{where}: error: {_one_line(error.format_message())} (see {where} --help)", err=True)
        return EXIT_USAGE
    except click.ClickException as error:
        click.echo(f"rxpro: error: {_one_line(error.format_message())}", err=True)
        return error.exit_code
    except BrokenPipeError:
        # the reader went away (``rxpro watch ... | head``): no more output, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:  # noqa: BLE001 - the one place that turns any failure into a line
        if _interrupted(error):
            return EXIT_INTERRUPTED
        if debug:
            traceback.print_exc()
        message = _one_line(str(error)) or "(no message)"
        click.echo(f"rxpro: error: {type(error).__name__}: {message}", err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK
