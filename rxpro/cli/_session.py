"""Opening the exchange a command works on: live, on the offline simulator, or (later) a replay.

Every check whose failure is the user's (exchange id, symbol, timeframe, stream)
raises :class:`UserError` here, before any stream starts, so each command
reports it in one line with exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import ccxt

import rxpro
from rxpro._replay_protocols import merge_under
from rxpro.exchanges._table import VENUES, venue_for
from rxpro.testing import Simulator, SimulatorConfig
from rxpro.testing._simulator import SIMULATED_VENUES

from ._errors import UserError
from ._streams import support

__all__ = [
    "SIMULATED_SYMBOLS",
    "check_simulated",
    "exchange_class",
    "is_user_error",
    "load_replay",
    "open_exchange",
    "resolve_symbol",
    "simulator",
    "ticker_config",
    "validate_stream",
    "validate_symbols",
    "validate_timeframe",
]

#: Symbols with bundled recorded data, per exchange the simulator speaks (its venue objects say).
SIMULATED_SYMBOLS: dict[str, tuple[str, ...]] = {venue.id: venue.symbols for venue in SIMULATED_VENUES}


def exchange_class(exchange_id: str) -> type[Any]:
    """The rxpro class of ``exchange_id``, or a one-line :class:`UserError`."""
    try:
        return rxpro.exchange_class(exchange_id)
    except rxpro.UnsupportedExchange as error:
        close = difflib.get_close_matches(exchange_id, rxpro.exchange_ids(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `rxpro exchanges` lists them"
        raise UserError(f"unknown exchange {exchange_id!r}: {error.reason}{hint}") from None


@asynccontextmanager
async def simulator(exchange_id: str, symbols: Sequence[str], speed: float | None = 1.0) -> AsyncIterator[Simulator]:
    """A started simulator with the recording of ``symbols`` on ``exchange_id``, looped."""
    recorded = SIMULATED_SYMBOLS.get(exchange_id)
    if recorded is None:
        raise UserError(
            f"the simulator has recordings of {' and '.join(SIMULATED_SYMBOLS)} only, not {exchange_id!r}"
        )
    # a symbol that is not one of the recorded ones may be a market id (BTCUSDT, BTC-USDT): it is
    # told once the markets are loaded (resolve_symbol), so every recorded symbol is loaded for it
    wanted = list(symbols) if all(s in recorded for s in symbols) else list(recorded)
    async with Simulator(SimulatorConfig(speed=speed, loop=True, load_recordings=False)) as sim:
        sim.venue(exchange_id).load_for(wanted or recorded[:1])
        yield sim


def check_simulated(exchange_id: str, symbols: Sequence[str]) -> None:
    """A ``UserError`` for a (unified) symbol the simulator has no recording of."""
    recorded = SIMULATED_SYMBOLS.get(exchange_id)
    if recorded is None:
        return  # not an exchange the simulator speaks: simulator() says so
    missing = [s for s in symbols if s not in recorded]
    if missing:
        raise UserError(
            f"the bundled {exchange_id} recording has no {', '.join(missing)}; it has {', '.join(recorded)}"
        )


def ticker_config(exchange_id: str, channel: str | None) -> dict[str, Any]:
    """ccxt's config that subscribes tickers on ``channel`` (the venue's name for it).

    ``None``: the venue's channel with the best bid/ask, where ccxt offers a choice
    (Binance: ``ticker``, not ccxt's default ``miniTicker``); else ccxt's own.
    """
    channels = venue_for(exchange_id).ticker_channels
    if channel is None:
        channel = next(iter(channels), None)
        if channel is None:
            return {}
    elif not channels:
        offering = sorted(v.id for v in VENUES.values() if v.ticker_channels)
        raise UserError(f"--ticker-channel: ccxt has one ticker channel on {exchange_id}; "
                        f"the choice is offered on {', '.join(offering)}")
    elif channel not in channels:
        raise UserError(f"{exchange_id} has no ticker channel {channel!r}; it has {', '.join(channels)}")
    return {"options": merge_under({}, channels[channel])}


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise UserError(f"cannot read {path}: no such file")
    if not path.is_file():
        raise UserError(f"cannot read {path}: not a file")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None


def load_replay(paths: Sequence[Path], exchange_id: str | None = None, *, speed: float | None = None,
                autostart: bool = True) -> Any:
    """``rxpro.replay(paths)``; a missing, unreadable or foreign file, or another exchange's, is a ``UserError``."""
    for path in paths:
        _check_readable(path)
    if exchange_id is not None:
        exchange_class(exchange_id)
    where = str(paths[0])
    try:
        try:
            exchange = rxpro.replay([str(p) for p in paths], speed=speed, autostart=autostart)
        except ValueError as error:
            if exchange_id is None or "exchange is not recorded" not in str(error):
                raise
            exchange = rxpro.replay([str(p) for p in paths], exchange_id, speed=speed, autostart=autostart)
    except (ValueError, OSError, EOFError) as error:  # ReplayFormatError, bad gzip, bad JSON
        text = " ".join(str(error).split())
        raise UserError(text if where in text else f"{where}: {text}") from None
    except rxpro.UnsupportedExchange as error:  # the header names an exchange rxpro does not have
        raise UserError(f"{where}: recorded on {error.exchange_id!r}, which rxpro cannot replay: "
                        f"{error.reason}") from None
    if exchange_id is not None and exchange.id != exchange_id:
        raise UserError(f"{where} was recorded on {exchange.id}, not {exchange_id}")
    return exchange


@asynccontextmanager
async def open_exchange(
    exchange_id: str,
    symbols: Sequence[str] = (),
    *,
    simulated: bool = False,
    speed: float | None = 1.0,
    replay: Path | None = None,
    config: dict[str, Any] | None = None,
) -> AsyncIterator[Any]:
    """The rxpro exchange ``exchange_id`` (on the simulator, or replaying a file, when asked), closed on exit.

    ``config``: ccxt's config of a live or simulated exchange (a replay is configured
    by its recording).  Unknown ids fail before anything starts.
    """
    cls = exchange_class(exchange_id)
    if replay is not None:
        exchange = load_replay([replay], exchange_id, speed=speed)
        try:
            yield exchange
        finally:
            await exchange.close()
        return
    if not simulated:
        exchange = cls(config)
        try:
            yield exchange
        finally:
            await exchange.close()
        return
    async with simulator(exchange_id, symbols, speed) as sim:
        exchange = sim.attach(cls(config))
        try:
            yield exchange
        finally:
            await exchange.close()


async def validate_symbols(exchange: Any, symbols: Sequence[str]) -> None:
    """Load the markets and check every symbol against them (``UserError`` naming the bad one)."""
    await exchange.load_markets()
    for symbol in symbols:
        if symbol in exchange.markets:
            continue
        hint = ""
        by_id = getattr(exchange, "markets_by_id", None) or {}
        if symbol in by_id:  # 'BTCUSDT' typed for 'BTC/USDT'
            hint = f"; did you mean {by_id[symbol][0]['symbol']}?"
        else:
            close = difflib.get_close_matches(symbol.upper(), list(exchange.markets), n=3)
            if close:
                hint = f"; did you mean {', '.join(close)}?"
        raise UserError(f"{exchange.id} has no symbol {symbol!r}{hint}")


async def resolve_symbol(exchange: Any, symbol: str) -> str:
    """The unified symbol of ``symbol``, which may be a market id (``BTCUSDT``) as the Python API
    accepts; a ``UserError`` naming it when the exchange lists neither."""
    await exchange.load_markets()
    if symbol not in exchange.markets:
        by_id = getattr(exchange, "markets_by_id", None) or {}
        if symbol in by_id:
            return str(by_id[symbol][0]["symbol"])
        await validate_symbols(exchange, [symbol])  # raises, naming it
    return symbol


def validate_stream(exchange: Any, stream: str) -> None:
    if not support(exchange, stream):
        raise UserError(f"{exchange.id} has no {stream} stream")


def validate_timeframe(exchange: Any, timeframe: str) -> None:
    timeframes = getattr(exchange, "timeframes", None) or {}
    if timeframe not in timeframes:
        raise UserError(f"{exchange.id} has no timeframe {timeframe!r}; it has {', '.join(timeframes)}")


def is_user_error(error: BaseException) -> bool:
    """Whether a stream's error is about what the user asked for rather than the network."""
    return isinstance(error, (ccxt.BadSymbol, ccxt.BadRequest, ccxt.NotSupported))
