"""The router of one connection: what ccxt resolves or rejects under a message hash, to whom.

Each :class:`~rxpro._client.RxClient` has one :class:`Router`.  The hub registers on
it which subscriptions listen to which message hashes (learned while their
``watch_*`` call runs); ``resolve`` then pushes every update, inside ccxt's handler,
to the streams of those subscriptions, and ``reject`` tells the hub which of them an
error concerns.  The router also keeps rxpro's placeholder future under a routed
hash, so that ccxt's handlers — some resolve only hashes someone waits on — keep
resolving it when no awaitable does, while an awaitable that does wait is still
resolved by ccxt as usual.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any, Protocol

import ccxt
from ccxt.async_support.base.ws import future as _ccxt_future_module
from ccxt.async_support.base.ws.future import Future as CcxtFuture
from ccxt.async_support.base.ws.order_book import OrderBook

from ._values import RECORDING_CLASSES, cache_entries

from ._stream import Stream

__all__ = ["CcxtFuture", "Connection", "FrameCount", "Placeholder", "Routed", "Router", "RouterOwner",
           "callbacks_of", "swallow"]

log = logging.getLogger("rxpro")

#: errors after which an order book stream re-synchronises instead of ending
RESYNC_ERRORS = (ccxt.InvalidNonce, ccxt.ChecksumError)


def swallow(future: asyncio.Future[Any]) -> None:
    """A done-callback that retrieves a future's exception (nobody else may)."""
    if not future.cancelled():
        future.exception()


#: done-callbacks that consume a result but are nobody waiting: rxpro's and ccxt's
#: (ccxt's ``Future.race`` leaves one on each losing future)
_CCXT_SWALLOW = getattr(_ccxt_future_module, "_swallow", None)
NOT_WAITERS = frozenset(f for f in (swallow, _CCXT_SWALLOW) if f is not None)
#: CPython's futures list their callbacks; without that, fall back to "any callback ever added"
LISTS_CALLBACKS = hasattr(CcxtFuture, "_callbacks")


def callbacks_of(future: asyncio.Future[Any] | None) -> list[Any]:
    """The done-callbacks now attached to ``future`` that stand for someone waiting on it."""
    if future is None:
        return []
    return [cb for cb, _ in (getattr(future, "_callbacks", None) or ()) if not any(cb is f for f in NOT_WAITERS)]


class Placeholder(CcxtFuture):
    """rxpro's pending future under a routed hash; ``awaited`` while anyone waits on it."""

    _ever_awaited = False

    def __init__(self) -> None:
        super().__init__()
        CcxtFuture.add_done_callback(self, swallow)  # not an awaiter

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:  # type: ignore[override]
        if not any(fn is f for f in NOT_WAITERS):
            self._ever_awaited = True  # a Task awaiting it, gather/wait_for/race, ...
        super().add_done_callback(fn, context=context)

    @property
    def awaited(self) -> bool:
        # live: a waiter that left (a wait_for that timed out, a race another future won)
        # no longer counts; checked on every resolve of a routed hash, so kept to a loop
        # over the one or two callbacks
        if not self._ever_awaited or not LISTS_CALLBACKS:
            return self._ever_awaited  # never anything but rxpro's own callback: nobody waits
        for callback, _ in self._callbacks or ():
            if callback is not swallow and callback is not _CCXT_SWALLOW:
                return True
        return False


class Connection(Protocol):
    """The connection a router serves, as it sees it (``rxpro._client.RxClient``)."""

    url: str
    futures: dict[str, Any]
    rx_fresh: Any  # the last structure a native handler built new (emitted without a copy)

    def resolve_future(self, result: Any, message_hash: str) -> Any: ...

    def reject_future(self, error: Any, message_hash: str) -> Any: ...


class Routed(Protocol):
    """A subscription as its routes see it (``rxpro._hub.Subscription``)."""

    stream: Stream
    generation: int
    flowing: bool
    deliveries: int
    spared_error: BaseException | None

    def hashes_on(self, client: Any) -> list[str]: ...

    def named_by(self, error: BaseException) -> bool: ...


