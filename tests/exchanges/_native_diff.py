"""The differential check of native handlers (issue 9): ccxt's parser and rxpro's, fed the same frames.

A :class:`Differential` holds a plain ccxt.pro exchange (the reference, code we did not
write) and an rxpro exchange of the same id with its native handlers on, both with the
same markets.  Each frame is decoded as ccxt's client decodes it (orjson), once per
exchange, and handed to each exchange's ``handle_message`` with a :class:`RecordingClient`
standing in for the connection.  Per frame it asserts that both resolved and rejected the
same values under the same message hashes in the same order (each value frozen at the
moment it was resolved), raised the same error if any, and left the same subscriptions;
every ``cache_every`` frames and at the end, that the caches (``trades``, ``orderbooks``,
``tickers``, ``bidsasks``, ``ohlcvs``) are equal.

Equal means :func:`canon` equal: dicts and lists compared element by element with the
number types kept apart (``1`` is not ``1.0``), ccxt's container classes named (an
``ArrayCache`` is not an ``ArrayCacheByTimestamp``; rxpro's recording subclasses count as
their ccxt class), book sides with their depth.

It also counts, per frame, the calls the native exchange made into the ccxt parsing steps
its natives replace (``fallback_steps``): a frame the native handler took costs none, so
``fallbacks`` says which frames went to ccxt's parser (``channel_of`` names the bucket).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from ccxt.async_support.base.ws.cache import BaseCache
from ccxt.async_support.base.ws.order_book import OrderBook
from ccxt.async_support.base.ws.order_book_side import OrderBookSide

#: the exchange attributes holding what the handlers parse
CACHES = ("trades", "orderbooks", "tickers", "bidsasks", "ohlcvs")


def _ccxt_class(value: Any) -> str:
    """The ccxt class a value is (rxpro's recording subclasses of ccxt's caches count as theirs)."""
    for cls in type(value).__mro__:
        if cls.__module__.startswith("ccxt."):
            return cls.__name__
    return type(value).__name__


def canon(value: Any) -> Any:
    """``value`` in a form whose ``==`` is strict about number and container types."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is float:
        return ("float", repr(value))
    if kind is int or kind is bool:
        return (kind.__name__, value)
    if isinstance(value, OrderBookSide):
        # book sides are long: orjson's text keeps the number types (1 is "1", 1.0 is "1.0") and is
        # ~10x quicker than repr; only NaN and infinities (all "null") go to repr
        text = orjson.dumps(value)
        if b"null" in text:
            text = repr([list(level) for level in value]).encode()
        return (_ccxt_class(value), value._depth, text)
    if isinstance(value, dict):
        tag = _ccxt_class(value) if isinstance(value, OrderBook) else "dict"
        return (tag, {key: canon(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        tag = _ccxt_class(value) if isinstance(value, BaseCache) else kind.__name__ if kind in (list, tuple) else "list"
        return (tag, [canon(item) for item in value])
    if isinstance(value, BaseException):
        return ("error", type(value).__name__, str(value))
    return (kind.__name__, repr(value))


class RecordingClient:
    """Stands in for ccxt's ``Client`` in a handler call: its URL and subscriptions, and what was resolved."""

    def __init__(self, url: str, subscriptions: dict[str, Any] | None = None) -> None:
        self.url = url
        self.subscriptions: dict[str, Any] = dict(subscriptions or {})
        self.futures: dict[str, Any] = {}
        self.events: list[Any] = []

    def resolve(self, result: Any, message_hash: str) -> None:
        self.events.append(("resolve", message_hash, canon(result)))

    def reject(self, error: Any, message_hash: str | None = None) -> None:
        self.events.append(("reject", message_hash, canon(error)))


class Differential:
    """A reference ccxt exchange and a native rxpro one, fed frame by frame and compared."""

    def __init__(self, reference: Any, native: Any, subscriptions: dict[str, Any] | None = None,
                 fallback_steps: Iterable[str] = (), channel_of: Callable[[Any], str] = lambda m: "frame",
                 cache_every: int = 50) -> None:
        assert native.rx_native, "the native handlers are off: nothing would be compared"
        self.reference = reference
        self.native = native
        self.subscriptions = dict(subscriptions or {})
        self.channel_of = channel_of
        self.cache_every = cache_every
        self.clients: dict[str, tuple[RecordingClient, RecordingClient]] = {}
        self.frames: Counter[str] = Counter()
        self.fallbacks: Counter[str] = Counter()
        #: what the reference resolved and rejected, by kind
        self.outcomes: Counter[str] = Counter()
        self._steps = 0
        for name in fallback_steps:
            setattr(native, name, self._counting(getattr(native, name)))

    def _counting(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self._steps += 1
            return method(*args, **kwargs)
        return counted

    def client_pair(self, url: str) -> tuple[RecordingClient, RecordingClient]:
        pair = self.clients.get(url)
        if pair is None:
            pair = self.clients[url] = (RecordingClient(url, self.subscriptions), RecordingClient(url, self.subscriptions))
        return pair

    def feed(self, text: str | bytes, url: str = "wss://example/ws") -> list[Any]:
        """Hand one frame to both exchanges; assert they did the same.  Returns the reference's events."""
        reference_client, native_client = self.client_pair(url)
        reference_client.events = []
        native_client.events = []
        expected_error = _handle(self.reference, reference_client, text)
        steps = self._steps
        got_error = _handle(self.native, native_client, text)
        channel = self.channel_of(orjson.loads(text))
        self.frames[channel] += 1
        if self._steps != steps:
            self.fallbacks[channel] += 1
        context = f"frame {sum(self.frames.values())} ({channel}): {str(text)[:300]}"
        assert native_client.events == reference_client.events, context
        assert got_error == expected_error, context
        assert canon(native_client.subscriptions) == canon(reference_client.subscriptions), context
        self.outcomes.update(event[0] for event in reference_client.events)
        if sum(self.frames.values()) % self.cache_every == 0:
            self.compare_caches()
        return reference_client.events

    def compare_caches(self) -> None:
        for name in CACHES:
            assert canon(getattr(self.native, name)) == canon(getattr(self.reference, name)), name

    def feed_all(self, frames: Iterable[tuple[str, str]]) -> None:
        """``(url, text)`` frames in order, then the caches compared."""
        for url, text in frames:
            self.feed(text, url)
        self.compare_caches()


def _handle(exchange: Any, client: RecordingClient, text: str | bytes) -> Any:
    try:
        exchange.handle_message(client, orjson.loads(text))
    except Exception as error:  # noqa: BLE001 - the two must fail alike
        return canon(error)
    return None


async def replay_emissions(paths: Any, native: bool, streams: Iterable[tuple[str, str, Any]],
                           config: dict[str, Any] | None = None) -> dict[tuple[str, str], list[Any]]:
    """What rxpro's Observables emit over a replay of ``paths``, the natives on or off (``canon`` form).

    ``streams``: ``(kind, symbol, argument)`` with kind ``trades`` (argument unused), ``book``
    (the depth) or ``ticker`` (its params).  The whole path is rxpro's: the replayed socket,
    ccxt's client, the handler (native or ccxt's), the hub, the Observable.
    """
    import asyncio

    import rxpro

    ex = rxpro.replay(paths, autostart=False, config={**(config or {}), "rxpro": {"native": native}})
    try:
        assert ex.rx_native is native
        await ex.load_markets()
        items: dict[tuple[str, str], list[Any]] = {}
        errors: list[Any] = []
        for kind, symbol, argument in streams:
            if kind == "trades":
                source = rxpro.trades(ex, symbol)
            elif kind == "book":
                source = rxpro.order_book(ex, symbol, argument)
            else:
                source = rxpro.ticker(ex, symbol, argument)
            got = items[(kind, symbol)] = []
            source.subscribe(lambda value, got=got: got.append(canon(value)), errors.append)
        await asyncio.sleep(0)
        await ex.replay.run()
        assert errors == []
        return items
    finally:
        await ex.close()
