"""Turning what ccxt's handlers resolve into immutable values to emit.

ccxt mutates its order books, balances and caches in place; a value that rxpro
has emitted must never change afterwards, so dict-shaped results are copied and
order books become plain snapshots.  List-shaped results (ccxt's ``ArrayCache``
family) are turned into the entries that *this* frame added or updated: rxpro
puts a recording ``append`` on each cache instance (an instance attribute, so
ccxt's classes are untouched) and drains what it recorded.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp, BaseCache
from ccxt.async_support.base.ws.order_book import OrderBook

__all__ = ["book_snapshot", "frozen_copy", "CacheRecorder", "recorder_for"]

_RECORDER_ATTR = "_rxpro_recorder"


def book_snapshot(book: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    """A plain-dict copy of a ccxt order book, sides cut to ``limit`` levels when given."""
    bids = book["bids"]
    asks = book["asks"]
    if limit is not None:
        bids = bids[:limit]
        asks = asks[:limit]
    return {
        "symbol": book.get("symbol"),
        # levels are mutated in place by ccxt: copy each (map(list) is the fastest copy)
        "bids": list(map(list, bids)),
        "asks": list(map(list, asks)),
        "timestamp": book.get("timestamp"),
        "datetime": book.get("datetime"),
        "nonce": book.get("nonce"),
    }


def frozen_copy(value: Any) -> Any:
    """A copy of nested dicts and lists deep enough that ccxt's later in-place updates don't show.

    The raw exchange payload under ``info`` is shared, not copied: ccxt never mutates it.
    """
    if isinstance(value, OrderBook):
        return book_snapshot(value)
    if isinstance(value, dict):
        copied = value.copy()
        for k, v in copied.items():
            # only nested containers need a deeper copy; most structures (tickers) are flat
            if k != "info" and isinstance(v, (dict, list)):
                copied[k] = frozen_copy(v)
        return copied
    if isinstance(value, list):
        return [frozen_copy(v) for v in value]
    return value


class CacheRecorder:
    """Records the entries appended to one ccxt cache instance since the last drain."""

    __slots__ = ("pending", "last_batch", "last_frame")

    def __init__(self, max_size: int | None) -> None:
        # bounded like the cache itself: a cache that ccxt resolves under no watched
        # hash is never drained, and must not grow without end
        self.pending: deque[Any] = deque(maxlen=max_size or 10_000)
        self.last_batch: list[Any] = []
        self.last_frame = -1

    def drain(self, frame: int) -> list[Any]:
        """The entries of the current frame; the same list again if another hash of the frame asks."""
        if self.pending:
            self.last_batch = list(self.pending)
            self.pending.clear()
            self.last_frame = frame
        elif self.last_frame != frame:
            self.last_batch = []
            self.last_frame = frame
        return self.last_batch


def _install(cache: BaseCache) -> CacheRecorder:
    recorder = CacheRecorder(cache.max_size)
    pending = recorder.pending
    original: Callable[[Any], None] = type(cache).append.__get__(cache)  # type: ignore[attr-defined]
    record: Callable[[Any], None]

    if type(cache) is ArrayCache:
        # plain trade/liquidation caches: ccxt never mutates an entry after appending it
        def record(item: Any) -> None:
            original(item)
            pending.append(item)

    elif isinstance(cache, ArrayCacheByTimestamp):
        hashmap = cache.hashmap

        def record(item: Any) -> None:
            original(item)
            pending.append(list(hashmap.get(item[0], item)))

    else:
        # by-id caches (orders, positions) merge an update into the stored entry and
        # move it to the end: emit a copy of the stored, merged entry
        deque = cache._deque

        def record(item: Any) -> None:
            original(item)
            stored = deque[-1] if deque else item
            # nested lists such as an order's ``trades`` are mutated later: copy them too
            pending.append(frozen_copy(stored))

    cache.append = record  # type: ignore[method-assign]
    setattr(cache, _RECORDER_ATTR, recorder)
    return recorder


def recorder_for(cache: BaseCache) -> tuple[CacheRecorder, bool]:
    """The recorder of ``cache`` and whether it was installed just now."""
    recorder = cache.__dict__.get(_RECORDER_ATTR)
    if recorder is not None:
        return recorder, False
    return _install(cache), True


def existing_entries(cache: BaseCache) -> list[Any]:
    """Copies of everything in a cache seen for the first time (all of it is new to rxpro)."""
    if isinstance(cache, ArrayCacheByTimestamp):
        return [list(row) for row in cache]
    if type(cache) is ArrayCache:
        return list(cache)
    return [frozen_copy(e) for e in cache]


def watch_caches(container: Any, depth: int = 3) -> None:
    """Install recorders on every cache already held in ``container`` (nested dicts).

    Called when a stream starts, so that entries appended to a pre-existing cache
    after that moment are told apart from its history.
    """
    if isinstance(container, BaseCache):
        recorder_for(container)
        return
    if depth and isinstance(container, dict):
        for value in list(container.values()):
            watch_caches(value, depth - 1)
