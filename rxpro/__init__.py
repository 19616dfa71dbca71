"""rxpro: ccxt.pro WebSocket streams as ReactiveX Observables.

>>> ex = rxpro.exchange('binance')
>>> rxpro.ticker(ex, 'BTC/USDT').pipe(throttle(100)).subscribe(print)   # doctest: +SKIP
>>> await ex.watch_ticker('BTC/USDT')                                    # doctest: +SKIP

Every exchange id of ``ccxt.pro.exchanges`` is also an attribute: ``rxpro.binance``.
"""

from __future__ import annotations

from typing import Any

from ._errors import InvalidArgument, UnsupportedExchange
from ._hub import ConnectionEvent
from ._mixin import RxAccessor, RxExchangeMixin
from ._registry import exchange, exchange_class, exchange_ids, manual_exchange_ids
from ._record import RecordSummary, Recorder, record
from ._replay import Replay, ReplayMissingResponse, ReplaySummary, replay, replay_together
from ._retry import RetryPolicy
from ._scheduling import scheduler_for
from ._sources import (
    balance,
    bids_asks,
    connection_events,
    liquidations,
    messages,
    my_trades,
    my_trades_for_symbols,
    ohlcv,
    ohlcv_for_symbols,
    order_book,
    order_book_for_symbols,
    orders,
    orders_for_symbols,
    positions,
    status,
    ticker,
    tickers,
    trades,
    trades_for_symbols,
)

from . import exchanges as exchanges  # type: ignore[attr-defined]  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ConnectionEvent",
    "InvalidArgument",
    "RecordSummary",
    "Recorder",
    "Replay",
    "ReplayMissingResponse",
    "ReplaySummary",
    "RetryPolicy",
    "RxAccessor",
    "RxExchangeMixin",
    "UnsupportedExchange",
    "balance",
    "bids_asks",
    "connection_events",
    "exchange",
    "exchange_class",
    "exchange_ids",
    "exchanges",
    "liquidations",
    "manual_exchange_ids",
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
    "record",
    "replay",
    "replay_together",
    "scheduler_for",
    "status",
    "ticker",
    "tickers",
    "trades",
    "trades_for_symbols",
]


def __getattr__(name: str) -> Any:
    # rxpro.binance etc.: the exchange classes, built on first access
    if name in exchange_ids() or name in manual_exchange_ids():
        return exchange_class(name)
    raise AttributeError(f"module 'rxpro' has no attribute {name!r}")
