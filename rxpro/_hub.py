"""The hub: one per exchange; owns which subscriptions exist and how long they live.

A :class:`Subscription` is one exchange subscription as rxpro holds it: a
:class:`~rxpro._stream.Stream` (the observers, and how values reach them) plus where
its subscription stands at the exchange.  The hub is the only object that moves a
subscription from one state to the next:

* ``starting`` — its ``watch_*`` call is in flight (the same call sends the subscribe
  frame through ccxt's own connection manager, so awaitables and Observables share
  one connection and one subscription; the hashes the call registers become routes);
* ``subscribed`` — the call returned: updates flow through the routes;
* ``releasing`` — the last observer left: a short grace (:data:`UNWATCH_GRACE_MS`) in
  which an await loop on the same subscription, or a new subscriber, can take it up;
* ``unsubscribing`` — rxpro's ``un_watch_*`` call is in flight;
* ``pending`` — it must (re)subscribe, but an un-watch is in flight: it waits for the
  exchange's un-watches to finish, so that no subscribe frame crosses an unsubscribe;
* ``retrying`` — a transient error: it re-subscribes after the retry policy's backoff;
* ``resyncing`` — its order book broke: un-watch, then subscribe again (new snapshot);
* ``idle`` — nothing of rxpro's is subscribed any more; the record is dropped.

Un-watching can take data from *other* subscriptions: ccxt's un-watch unsubscribes
every symbol of the call and drops the symbols' shared caches.  So after an un-watch,
subscriptions whose futures it rejected re-subscribe (``pending``), and order-book
subscriptions of the same symbols re-synchronise: the exchange ends up subscribed to
exactly what the live subscribers need.

Data does not pass through the hub: socket → ccxt's handler → :class:`~rxpro._client.RxClient`
→ :class:`~rxpro._router.Router` → :class:`~rxpro._stream.Stream` → observers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

import ccxt
from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from ._health import HealthPolicy, Watchdog
from ._retry import RetryPolicy
from ._router import RESYNC_ERRORS, FrameCount, Router, callbacks_of
from ._stream import Stream, unified_symbols
from ._values import CACHE_ATTRIBUTES, watch_caches

if TYPE_CHECKING:
    from ._client import ClientTap, RxClient

__all__ = ["ConnectionEvent", "Hub", "State", "Subscription", "UNWATCH_GRACE_MS"]

log = logging.getLogger("rxpro")

#: how long a subscription outlives its last subscriber, so that an await loop on the
#: same subscription, woken by the same frames, can wait on it again
UNWATCH_GRACE_MS = 50

#: cache families whose state ccxt can't rebuild from the next frame once an un-watch drops it
_RESYNC_TOPICS = frozenset({"orderbook"})

EventKind = Literal[
    "connected", "disconnected", "retrying", "resubscribed", "frame_error", "closed", "unwatched", "stalled",
    "backfilled", "gap",
]


@dataclass(frozen=True)
class ConnectionEvent:
    """A change in an exchange's connections, as published by ``rxpro.connection_events(ex)``.

    ``kind`` is one of ``connected``, ``disconnected`` (with ``error``; once per lost
    connection), ``retrying`` (a stream will re-subscribe after ``delay_ms``),
    ``resubscribed`` (a stream got data again after a retry), ``frame_error`` (a frame
    ccxt could not handle, or parsed into nonsense; the connection goes on),
    ``unwatched`` (an ``un_watch_*`` call not made by rxpro ended a stream: it
    completes), ``stalled`` (a stream was silent past its cadence: its connection is
    reconnected; ``error`` says how long), ``backfilled`` (a trades stream's reconnect
    gap was filled from REST: ``count``, ``source``), ``gap`` (it could not be: ``gap``
    is the time span, ``error`` why) and ``closed`` (``await ex.close()``).
    """

    kind: EventKind
    exchange: str
    url: str | None = None
    stream: str | None = None
    error: BaseException | None = None
    delay_ms: float | None = None
    timestamp: int = 0
    #: ``backfilled``: how many trades were filled, and from where
    count: int | None = None
    source: str | None = None
    #: ``gap``: the trades' time span not filled, ms (last delivered, first after the reconnect)
    gap: tuple[int | None, int | None] | None = None


class Timer(Protocol):
    """A pending call on the exchange's clock (``asyncio.TimerHandle``; a replay's virtual one)."""

    def cancel(self) -> None: ...


class State(enum.Enum):
    """Where one subscription stands at the exchange (see the module docstring)."""

    STARTING = "starting"
    SUBSCRIBED = "subscribed"
    RELEASING = "releasing"
    UNSUBSCRIBING = "unsubscribing"
    PENDING = "pending"
    RETRYING = "retrying"
    RESYNCING = "resyncing"
    IDLE = "idle"


class Subscription:
    """One exchange subscription as rxpro holds it: its stream and its state (the hub's record)."""

    def __init__(self, stream: Stream, start: Callable[[], Any], unwatch: Callable[[], Any] | None) -> None:
        self.stream = stream
        self.start_call = start
        #: when it got its subscribers, in the hub's order (0: never): what "subscribed before" means
        self.since = 0
        self.unwatch_call = unwatch
        self.state = State.IDLE
        self.generation = 0
        self.attempt = 0
        self.retrying = False  # a retry is under way: the next data is "resubscribed"
        self.flowing = False  # data came in the current generation: its subscription works
        self.calls_in_flight = 0  # watch calls spawned and not finished (a stale one may overlap a new one)
        # a resync waits for its retry: ccxt's subscription is still live on a live
        # connection, so letting go of it means un-watching it
        self.resync_pending = False
        self.registrations: list[tuple[RxClient, str]] = []
        self.timer: Timer | None = None
        self.task: asyncio.Task[Any] | None = None
        #: the subscribe requests its watch calls made (ccxt's ``watch`` messages), this generation
        self.requests: list[Any] = []
        #: the venue's ``names_request(error_text, request)`` (``rxpro.exchanges``), if it has one
        self.names_request: Callable[[str, Any], bool] | None = None
        #: an error the router found to name another request: this subscription's call, rejected with
        #: it by ccxt all the same, subscribes again instead of ending (see ``Hub.failed``)
        self.spared_error: BaseException | None = None
        # the silence watchdog's view (see rxpro._health): the router counts deliveries
        self.silence_ms: float | None = None
        self.deliveries = 0
        self.seen_deliveries = 0
        self.quiet_since = 0.0

    @property
    def description(self) -> str:
        return self.stream.description

    @property
    def watchable(self) -> bool:
        """Subscribing or subscribed, and listened to: a silence longer than its cadence means a dead stream.

        A subscription waiting for its first data is watched too, once its request is on an
        open connection: a new connection that answers pings but sends nothing, after a
        reconnect or from the start, would otherwise keep it waiting, unsaid, for as long as
        the venue stays mute (see :attr:`activity` for what counts as not mute then). A
        connection still opening is timed by ccxt's connect timeout, not by the cadence; a
        dead one is watched (the watchdog's reconnect is what rescues its streams).
        """
        if self.state is State.SUBSCRIBED:
            return bool(self.stream.observers)
        return (self.state is State.STARTING and bool(self.stream.observers)
                and any(not client.opening() for client, _ in self.registrations))

    @property
    def activity(self) -> int:
        """What the watchdog sees move while the stream is alive: its deliveries and, while a book
        waits for its first data, the diffs ccxt buffers for it (a Binance book's diffs come while
        its REST snapshot waits its turn in ccxt's rate limiter: slow, not mute).

        Not the other frames of its connection: another stream's traffic on a shared connection
        says nothing of this one (a ticker the venue acknowledged and never fed was silent for ever).
        """
        if self.state is not State.STARTING or self.stream.topic != "orderbook":
            return self.deliveries
        exchange = self.stream.exchange
        books = getattr(exchange, "orderbooks", None) or {}
        symbols = self.stream.symbols or frozenset()
        buffered = 0
        for symbol in unified_symbols(exchange, symbols) or symbols:  # ccxt keys books by unified symbol
            book = books.get(symbol)
            cache = getattr(book, "cache", None)
            if type(cache) is list:
                buffered += len(cache)
        return self.deliveries + buffered

    @property
    def key(self) -> Any:
        return self.stream.key

    def named_by(self, error: BaseException) -> bool:
        """Whether ``error``'s text names one of the requests this subscription made (the venue can tell)."""
        names = self.names_request
        if names is None or not self.requests:
            return False
        text = str(error)
        return any(names(text, request) for request in self.requests)

    def hashes_on(self, client: RxClient) -> list[str]:
        return [h for c, h in self.registrations if c is client]

    def __repr__(self) -> str:
        return f"<Subscription {self.stream.description} {self.state.value} gen={self.generation}>"


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, ccxt.NetworkError)


