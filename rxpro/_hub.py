"""The push hub: from ccxt's message handlers to Observable subscribers.

One :class:`Hub` per exchange instance.  It instruments each ccxt ``Client``
(WebSocket connection) the exchange creates, wrapping three per-instance hooks:

* ``client.resolve`` — ccxt's handlers call it with the updated structure and a
  message hash after parsing a frame.  The hub pushes the update, right there in
  the handler, to every :class:`Stream` routed on that hash.  Nothing is pulled
  through a re-awaited ``watch_*`` loop, so nothing is lost between awaits.
* ``client.reject`` — errors for one hash or (hash ``None``) the whole connection.
* ``client.handle_message`` — counts frames, publishes raw frames, and keeps a
  frame that breaks ccxt's parser from killing the connection's receive loop.

A :class:`Stream` is one exchange subscription (instance, method, arguments)
shared by all its subscribers.  It learns its message hashes by calling the
ccxt ``watch_*`` method once while the exchange's ``watch``/``watch_multiple``
report the hashes they register (see ``Hub.capturing``); the same call sends the
subscribe frame through ccxt's own connection manager, so awaitables and
Observables share one connection and one subscription.

Data flows one way: frame -> ccxt handler -> ``resolve`` hook -> Stream -> observers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
import contextvars
import weakref
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Literal

import ccxt
from ccxt.async_support.base.ws.cache import BaseCache
from ccxt.async_support.base.ws import future as _ccxt_future_module
from ccxt.async_support.base.ws.future import Future as CcxtFuture
from ccxt.async_support.base.ws.order_book import OrderBook
from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from ._retry import RetryPolicy
from ._values import book_snapshot, existing_entries, frozen_copy, recorder_for, watch_caches

if TYPE_CHECKING:
    from ccxt.async_support.base.ws.client import Client

__all__ = ["ConnectionEvent", "Hub", "Stream"]

log = logging.getLogger("rxpro")


_ROUTES_ATTR = "_rxpro_routes"
# exchange attributes where ccxt keeps list-shaped caches
_CACHE_ATTRS = ("trades", "ohlcvs", "orders", "myTrades", "positions", "liquidations", "myLiquidations")
# errors after which an order book stream re-synchronises instead of ending
_RESYNC_ERRORS = (ccxt.InvalidNonce, ccxt.ChecksumError)

EventKind = Literal["connected", "disconnected", "retrying", "resubscribed", "frame_error", "closed"]


@dataclass(frozen=True)
class ConnectionEvent:
    """A change in an exchange's connections, as published by ``rxpro.connection_events(ex)``.

    ``kind`` is one of ``connected``, ``disconnected`` (with ``error``), ``retrying``
    (a stream will re-subscribe after ``delay_ms``), ``resubscribed`` (a stream got
    data again after a retry), ``frame_error`` (a frame ccxt could not handle; the
    connection goes on) and ``closed`` (``await ex.close()``).
    """

    kind: EventKind
    exchange: str
    url: str | None = None
    stream: str | None = None
    error: BaseException | None = None
    delay_ms: float | None = None
    timestamp: int = 0


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, ccxt.NetworkError)


def _connection_wide(error: BaseException) -> bool:
    """Whether an error rejected for a whole connection concerns every stream on it.

    A lost connection does (ccxt rejects everything pending on it); so do a login that
    failed and a book out of sync. Anything else, such as one rejected subscription,
    concerns the streams not yet flowing.
    """
    return isinstance(error, (ccxt.NetworkError, ccxt.AuthenticationError, ccxt.UnsubscribeError, *_RESYNC_ERRORS))


_AUTH_CALLERS = re.compile(r"auth|login|listen_?key|token", re.IGNORECASE)


def in_authentication(frame: FrameType | None, depth: int = 12) -> bool:
    """Whether ccxt's ``watch`` was called from an authentication method (``authenticate``, ...).

    Private ``watch_*`` methods first ``await self.authenticate()``, which itself calls
    ``watch`` for the login answer; that hash must not become a route of the stream.
    The coroutines awaiting one another are chained through ``f_back`` while they run.
    """
    while frame is not None and depth:
        name = frame.f_code.co_name
        if name.startswith("watch") or name == "_run":
            return False  # reached the data method (or rxpro's own task) first
        if _AUTH_CALLERS.search(name):
            return True
        frame = frame.f_back
        depth -= 1
    return False


def _tell_error(observer: abc.ObserverBase[Any], error: Exception, description: str) -> None:
    # RxPY's default on_error (subscribe without one) re-raises: that must not keep the
    # error from the other observers, nor escape into ccxt's reject loop
    try:
        observer.on_error(error)
    except Exception:  # noqa: BLE001
        log.exception("rxpro: %s: an observer's on_error raised", description)


def swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


#: done-callbacks that consume a result but are nobody waiting: rxpro's and ccxt's
#: (ccxt's ``Future.race`` leaves one on each losing future)
_CCXT_SWALLOW = getattr(_ccxt_future_module, "_swallow", None)
_NOT_WAITERS = frozenset(f for f in (swallow, getattr(_ccxt_future_module, "_swallow", None)) if f is not None)
#: CPython's futures list their callbacks; without that, fall back to "any callback ever added"
_LISTS_CALLBACKS = hasattr(CcxtFuture, "_callbacks")


#: how long a stream's ccxt subscription outlives its last subscriber, so that an await
#: loop on the same subscription, woken by the same frames, can wait on it again
UNWATCH_GRACE_MS = 50


def callbacks_of(future: asyncio.Future[Any] | None) -> list[Any]:
    """The done-callbacks now attached to ``future`` that stand for someone waiting on it."""
    if future is None:
        return []
    return [cb for cb, _ in (getattr(future, "_callbacks", None) or ()) if not any(cb is f for f in _NOT_WAITERS)]


class _Placeholder(CcxtFuture):
    """rxpro's pending future under a routed hash; ``awaited`` while anyone waits on it."""

    _ever_awaited = False

    def __init__(self) -> None:
        super().__init__()
        CcxtFuture.add_done_callback(self, swallow)  # not an awaiter

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:  # type: ignore[override]
        if not any(fn is f for f in _NOT_WAITERS):
            self._ever_awaited = True  # a Task awaiting it, gather/wait_for/race, ...
        super().add_done_callback(fn, context=context)

    @property
    def awaited(self) -> bool:
        # live: a waiter that left (a wait_for that timed out, a race another future won)
        # no longer counts
        # (on every resolve of a routed hash: kept to a loop over the one or two callbacks)
        if not _LISTS_CALLBACKS:
            return self._ever_awaited
        for callback, _ in self._callbacks or ():
            if callback is not swallow and callback is not _CCXT_SWALLOW:
                return True
        return False


