"""What the OKX, Coinbase Exchange and Bybit parser cases share (``bench/_cases_okx.py``, ...).

* :func:`watched` — an exchange with streams set up as a running ``watch_*`` leaves them:
  ccxt's subscriptions on the connection and, on an rxpro exchange, a stream made exactly
  as ``ex.rx.watch_*(...)`` makes it (``StreamSpec``), routed on the message hashes ccxt
  resolves, with one observer counting what it emits.  No socket and no task: the frames
  are handed over by the benchmark.
* :func:`feeder` — hands one decoded frame to an exchange's handler as its WebSocket client
  does (rxpro's client counts the frame around the handler, as ``RxClient.handle_message``).
* :func:`cryptofeed_feeder` — runs a cryptofeed 2.4.1 feed's ``message_handler`` on one raw
  text, in process (its coroutine never waits: driven with ``send(None)``).

A case's exchange factories need a running event loop (ccxt makes a client only in one).
"""

from __future__ import annotations

import time
import types
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from ccxt.async_support.base.ws.client import Client

from rxpro._accessor import StreamSpec
from rxpro._values import CACHE_ATTRIBUTES

__all__ = ["Watch", "cryptofeed_feeder", "emitted", "feeder", "noop", "watched"]

#: (the watch_* method, its arguments, the message hashes ccxt resolves its data under)
Watch = tuple[str, tuple[Any, ...], tuple[str, ...]]


class _Counter:
    """The observer of a benchmarked stream: it counts, as a cheap user would."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def on_next(self, value: Any) -> None:
        self.count += 1

    def on_error(self, error: Exception) -> None:
        raise error

    def on_completed(self) -> None:
        pass


#: the counting observers of each benchmarked rxpro exchange
_COUNTERS: weakref.WeakKeyDictionary[Any, list[_Counter]] = weakref.WeakKeyDictionary()


def watched(exchange: Any, url: str, watches: Iterable[Watch], subscriptions: dict[str, Any] | None = None,
            routed: bool = True) -> Any:
    """``exchange`` with ``watches`` on its connection to ``url``, as running watch calls leave them.

    ``routed=False`` (an rxpro exchange): no stream at all, ccxt's plain caches (no rxpro
    recorder notes what they gain) and the connection resolving as ccxt's own client does —
    rxpro's handlers (natives) without rxpro's recording, routing and emission.
    """
    client = exchange.client(url)
    client.subscriptions.update(subscriptions or {})
    hub = getattr(exchange, "_rx_hub", None)
    if hub is not None and not routed:
        client.resolve = types.MethodType(Client.resolve, client)
        for name in CACHE_ATTRIBUTES:  # rxpro's recording containers, empty until the first frame
            if vars(exchange).get(name) == {}:
                vars(exchange)[name] = {}
    elif hub is not None:
        counters = _COUNTERS.setdefault(exchange, [])
        for method, arguments, message_hashes in watches:
            subscription = StreamSpec.of(exchange, method, arguments, {}).subscription()
            counter = _Counter()
            counters.append(counter)
            subscription.stream.add(counter)
            hub.route(subscription, client, list(message_hashes))
    return exchange


def emitted(exchange: Any) -> int:
    """How many values the streams ``watched`` set up on ``exchange`` emitted so far (0 for ccxt's own)."""
    return sum(counter.count for counter in _COUNTERS.get(exchange, ()))


def feeder(url: str) -> Callable[[Any, Any], None]:
    """A feed function handing one decoded frame of the connection to ``url`` to an exchange's handler."""

    def feed(exchange: Any, message: Any) -> None:
        client = exchange.clients[url]
        frames = getattr(client, "frames", None)
        if frames is None:  # ccxt's own client
            exchange.handle_message(client, message)
            return
        frames.number += 1  # rxpro's client: what RxClient.handle_message does around the handler
        frames.open = True
        try:
            exchange.handle_message(client, message)
        finally:
            frames.open = False

    return feed


def cryptofeed_feeder(make_feed: Callable[[], Any], conn: Any = None) -> Callable[[], Callable[[str], Any]]:
    """A factory of functions running a fresh cryptofeed feed's ``message_handler`` on one raw text."""

    def fresh() -> Callable[[str], Any]:
        feed = make_feed()
        handler = feed.message_handler
        received = time.time()

        def parse(text: str) -> None:
            step = handler(text, conn, received)
            try:
                step.send(None)
            except StopIteration:
                return
            raise RuntimeError("cryptofeed's handler waited on something: not a pure parse")

        return parse

    return fresh


async def noop(*_: Any) -> None:
    """A cryptofeed callback that does nothing with what it is given (cryptofeed awaits its callbacks)."""
