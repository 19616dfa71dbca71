"""Module-level Observable sources in the ``ticker$(binance)`` style.

``rxpro.ticker(ex, 'BTC/USDT')`` is ``ex.rx.watch_ticker('BTC/USDT')``: the same
shared, lazy stream.  Each function is a thin, typed alias of the ``rx`` accessor.
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable

from ._errors import InvalidArgument
from ._hub import ConnectionEvent

__all__ = [
    "balance",
    "bids_asks",
    "connection_events",
    "liquidations",
    "liquidations_for_symbols",
    "messages",
    "my_trades",
    "my_trades_for_symbols",
    "ohlcv",
    "ohlcv_for_symbols",
    "order_book",
    "order_book_for_symbols",
    "orders",
    "orders_for_symbols",
    "positions",
    "status",
    "ticker",
    "tickers",
    "trades",
    "trades_for_symbols",
]


def _rx(exchange: Any) -> Any:
    accessor = getattr(exchange, "rx", None)
    if accessor is None or not hasattr(accessor, "observe"):
        raise InvalidArgument(
            f"{exchange!r} is not an rxpro exchange; build one with rxpro.exchange('<id>') or rxpro.exchanges.<id>()"
        )
    return accessor


def ticker(exchange: Any, symbol: str, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every ticker update of ``symbol`` (``watch_ticker``)."""
    return _rx(exchange).watch_ticker(symbol, params)  # type: ignore[no-any-return]


def tickers(exchange: Any, symbols: list[str] | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every updated ticker of ``symbols`` (``watch_tickers``), one ticker per emission."""
    return _rx(exchange).watch_tickers(symbols, params)  # type: ignore[no-any-return]


def bids_asks(exchange: Any, symbols: list[str] | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Best bid/ask updates (``watch_bids_asks``)."""
    return _rx(exchange).watch_bids_asks(symbols, params)  # type: ignore[no-any-return]


def order_book(exchange: Any, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Immutable snapshots of the order book of ``symbol``, sides cut to ``limit`` when given."""
    return _rx(exchange).watch_order_book(symbol, limit, params)  # type: ignore[no-any-return]


def order_book_for_symbols(exchange: Any, symbols: list[str], limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Snapshots of each updated book of ``symbols``."""
    return _rx(exchange).watch_order_book_for_symbols(symbols, limit, params)  # type: ignore[no-any-return]


def trades(exchange: Any, symbol: str, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every public trade of ``symbol``, one per emission, in arrival order."""
    return _rx(exchange).watch_trades(symbol, None, None, params)  # type: ignore[no-any-return]


def trades_for_symbols(exchange: Any, symbols: list[str], params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every public trade of ``symbols``."""
    return _rx(exchange).watch_trades_for_symbols(symbols, None, None, params)  # type: ignore[no-any-return]


def ohlcv(exchange: Any, symbol: str, timeframe: str = "1m", params: dict[str, Any] | None = None) -> Observable[list[Any]]:
    """Every new or updated exchange candle ``[timestamp, open, high, low, close, volume]``."""
    return _rx(exchange).watch_ohlcv(symbol, timeframe, None, None, params)  # type: ignore[no-any-return]


def ohlcv_for_symbols(exchange: Any, symbols_and_timeframes: list[list[str]], params: dict[str, Any] | None = None) -> Observable[Any]:
    """Candles of several ``[symbol, timeframe]`` pairs."""
    return _rx(exchange).watch_ohlcv_for_symbols(symbols_and_timeframes, None, None, params)  # type: ignore[no-any-return]


def status(exchange: Any, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Exchange status updates (``watch_status``)."""
    return _rx(exchange).watch_status(params)  # type: ignore[no-any-return]


def liquidations(exchange: Any, symbol: str, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every liquidation of ``symbol``."""
    return _rx(exchange).watch_liquidations(symbol, None, None, params)  # type: ignore[no-any-return]


def liquidations_for_symbols(exchange: Any, symbols: list[str], params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every liquidation of ``symbols``."""
    return _rx(exchange).watch_liquidations_for_symbols(symbols, None, None, params)  # type: ignore[no-any-return]


def balance(exchange: Any, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """The whole account balance after each update (private)."""
    return _rx(exchange).watch_balance(params)  # type: ignore[no-any-return]


def orders(exchange: Any, symbol: str | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every new or updated own order (private)."""
    return _rx(exchange).watch_orders(symbol, None, None, params)  # type: ignore[no-any-return]


def orders_for_symbols(exchange: Any, symbols: list[str], params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every new or updated own order of ``symbols`` (private)."""
    return _rx(exchange).watch_orders_for_symbols(symbols, None, None, params)  # type: ignore[no-any-return]


def my_trades(exchange: Any, symbol: str | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every own trade (private)."""
    return _rx(exchange).watch_my_trades(symbol, None, None, params)  # type: ignore[no-any-return]


def my_trades_for_symbols(exchange: Any, symbols: list[str], params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every own trade of ``symbols`` (private)."""
    return _rx(exchange).watch_my_trades_for_symbols(symbols, None, None, params)  # type: ignore[no-any-return]


def positions(exchange: Any, symbols: list[str] | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
    """Every new or updated position (private)."""
    return _rx(exchange).watch_positions(symbols, None, None, params)  # type: ignore[no-any-return]


def connection_events(exchange: Any) -> Observable[ConnectionEvent]:
    """Connection changes of ``exchange``: connected, disconnected, retrying, resubscribed, closed."""
    return _rx(exchange).connection_events()  # type: ignore[no-any-return]


def messages(exchange: Any) -> Observable[Any]:
    """Every raw frame ``exchange`` receives, before ccxt handles it."""
    return _rx(exchange).messages()  # type: ignore[no-any-return]
