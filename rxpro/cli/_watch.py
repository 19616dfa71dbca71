"""``rxpro watch``: one stream of one symbol as a live terminal view, plain lines or JSON lines."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import reactivex.operators as ops
from reactivex import Observable
from rich.console import Console
from rich.live import Live

from rxpro.operators import throttle

from ._errors import UserError
from ._output import PipeSafe
from ._recording import check_recorded
from ._session import (
    check_simulated,
    is_user_error,
    open_exchange,
    resolve_symbol,
    ticker_config,
    validate_stream,
    validate_timeframe,
)
from ._streams import source as stream_source
from ._views import View, view_for, waiting

__all__ = ["Output", "WatchOptions", "watch"]

Output = Literal["live", "lines", "json"]


@dataclass(frozen=True, slots=True)
class WatchOptions:
    exchange_id: str
    symbol: str
    stream: str = "ticker"
    throttle_ms: float = 100.0
    timeframe: str = "1m"
    depth: int = 10
    seconds: float | None = None
    simulator: bool = False
    speed: float | None = 1.0
    output: Output = "live"
    replay: Path | None = None
    ticker_channel: str | None = None  # the venue's name; None: the one with bid/ask (see ticker_config)


def _throttled(source: Observable[Any], options: WatchOptions) -> Observable[Any]:
    """The values worth a screen update: the latest per interval (per candle for ohlcv)."""
    if options.throttle_ms <= 0:
        return source
    if options.stream == "ohlcv":
        # per candle, so the final values of a closing candle are never dropped
        return source.pipe(throttle(options.throttle_ms, key=lambda candle: candle[0]))
    return source.pipe(throttle(options.throttle_ms))


def _plain(value: Any, view: View, output: Output) -> str:
    if output == "json":
        return orjson.dumps(value, default=str).decode()
    return view.line(value)


async def watch(options: WatchOptions, console: Console, announce: Callable[[str], None] | None = None) -> None:
    """Run the view until ``options.seconds`` pass, the stream ends, or Ctrl-C (cancellation).

    ``announce`` gets a one-line description once everything has been validated.
    """
    # a replay subscribes what was recorded; live and simulated, the venue's ticker channel with bid/ask
    config = None if options.replay is not None else ticker_config(options.exchange_id, options.ticker_channel)
    async with open_exchange(
        options.exchange_id, [options.symbol], simulated=options.simulator, speed=options.speed,
        replay=options.replay, config=config,
    ) as exchange:
        symbol = await resolve_symbol(exchange, options.symbol)  # a market id works, as in the Python API
        if options.simulator:
            check_simulated(exchange.id, [symbol])
        validate_stream(exchange, options.stream)
        if options.stream == "ohlcv":
            validate_timeframe(exchange, options.timeframe)
        if options.replay is not None:
            check_recorded(exchange, [symbol], [options.stream],
                           options.timeframe if options.stream == "ohlcv" else None)
        if announce is not None:
            where = f"a replay of {options.replay}" if options.replay else (
                "the simulator" if options.simulator else exchange.id)
            announce(f"watching {exchange.id} {symbol} {options.stream} on {where}; Ctrl-C to stop")
        view = view_for(options.stream, exchange.id, symbol, options.depth, options.timeframe)
        source = stream_source(exchange, options.stream, symbol, options.timeframe).pipe(ops.do_action(view.add))
        finished = asyncio.Event()
        failures: list[Exception] = []

        def fail(error: Exception) -> None:
            failures.append(error)
            finished.set()

        if options.replay is not None:
            # a replay ends with its file, and completes its streams (see rxpro._replay)
            def replay_done(done: asyncio.Future[Any]) -> None:
                error = None if done.cancelled() else done.exception()
                if isinstance(error, Exception):
                    fail(error)
                finished.set()

            exchange.replay.finished.add_done_callback(replay_done)

        if options.output == "live":
            with Live(waiting(view.title()), console=console, auto_refresh=False) as live:
                subscription = _throttled(source, options).subscribe(
                    lambda _: live.update(view.render(), refresh=True), fail, finished.set
                )
                await _run(finished, options.seconds, subscription.dispose)
        else:
            # every trade is an event worth its line; snapshots are throttled
            lines = source if options.stream == "trades" else _throttled(source, options)

            out = PipeSafe(sys.stdout)

            def emit(value: Any) -> None:
                if not out.line(_plain(value, view, options.output)):
                    fail(BrokenPipeError())  # ``| head`` went away: stop

            subscription = lines.subscribe(emit, fail, finished.set)
            await _run(finished, options.seconds, subscription.dispose)
        if failures:
            error = failures[0]
            if is_user_error(error):
                raise UserError(str(error)) from error
            raise error


async def _run(finished: asyncio.Event, seconds: float | None, dispose: Callable[[], None]) -> None:
    try:
        await asyncio.wait_for(finished.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    finally:
        dispose()
