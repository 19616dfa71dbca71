"""The rxpro mixin that every exchange class combines with its ccxt.pro class.

``class binance(RxExchangeMixin, ccxt.pro.binance)`` — the manual's "Python
multiple inheritance".  The mixin adds the ``rx`` accessor and lets the hub see
the clients and message hashes ccxt creates; every ccxt attribute, option and
awaitable ``watch_*`` keeps working unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
from typing import Any, Callable

import ccxt
import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from ._client import ClientTap, RxClient
from ._errors import InvalidArgument
from ._hub import ConnectionEvent, Hub, Subscription
from ._observable import ExchangeObservable
from ._retry import RetryPolicy
from ._router import CcxtFuture, callbacks_of, swallow
from ._stream import Stream

__all__ = ["RxAccessor", "RxExchangeMixin"]

log = logging.getLogger("rxpro")

_WS_TRADING = ("create_order_ws", "edit_order_ws", "cancel_order_ws", "cancel_orders_ws", "cancel_all_orders_ws")


def _has(exchange: Any, method: str) -> Any:
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
            timeframes = getattr(exchange, "timeframes", None) or {}
            for _, timeframe in value:
                if timeframes and timeframe not in timeframes:
                    raise ccxt.BadRequest(
                        f"{exchange.id} has no timeframe {timeframe!r}; it has {', '.join(timeframes)}"
                    )


def _failing(error: Exception) -> Observable[Any]:
    return reactivex.throw(error)


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

    # -- the generic mechanism -------------------------------------------------

    def observe(self, method: str, *args: Any, **kwargs: Any) -> Observable[Any]:
        """The Observable of ``exchange.<method>(*args, **kwargs)`` (a ``watch_*`` method)."""
        exchange = self._exchange
        hub: Hub = exchange._rx_hub
        if not method.startswith("watch_") or not callable(getattr(exchange, method, None)):
            return _failing(ccxt.NotSupported(f"{exchange.id} has no method {method}()"))
        if not _has(exchange, method):
            return _failing(ccxt.NotSupported(f"{exchange.id} does not support {method}() (per exchange.has)"))
        try:
            bound = _signature(type(exchange), method).bind(exchange, *args, **kwargs)
        except TypeError as error:
            return _failing(InvalidArgument(f"{exchange.id} {method}(): {error}"))
        bound.apply_defaults()
        arguments = {k: v for k, v in list(bound.arguments.items())[1:]}
        try:
            _check_arguments(exchange, method, arguments)
        except ccxt.BaseError as error:
            return _failing(error)
        params = arguments.get("params")
        frozen_params = dict(params) if params else {}
        if "params" in arguments:
            arguments["params"] = frozen_params
        key = (method, _freeze(arguments))
        description = f"{exchange.id}.{method}({', '.join(repr(v) for k, v in arguments.items() if k != 'params' and v is not None)})"

        def call(name: str) -> Callable[[], Any]:
            fn = getattr(exchange, name)
            signature = _signature(type(exchange), name)
            accepted = set(signature.parameters)
            call_args = {k: v for k, v in arguments.items() if k in accepted}
            # a fresh params dict per call: ccxt may mutate what it is given
            return lambda: fn(**{k: (dict(v) if isinstance(v, dict) else v) for k, v in call_args.items()})

        unwatch_name = "un_" + method
        unwatch: Callable[[], Any] | None = None
        if _has(exchange, unwatch_name) and callable(getattr(exchange, unwatch_name, None)):
            unwatch = call(unwatch_name)
        symbols: frozenset[str] | None = None
        if isinstance(arguments.get("symbol"), str):
            symbols = frozenset([arguments["symbol"]])
        elif arguments.get("symbols"):
            symbols = frozenset(arguments["symbols"])
        elif arguments.get("symbolsAndTimeframes"):
            symbols = frozenset(p[0] for p in arguments["symbolsAndTimeframes"])
        book_limit = arguments.get("limit") if "order_book" in method else None
        start = call(method)

        def make() -> Subscription:
            stream = Stream(key, method, arguments, description, symbols, book_limit, exchange, hub.stream_emptied)
            return Subscription(stream, start, unwatch)

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
                        RuntimeError(f"subscribe to {description} from a running asyncio loop (or Jupyter)")
                    )
                    return Disposable()
            return hub.subscribe(key, make, observer)

        return ExchangeObservable(subscribe, exchange)

    def messages(self) -> Observable[Any]:
        """Every raw frame the exchange receives (decoded JSON, or text), before ccxt handles it."""
        return self._exchange._rx_hub.messages  # type: ignore[no-any-return]

    def connection_events(self) -> Observable[ConnectionEvent]:
        """Connection changes of this exchange: connected, disconnected, retrying, resubscribed."""
        return self._exchange._rx_hub.events  # type: ignore[no-any-return]

    def call(self, method: str, *args: Any, **kwargs: Any) -> Observable[Any]:
        """A single-value Observable of an awaitable method (e.g. the WS trading calls).

        The call starts at subscription; disposing before it finishes cancels it.
        """
        exchange = self._exchange
        if not callable(getattr(exchange, method, None)):
            return _failing(ccxt.NotSupported(f"{exchange.id} has no method {method}()"))
        hub: Hub = exchange._rx_hub

        def subscribe(observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            if hub.closed:
                observer.on_error(ccxt.ExchangeClosedByUser(f"{exchange.id} is closed: {method}() was not sent"))
                return Disposable()
            disposed = False

            async def run() -> None:
                try:
                    result = await getattr(exchange, method)(*args, **kwargs)
                except asyncio.CancelledError:
                    if not disposed:
                        # cancelled by close(), not by the subscriber: it must hear that the
                        # call may or may not have reached the exchange
                        observer.on_error(ccxt.ExchangeClosedByUser(
                            f"{exchange.id} closed while {method}() was in flight; its outcome is unknown"
                        ))
                    raise
                except Exception as error:  # noqa: BLE001
                    observer.on_error(error)
                    return
                observer.on_next(result)
                observer.on_completed()

            task = hub.spawn(run())

            def dispose() -> None:
                nonlocal disposed
                disposed = True
                task.cancel()

            return Disposable(dispose)

        return Observable(subscribe)

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
        if name.startswith("watch_"):
            return lambda *args, **kwargs: self.observe(name, *args, **kwargs)
        if name.endswith("_ws"):
            return lambda *args, **kwargs: self.call(name, *args, **kwargs)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower() for k, v in self._exchange.has.items() if v and k.startswith("watch"))
        return sorted(names)


def _log_spawned_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.debug("rxpro: ccxt's background call failed: %r", future.exception())


_CLIENT_CLASSES: dict[tuple[type, type], type] = {}


def _client_class(rx_class: type[RxClient], built: type) -> type:
    """``rx_class``, or (should ccxt ever build a subclass of its Client) one on top of both."""
    if built in rx_class.__mro__:
        return rx_class
    cls = _CLIENT_CLASSES.get((rx_class, built))
    if cls is None:
        cls = _CLIENT_CLASSES[(rx_class, built)] = type(rx_class.__name__, (rx_class, built), {})
    return cls


def _marked_as_login(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` (a venue's login method) with the running task marked as logging in.

    Private ``watch_*`` methods first await a login method (``authenticate``, ...) that
    itself calls ``watch`` for the login answer: that hash is not data of the stream.
    """
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def login(self: Any, *args: Any, **kwargs: Any) -> Any:
            with self._rx_hub.login():
                return await method(self, *args, **kwargs)
    else:
        @functools.wraps(method)
        def login(self: Any, *args: Any, **kwargs: Any) -> Any:
            with self._rx_hub.login():
                return method(self, *args, **kwargs)
    return login