class FrameCount:
    """The number of the frame ccxt is handling (one per exchange; shared by its connections).

    A resolve outside a frame (from a task, e.g. after a REST snapshot) opens a
    pseudo-frame that lasts until the loop runs again, so that a cache resolved under
    two hashes yields the same entries to both.
    """

    __slots__ = ("number", "open")

    def __init__(self) -> None:
        self.number = 0
        self.open = False

    def close(self) -> None:
        self.open = False


def connection_wide(error: BaseException) -> bool:
    """Whether an error rejected for a whole connection concerns every stream on it.

    A lost connection does (ccxt rejects everything pending on it); so do a login that
    failed and a book out of sync. Anything else, such as one rejected subscription,
    concerns the streams not yet flowing.
    """
    return isinstance(error, (ccxt.NetworkError, ccxt.AuthenticationError, ccxt.UnsubscribeError, *RESYNC_ERRORS))


class RouterOwner(Protocol):
    """What a router tells the hub that owns it (``rxpro._hub.Hub``)."""

    frames: FrameCount

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None: ...

    def flowing(self, subscription: Any) -> None: ...

    def failed(self, subscription: Any, error: Exception, generation: int) -> None: ...

    def publish(self, kind: Any, **fields: Any) -> None: ...


def _trim(book: Any, subscriptions: tuple[Routed, ...]) -> None:
    """ccxt's ``limit()`` on a book, as its awaitable does on every return, when every stream sees less.

    A book ccxt made with a depth (``watch_order_book(symbol, 20)``) grows past it unless
    someone calls ``limit()``: rxpro does, where every stream routed on it is cut to at most
    that depth (a stream without ``limit``, or with a larger one, keeps the whole book).
    """
    depth = book["bids"]._depth
    if depth >= sys.maxsize:
        return
    for subscription in subscriptions:
        limit = subscription.stream.book_limit
        if limit is None or limit > depth:
            return
    book.limit()


class Router:
    """Routes one connection's resolves and rejects to the subscriptions listening on them."""

    def __init__(self, hub: RouterOwner, client: Connection) -> None:
        self.hub = hub
        self.client = client
        self.frames = hub.frames
        self.loop = hub.loop
        # hash -> the subscriptions routed on it; a tuple, replaced on change, so that a
        # delivery that ends a subscription does not disturb the loop delivering it
        self.routes: dict[str, tuple[Routed, ...]] = {}
        self.placeholders: dict[str, Placeholder] = {}
        # hash -> when ccxt last resolved a future someone awaited under it
        self.resolved_at: dict[str, float] = {}

    # -- the push path -----------------------------------------------------------------

    def resolve(self, result: Any, message_hash: str) -> Any:
        """Deliver what ccxt's handler resolved, then let ccxt resolve its future if anyone waits."""
        subscriptions = self.routes.get(message_hash)
        if subscriptions is None and type(result) is dict and message_hash not in self.client.futures:
            # a structure nobody routes or awaits (binance's {symbol: ticker} under a second
            # hash...): ccxt's own resolve would do nothing with it either
            return result
        frames = self.frames
        if not frames.open:
            frames.number += 1
            frames.open = True
            (self.loop or asyncio.get_running_loop()).call_soon(frames.close)
        recorder = result.__dict__.get("_rx_recorder") if type(result) in RECORDING_CLASSES else None
        if recorder is not None:  # the hot case: a recorded cache (trades...), drained inline
            batch = origin = recorder.drain(frames.number)
        else:
            batch, origin = cache_entries(result, frames.number)
        if subscriptions and (batch is not None or isinstance(result, dict)):  # not an ack (True/None)
            frame = frames.number
            # a structure a native handler built for this resolve needs no copy (see RxClient.rx_fresh)
            fresh = self.client.rx_fresh if batch is None else None
            for subscription in subscriptions:
                subscription.deliveries += 1
                if not subscription.flowing:
                    self.hub.flowing(subscription)
                try:
                    subscription.stream.deliver(result, batch, origin, frame, fresh)
                except Exception:  # noqa: BLE001 - a bug of one stream must not starve the others
                    log.exception("rxpro: %s: delivery failed", subscription.stream.description)
            if batch is None and type(result) is not dict and isinstance(result, OrderBook):
                _trim(result, subscriptions)
        future = self.client.futures.get(message_hash)
        if future is not None:
            if type(future) is Placeholder and not future.awaited:
                return result  # only rxpro holds this hash: leave its placeholder pending
            # someone awaited this hash just now: an await loop comes back for more
            self.resolved_at[message_hash] = time.monotonic()
        self.client.resolve_future(result, message_hash)
        if subscriptions:
            self.hold(message_hash)
        return result

    def reject(self, error: Any, message_hash: str | None) -> Any:
        """Reject ccxt's futures, then tell the hub which subscriptions the error ends or interrupts."""
        if message_hash is not None:
            # generations are taken before ccxt's reject: each subscription hears it once
            targets = [(s, s.generation) for s in self.routes.get(message_hash, ())]
            value = self.client.reject_future(error, message_hash)
        else:
            targets, value = self._reject_connection(error)
        if isinstance(error, Exception):
            for subscription, generation in targets:
                self.hub.failed(subscription, error, generation)
        return value

    def _reject_connection(self, error: Any) -> tuple[list[tuple[Routed, int]], Any]:
        """Every pending future of the connection (``reject(error)`` without a hash)."""
        subscriptions = list({id(s): s for ss in self.routes.values() for s in ss}.values())
        spared: list[Routed] = []
        if isinstance(error, Exception) and not connection_wide(error):
            # an error event the exchange sent without saying which request it answers
            # (okx: a rejected subscribe): it concerns a subscription still waiting for
            # its first data, not the subscriptions already flowing on this connection;
            # where the venue can read from the error which request it refuses, only the
            # subscriptions that made that request
            waiting = [s for s in subscriptions if not s.flowing]
            named = [s for s in waiting if s.named_by(error)]
            spared = [s for s in subscriptions if s.flowing or (named and s not in named)]
            for subscription in spared:
                if not subscription.flowing:
                    subscription.spared_error = error  # its watch call is rejected all the same: see Hub.failed
            if spared:
                self.hub.publish("frame_error", url=self.client.url, error=error)
        targets = [(s, s.generation) for s in subscriptions if s not in spared]
        for pending in list(self.client.futures):
            self.client.reject_future(error, pending)
        for subscription in spared:
            # their pending futures were rejected and dropped: they need one again
            for message_hash in subscription.hashes_on(self.client):
                self.hold(message_hash)
        return targets, error

    def hold(self, message_hash: str) -> None:
        """Keep a pending future under a routed hash (some ccxt handlers resolve only those)."""
        futures = self.client.futures
        if message_hash not in futures:
            placeholder = Placeholder()
            futures[message_hash] = placeholder
            self.placeholders[message_hash] = placeholder

    # -- routes (set by the hub) ----------------------------------------------------------

    def add_route(self, message_hash: str, subscription: Routed) -> bool:
        """Route ``message_hash`` to ``subscription``; False if it already was."""
        routed = self.routes.get(message_hash, ())
        if subscription in routed:
            return False
        self.routes[message_hash] = routed + (subscription,)
        return True

    def remove_route(self, message_hash: str, subscription: Routed) -> None:
        routed = tuple(s for s in self.routes.get(message_hash, ()) if s is not subscription)
        if routed:
            self.routes[message_hash] = routed
            return
        self.routes.pop(message_hash, None)
        placeholder: Placeholder | None = self.placeholders.pop(message_hash, None)
        futures = self.client.futures
        # an awaitable watch_* waiting on it keeps it: ccxt resolves it as usual
        if placeholder is not None and not placeholder.awaited and futures.get(message_hash) is placeholder:
            del futures[message_hash]
            CcxtFuture.cancel(placeholder)

    def routed_by_others(self, message_hash: str, subscription: Routed) -> bool:
        return any(other is not subscription for other in self.routes.get(message_hash, ()))

    def waited_on(self, message_hash: str, own: Any) -> bool:
        """Whether an awaitable ``watch_*`` outside rxpro waits on ``message_hash`` now.

        Decided from who is attached to ccxt's pending future: rxpro's own watch calls
        (``own``) and the leftovers of a settled race don't count; an awaitable that
        picked up rxpro's placeholder does.
        """
        future = self.client.futures.get(message_hash)
        if future is None or future.done():
            return False
        if not LISTS_CALLBACKS:
            placeholder = self.placeholders.get(message_hash)
            return future is not placeholder or (isinstance(future, Placeholder) and future.awaited)
        return any(not own(cb) for cb in callbacks_of(future))

    def clear(self) -> None:
        self.placeholders.clear()

