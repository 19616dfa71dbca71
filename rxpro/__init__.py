"""rxpro: ccxt.pro WebSocket streams as ReactiveX Observables.

>>> ex = rxpro.exchange('binance')
>>> rxpro.ticker(ex, 'BTC/USDT').pipe(throttle(100)).subscribe(print)   # doctest: +SKIP
>>> await ex.watch_ticker('BTC/USDT')                                    # doctest: +SKIP

Every exchange id of ``ccxt.pro.exchanges`` is also an attribute: ``rxpro.binance``.
"""

from __future__ import annotations

import importlib

# The names below are imported on first use (PEP 562): ``import rxpro`` stays light (not even
# ``typing``), so the ``rxpro`` console script can take Ctrl-C quietly while ccxt (about a second)
# is being imported. mypy reads the imports under TYPE_CHECKING.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._errors import (
        ExchangeRenamedWarning,
        InvalidArgument,
        OperatorArgumentError,
        QuoteCurrencyError,
        ReplayFormatError,
        ReplayMissingResponse,
        StreamNotRecorded,
        StreamShapeError,
        UnsupportedExchange,
        UnsupportedExchangeAttribute,
    )
    from ._exchange import exchange
    from ._hub import ConnectionEvent
    from ._accessor import RxAccessor
    from ._mixin import RxExchangeMixin
    from ._registry import exchange_class, exchange_ids, manual_exchange_ids
    from ._record import RecordSummary, Recorder, record
    from ._replay import Replay, ReplaySummary, replay, replay_together
    from ._health import HealthPolicy
    from ._retry import RetryPolicy
    from ._scheduling import scheduler_for
    from ._sources import (
        balance,
        bids_asks,
        connection_events,
        liquidations,
        liquidations_for_symbols,
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

    from . import exchanges as exchanges  # type: ignore[attr-defined]  # noqa: F401
    from . import nats as nats  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "ConnectionEvent",
    "ExchangeRenamedWarning",
    "HealthPolicy",
    "InvalidArgument",
    "OperatorArgumentError",
    "QuoteCurrencyError",
    "RecordSummary",
    "Recorder",
    "Replay",
    "ReplayFormatError",
    "ReplayMissingResponse",
    "ReplaySummary",
    "RetryPolicy",
    "RxAccessor",
    "RxExchangeMixin",
    "StreamNotRecorded",
    "StreamShapeError",
    "UnsupportedExchange",
    "UnsupportedExchangeAttribute",
    "balance",
    "bids_asks",
    "connection_events",
    "exchange",
    "exchange_class",
    "exchange_ids",
    "exchanges",
    "liquidations",
    "liquidations_for_symbols",
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


#: public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    **{name: "._errors" for name in (
        "ExchangeRenamedWarning", "InvalidArgument", "OperatorArgumentError", "QuoteCurrencyError",
        "ReplayFormatError", "ReplayMissingResponse", "StreamNotRecorded", "StreamShapeError",
        "UnsupportedExchange", "UnsupportedExchangeAttribute")},
    "ConnectionEvent": "._hub",
    "RxAccessor": "._accessor", "RxExchangeMixin": "._mixin",
    "exchange": "._exchange", "exchange_class": "._registry", "exchange_ids": "._registry",
    "manual_exchange_ids": "._registry",
    "RecordSummary": "._record", "Recorder": "._record", "record": "._record",
    "Replay": "._replay", "ReplaySummary": "._replay",
    "replay": "._replay", "replay_together": "._replay",
    "RetryPolicy": "._retry", "HealthPolicy": "._health",
    "scheduler_for": "._scheduling",
    **{name: "._sources" for name in (
        "balance", "bids_asks", "connection_events", "liquidations", "liquidations_for_symbols", "messages", "my_trades",
        "my_trades_for_symbols", "ohlcv", "ohlcv_for_symbols", "order_book", "order_book_for_symbols",
        "orders", "orders_for_symbols", "positions", "status", "ticker", "tickers", "trades",
        "trades_for_symbols")},
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # once imported, a plain attribute
        return value
    if name in ("exchanges", "nats"):  # rxpro.nats needs the nats extra; not in __all__ for that reason
        return importlib.import_module(f".{name}", __name__)
    if name.startswith("__"):
        raise AttributeError(f"module 'rxpro' has no attribute {name!r}")
    # rxpro.binance etc.: the exchange classes, built on first access; an id rxpro cannot build
    # raises an UnsupportedExchange that is also an AttributeError (hasattr() answers False)
    from ._registry import exchange_attribute, is_exchange_id

    if is_exchange_id(name):
        return exchange_attribute(name)
    raise AttributeError(f"module 'rxpro' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the exchange ids too (rxpro.binance, ...): reading them imports ccxt, fine for dir()
    from ._registry import exchange_ids

    return sorted(set(globals()) | set(__all__) | set(exchange_ids()))