class Hub:
    """Routes ccxt's resolves to streams for one exchange instance."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange
        self.streams: dict[Any, Stream] = {}
        self.frame = 0
        self._in_frame = False
        self.events: Subject[ConnectionEvent] = Subject()
        self.messages: Subject[Any] = Subject()
        self.retry_policy = RetryPolicy()
        self.closed = False
        self.ended = False  # see end()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.unwatching: dict[Any, asyncio.Task[Any]] = {}
        # streams whose last subscriber left, in their grace period before the un-watch
        self.releasing: dict[Any, asyncio.Task[Any]] = {}
        # (id(client), hash) -> when ccxt last resolved a future someone awaited under it
        self.resolved_at: dict[tuple[int, str], float] = {}
        # the task running a stream's ``watch_*`` call -> (stream, generation). Keyed by task,
        # not a ContextVar: ccxt starts the connection's tasks from inside that call, and a
        # context variable would follow them into every later frame handler and observer
        self.capturing: dict[asyncio.Task[Any], tuple[Stream, int]] = {}
        self.placeholders: dict[tuple[int, str], _Placeholder] = {}
        # done-callbacks by which rxpro's own watch calls wait on ccxt's per-hash futures:
        # they are not "someone else waiting" on a subscription
        self.own_callbacks: weakref.WeakSet[Any] = weakref.WeakSet()
        self.frame_errors = 0

    def end_frame(self) -> None:
        self._in_frame = False

    # -- events ----------------------------------------------------------------

    def publish(self, kind: EventKind, **fields: Any) -> None:
        event = ConnectionEvent(kind, self.exchange.id, timestamp=int(time.time() * 1000), **fields)
        try:
            self.events.on_next(event)
        except Exception:  # an observer of events must not break the handler that published
            log.exception("rxpro: connection event observer raised")

    # -- tasks -----------------------------------------------------------------

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        loop = self.exchange.asyncio_loop or asyncio.get_running_loop()
        # a fresh context: tasks spawned from inside a handler or observer inherit nothing
        task: asyncio.Task[Any] = loop.create_task(coro, context=contextvars.Context())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- instrumenting ccxt clients --------------------------------------------

    def instrument(self, client: Client) -> None:
        """Wrap ``resolve``, ``reject`` and ``handle_message`` of a new ccxt client (once)."""
        if getattr(client, _ROUTES_ATTR, None) is not None:
            return
        routes: dict[str, list[Stream]] = {}
        setattr(client, _ROUTES_ATTR, routes)
        futures = client.futures
        original_resolve = client.resolve
        original_reject = client.reject
        original_handle = client.handle_message
        original_on_message = client.on_message_callback
        original_on_error = client.on_error
        original_on_close = client.on_close
        hub = self
        client_id = id(client)

        def resolve(result: Any, message_hash: str) -> Any:
            if not hub._in_frame:
                # a resolve from a task (e.g. after a REST snapshot), not from a frame: what
                # runs synchronously from here on is one pseudo-frame, so that a cache resolved
                # under two hashes yields the same entries to both
                hub.frame += 1
                hub._in_frame = True
                (hub.exchange.asyncio_loop or asyncio.get_running_loop()).call_soon(hub.end_frame)
            streams = routes.get(message_hash)
            batch: list[Any] | None = None
            origin: Any = None  # what the batch was drawn from, to tell a repeat in one frame
            if isinstance(result, BaseCache):
                recorder, installed = recorder_for(result)
                if installed:
                    # a cache born in this frame: everything in it is new
                    recorder.last_batch = batch = existing_entries(result)
                    recorder.last_frame = hub.frame
                else:
                    batch = recorder.drain(hub.frame)
                origin = batch
            elif isinstance(result, list):
                if len(result) == 3 and isinstance(result[2], BaseCache):
                    # ccxt's candle resolve: [symbol, timeframe, cache]
                    recorder, installed = recorder_for(result[2])
                    if installed:
                        recorder.last_batch = existing_entries(result[2])
                        recorder.last_frame = hub.frame
                    rows = recorder.last_batch if installed else recorder.drain(hub.frame)
                    batch = [[result[0], result[1], row] for row in rows] if rows else rows
                    origin = rows
                else:
                    # a plain list of new entries (bybit positions, ...): often the very dicts
                    # ccxt keeps in its cache and updates in place later: emit copies
                    origin = result
                    batch = [frozen_copy(item) if type(item) is dict else item for item in result]
            if streams:
                for stream in streams:
                    try:
                        stream.deliver(result, batch, origin)
                    except Exception:  # noqa: BLE001 - a bug of one stream must not starve the others
                        log.exception("rxpro: %s: delivery failed", stream.description)
            future = futures.get(message_hash)
            if future is not None and type(future) is _Placeholder and not future.awaited:
                return result  # only rxpro holds this hash: leave its placeholder pending
            if future is not None:
                # someone awaited this hash just now: an await loop comes back for more
                hub.resolved_at[(client_id, message_hash)] = time.monotonic()
            value = original_resolve(result, message_hash)
            if streams:
                hold(message_hash)
            return value

        def hold(message_hash: str) -> None:
            # keep a pending future under a routed hash: some ccxt handlers only resolve
            # hashes that have one (find_message_hashes), as an await loop would
            if message_hash not in futures:
                placeholder = _Placeholder()
                futures[message_hash] = placeholder
                hub.placeholders[(client_id, message_hash)] = placeholder

        def reject(error: Any, message_hash: str | None = None) -> Any:
            # generations are taken before ccxt's reject: each stream fails once per generation
            if message_hash is not None:
                targets = [(s, s.generation) for s in routes.get(message_hash, ())]
                value = original_reject(error, message_hash)
            else:  # every pending future of the connection
                streams = list({id(s): s for ss in routes.values() for s in ss}.values())
                spared: list[Stream] = []
                if isinstance(error, Exception) and not _connection_wide(error):
                    # an error event the exchange sent without saying which request it answers
                    # (okx: a rejected subscribe): it concerns a subscription still waiting
                    # for its first data, not the streams already flowing on this connection
                    spared = [s for s in streams if s.delivered_generation == s.generation]
                    if spared:
                        hub.publish("frame_error", url=client.url, error=error)
                targets = [(s, s.generation) for s in streams if s not in spared]
                for pending in list(futures):  # ccxt's own loop, without this wrapper per hash
                    original_reject(error, pending)
                value = error
                for stream in spared:
                    # their pending futures were rejected and dropped: they need one again
                    for c, h in stream.registrations:
                        if c is client:
                            hold(h)
            if isinstance(error, Exception):
                for stream, generation in targets:
                    stream.fail(error, generation)
            return value

        def handle_message(message: Any) -> None:
            hub.frame += 1
            hub._in_frame = True
            try:
                original_handle(message)
            except Exception as error:  # noqa: BLE001 - a bad frame must not end the receive loop
                hub.frame_errors += 1
                hub.publish("frame_error", url=client.url, error=error)
            finally:
                hub._in_frame = False

        def on_message(client_: Any, message: Any) -> None:
            if hub.messages.observers:
                try:
                    hub.messages.on_next(message)
                except Exception:  # noqa: BLE001 - every stream still needs this frame
                    log.exception("rxpro: an observer of messages() raised")
            original_on_message(client_, message)

        def on_error(error: Any) -> None:
            # published before ccxt rejects the pending futures, so that listeners see
            # "disconnected" ahead of the streams' "retrying"
            if not hub.closed and client.error is None:
                hub.publish("disconnected", url=client.url, error=error)
            original_on_error(error)

        def on_close(code: Any) -> None:
            if not hub.closed and client.error is None:
                hub.publish(
                    "disconnected", url=client.url, error=ccxt.NetworkError(f"closed by the server, code {code}")
                )
            original_on_close(code)

        client.on_error = on_error  # type: ignore[method-assign]
        client.on_close = on_close  # type: ignore[method-assign]
        client.resolve = resolve  # type: ignore[method-assign]
        client.reject = reject  # type: ignore[method-assign]
        client.handle_message = handle_message  # type: ignore[method-assign]
        client.on_message_callback = on_message

    def register(self, client: Client, message_hashes: list[str]) -> None:
        """Route ``message_hashes`` of ``client`` to the stream whose watch call is running."""
        task = asyncio.current_task()
        captured = self.capturing.get(task) if task is not None else None
        if captured is None:
            return
        stream, _ = captured  # a stale call still registers: its _run undoes it (see there)
        if in_authentication(sys._getframe(2)):
            return  # a login/listen-key watch made on the way to the data subscription, not its data
        self.instrument(client)
        routes: dict[str, list[Stream]] = getattr(client, _ROUTES_ATTR)
        for message_hash in message_hashes:
            streams = routes.setdefault(message_hash, [])
            if stream not in streams:
                streams.append(stream)
                stream.registrations.append((client, message_hash))

    def unregister(self, stream: Stream) -> None:
        for client, message_hash in stream.registrations:
            routes: dict[str, list[Stream]] = getattr(client, _ROUTES_ATTR)
            streams = routes.get(message_hash)
            if streams is None:
                continue
            if stream in streams:
                streams.remove(stream)
            if not streams:
                del routes[message_hash]
                placeholder = self.placeholders.pop((id(client), message_hash), None)
                if (
                    placeholder is not None
                    and not placeholder.awaited  # else an awaitable watch_* waits on it: ccxt resolves it
                    and client.futures.get(message_hash) is placeholder
                ):
                    del client.futures[message_hash]
                    placeholder.cancel()
        stream.registrations = []

    def shares_routes(self, stream: Stream) -> bool:
        """Whether another stream (e.g. the same book with another ``limit``) uses one of its hashes."""
        for client, message_hash in stream.registrations:
            routes: dict[str, list[Stream]] = getattr(client, _ROUTES_ATTR)
            if any(other is not stream for other in routes.get(message_hash, ())):
                return True
        return False

    def routed(self, pairs: list[tuple[Client, str]]) -> bool:
        """Whether any rxpro stream routes one of these (client, hash) pairs."""
        return any(getattr(client, _ROUTES_ATTR, {}).get(message_hash) for client, message_hash in pairs)

    def others_waiting(self, pairs: list[tuple[Client, str]]) -> bool:
        """Whether an awaitable ``watch_*`` outside rxpro waits on one of the stream's hashes.

        Decided from who is attached to ccxt's pending future under each hash: rxpro's own
        watch calls and the leftovers of a settled race don't count; an awaitable that
        picked up rxpro's placeholder does.
        """
        for client, message_hash in pairs:
            future = client.futures.get(message_hash)
            if future is None or future.done():
                continue
            if not _LISTS_CALLBACKS:
                if future is not self.placeholders.get((id(client), message_hash)) or (
                    isinstance(future, _Placeholder) and future.awaited
                ):
                    return True
                continue
            if any(not self._is_own(cb) for cb in callbacks_of(future)):
                return True
        return False

    def _is_own(self, callback: Any) -> bool:
        try:
            return callback in self.own_callbacks
        except TypeError:  # an unhashable callable: not one of rxpro's
            return False

    def capturing_now(self) -> bool:
        """Whether the running task is one of rxpro's own stream watch calls."""
        task = asyncio.current_task()
        return task is not None and task in self.capturing

    def mark_own(self, futures: list[Any], before: list[set[Any]]) -> None:
        """Remember the callbacks an rxpro watch call just attached to ``futures``."""
        for future, earlier in zip(futures, before):
            for cb in callbacks_of(future):
                if cb not in earlier:
                    self.own_callbacks.add(cb)

    # -- streams ---------------------------------------------------------------

    def stream(self, key: Any, factory: Callable[[], Stream]) -> Stream:
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = factory()
        return stream

    def end(self) -> None:
        """No more data will come (a replay's recording has ended): complete every stream.

        Streams subscribed afterwards complete at once and subscribe to nothing; the
        exchange stays open (REST calls, awaitables).
        """
        self.ended = True
        self._complete_streams()

    async def close(self) -> None:
        """Complete every stream and stop every task rxpro started; idempotent."""
        if self.closed:
            return
        self.closed = True
        self._complete_streams()

    def _complete_streams(self) -> None:
        for stream in list(self.streams.values()):
            stream.complete()
        self.streams.clear()

    async def drain_tasks(self) -> None:
        tasks = [t for t in self.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.placeholders.clear()
        self.publish("closed")
        self.events.on_completed()
        self.messages.on_completed()


class Stream:
    """One shared exchange subscription and the observers of it."""

    def __init__(
        self,
        hub: Hub,
        key: Any,
        method: str,
        arguments: dict[str, Any],
        description: str,
        start_method: Callable[[], Any],
        unwatch: Callable[[], Any] | None,
        symbols: frozenset[str] | None,
        book_limit: int | None,
    ) -> None:
        self.hub = hub
        self.key = key
        self.method = method
        self.arguments = arguments
        self.description = description
        self._start_method = start_method
        self._unwatch = unwatch
        self.symbols = symbols
        self._symbols_unified = symbols is None  # spelled as the user gave them until markets load
        # ccxt's own since filter, per item (ccxt applies it to what an await returns)
        since = arguments.get("since")
        self.since: float | None = since if isinstance(since, (int, float)) and not isinstance(since, bool) else None
        self.book_limit = book_limit
        self._candles = method == "watch_ohlcv"  # ccxt resolves [symbol, timeframe, cache]: emit the rows
        self.observers: tuple[abc.ObserverBase[Any], ...] = ()
        self.registrations: list[tuple[Client, str]] = []
        self.generation = 0
        self.attempt = 0
        self.retrying = False
        self._retry_handle: asyncio.TimerHandle | None = None
        self._pending_resync = False
        self._last_frame = -1
        self._last_origin: Any = None  # held, so that its identity can't be reused
        self.delivered_generation = -1  # the last generation that got data: its subscription works

    # -- subscribers -----------------------------------------------------------

    def add(self, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        self.observers = self.observers + (observer,)
        if len(self.observers) == 1:
            self.start()
        return Disposable(lambda: self.remove(observer))

    def remove(self, observer: abc.ObserverBase[Any]) -> None:
        if observer not in self.observers:
            return
        self.observers = tuple(o for o in self.observers if o is not observer)
        if not self.observers:
            self.stop()

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self.generation += 1
        generation = self.generation
        exchange = self.hub.exchange
        for attr in _CACHE_ATTRS:
            watch_caches(getattr(exchange, attr, None))
        # the same stream subscribed again within the grace period: keep ccxt's subscription
        releasing = self.hub.releasing.pop(self.key, None)
        if releasing is not None:
            releasing.cancel()
        # any un-watch in flight may concern the same ccxt subscription (another limit,
        # single vs multi-symbol): let ccxt finish it before subscribing again
        pending_unwatches = list(self.hub.unwatching.values())
        self.hub.spawn(self._run(generation, pending_unwatches))

    async def _run(self, generation: int, pending_unwatches: list[asyncio.Task[Any]]) -> None:
        if pending_unwatches:
            await asyncio.wait(pending_unwatches)
        if generation != self.generation:
            return
        hub = self.hub
        task = asyncio.current_task()
        assert task is not None
        hub.capturing[task] = (self, generation)
        try:
            await self._start_method()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - classified in fail()
            self.fail(error, generation)
        finally:
            hub.capturing.pop(task, None)
        if generation != self.generation and not self.observers and self.registrations:
            # every subscriber left while the watch call was on its way, before it
            # registered: it subscribed anyway, so undo that now as stop() would have
            self._release()

    def stop(self) -> None:
        """The last subscriber left: stop delivery and tell the exchange to stop."""
        self.generation += 1
        # a resync waiting for its retry left ccxt's subscription live on a live connection
        resync_pending = self._retry_handle is not None and self._pending_resync
        self._cancel_retry()
        hub = self.hub
        if hub.streams.get(self.key) is self:
            del hub.streams[self.key]
        self._release()
        if resync_pending and self._unwatch is not None and not hub.closed:
            hub.spawn(self._run_unwatch())

    def _release(self) -> None:
        """Drop the stream's routes and un-watch unless someone else still uses the subscription."""
        hub = self.hub
        pairs = list(self.registrations)
        others = hub.others_waiting(pairs) or hub.shares_routes(self)
        hub.unregister(self)
        if pairs and not others and self._unwatch is not None and not hub.closed:
            key = self.key
            task = hub.spawn(self._release_later(pairs))
            hub.releasing[key] = task
            task.add_done_callback(lambda t: hub.releasing.pop(key, None) if hub.releasing.get(key) is t else None)

    async def _release_later(self, pairs: list[tuple[Client, str]]) -> None:
        """Un-watch after a grace period, unless someone took the subscription up meanwhile.

        An await loop woken by the same frames that ended this stream (``take(n)`` inside a
        burst: ccxt handles buffered frames without yielding) has not awaited again yet when
        the last subscriber leaves. Each grace period ends in one of three ways: someone
        waits on the subscription (or routes it) again: keep it; an awaitable was resolved
        under it during the period: look again; neither: un-watch.
        """
        hub = self.hub
        while True:
            started = time.monotonic()
            await asyncio.sleep(UNWATCH_GRACE_MS / 1000)
            if hub.closed or hub.others_waiting(pairs) or hub.routed(pairs):
                return
            if not any(hub.resolved_at.get((id(client), h), 0.0) >= started for client, h in pairs):
                break
        key = self.key
        task = hub.spawn(self._run_unwatch())
        hub.unwatching[key] = task
        task.add_done_callback(lambda t: hub.unwatching.pop(key, None) if hub.unwatching.get(key) is t else None)

    async def _run_unwatch(self) -> None:
        assert self._unwatch is not None
        try:
            await self._unwatch()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - nobody is subscribed any more to hear it
            log.debug("rxpro: %s: un-watch failed: %r", self.description, error)

    def complete(self) -> None:
        """The exchange is closing: complete every observer."""
        self.generation += 1
        self._cancel_retry()
        self.hub.unregister(self)
        observers, self.observers = self.observers, ()
        for observer in observers:
            try:
                observer.on_completed()
            except Exception:  # noqa: BLE001 - the others must still hear it
                log.exception("rxpro: %s: an observer's on_completed raised", self.description)

    def _cancel_retry(self) -> None:
        if self._retry_handle is not None:
            self._retry_handle.cancel()
            self._retry_handle = None

    # -- data ------------------------------------------------------------------

    def deliver(self, result: Any, batch: list[Any] | None, origin: Any = None) -> None:
        """Push what one resolve brought to every observer (runs inside ccxt's handler)."""
        if batch is None and not isinstance(result, dict):
            return  # an acknowledgement (ccxt resolves True/None on un-watch), not market data
        self.delivered_generation = self.generation
        if not self._symbols_unified:
            self._unify_symbols()
        if self.retrying:
            self.retrying = False
            self.attempt = 0
            self.hub.publish("resubscribed", stream=self.description)
        elif self.attempt:
            self.attempt = 0
        if batch is not None:
            if origin is self._last_origin and self.hub.frame == self._last_frame and batch:
                return  # the same entries under a second hash of this stream
            self._last_origin = origin
            self._last_frame = self.hub.frame
            symbols = self.symbols
            since = self.since
            if self._candles and batch and type(batch[0]) is list and len(batch[0]) == 3:
                for _, _, row in batch:  # [symbol, timeframe, candle] -> the candle
                    if since is None or row[0] >= since:
                        self._emit(row)
                return
            if since is None:
                for item in batch:
                    if symbols is not None and type(item) is dict and item.get("symbol") not in symbols:
                        continue
                    self._emit(item)
                return
            for item in batch:
                if type(item) is dict:
                    if symbols is not None and item.get("symbol") not in symbols:
                        continue
                    timestamp = item.get("timestamp")
                elif type(item) is list and len(item) == 3 and type(item[2]) is list and item[2]:
                    timestamp = item[2][0]  # [symbol, timeframe, candle] (ohlcv_for_symbols)
                elif type(item) is list and item:
                    timestamp = item[0]  # a candle row
                else:
                    timestamp = None
                if not timestamp or timestamp < since:
                    continue  # ccxt's filter_by_since_limit: no timestamp, or older than since
                self._emit(item)
        elif isinstance(result, OrderBook):
            self._emit(book_snapshot(result, self.book_limit))
        elif (
            type(result) is dict
            and "symbol" not in result
            and result
            and all(type(v) is dict and "symbol" in v for v in result.values())
        ):
            # {symbol: ticker} batches (e.g. okx tickers): one structure per symbol
            symbols = self.symbols
            for symbol, value in result.items():
                if symbols is None or symbol in symbols:
                    self._emit(frozen_copy(value))
        else:
            self._emit(frozen_copy(result))

    def _unify_symbols(self) -> None:
        """Filter on unified symbols, however the user spelled them (``'BTCUSDT'`` is ``'BTC/USDT'``).

        ccxt's ``watch_*`` accept a market id where a symbol is expected and emit unified
        symbols; this runs at the first delivery, once markets are loaded.
        """
        exchange = self.hub.exchange
        markets = getattr(exchange, "markets", None)
        if not markets or self.symbols is None:
            return
        self._symbols_unified = True
        unified = set()
        for symbol in self.symbols:
            if symbol in markets:
                unified.add(symbol)
                continue
            try:
                unified.add(exchange.symbol(symbol))
            except Exception:  # noqa: BLE001 - ccxt's BadSymbol: keep the spelling as given
                unified.add(symbol)
        self.symbols = frozenset(unified)

    def _emit(self, value: Any) -> None:
        for observer in self.observers:
            try:
                observer.on_next(value)
            except Exception as error:  # noqa: BLE001 - one failing subscriber must not starve others
                self.observers = tuple(o for o in self.observers if o is not observer)
                _tell_error(observer, error, self.description)
                if not self.observers:
                    self.stop()

    # -- errors ----------------------------------------------------------------

    def fail(self, error: Exception, generation: int) -> None:
        """Handle an error of the current generation once: retry if transient, else end."""
        if generation != self.generation or not self.observers:
            return
        self.generation += 1
        hub = self.hub
        hub.unregister(self)
        # a book out of sync: drop ccxt's subscription and make it again (fresh snapshot);
        # another stream's un-watch of the ccxt subscription this one shares: subscribe again
        resync = isinstance(error, _RESYNC_ERRORS)
        retryable = _is_transient(error) or resync or isinstance(error, ccxt.UnsubscribeError)
        if retryable and not hub.closed:
            self.attempt += 1
            policy = hub.retry_policy
            if policy.allows(self.attempt):
                delay = policy.delay_ms(self.attempt)
                self.retrying = True
                hub.publish("retrying", stream=self.description, error=error, delay_ms=delay)
                loop = hub.exchange.asyncio_loop or asyncio.get_running_loop()
                self._pending_resync = resync
                self._retry_handle = loop.call_later(delay / 1000, self._retry, resync)
                return
        if hub.streams.get(self.key) is self:
            del hub.streams[self.key]
        observers, self.observers = self.observers, ()
        for observer in observers:
            _tell_error(observer, error, self.description)

    def _retry(self, resync: bool) -> None:
        self._retry_handle = None
        if not self.observers or self.hub.closed:
            return
        if resync and self._unwatch is not None:
            # a broken book: drop ccxt's subscription so the re-watch fetches a new snapshot
            generation = self.generation + 1
            self.generation = generation

            async def resubscribe() -> None:
                try:
                    await self._unwatch()  # type: ignore[misc]
                except Exception as error:  # noqa: BLE001
                    log.debug("rxpro: %s: un-watch before resync failed: %r", self.description, error)
                if generation == self.generation and self.observers:
                    self.start()

            self.hub.spawn(resubscribe())
            return
        self.start()