def _host_of(url: str) -> str:
    """``host:port`` of a connection's URL (the URL itself if it has none, or is no URL at all)."""
    try:
        return urlsplit(url).netloc or url
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address: a wrong URL still fails fast
        return url


class CallRequests(list):  # type: ignore[type-arg]
    """The requests a trading call gave ccxt's ``watch`` (``rxpro._trading``): withheld from sending
    once it timed out; after that (``timed_out``), its ``watch`` makes no new request."""

    timed_out = False


#: the requests of the trading call running in this task (None: not a trading call's)
CALL_MESSAGES: contextvars.ContextVar[CallRequests | None] = contextvars.ContextVar("rxpro_call_messages", default=None)


class Hub:
    """Subscriptions, routes and connection events of one exchange instance."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange
        self.frames = FrameCount()
        self.events: Subject[ConnectionEvent] = Subject()
        self.messages: Subject[Any] = Subject()
        self.retry_policy = RetryPolicy()
        self.health = HealthPolicy()
        self.watchdog = Watchdog(self)
        self.ever_connected = False  # a connection of this exchange has opened once
        self.connected_hosts: set[str] = set()  # the hosts (``host:port``) a connection has opened to
        self.tap: ClientTap | None = None
        self.closed = False
        self.ended = False  # see end()
        self.drained = False  # close() has cancelled every task of the hub's (see kept())
        self.frame_errors = 0
        #: the messages of trading calls that timed out (rxpro._trading): not sent if still queued
        self.withheld: list[Any] = []
        self._subscribed = 0  # streams that got their first subscriber, counted (Subscription.since)
        self.tasks: set[asyncio.Task[Any]] = set()
        #: every subscription rxpro holds, live or on its way out, by stream key
        self.subscriptions: dict[Any, Subscription] = {}
        self.clients: list[RxClient] = []  # every connection rxpro took in
        # rxpro's un-watch calls in flight: no watch call starts until they are done
        self._unwatches: dict[Subscription, asyncio.Task[Any]] = {}
        # the task running a subscription's watch call -> (subscription, generation). Keyed
        # by task, not a ContextVar: ccxt starts the connection's tasks from inside that
        # call, and a context variable would follow them into every later handler
        self.capturing: dict[asyncio.Task[Any], tuple[Subscription, int]] = {}
        # tasks inside a login method (declared per venue): what they watch is no data route
        self.logging_in: set[asyncio.Task[Any]] = set()
        # done-callbacks by which rxpro's own watch calls wait on ccxt's per-hash futures:
        # they are not "someone else waiting" on a subscription
        self.own_callbacks: weakref.WeakSet[Any] = weakref.WeakSet()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self.exchange.asyncio_loop  # type: ignore[no-any-return]

    # -- views -----------------------------------------------------------------

    @property
    def streams(self) -> dict[Any, Stream]:
        """The streams that have subscribers now, by key."""
        return {key: s.stream for key, s in self.subscriptions.items() if s.stream.observers}

    def has_observers(self) -> bool:
        """Whether any stream of the exchange has a subscriber now."""
        return any(s.stream.observers for s in self.subscriptions.values())

    @property
    def unwatching(self) -> dict[Any, asyncio.Task[Any]]:
        """rxpro's un-watch calls in flight, by stream key."""
        return {s.key: task for s, task in self._unwatches.items()}

    # -- events ----------------------------------------------------------------

    def publish(self, kind: EventKind, **fields: Any) -> None:
        event = ConnectionEvent(kind, self.exchange.id, timestamp=int(time.time() * 1000), **fields)
        try:
            self.events.on_next(event)
        except Exception:  # an observer of events must not break the handler that published
            log.exception("rxpro: connection event observer raised")

    def publish_message(self, message: Any) -> None:
        try:
            self.messages.on_next(message)
        except Exception:  # noqa: BLE001 - every stream still needs this frame
            log.exception("rxpro: an observer of messages() raised")

    def frame_failed(self, client: RxClient, error: Exception) -> None:
        self.frame_errors += 1
        self.publish("frame_error", url=client.url, error=error)

    def disconnected(self, client: RxClient, error: Any) -> None:
        if not self.closed:
            self.publish("disconnected", url=client.url, error=error)

    def connected(self, url: str) -> None:
        self.ever_connected = True
        self.connected_hosts.add(_host_of(url))
        self.publish("connected", url=url)

    def never_connected(self, subscription: Subscription) -> str | None:
        """The host(s) ``subscription`` waits on, if no connection to any of them has ever opened.

        Counted per host, not per exchange: a venue whose spot host answers while its futures
        host is unreachable (blocked, a wrong URL) fails the futures streams fast too; a host
        that did connect once is retried through the whole budget (a network that went away),
        and so is a subscription spread over several hosts of which one did.
        """
        hosts = {_host_of(client.url) for client, _ in subscription.registrations}
        if not hosts:  # the call failed before it reached a connection
            return None if self.ever_connected else ""
        unreached = hosts - self.connected_hosts
        return ", ".join(sorted(unreached)) if unreached == hosts else None

    # -- the silence watchdog (rxpro._health) -------------------------------------

    def watched(self) -> list[Subscription]:
        """The subscriptions with a cadence and subscribers."""
        return [s for s in self.subscriptions.values() if s.silence_ms is not None and s.stream.observers]

    def stalled(self, subscription: Subscription, error: Exception) -> None:
        """``subscription`` has been silent past its cadence: say so, and reconnect its connections."""
        clients = {id(c): c for c, _ in subscription.registrations}
        self.publish("stalled", stream=subscription.stream.description, error=error,
                     url=next(iter(clients.values())).url if clients else None)
        for client in clients.values():
            if client.opening():
                # ccxt's on_error would not close it, and it would open afterwards out of
                # ccxt's hands, used by nobody; its connect timeout covers it
                continue
            # what ccxt does when a keepalive goes unanswered: every stream on it retries
            client.on_error(error)

    # -- tasks -----------------------------------------------------------------

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        loop = self.loop or asyncio.get_running_loop()
        # a fresh context: tasks spawned from inside a handler or observer inherit nothing
        task: asyncio.Task[Any] = loop.create_task(coro, context=contextvars.Context())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- connections -----------------------------------------------------------

    def router_for(self, client: RxClient) -> Router:
        self.clients.append(client)
        return Router(self, client)

    def set_tap(self, tap: ClientTap | None) -> None:
        """Hand every connection's frames to ``tap`` (a recorder), from now on."""
        self.tap = tap
        for client in self.clients:
            client.set_tap(tap)

    # -- registration: what a running watch call subscribes ----------------------

    def capturing_now(self) -> bool:
        """Whether the running task is one of rxpro's own watch calls (outside a login)."""
        task = asyncio.current_task()
        return task is not None and task in self.capturing and task not in self.logging_in

    @contextlib.contextmanager
    def login(self) -> Iterator[None]:
        """Marks the running task as inside a login method while the block runs."""
        task = asyncio.current_task()
        if task is None or task in self.logging_in:
            yield
            return
        self.logging_in.add(task)
        try:
            yield
        finally:
            self.logging_in.discard(task)

    def capturing_login(self) -> bool:
        """Whether the running task is an rxpro stream's call, now inside a login method."""
        task = asyncio.current_task()
        return task is not None and task in self.capturing and task in self.logging_in

    def register(self, client: RxClient, message_hashes: list[str], request: Any = None) -> None:
        """Route ``message_hashes`` of ``client`` to the subscription whose watch call is running.

        ``request``: the subscribe message the call gave ccxt's ``watch`` (kept to tell, from an
        error the venue sends without an id, whose request it refuses).
        """
        task = asyncio.current_task()
        captured = self.capturing.get(task) if task is not None else None
        if captured is None or task in self.logging_in:
            return  # not an rxpro call, or a login watch made on the way to the data subscription
        subscription, generation = captured  # a stale call still registers: its _run undoes it (see there)
        self.route(subscription, client, message_hashes)
        if request is not None and generation == subscription.generation:
            subscription.requests.append(request)

    def route(self, subscription: Subscription, client: RxClient, message_hashes: list[str]) -> None:
        for message_hash in message_hashes:
            if client.router.add_route(message_hash, subscription):
                subscription.registrations.append((client, message_hash))

    def unroute(self, subscription: Subscription) -> None:
        for client, message_hash in subscription.registrations:
            client.router.remove_route(message_hash, subscription)
        subscription.registrations = []

    def mark_own(self, futures: list[Any], before: list[set[Any]]) -> None:
        """Remember the callbacks an rxpro watch call just attached to ``futures``."""
        for future, earlier in zip(futures, before):
            for cb in callbacks_of(future):
                if cb not in earlier:
                    self.own_callbacks.add(cb)

    def _is_own(self, callback: Any) -> bool:
        try:
            return callback in self.own_callbacks
        except TypeError:  # an unhashable callable: not one of rxpro's
            return False

    def others_waiting(self, pairs: list[tuple[RxClient, str]]) -> bool:
        """Whether an awaitable ``watch_*`` outside rxpro waits on one of these hashes."""
        return any(client.router.waited_on(h, self._is_own) for client, h in pairs)

    def _shared_entirely(self, subscription: Subscription, pairs: list[tuple[RxClient, str]]) -> bool:
        """Whether every hash of ``pairs`` is routed by another subscription (the same book, another limit)."""
        return bool(pairs) and all(c.router.routed_by_others(h, subscription) for c, h in pairs)

    def _routed(self, subscription: Subscription, pairs: list[tuple[RxClient, str]]) -> bool:
        return any(c.router.routed_by_others(h, subscription) for c, h in pairs)

    # -- observers come and go ----------------------------------------------------

    def subscribe(
        self, key: Any, make: Callable[[], Subscription], observer: abc.ObserverBase[Any]
    ) -> abc.DisposableBase:
        """Add ``observer`` to the subscription of ``key`` (made by ``make`` if there is none)."""
        subscription = self.subscriptions.get(key)
        if subscription is None:
            subscription = self.subscriptions[key] = make()
        if subscription.stream.add(observer):
            self._subscribed += 1
            subscription.since = self._subscribed
            self._first_observer(subscription)

        def dispose() -> None:
            if subscription.stream.remove(observer):
                self._last_observer(subscription)

        return Disposable(dispose)

    def stream_rejected(self, stream: Stream, error: Exception) -> None:
        """A stream refused a value ccxt parsed into nonsense: a frame error, not data."""
        self.frame_errors += 1
        self.publish("frame_error", stream=stream.description, error=error)

    def stream_emptied(self, stream: Stream) -> None:
        """A stream lost its last observer by itself (an observer raised)."""
        subscription = self.subscriptions.get(stream.key)
        if subscription is not None and subscription.stream is stream:
            self._last_observer(subscription)

    def _first_observer(self, subscription: Subscription) -> None:
        state = subscription.state
        if state is State.RELEASING:
            # the same stream subscribed again within the grace period: keep ccxt's
            # subscription, and call the watch method again to route it
            self._cancel_task(subscription)
            self._start_when_clear(subscription)
        elif state is State.UNSUBSCRIBING:
            subscription.state = State.PENDING  # its un-watch finishes, then it subscribes again
        elif state is State.IDLE:
            self._start_when_clear(subscription)

    def _last_observer(self, subscription: Subscription) -> None:
        """The last subscriber left: stop delivery at once and let go of the exchange subscription."""
        subscription.generation += 1
        subscription.retrying = False
        state = subscription.state
        self._cancel_timer(subscription)
        if state is State.RETRYING:
            if subscription.resync_pending and subscription.unwatch_call is not None and not self.closed:
                subscription.resync_pending = False
                self._unwatch(subscription, resync=False)
                return
            self._forget(subscription)
        elif state is State.PENDING and subscription in self._unwatches:
            subscription.state = State.UNSUBSCRIBING  # its own un-watch is still in flight
        elif state is State.PENDING or state is State.IDLE:
            self._forget(subscription)
        elif state in (State.STARTING, State.SUBSCRIBED):
            self._release(subscription)
        # RESYNCING / UNSUBSCRIBING: the un-watch in flight finishes, then _unwatched decides

    # -- subscribing -------------------------------------------------------------------

    def _start_when_clear(self, subscription: Subscription) -> None:
        """Subscribe now, or once the un-watches in flight are done (``pending``)."""
        if self._unwatches:
            subscription.state = State.PENDING
            return
        self._start(subscription)

    def _start(self, subscription: Subscription) -> None:
        subscription.generation += 1
        subscription.flowing = False
        subscription.requests = []
        subscription.spared_error = None
        subscription.state = State.STARTING
        exchange = self.exchange
        for attr in CACHE_ATTRIBUTES:  # (recorded from birth; a cache set around rxpro is caught here)
            watch_caches(getattr(exchange, attr, None))
        # the watchdog holds it to its cadence from this start (not from a clock at zero: a fresh
        # connection with nothing received yet was "stalled" at the watchdog's first look)
        subscription.quiet_since = time.monotonic()
        subscription.calls_in_flight += 1
        subscription.task = self.spawn(self._run(subscription, subscription.generation))
        if subscription.silence_ms is not None:
            # watched while it waits for its first data too (once its request is on a connection)
            self.watchdog.watch()

    async def _run(self, subscription: Subscription, generation: int) -> None:
        if generation != subscription.generation:
            subscription.calls_in_flight -= 1
            self._let_go_after_call(subscription)  # every subscriber left before the call began
            return
        task = asyncio.current_task()
        assert task is not None
        self.capturing[task] = (subscription, generation)
        try:
            await subscription.start_call()
        except asyncio.CancelledError:
            if task.cancelling():
                raise  # this task was cancelled (the stream let go, the exchange closed)
            # a future the call awaited was cancelled by someone else (a shared ccxt task): not this
            # stream's end; said and retried, not left waiting for data that cannot come
            self.failed(subscription, ccxt.NetworkError(
                f"{subscription.stream.description}: its watch call was cancelled from outside"), generation)
        except Exception as error:  # noqa: BLE001 - classified in failed()
            self.failed(subscription, error, generation)
        finally:
            self.capturing.pop(task, None)
            subscription.calls_in_flight -= 1
        if generation == subscription.generation:
            if subscription.state is State.STARTING:
                subscription.state = State.SUBSCRIBED
                if subscription.silence_ms is not None:
                    self.watchdog.watch()
        else:
            self._let_go_after_call(subscription)

    def _let_go_after_call(self, subscription: Subscription) -> None:
        """Every subscriber left while the watch call was on its way, before it registered.

        If it subscribed anyway, let go of that now as ``_release`` would have; if it
        never began, there is nothing to let go of.
        """
        if subscription.state is not State.RELEASING or subscription.task is not None or subscription.calls_in_flight:
            return  # someone subscribed again meanwhile, or a grace is already running
        if subscription.registrations:
            self._release(subscription)
        else:
            self._forget(subscription)

    # -- letting go ----------------------------------------------------------------------

    def _release(self, subscription: Subscription) -> None:
        """Drop the routes; un-watch after the grace unless someone else still uses the subscription."""
        pairs = list(subscription.registrations)
        keep = self.others_waiting(pairs) or self._shared_entirely(subscription, pairs)
        self.unroute(subscription)
        if not pairs and subscription.calls_in_flight:
            subscription.state = State.RELEASING  # its call registers later: _run lets go then
            subscription.task = None
            subscription.registrations = []
            return
        if pairs and not keep and subscription.unwatch_call is not None and not self.closed:
            subscription.state = State.RELEASING
            subscription.task = self.spawn(self._release_later(subscription, pairs))
            return
        self._forget(subscription)

    async def _release_later(self, subscription: Subscription, pairs: list[tuple[RxClient, str]]) -> None:
        """Un-watch after a grace period, unless someone took the subscription up meanwhile.

        An await loop woken by the same frames that ended this stream (``take(n)`` inside a
        burst: ccxt handles buffered frames without yielding) has not awaited again yet when
        the last subscriber leaves. Each grace period ends in one of three ways: someone
        waits on the subscription (or routes all of it) again: keep it; an awaitable was
        resolved under it during the period: look again; neither: un-watch.
        """
        while True:
            started = time.monotonic()
            await asyncio.sleep(UNWATCH_GRACE_MS / 1000)
            if self.closed or self.others_waiting(pairs) or self._shared_entirely(subscription, pairs):
                subscription.task = None
                self._forget(subscription)
                return
            if not any(c.router.resolved_at.get(h, 0.0) >= started for c, h in pairs):
                break
        subscription.task = None
        subscription.registrations = pairs  # what the un-watch undoes (routes already dropped)
        self._unwatch(subscription, resync=False)

    def _unwatch(self, subscription: Subscription, *, resync: bool) -> None:
        """Call the stream's ``un_watch_*``; the subscriptions it may hurt are looked at after."""
        subscription.state = State.RESYNCING if resync else State.UNSUBSCRIBING
        exposed = [
            (other, other.generation) for other in self.subscriptions.values()
            if other is not subscription and other.state in (State.STARTING, State.SUBSCRIBED)
            and other.stream.overlaps(subscription.stream)
        ]
        subscription.task = task = self.spawn(self._run_unwatch(subscription, exposed))
        self._unwatches[subscription] = task

    async def _run_unwatch(self, subscription: Subscription, exposed: list[tuple[Subscription, int]]) -> None:
        assert subscription.unwatch_call is not None
        try:
            await subscription.unwatch_call()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - nobody may be subscribed to hear it
            log.debug("rxpro: %s: un-watch failed: %r", subscription.stream.description, error)
        finally:
            subscription.task = None
            self._unwatches.pop(subscription, None)
        self._unwatched(subscription, exposed)

    def _unwatched(self, subscription: Subscription, exposed: list[tuple[Subscription, int]]) -> None:
        """An un-watch is done: resync the books it took, then start whoever waited for it.

        The books go first: their own un-watches are then in flight, so the subscription
        just un-watched (when it resyncs) waits for them instead of starting under them.
        """
        subscription.registrations = []
        if self.closed:
            return
        for other, generation in exposed:
            # ccxt dropped the shared book of these symbols: the other book must resync
            if (
                other.generation == generation and other.stream.observers
                and other.state in (State.STARTING, State.SUBSCRIBED)
                and other.stream.topic in _RESYNC_TOPICS
            ):
                self._resync_now(other, ccxt.UnsubscribeError(
                    f"{self.exchange.id}: un-watching {subscription.stream.description} dropped the shared book"))
        if subscription.state is State.RESYNCING and subscription.stream.observers:
            self._start_when_clear(subscription)
        elif subscription.state is not State.PENDING or not subscription.stream.observers:
            self._forget(subscription)
        if not self._unwatches:
            for waiting in [s for s in self.subscriptions.values() if s.state is State.PENDING]:
                if waiting.stream.observers:
                    self._start(waiting)
                else:
                    self._forget(waiting)

    def _forget(self, subscription: Subscription) -> None:
        subscription.state = State.IDLE
        subscription.registrations = []
        if not subscription.stream.observers and self.subscriptions.get(subscription.key) is subscription:
            del self.subscriptions[subscription.key]

    def _cancel_timer(self, subscription: Subscription) -> None:
        if subscription.timer is not None:
            subscription.timer.cancel()
            subscription.timer = None

    def _cancel_task(self, subscription: Subscription) -> None:
        if subscription.task is not None:
            subscription.task.cancel()
            subscription.task = None

    def kept(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """``method`` (a coroutine function ccxt runs as a task of its own): its task is counted
        among the hub's, so that ``close()`` cancels it if it is still running; one that starts
        after ``close()`` cancelled the hub's tasks (a ccxt timer firing late) is cancelled at once."""
        hub = self

        async def kept(*args: Any) -> Any:
            if hub.drained:
                raise asyncio.CancelledError  # ccxt's spawn cancels its future: nothing is left waiting
            task = asyncio.current_task()
            if task is not None:
                hub.tasks.add(task)
                task.add_done_callback(hub.tasks.discard)
            return await method(*args)

        return kept

    # -- data and errors ------------------------------------------------------------------

    def flowing(self, subscription: Subscription) -> None:
        """The first data of this generation reached ``subscription`` (called by its router)."""
        subscription.flowing = True
        if not subscription.stream.observers:
            return
        if subscription.retrying:
            if subscription.stream.gaps is not None:
                subscription.stream.gaps.reconnected()  # before this first data is delivered
            subscription.retrying = False
            subscription.attempt = 0
            self.publish("resubscribed", stream=subscription.stream.description)
        elif subscription.attempt:
            subscription.attempt = 0

    def failed(self, subscription: Subscription, error: Exception, generation: int) -> None:
        """An error of the current generation, once: wait and re-subscribe, or end the stream."""
        if generation != subscription.generation or not subscription.stream.observers:
            return
        if error is subscription.spared_error and subscription.state is State.STARTING:
            # the router found that this error names another subscription's request: this one
            # stands (the venue refused nothing of it), only ccxt's future was rejected: wait again.
            # Its routes stay, so that a refusal of its own request arriving meanwhile still finds it
            self._start_when_clear(subscription)
            return
        subscription.generation += 1
        subscription.flowing = False
        unreached = self.never_connected(subscription) if _is_transient(error) else None  # (before unroute)
        self.unroute(subscription)
        if isinstance(error, ccxt.UnsubscribeError):
            self._unsubscribed(subscription, error)
            return
        # a book out of sync: drop ccxt's subscription and make it again (fresh snapshot)
        resync = isinstance(error, RESYNC_ERRORS)
        if unreached is not None and subscription.attempt + 1 >= self.health.connect_attempts:
            # never connected at all (no network, a wrong URL): say so now, not after the whole budget
            to = f" to {unreached}" if unreached else ""
            self._end(subscription, ccxt.ExchangeNotAvailable(
                f"{self.exchange.id}: could not connect{to} ({subscription.attempt + 1} attempts): {error}"))
            return
        if (_is_transient(error) or resync) and not self.closed and self._retry_later(subscription, error, resync):
            return
        self._end(subscription, error)

    def _unsubscribed(self, subscription: Subscription, error: Exception) -> None:
        """ccxt rejected the subscription's future with ``UnsubscribeError``."""
        if self._unwatches and not self.closed:
            # rxpro's un-watch of an overlapping stream took it: subscribe again after it
            subscription.retrying = True
            subscription.state = State.PENDING
            self.publish("retrying", stream=subscription.stream.description, error=error, delay_ms=0.0)
            return
        # an un_watch_* of the user's: the stream ends, saying so
        self.publish("unwatched", stream=subscription.stream.description, error=error)
        subscription.state = State.IDLE
        stream = subscription.stream
        if self.subscriptions.get(subscription.key) is subscription:
            del self.subscriptions[subscription.key]
        stream.complete()

    def _retry_later(self, subscription: Subscription, error: Exception, resync: bool) -> bool:
        subscription.attempt += 1
        policy = self.retry_policy
        if not policy.allows(subscription.attempt):
            return False
        delay = policy.delay_ms(subscription.attempt)
        subscription.retrying = True
        subscription.state = State.RETRYING
        self.publish("retrying", stream=subscription.stream.description, error=error, delay_ms=delay)
        subscription.task = None
        subscription.resync_pending = resync
        # on the exchange's clock: a replay's backoff passes in recorded time, so that a replay
        # fed as fast as it goes does not end before the stream is back
        subscription.timer = self.exchange.rx_call_later(delay / 1000, self._retry, subscription, resync)
        return True

    def _retry(self, subscription: Subscription, resync: bool) -> None:
        subscription.timer = None
        subscription.resync_pending = False
        if not subscription.stream.observers or self.closed:
            return
        if resync and subscription.unwatch_call is not None:
            self._resync_now(subscription)
            return
        self._start_when_clear(subscription)

    def _resync_now(self, subscription: Subscription, announce: BaseException | None = None) -> None:
        """Drop ccxt's subscription and make it again: un-watch, then subscribe (new snapshot)."""
        subscription.generation += 1
        subscription.flowing = False
        subscription.retrying = True
        if announce is not None:
            self.publish("retrying", stream=subscription.stream.description, error=announce, delay_ms=0.0)
        self.unroute(subscription)
        if subscription.unwatch_call is None:
            self._start_when_clear(subscription)
            return
        self._unwatch(subscription, resync=True)

    def _end(self, subscription: Subscription, error: Exception) -> None:
        subscription.state = State.IDLE
        if self.subscriptions.get(subscription.key) is subscription:
            del self.subscriptions[subscription.key]
        subscription.stream.fail(error)

    # -- the end ---------------------------------------------------------------------------

    def end(self) -> None:
        """No more data will come (a replay's recording has ended): complete every stream.

        Streams subscribed afterwards complete at once and subscribe to nothing; the
        exchange stays open (REST calls, awaitables).
        """
        self.ended = True
        self._complete_all()

    async def close(self) -> None:
        """Complete every stream and stop every task rxpro started; idempotent."""
        if self.closed:
            return
        self.closed = True
        self._complete_all()

    def _complete_all(self) -> None:
        for subscription in list(self.subscriptions.values()):
            subscription.generation += 1
            self._cancel_timer(subscription)
            self.unroute(subscription)
            subscription.state = State.IDLE
            subscription.stream.complete()
        self.subscriptions.clear()

    async def drain_tasks(self) -> None:
        self.drained = True
        tasks = [t for t in self.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for client in self.clients:
            client.router.clear()
        self.publish("closed")
        self.events.on_completed()
        self.messages.on_completed()

