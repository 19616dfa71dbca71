"""``exchange.rx``: the Observables of an exchange's ``watch_*`` methods and its WS trading calls.

``ex.rx.watch_trades('BTC/USDT')`` takes the arguments of ``await ex.watch_trades(...)``;
:class:`StreamSpec` binds and checks them (bad input is an error naming the value, on
subscribe), and the hub shares one subscription among every subscriber of the same
spec.  ccxt's camelCase spellings (``ex.rx.watchTicker``) work as they do on ccxt.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt
import reactivex
from ccxt.async_support.base.exchange import Exchange as CcxtExchange
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxpro.exchanges._table import venue_for

from ._backfill import GapFiller
from ._errors import InvalidArgument
from ._health import HealthPolicy
from ._hub import ConnectionEvent, Hub, Subscription
from ._observable import ExchangeObservable
from ._retry import RetryPolicy
from ._stream import Stream, unified_symbols
from ._trading import OrderCall, new_client_order_id

__all__ = ["RxAccessor", "StreamSpec", "has"]


#: watch methods whose stream is a list of entries: each entry is emitted once, so ccxt's
#: ``limit`` (how many entries one await returns) has no meaning for an Observable
_LIST_STREAMS = ("watch_trades", "watch_ohlcv", "watch_orders", "watch_my_trades", "watch_liquidations",
                 "watch_my_liquidations", "watch_positions")


def _implemented(exchange: Any, method: str) -> bool:
    """Whether the exchange's class implements ``method`` (not ccxt's base stub raising NotSupported).

    ccxt's awaitable runs whatever the class implements, whatever ``has`` says (blofin's
    ``watch_balance`` and htx's ``watch_positions`` are implemented, flagged ``None``).
    """
    implementation = getattr(type(exchange), method, None)
    return callable(implementation) and implementation is not getattr(CcxtExchange, method, None)


def _snake(name: str) -> str:
    """ccxt's camelCase spelling in snake_case (``watchOHLCV`` -> ``watch_ohlcv``, ``createOrderWs``)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def has(exchange: Any, method: str) -> Any:
    """``exchange.has`` for a snake_case method name (``watch_ohlcv`` -> ``has['watchOHLCV']``)."""
    wanted = method.replace("_", "").lower()
    for key, value in exchange.has.items():
        if key.lower() == wanted:
            return value
    return None


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


_SIGNATURES: dict[tuple[type, str], inspect.Signature] = {}


def _signature(cls: type, name: str) -> inspect.Signature:
    signature = _SIGNATURES.get((cls, name))
    if signature is None:
        signature = _SIGNATURES[(cls, name)] = inspect.signature(getattr(cls, name))
    return signature


#: methods whose ``symbols=None`` means every market and which fail on ``[]`` in ccxt
_ALL_OR_SOME = frozenset({"watch_tickers", "watch_bids_asks"})


def _check_arguments(exchange: Any, method: str, arguments: dict[str, Any]) -> None:
    """Reject arguments of the wrong type or value before ccxt sees them, naming them."""

    def bad(name: str, expected: str) -> InvalidArgument:
        value = arguments[name]
        return InvalidArgument(
            f"{exchange.id} {method}(): {name} must be {expected}, got {value!r} ({type(value).__name__})"
        )

    for name, value in arguments.items():
        if name == "symbol" and not (value is None or isinstance(value, str)):
            raise bad(name, "a unified symbol string such as 'BTC/USDT'")
        if name == "symbol" and isinstance(value, str) and not value:
            raise bad(name, "a non-empty symbol")
        if name == "symbols" and value is not None:
            if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
                isinstance(s, str) for s in value
            ):
                raise bad(name, "a list of symbol strings")
            if not value and (method.endswith("_for_symbols") or method in _ALL_OR_SOME):
                # ccxt fails on [] with an IndexError or an empty race (watch_positions([]) is "all")
                raise bad(name, "a non-empty list of symbol strings (or None where the method takes all)")
        if name in ("since", "limit") and value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, "an int or None")
            if name == "limit" and value < 1:
                raise bad(name, "a positive int or None")
        if name == "params" and value is not None and not isinstance(value, dict):
            raise bad(name, "a dict")
        if name == "timeframe":
            if not isinstance(value, str):
                raise bad(name, "a timeframe string such as '1m'")
            timeframes = getattr(exchange, "timeframes", None) or {}
            if timeframes and value not in timeframes:
                raise ccxt.BadRequest(
                    f"{exchange.id} has no timeframe {value!r}; it has {', '.join(timeframes)}"
                )
        if name == "symbolsAndTimeframes":
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
            ):
                raise bad(name, "a list of [symbol, timeframe] pairs")
            if not value:
                raise bad(name, "a non-empty list of [symbol, timeframe] pairs")
            timeframes = getattr(exchange, "timeframes", None) or {}
            for _, timeframe in value:
                if timeframes and timeframe not in timeframes:
                    raise ccxt.BadRequest(
                        f"{exchange.id} has no timeframe {timeframe!r}; it has {', '.join(timeframes)}"
                    )


def _failing(error: Exception) -> Observable[Any]:
    return reactivex.throw(error)


@dataclass(frozen=True)
class StreamSpec:
    """What one ``ex.rx.watch_*(...)`` call asks for, checked: the key its subscribers share and how to start it."""

    exchange: Any
    method: str
    arguments: dict[str, Any]
    key: Any
    description: str
    symbols: frozenset[str] | None
    book_limit: int | None

    @classmethod
    def of(cls, exchange: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> StreamSpec:
        """Bind and check ``exchange.<method>(*args, **kwargs)``; a ccxt error names what is wrong."""
        if not method.startswith("watch_") or not callable(getattr(exchange, method, None)):
            raise ccxt.NotSupported(f"{exchange.id} has no method {method}()")
        if not has(exchange, method) and not _implemented(exchange, method):
            raise ccxt.NotSupported(f"{exchange.id} does not support {method}() (per exchange.has)")
        try:
            bound = _signature(type(exchange), method).bind(exchange, *args, **kwargs)
        except TypeError as error:
            raise InvalidArgument(f"{exchange.id} {method}(): {error}") from None
        bound.apply_defaults()
        arguments = {k: v for k, v in list(bound.arguments.items())[1:]}
        _check_arguments(exchange, method, arguments)
        if method.startswith(_LIST_STREAMS) and arguments.get("limit") is not None:
            raise InvalidArgument(
                f"{exchange.id} {method}(): limit={arguments['limit']!r} has no meaning for an Observable, which "
                "emits every entry once as it arrives (ccxt's limit caps what one await returns); leave it out, "
                "or pipe reactivex.operators.take(n)")
        if "params" in arguments:
            params = arguments["params"]
            arguments["params"] = dict(params) if params else {}
        shown = ", ".join(repr(v) for k, v in arguments.items() if k != "params" and v is not None)
        return cls(exchange, method, arguments, (method, _freeze(arguments)), f"{exchange.id}.{method}({shown})",
                   _symbols_of(arguments), arguments.get("limit") if "order_book" in method else None)

    def call(self, name: str) -> Callable[[], Any]:
        """``exchange.<name>`` called with the arguments it accepts (a fresh ``params`` each time)."""
        fn = getattr(self.exchange, name)
        accepted = set(_signature(type(self.exchange), name).parameters)
        call_args = {k: v for k, v in self.arguments.items() if k in accepted}
        # ccxt may mutate the params it is given
        return lambda: fn(**{k: (dict(v) if isinstance(v, dict) else v) for k, v in call_args.items()})

    def _book_watch(self, subscription: Subscription, hub: Hub) -> Callable[[], Any]:
        """Its watch, asking first (markets loaded) whether an earlier book of its symbols streams on another channel."""
        exchange = self.exchange
        watch = subscription.start_call

        async def checked() -> Any:
            if not exchange.markets:
                await exchange.load_markets()
            conflict = _book_conflict(self, hub, subscription.since)
            if conflict is not None:
                raise conflict
            return await watch()

        return checked

    def subscription(self) -> Subscription:
        """A new subscription record of this stream (made when its first subscriber comes)."""
        exchange = self.exchange
        unwatch_name = "un_" + self.method
        unwatch = None
        if has(exchange, unwatch_name) and callable(getattr(exchange, unwatch_name, None)):
            unwatch = self.call(unwatch_name)
        hub = exchange._rx_hub
        stream = Stream(self.key, self.method, self.arguments, self.description, self.symbols, self.book_limit,
                        exchange, hub.stream_emptied, hub.stream_rejected, venue_for(exchange.id).trade_ids)
        venue = venue_for(exchange.id)
        subscription = Subscription(stream, self.call(self.method), unwatch)
        if venue.book_channel is not None and "order_book" in self.method:
            subscription.start_call = self._book_watch(subscription, hub)
        subscription.names_request = venue.names_request
        if getattr(exchange, "rx_watchdog", True):  # a replay has no reconnects: its silences are the recording's
            subscription.silence_ms = hub.health.silence_for(stream.topic, venue.silence_ms)
            if stream.topic == "trades":
                history = venue.trade_history if hub.health.backfill else None
                stream.gaps = GapFiller(stream.emit, history, exchange, hub.publish, hub.spawn, self.description)
        return subscription


def _book_conflict(spec: StreamSpec, hub: Hub, since: int | None = None) -> InvalidArgument | None:
    """Why ``spec`` can't start now: a book of one of its symbols streams on another channel (see ``Venue.book_channel``).

    On subscribe (``since`` None) every stream with subscribers counts; asked again when it
    starts, once markets are loaded (a market id then names its symbol), only those that got
    their subscribers before it did (``since``: its ``Subscription.since``), so the first of two
    streams is never refused for the second.
    """
    channel_of = venue_for(spec.exchange.id).book_channel
    if channel_of is None or "order_book" not in spec.method or not spec.symbols:
        return None
    exchange = spec.exchange

    def channel(symbol: str, arguments: dict[str, Any]) -> str:
        return channel_of(exchange, symbol, arguments.get("limit"), arguments.get("params") or {})

    def unified(symbols: frozenset[str]) -> frozenset[str]:  # 'BTC-USDT' is 'BTC/USDT' (markets loaded)
        return unified_symbols(exchange, symbols) or symbols

    wanted = unified(spec.symbols)
    for key, subscription in list(hub.subscriptions.items()):
        other = subscription.stream
        if (key == spec.key or not other.observers or "order_book" not in other.method or not other.symbols
                or (since is not None and subscription.since >= since)):
            continue
        for symbol in sorted(unified(other.symbols) & wanted):
            mine, theirs = channel(symbol, spec.arguments), channel(symbol, other.arguments)
            if mine != theirs:
                return InvalidArgument(
                    f"{spec.description} would stream {symbol}'s book on channel {mine!r} while "
                    f"{other.description} streams it on {theirs!r}: {exchange.id} keeps one book per symbol "
                    f"(ccxt's orderbooks[{symbol!r}]), which the two channels would overwrite in turn. Watch it "
                    f"with one limit and cut the snapshots to the depth each needs (e.g. "
                    f"ops.map(lambda b: b['bids'][:5]))"
                )
    return None


def _symbols_of(arguments: dict[str, Any]) -> frozenset[str] | None:
    if isinstance(arguments.get("symbol"), str):
        return frozenset([arguments["symbol"]])
    if arguments.get("symbols"):
        return frozenset(arguments["symbols"])
    if arguments.get("symbolsAndTimeframes"):
        return frozenset(p[0] for p in arguments["symbolsAndTimeframes"])
    return None


class RxAccessor:
    """``exchange.rx``: an Observable for every ``watch_*`` the exchange has.

    ``ex.rx.watch_trades('BTC/USDT')`` takes the same arguments as
    ``await ex.watch_trades('BTC/USDT')`` and shares its connection, subscription
    and caches.  List-shaped streams (trades, ohlcv, orders, my_trades,
    liquidations, positions) emit one item per new or updated entry;
    dict-shaped ones (ticker, order book, balance, status) emit the whole updated
    structure, as an immutable copy.  Any other ``watch_*`` method of the exchange
    is reachable the same way through attribute access.
    """

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange

    # -- configuration ---------------------------------------------------------

    @property
    def retry_policy(self) -> RetryPolicy:
        """How streams of this exchange recover from transient errors."""
        return self._exchange._rx_hub.retry_policy  # type: ignore[no-any-return]

    @retry_policy.setter
    def retry_policy(self, policy: RetryPolicy) -> None:
        if not isinstance(policy, RetryPolicy):
            raise InvalidArgument(f"retry_policy must be a RetryPolicy, got {policy!r}")
        self._exchange._rx_hub.retry_policy = policy

    @property
    def health(self) -> HealthPolicy:
        """How streams of this exchange tell dead from quiet (silence watchdog, connect and login bounds)."""
        return self._exchange._rx_hub.health  # type: ignore[no-any-return]

    @health.setter
    def health(self, policy: HealthPolicy) -> None:
        if not isinstance(policy, HealthPolicy):
            raise InvalidArgument(f"health must be a rxpro.HealthPolicy, got {policy!r}")
        self._exchange._rx_hub.health = policy

    # -- the generic mechanism -------------------------------------------------

    def observe(self, method: str, *args: Any, **kwargs: Any) -> Observable[Any]:
        """The Observable of ``exchange.<method>(*args, **kwargs)`` (a ``watch_*`` method)."""
        exchange = self._exchange
        try:
            spec = StreamSpec.of(exchange, method, args, kwargs)
        except ccxt.BaseError as error:
            return _failing(error)
        hub: Hub = exchange._rx_hub

        def subscribe(observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            if hub.closed:
                observer.on_error(ccxt.ExchangeClosedByUser(f"{exchange.id} is closed"))
                return Disposable()
            if hub.ended:  # a replay whose recording has ended
                observer.on_completed()
                return Disposable()
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                if exchange.asyncio_loop is None:
                    observer.on_error(
                        RuntimeError(f"subscribe to {spec.description} from a running asyncio loop (or Jupyter)")
                    )
                    return Disposable()
            conflict = _book_conflict(spec, hub)
            if conflict is not None:
                observer.on_error(conflict)
                return Disposable()
            return hub.subscribe(spec.key, spec.subscription, observer)

        return ExchangeObservable(subscribe, exchange)

    def messages(self) -> Observable[Any]:
        """Every raw frame the exchange receives (decoded JSON, or text), before ccxt handles it."""
        return self._exchange._rx_hub.messages  # type: ignore[no-any-return]

    def connection_events(self) -> Observable[ConnectionEvent]:
        """Connection changes of this exchange: connected, disconnected, retrying, resubscribed."""
        return self._exchange._rx_hub.events  # type: ignore[no-any-return]

    def call(self, method: str, *args: Any, **kwargs: Any) -> Observable[Any]:
        """A single-value Observable of an awaitable method (e.g. the WS trading calls).

        The call starts with the first subscriber and runs at most once; its result (or
        error) is replayed to every subscriber (see ``rxpro._trading``).
        """
        exchange = self._exchange
        if not callable(getattr(exchange, method, None)):
            return _failing(ccxt.NotSupported(f"{exchange.id} has no method {method}()"))
        client_order_id = order_ref = None
        venue = venue_for(exchange.id)
        if method == "create_order_ws":
            params = dict(args[5]) if len(args) > 5 and isinstance(args[5], dict) else dict(kwargs.get("params") or {})
            names = venue.client_order_id_params
            given = next((str(params[name]) for name in names if params.get(name)), None)  # the user's own id wins
            if given is None and venue.generates_client_order_id:
                given = client_order_id = params["clientOrderId"] = new_client_order_id()
                if len(args) > 5:
                    args = args[:5] + (params,) + args[6:]
                else:
                    kwargs = dict(kwargs, params=params)
            order_ref = given
        return OrderCall(exchange, method, args, kwargs, client_order_id, order_ref)

    # -- typed public streams (the same arguments as ccxt.pro's) ----------------

    def watch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_ticker", symbol, params)

    def watch_tickers(self, symbols: list[str] | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_tickers", symbols, params)

    def watch_bids_asks(self, symbols: list[str] | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_bids_asks", symbols, params)

    def watch_order_book(self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_order_book", symbol, limit, params)

    def watch_order_book_for_symbols(self, symbols: list[str], limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_order_book_for_symbols", symbols, limit, params)

    def watch_trades(self, symbol: str, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_trades", symbol, since, limit, params)

    def watch_trades_for_symbols(self, symbols: list[str], since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_trades_for_symbols", symbols, since, limit, params)

    def watch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[list[Any]]:
        return self.observe("watch_ohlcv", symbol, timeframe, since, limit, params)

    def watch_ohlcv_for_symbols(self, symbols_and_timeframes: list[list[str]], since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[list[Any]]:
        return self.observe("watch_ohlcv_for_symbols", symbols_and_timeframes, since, limit, params)

    def watch_status(self, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_status", params)

    def watch_liquidations(self, symbol: str, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_liquidations", symbol, since, limit, params)

    def watch_liquidations_for_symbols(self, symbols: list[str], since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_liquidations_for_symbols", symbols, since, limit, params)

    def watch_balance(self, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_balance", params)

    def watch_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_orders", symbol, since, limit, params)

    def watch_orders_for_symbols(self, symbols: list[str], since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_orders_for_symbols", symbols, since, limit, params)

    def watch_my_trades(self, symbol: str | None = None, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_my_trades", symbol, since, limit, params)

    def watch_my_trades_for_symbols(self, symbols: list[str], since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_my_trades_for_symbols", symbols, since, limit, params)

    def watch_positions(self, symbols: list[str] | None = None, since: int | None = None, limit: int | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.observe("watch_positions", symbols, since, limit, params)

    # -- WS trading: single-value Observables -----------------------------------

    def create_order_ws(self, symbol: str, type: str, side: str, amount: float, price: float | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.call("create_order_ws", symbol, type, side, amount, price, {} if params is None else params)

    def edit_order_ws(self, id: str, symbol: str, type: str, side: str, amount: float | None = None, price: float | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.call("edit_order_ws", id, symbol, type, side, amount, price, {} if params is None else params)

    def cancel_order_ws(self, id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Observable[dict[str, Any]]:
        return self.call("cancel_order_ws", id, symbol, {} if params is None else params)

    def cancel_orders_ws(self, ids: list[str], symbol: str | None = None, params: dict[str, Any] | None = None) -> Observable[Any]:
        return self.call("cancel_orders_ws", ids, symbol, {} if params is None else params)

    def cancel_all_orders_ws(self, symbol: str | None = None, params: dict[str, Any] | None = None) -> Observable[Any]:
        return self.call("cancel_all_orders_ws", symbol, {} if params is None else params)

    def __getattr__(self, name: str) -> Callable[..., Observable[Any]]:
        if name.startswith("watch") and not name.startswith("watch_") or name.endswith("Ws"):
            return getattr(self, _snake(name))  # type: ignore[no-any-return]  # ccxt's camelCase: watchTicker
        if name.startswith("watch_"):
            return lambda *args, **kwargs: self.observe(name, *args, **kwargs)
        if name.endswith("_ws"):
            return lambda *args, **kwargs: self.call(name, *args, **kwargs)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower() for k, v in self._exchange.has.items() if v and k.startswith("watch"))
        return sorted(names)