class RxExchangeMixin:
    """Adds ``.rx`` and the push hub to a ccxt.pro exchange class (put it first in the bases).

    A class built with ``rx_login_methods`` in its namespace (the registry does, from the
    venue table) has those methods marked as logins: what they ``watch`` is no data route.
    """

    _rx_hub: Hub
    _rx_accessor: RxAccessor
    #: the client class of this exchange's connections (replay plugs in its own)
    rx_client_class: type[RxClient] = RxClient
    rx_login_methods: tuple[str, ...] = ("authenticate",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("rx_login_methods", ()):
            method = getattr(cls, name, None)
            if callable(method) and name not in cls.__dict__:
                setattr(cls, name, _marked_as_login(method))


    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = dict(config or {})
        rx_config = config.pop("rxpro", None) or {}
        if "replay" in config:
            # ccxt would copy it onto the instance, and the exchange would go to the network
            raise InvalidArgument(
                f"{type(self).__name__}(config) has no 'replay' option; build a replayed exchange with "
                f"rxpro.exchange({type(self).__name__!r}, {{'replay': path}}) or rxpro.replay(path)"
            )
        super().__init__(config)  # type: ignore[call-arg]
        self._rx_hub = Hub(self)
        self._rx_accessor = RxAccessor(self)
        retry = rx_config.get("retry")
        if retry is not None:
            self._rx_accessor.retry_policy = retry if isinstance(retry, RetryPolicy) else RetryPolicy(**retry)

    @property
    def rx(self) -> RxAccessor:
        """Observables of this exchange's ``watch_*`` methods (same arguments)."""
        return self._rx_accessor

    # -- hooks into ccxt's connection manager ----------------------------------

    def client(self, url: str) -> Any:
        """ccxt's client of ``url``; a new one is made an :class:`RxClient` before it connects."""
        clients = self.clients  # type: ignore[attr-defined]
        fresh = not clients or url not in clients
        client = super().client(url)  # type: ignore[misc]
        if fresh:
            if not isinstance(client, self.rx_client_class):
                client.__class__ = _client_class(self.rx_client_class, type(client))
            client.adopt(self._rx_hub, self._rx_hub.tap)
        return client

    def rx_tap(self, tap: ClientTap | None) -> None:
        """Hand every frame, sent frame, connection and REST answer to ``tap`` (a recorder)."""
        self._rx_hub.set_tap(tap)

    def on_rest_response(self, code: Any, reason: Any, url: str, method: str, headers: Any, body: Any,
                         request_headers: Any, request_body: Any) -> Any:
        body = super().on_rest_response(  # type: ignore[misc]
            code, reason, url, method, headers, body, request_headers, request_body)
        tap = self._rx_hub.tap
        if tap is not None:
            tap.rest_answered(code, url, method, body)
        return body

    def watch(self, url: str, message_hash: str, message: Any = None, subscribe_hash: Any = None, subscription: Any = None) -> Any:
        future = super().watch(url, message_hash, message, subscribe_hash, subscription)  # type: ignore[misc]
        hub: Hub = self._rx_hub
        if hub.capturing_now() and not future.done():
            # rxpro's own call waits through a race of one, whose callback on ccxt's shared
            # future is known to be rxpro's: it must not look like a user's awaitable.
            # (Not on the way through a login: ccxt's authenticate() drops what watch returns.)
            before = [set(callbacks_of(future))]
            shared = future
            future = CcxtFuture.race([shared])
            future.add_done_callback(swallow)  # whoever drops it, its error is not "never retrieved"
            hub.mark_own([shared], before)
        hub.register(self.clients[url], [message_hash])  # type: ignore[attr-defined]
        return future

    def watch_multiple(self, url: str, message_hashes: list[str], message: Any = None, subscribe_hashes: Any = None, subscription: Any = None) -> Any:
        hub: Hub = self._rx_hub
        own = hub.capturing_now()
        before: list[set[Any]] = []
        if own:
            client = self.client(url)
            before = [set(callbacks_of(client.futures.get(h))) for h in message_hashes]
        future = super().watch_multiple(url, message_hashes, message, subscribe_hashes, subscription)  # type: ignore[misc]
        if own:
            shared = [self.clients[url].futures.get(h) for h in message_hashes]  # type: ignore[attr-defined]
            hub.mark_own(shared, before)
            for each in shared:
                # ccxt's race leaves no callback on the others when one was done already (a
                # stored rejection): a later reject of theirs must not be "never retrieved"
                if each is not None:
                    each.add_done_callback(swallow)
        hub.register(self.clients[url], list(message_hashes))  # type: ignore[attr-defined]
        return future

    def spawn(self, method: Any, *args: Any) -> Any:
        """ccxt's background work (a REST snapshot for a book): its failure is already told.

        ccxt hands the error of a spawned call to the stream's watchers (``client.reject``)
        and nobody awaits the future it returns; one that fails after ``close()`` (ccxt's
        snapshot fetch then trips over the subscriptions close removed) must not be
        reported as "never retrieved".
        """
        future = super().spawn(method, *args)  # type: ignore[misc]
        future.add_done_callback(_log_spawned_failure)
        return future

    def on_connected(self, client: Any, message: Any = None) -> None:
        tap = self._rx_hub.tap
        if tap is not None:
            tap.connection_opened(client)
        super().on_connected(client, message)  # type: ignore[misc]
        self._rx_hub.publish("connected", url=client.url)

    async def close(self, clean_instance_data: bool = False) -> None:
        """Complete every Observable stream, then close ccxt's connections and session."""
        hub = self._rx_hub
        first = not hub.closed
        await hub.close()
        await super().close(clean_instance_data)  # type: ignore[misc]
        if first:
            await hub.drain_tasks()
