"""The click command group behind ``rxpro`` and ``python -m rxpro``, and its exit codes.

Exit codes: 0 done; 1 the exchange, network or rxpro failed; 2 a bad command
line, exchange id, symbol, stream, timeframe or file; 130 Ctrl-C. Every
error is one line on stderr (``--debug`` adds the traceback).
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.table import Table

from ._errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Interrupted, UserError
from ._streams import STREAMS, WATCHABLE

__all__ = ["cli", "main"]

_T = TypeVar("_T")


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` whose Ctrl-C first lets the coroutine close what it opened, then exits 130."""
    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        raise Interrupted() from None


def _note(text: str) -> None:
    """A status line on stderr, so stdout stays data."""
    click.echo(f"rxpro: {text}", err=True)


def _stdout() -> Console:
    return Console(highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.version_option(package_name="rxpro", prog_name="rxpro")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ccxt.pro WebSocket streams as ReactiveX Observables, from the command line.

    Add --simulator to watch or record to run offline on the bundled recordings
    of Binance BTC/USDT, ETH/USDT and OKX BTC/USDT.
    """
    ctx.obj = {"debug": debug}


# -- exchanges ---------------------------------------------------------------------------------


@cli.command()
@click.argument("ids", nargs=-1, metavar="[EXCHANGE]...")
@click.option("--stream", "stream", type=click.Choice([s.name for s in STREAMS]), help="Only exchanges with this stream.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def exchanges(ids: tuple[str, ...], stream: str | None, as_json: bool) -> int:
    """Exchange ids and the streams each has (from ccxt's exchange.has)."""
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
    for row in rows:
        names = [f"{s}*" if s in row.emulated else s for s in row.streams]
        public = [n for n, s in zip(names, row.streams) if s not in private]
        own = [n for n, s in zip(names, row.streams) if s in private]
        table.add_row(row.id, row.name, " ".join(public), " ".join(own))
    _stdout().print(table)
    return EXIT_OK


def _listing(ids: Sequence[str]) -> list[Any]:
    from ._exchanges import exchange_streams

    try:
        return exchange_streams(ids)
    except KeyboardInterrupt:
        raise Interrupted() from None


# -- watch -------------------------------------------------------------------------------------


@cli.command()
@click.argument("exchange")
@click.argument("symbol")
@click.option("--stream", "-s", type=click.Choice(WATCHABLE), default="ticker", show_default=True)
@click.option("--throttle", "throttle_ms", type=click.FloatRange(min=0), default=100, show_default=True,
              help="At most one screen update per this many ms (0: every update).")
@click.option("--timeframe", default="1m", show_default=True, help="Candle length for --stream ohlcv.")
@click.option("--depth", type=click.IntRange(min=1), default=10, show_default=True,
              help="Order book levels, or rows of trades and candles.")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--simulator", is_flag=True, help="Offline: the bundled recording on a local simulator.")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Playback speed of --simulator, times real time.")
@click.option("--plain", is_flag=True, help="One line per update (the default when stdout is not a terminal).")
@click.option("--json", "as_json", is_flag=True, help="One JSON value per update.")
def watch(exchange: str, symbol: str, stream: str, throttle_ms: float, timeframe: str, depth: int,
          seconds: float | None, simulator: bool, speed: float, plain: bool, as_json: bool) -> int:
    """Watch one stream of SYMBOL on EXCHANGE, live (e.g. rxpro watch binance BTC/USDT -s orderbook)."""
    from ._watch import Output, WatchOptions, watch as run_watch

    console = _stdout()
    output: Output = "json" if as_json else "lines" if plain or not console.is_terminal else "live"
    options = WatchOptions(exchange, symbol, stream, throttle_ms, timeframe, depth, seconds, simulator, speed, output)
    announce = None if output == "live" else _note
    run(run_watch(options, console, announce))
    return EXIT_OK


# -- demo --------------------------------------------------------------------------------------


@cli.command()
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True)
@click.option("--symbol", type=click.Choice(["BTC/USDT", "ETH/USDT"]), default="BTC/USDT", show_default=True)
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
              help="Playback speed, times real time.")
def demo(seconds: float, symbol: str, speed: float) -> int:
    """Offline: replay recorded Binance data, print a throttled ticker and book."""
    from rxpro._demo import demo as run_demo

    run(run_demo(seconds, symbol=symbol, speed=speed))
    return EXIT_OK


# -- main --------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="rxpro", standalone_mode=False)
    except (Interrupted, click.Abort, KeyboardInterrupt):
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
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - the one place that turns any failure into a line
        if debug:
            traceback.print_exc()
        message = _one_line(str(error)) or "(no message)"
        click.echo(f"rxpro: error: {type(error).__name__}: {message}", err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK
