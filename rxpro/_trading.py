"""WS trading calls as Observables that run at most once: placing an order must never repeat.

``ex.rx.create_order_ws(...)`` returns an :class:`OrderCall`: the call starts when
the first observer subscribes (an Observable does nothing until then), runs **once**,
and its one result — or its error — is replayed to every observer, present and
later, like an ``AsyncSubject``.  Subscribing twice, ``retry()``, ``repeat()`` or a
second ``pipe`` never send the order again.  When every observer has left while the
call is in flight it is cancelled (its outcome at the exchange is then unknown), and
a later observer hears exactly that instead of a resend. A WS call (``*_ws``) whose answer
does not come within the exchange's ``timeout`` (ccxt's option, ms; 10 s by default) fails
with ``ccxt.RequestTimeout`` saying its outcome is unknown (the call itself goes on: what it
awaits may be shared, e.g. ccxt's markets loading; a late answer is logged); a
``create_order_ws`` is timed only when its client order id is known (generated, or given by
the user), and the call's own request, if still queued then, is not sent, nor is one it
would make later (it may still be loading markets or logging in): later calls with the same
id, a look-up or a retry, are sent as usual.

Where the venue accepts a client order id (the venue table's
``generates_client_order_id``: Binance, OKX, Bybit), ``create_order_ws`` without
``params['clientOrderId']`` gets one generated (``call.client_order_id``), so that an
order whose answer was lost can be found (``fetch_order`` / ``fetch_open_orders``)
rather than placed again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import ccxt
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.subject import AsyncSubject

from ._hub import CALL_MESSAGES, CallRequests

__all__ = ["OrderCall", "new_client_order_id"]

log = logging.getLogger("rxpro")


def _answer_timeout(exchange: Any) -> float:
    """How long a trading call waits for its answer: ccxt's ``timeout`` (ms, 10 s by default), in seconds."""
    timeout = getattr(exchange, "timeout", None)
    return timeout / 1000 if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0 else 10.0


def new_client_order_id() -> str:
    """A client order id every declared venue accepts: 32 letters and digits, ``rx`` first."""
    return "rx" + uuid.uuid4().hex[:30]


class OrderCall(Observable[Any]):
    """One awaitable trading call, run at most once; its result replayed to every observer."""

    def __init__(self, exchange: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 client_order_id: str | None = None, order_ref: str | None = None) -> None:
        super().__init__(self._subscribe_observer)
        self.exchange = exchange
        self.method = method
        #: the client order id rxpro generated for this call (None: the user gave one, or the venue takes none)
        self.client_order_id = client_order_id
        #: the client order id the order goes out with, generated or the user's (None: none known)
        self._order_ref = order_ref or client_order_id
        self._args = args
        self._kwargs = kwargs
        self._outcome: AsyncSubject[Any] = AsyncSubject()
        self._task: asyncio.Task[Any] | None = None
        self._observers = 0

    def _subscribe_observer(self, observer: abc.ObserverBase[Any],
                            scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        subscription = self._outcome.subscribe(observer)
        self._observers += 1
        if self._task is None and not self._outcome.is_stopped:
            self._start(observer)
        disposed = False

        def dispose() -> None:
            nonlocal disposed
            if disposed:
                return
            disposed = True
            subscription.dispose()
            self._observers -= 1
            if not self._observers and self._task is not None and not self._task.done():
                self._task.cancel()  # nobody listens any more: the outcome is unknown

        return Disposable(dispose)

    def _start(self, observer: abc.ObserverBase[Any]) -> None:
        hub = self.exchange._rx_hub
        if hub.closed:
            self._outcome.on_error(ccxt.ExchangeClosedByUser(
                f"{self.exchange.id} is closed: {self.method}() was not sent"))
            return
        self._task = hub.spawn(self._run())
        self._task.add_done_callback(self._cancelled_before_it_began)

    def _cancelled_before_it_began(self, task: asyncio.Task[Any]) -> None:
        """A task cancelled before its first step never runs ``_run``: its observers still hear why."""
        if task.cancelled() and not self._outcome.is_stopped:
            reason = "closed" if self.exchange._rx_hub.closed else "its last observer left"
            self._outcome.on_error(ccxt.ExchangeClosedByUser(
                f"{self.exchange.id} {reason} before {self.method}() began: it was not sent"))

    async def _run(self) -> None:
        outcome = self._outcome
        exchange = self.exchange
        ref = self._order_ref
        # a WS request has one answer, due within the exchange's timeout; another awaitable (a
        # paginated fetch, ccxt timing each request) is given the time it takes. A new order is
        # timed only with a client order id, to be found by. The requests the call gave ccxt's
        # watch are withheld at the timeout (RxClient.send): one still queued can't go out after
        # its observers were told it got no answer
        timed = self.method.endswith("_ws") and (self.method != "create_order_ws" or ref is not None)
        seconds = _answer_timeout(exchange) if timed else None
        try:
            if seconds is None:
                result = await getattr(exchange, self.method)(*self._args, **self._kwargs)
            else:
                # not wait_for: cancelling the call at its timeout would cancel what it awaits that others
                # share (ccxt's markets loading); it goes on, and what it gets later is only logged
                requests = CallRequests()
                inner = exchange._rx_hub.spawn(self._call(requests))
                try:
                    done, _ = await asyncio.wait({inner}, timeout=seconds)
                except asyncio.CancelledError:
                    inner.cancel()
                    raise
                if not done:
                    requests.timed_out = True  # no new request of it (its watch raises)...
                    exchange._rx_hub.withheld.extend(requests)  # ...and none still queued goes out
                    inner.add_done_callback(self._answered_late)
                    outcome.on_error(ccxt.RequestTimeout(
                        f"{exchange.id} {self.method}() got no answer in {seconds:g} s (the exchange's timeout); its "
                        "outcome is unknown" + (f": if it was sent, clientOrderId {ref} finds it (fetch_order / "
                                                "fetch_open_orders); a send of it not made by now will not be"
                                                if ref is not None else "")))
                    return
                result = inner.result()  # (its error: the call's own, below)
        except asyncio.CancelledError:
            reason = "closed" if self.exchange._rx_hub.closed else "its last observer left"
            outcome.on_error(ccxt.ExchangeClosedByUser(
                f"{self.exchange.id} {reason} while {self.method}() was in flight; its outcome is unknown"
                + (f" (clientOrderId {self.client_order_id})" if self.client_order_id else "")))
            raise
        except Exception as error:  # noqa: BLE001 - the call's own failure, replayed to every observer
            outcome.on_error(error)
            return
        outcome.on_next(result)
        outcome.on_completed()

    async def _call(self, requests: CallRequests) -> Any:
        """The call itself, collecting the requests it gives ccxt's ``watch`` into ``requests``."""
        CALL_MESSAGES.set(requests)  # (this task's own context: hub.spawn gives each a fresh one)
        return await getattr(self.exchange, self.method)(*self._args, **self._kwargs)

    def _answered_late(self, inner: asyncio.Task[Any]) -> None:
        """The call's outcome after its observers were told it timed out: logged, the only place it can go."""
        if inner.cancelled():
            return
        error = inner.exception()
        log.warning("rxpro: %s %s() answered after its timeout: %s", self.exchange.id, self.method,
                    repr(error) if error is not None else repr(inner.result())[:300])
