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
from typing import Any, Callable

import ccxt

from rxpro.exchanges._native import native_allowed

from ._accessor import RxAccessor
from ._client import ClientTap, RxClient
from ._errors import InvalidArgument
from ._health import HealthPolicy
from ._hub import CALL_MESSAGES, Hub, Timer
from ._retry import RetryPolicy
from ._router import CcxtFuture, callbacks_of, swallow
from ._values import CACHE_ATTRIBUTES, recording_container

__all__ = ["RxExchangeMixin"]

log = logging.getLogger("rxpro")

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
            hub: Hub = self._rx_hub
            with hub.login():
                if not hub.capturing_login():
                    return await method(self, *args, **kwargs)
                # inside an rxpro stream's call: a login that never gets an answer must end it
                timeout = hub.health.login_timeout_ms
                try:
                    return await asyncio.wait_for(method(self, *args, **kwargs), timeout / 1000)
                except asyncio.TimeoutError:
                    raise ccxt.AuthenticationError(
                        f"{self.id}: the login ({method.__name__}) got no answer within {timeout / 1000:g} s "
                        "(rxpro.HealthPolicy.login_timeout_ms)") from None
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
    #: whether the silence watchdog looks over this exchange's streams (a replay's: no)
    rx_watchdog: bool = True

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
        # the venue's native handlers run where they were checked (exchanges/_native.py)
        self.rx_native = native_allowed(rx_config.get("native", True))
        self._rx_hub = Hub(self)
        self._rx_accessor = RxAccessor(self)
        health = rx_config.get("health")
        if health is not None:
            self._rx_accessor.health = health if isinstance(health, HealthPolicy) else HealthPolicy(**health)
        retry = rx_config.get("retry")
        if retry is not None:
            self._rx_accessor.retry_policy = retry if isinstance(retry, RetryPolicy) else RetryPolicy(**retry)

    def __setattr__(self, name: str, value: Any) -> None:
        # the attributes where ccxt keeps list-shaped caches: each cache is recorded from birth
        if name in CACHE_ATTRIBUTES:
            value = recording_container(value)
        super().__setattr__(name, value)

    def rx_call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Call ``callback(*args)`` in ``delay_s`` seconds of this exchange's time (a replay's: recorded time)."""
        loop = getattr(self, "asyncio_loop", None) or asyncio.get_running_loop()  # (ccxt sets it)
        return loop.call_later(delay_s, callback, *args)

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
        requests = CALL_MESSAGES.get()
        if requests is not None and requests.timed_out:
            # a trading call past its timeout (its observers were told): no new request of it goes out
            raise ccxt.RequestTimeout(f"{self.id}: a trading call that timed out makes no new request")  # type: ignore[attr-defined]
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
        hub.register(self.clients[url], [message_hash], message)  # type: ignore[attr-defined]
        if requests is not None and message is not None:
            requests.append(message)  # a trading call's request: the very object ccxt will send
        return future

    def watch_multiple(self, url: str, message_hashes: list[str], message: Any = None, subscribe_hashes: Any = None, subscription: Any = None) -> Any:
        requests = CALL_MESSAGES.get()
        if requests is not None and requests.timed_out:
            raise ccxt.RequestTimeout(f"{self.id}: a trading call that timed out makes no new request")  # type: ignore[attr-defined]
        hub: Hub = self._rx_hub
        own = hub.capturing_now()
        before: list[set[Any]] = []
        if own:
            client = self.client(url)
            before = [set(callbacks_of(client.futures.get(h))) for h in message_hashes]
        future = super().watch_multiple(url, message_hashes, message, subscribe_hashes, subscription)  # type: ignore[misc]
        if own:
            shared = [self.clients[url].futures.get(h) for h in message_hashes]  # type: ignore[attr-defined]
            # (ccxt's race leaves no callback on the others when one was done already: each was
            # made by RxClient.future, which lets none of them be "never retrieved")
            hub.mark_own(shared, before)
        hub.register(self.clients[url], list(message_hashes), message)  # type: ignore[attr-defined]
        if requests is not None and message is not None:
            requests.append(message)
        return future

    def spawn(self, method: Any, *args: Any) -> Any:
        """ccxt's background work (a REST snapshot for a book): its failure is already told.

        ccxt hands the error of a spawned call to the stream's watchers (``client.reject``)
        and nobody awaits the future it returns; one that fails after ``close()`` (ccxt's
        snapshot fetch then trips over the subscriptions close removed) must not be
        reported as "never retrieved".  Its task is the hub's: ``close()`` cancels one still
        running (a snapshot waiting in the rate limiter) instead of leaving it behind.
        """
        future = super().spawn(self._rx_hub.kept(method), *args)  # type: ignore[misc]
        future.add_done_callback(_log_spawned_failure)
        return future

    def on_connected(self, client: Any, message: Any = None) -> None:
        tap = self._rx_hub.tap
        if tap is not None:
            tap.connection_opened(client)
        super().on_connected(client, message)  # type: ignore[misc]
        self._rx_hub.connected(client.url)

    async def close(self, clean_instance_data: bool = False) -> None:
        """Complete every Observable stream, then close ccxt's connections and session."""
        hub = self._rx_hub
        first = not hub.closed
        await hub.close()
        await super().close(clean_instance_data)  # type: ignore[misc]
        if first:
            await hub.drain_tasks()
