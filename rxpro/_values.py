"""Turning what ccxt's handlers resolve into immutable values to emit.

ccxt mutates its order books, balances and caches in place; a value that rxpro
has emitted must never change afterwards, so dict-shaped results are copied and
order books become plain snapshots.  List-shaped results (ccxt's ``ArrayCache``
family) are turned into the entries that *this* frame added or updated: a cache
rxpro watches is switched to a recording subclass of its own class (same object,
same state; ``append`` also notes the entry in the cache's :class:`CacheRecorder`),
and :func:`cache_entries` drains what was noted.  The subclass holds no reference
back to anything, so a cache ccxt drops is freed at once, without the cyclic
garbage collector.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp, BaseCache
from ccxt.async_support.base.ws.order_book import OrderBook
from ccxt.async_support.base.ws.order_book_side import Asks, Bids

__all__ = ["CACHE_ATTRIBUTES", "RECORDING_CLASSES", "CacheDict", "FrozenLevel", "FrozenSide", "CacheRecorder", "book_snapshot", "cache_entries", "frozen_copy", "recorder_for",
           "recording_container", "watch_caches"]

#: the exchange attributes where ccxt keeps list-shaped caches (directly, or in dicts by symbol)
CACHE_ATTRIBUTES = frozenset({"trades", "ohlcvs", "orders", "myTrades", "positions", "liquidations",
                              "myLiquidations", "triggerOrders"})

#: entries noted but not drained: a drain hands out at most this many, the newest (or the
#: cache's own size, if larger), and fewer than twice this many are kept meanwhile: every ccxt
#: handler resolves what it appended in the same frame (and the router drains on every
#: resolve, awaited or not), so only a cache nobody resolves would ever reach it
_UNDRAINED = 10_000


def _frozen(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(f"an emitted order book {type(self).__name__} can't change (rxpro shares it between snapshots)")


class FrozenLevel(list):  # type: ignore[type-arg]
    """A price level ``[price, amount]`` that can't change: shared by consecutive book snapshots.

    A list (it equals ``[price, amount]``, serialises as one, indexes as one) whose mutating
    methods raise ``TypeError``.
    """

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _frozen
    append = extend = insert = pop = remove = clear = sort = reverse = _frozen

    def __reduce__(self) -> Any:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenLevel:
        return self

    def __deepcopy__(self, memo: Any) -> FrozenLevel:
        return self


class FrozenSide(FrozenLevel):
    """One side of an emitted order book: a list of :class:`FrozenLevel` that can't change."""

    __slots__ = ()


def _store_all(self: Any, deltas: Any) -> None:
    """ccxt's ``OrderBookSide.storeArray`` of each delta in turn, but a changed level is replaced, never changed in place.

    So a level already emitted in a snapshot stays as it was: consecutive snapshots share
    every level that did not change, and a snapshot costs a copy of pointers, not of levels.
    A native handler hands a frame's levels at once (``rx_store_all``): one call, not one per level.
    """
    keys = self._index
    bids = self.side
    for delta in deltas:
        price = delta[0]
        index_price = -price if bids else price
        index = bisect_left(keys, index_price)
        if delta[1]:
            if index < len(keys) and keys[index] == index_price:
                _set_level(self, index, FrozenLevel(delta))
            else:
                keys.insert(index, index_price)
                _insert_level(self, index, FrozenLevel(delta))
        elif index < len(keys) and keys[index] == index_price:
            del keys[index]
            _delete_level(self, index)


_set_level = list.__setitem__
_insert_level = list.insert
_delete_level = list.__delitem__


def _store_array(self: Any, delta: Any) -> None:
    """ccxt's ``storeArray`` of one delta (see :func:`_store_all`)."""
    _store_all(self, (delta,))


def _limit(self: Any) -> None:
    """ccxt's ``OrderBookSide.limit``: the levels past the side's depth dropped (two slice deletions, not a loop)."""
    depth = self._depth
    if len(self) > depth:
        _delete_level(self, slice(depth, None))
        del self._index[depth:]


_SHARING_SIDES: dict[type, type] = {}
for _side in (Asks, Bids):
    _SHARING_SIDES[_side] = type(f"Sharing{_side.__name__}", (_side,), {
        "__doc__": f"ccxt's {_side.__name__}, whose levels are replaced, not changed (see _store_array).",
        "__module__": __name__, "storeArray": _store_array, "store_array": _store_array,
        "rx_store_all": _store_all, "limit": _limit,
    })
_SHARED = frozenset(_SHARING_SIDES.values())


def _sharing(side: Any) -> bool:
    """Make ``side`` a sharing side if it is a plain ccxt side (once); whether it is one now."""
    cls = side.__class__
    if cls in _SHARED:
        return True
    sharing = _SHARING_SIDES.get(cls)
    if sharing is None:
        return False  # counted/indexed sides (level counts, order ids) change levels in place
    for i, level in enumerate(side):
        if level.__class__ is not FrozenLevel:
            list.__setitem__(side, i, FrozenLevel(level))
    side.__class__ = sharing
    return True


def book_snapshot(book: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    """An immutable copy of a ccxt order book, sides cut to ``limit`` levels when given.

    The sides are :class:`FrozenSide` lists of :class:`FrozenLevel`: the levels are the very
    objects in ccxt's book, which rxpro replaces rather than changes on an update, so a
    snapshot copies pointers (a full 5,000-level book in microseconds) and nothing in it ever
    changes. Books whose levels ccxt changes in place (counted, indexed) are copied level by level.
    """
    bids = book["bids"]
    asks = book["asks"]
    if _sharing(bids) and _sharing(asks):
        bids_out = FrozenSide(bids if limit is None else bids[:limit])
        asks_out = FrozenSide(asks if limit is None else asks[:limit])
    else:
        if limit is not None:
            bids = bids[:limit]
            asks = asks[:limit]
        bids_out = FrozenSide(map(FrozenLevel, bids))
        asks_out = FrozenSide(map(FrozenLevel, asks))
    return {
        "symbol": book.get("symbol"),
        "bids": bids_out,
        "asks": asks_out,
        "timestamp": book.get("timestamp"),
        "datetime": book.get("datetime"),
        "nonce": book.get("nonce"),
    }


#: the classes of values ``frozen_copy`` never copies deeper (what ccxt's structures mostly hold)
_LEAVES = frozenset({str, int, float, bool, type(None)})


def frozen_copy(value: Any) -> Any:
    """A copy of nested dicts and lists deep enough that ccxt's later in-place updates don't show.

    The raw exchange payload under ``info`` is shared, not copied: ccxt never mutates it —
    except where ccxt puts its live order book there (bybit's best bid/ask of ``orderbook.1``):
    that becomes a snapshot.
    """
    if value.__class__ is not dict and isinstance(value, OrderBook):
        return book_snapshot(value)
    if isinstance(value, dict):
        copied = value.copy()
        for k, v in value.items():
            # only nested containers need a deeper copy; most structures (tickers) are flat:
            # a set lookup of the value's class rules out the usual leaves before isinstance
            if v.__class__ not in _LEAVES:
                if k != "info":
                    if isinstance(v, (dict, list)):
                        copied[k] = frozen_copy(v)
                elif v.__class__ is not dict and isinstance(v, OrderBook):
                    copied[k] = book_snapshot(v)
        return copied
    if isinstance(value, list):
        return [frozen_copy(v) for v in value]
    return value


class CacheRecorder:
    """The entries appended to one ccxt cache since the last drain."""

    __slots__ = ("pending", "last_batch", "last_frame", "bound")

    def __init__(self, max_size: int | None) -> None:
        self.pending: list[Any] = []
        self.last_batch: list[Any] = []
        self.last_frame = -1
        # a frame may append more entries than the cache keeps (four orders into an
        # ordersLimit of 2): every one of them is new, so the bound is not the cache's own;
        # every ccxt handler resolves what it appended, so only an undrained cache reaches it
        self.bound = max(max_size or 0, _UNDRAINED)

    def drain(self, frame: int) -> list[Any]:
        """The entries of the current frame; the same list again if another hash of the frame asks."""
        pending = self.pending
        if pending:
            if len(pending) > self.bound:
                del pending[: len(pending) - self.bound]
            self.pending = []
            self.last_batch = pending
            self.last_frame = frame
            return pending
        if self.last_frame != frame:
            self.last_batch = []
            self.last_frame = frame
        return self.last_batch

    def note(self, entry: Any) -> None:
        pending = self.pending
        pending.append(entry)
        # nobody drains (a cache no handler resolves: the router drains on every resolve,
        # awaited or not): drop the oldest a bound's worth at a time — not one a note, which
        # moved the whole list on every entry
        if len(pending) >= 2 * self.bound:
            del pending[: len(pending) - self.bound]


# -- recording subclasses of ccxt's caches ------------------------------------------------
# ``append`` calls ccxt's, then notes what the cache now holds for the entry:
# plain caches (trades, liquidations): the entry itself (ccxt never changes it);
# by-timestamp caches (candles): a copy of the stored row (ccxt updates it in place);
# by-id caches (orders, positions): a copy of the stored, merged entry (moved to the end).

def _append_entry(self: Any, item: Any) -> None:
    self._rx_base_append(item)
    self._rx_recorder.note(item)


def _append_row(self: Any, item: Any) -> None:
    self._rx_base_append(item)
    self._rx_recorder.note(list(self.hashmap.get(item[0], item)))


def _append_merged(self: Any, item: Any) -> None:
    self._rx_base_append(item)
    stored = self._deque[-1] if self._deque else item
    # nested lists such as an order's ``trades`` are mutated later: copy them too
    self._rx_recorder.note(frozen_copy(stored))


_RECORDING: dict[type, type] = {}
#: the recording subclasses made so far (the router's fast path checks membership)
RECORDING_CLASSES: set[type] = set()


def _recording_class(cls: type) -> type:
    recording = _RECORDING.get(cls)
    if recording is None:
        if cls is ArrayCache:
            append = _append_entry
        elif issubclass(cls, ArrayCacheByTimestamp):
            append = _append_row
        else:
            append = _append_merged
        recording = _RECORDING[cls] = type(f"Recording{cls.__name__}", (cls,), {
            "__doc__": f"ccxt's {cls.__name__}, noting each appended entry for rxpro.",
            "__module__": __name__,
            "_rx_base_append": cls.append,  # type: ignore[attr-defined]
            "append": append,
        })
        _RECORDING[recording] = recording
        RECORDING_CLASSES.add(recording)
    return recording


def recorder_for(cache: BaseCache) -> tuple[CacheRecorder, bool]:
    """The recorder of ``cache`` and whether it was installed just now."""
    recorder = cache.__dict__.get("_rx_recorder")
    if recorder is not None:
        return recorder, False
    recorder = CacheRecorder(cache.max_size)
    cache._rx_recorder = recorder  # type: ignore[attr-defined]
    cache.__class__ = _recording_class(type(cache))
    return recorder, True


def existing_entries(cache: BaseCache) -> list[Any]:
    """Copies of everything in a cache seen for the first time (all of it is new to rxpro)."""
    if isinstance(cache, ArrayCacheByTimestamp):
        return [list(row) for row in cache]
    if type(cache) is ArrayCache or type(cache) is _RECORDING.get(ArrayCache):
        return list(cache)
    return [frozen_copy(e) for e in cache]


def _drained(cache: BaseCache, frame: int) -> list[Any]:
    recorder, installed = recorder_for(cache)
    if installed:
        # a cache born in this frame: everything in it is new
        recorder.last_batch = existing_entries(cache)
        recorder.last_frame = frame
        return recorder.last_batch
    return recorder.drain(frame)


def cache_entries(result: Any, frame: int) -> tuple[list[Any] | None, Any]:
    """What one resolve brought, as entries: ``(batch, origin)``.

    ``batch`` is None for dict-shaped results (tickers, books, balances); else the new
    or updated entries of this frame.  ``origin`` is what the batch was drawn from, so
    that a stream resolved under two hashes in one frame can tell the repeat.
    """
    if isinstance(result, BaseCache):
        recorder = result.__dict__.get("_rx_recorder")
        batch = recorder.drain(frame) if recorder is not None else _drained(result, frame)
        return batch, batch
    if isinstance(result, list):
        if len(result) == 3 and isinstance(result[2], BaseCache):
            # ccxt's candle resolve: [symbol, timeframe, cache]
            rows = _drained(result[2], frame)
            return ([[result[0], result[1], row] for row in rows] if rows else rows), rows
        # a plain list of new entries (bybit positions, ...): often the very dicts ccxt
        # keeps in its cache and updates in place later: emit copies
        return [frozen_copy(item) if type(item) is dict else item for item in result], result
    return None, None


class CacheDict(dict):  # type: ignore[type-arg]
    """A dict of ccxt caches (``exchange.trades``, ``exchange.ohlcvs[symbol]``) that records each cache put in it.

    A cache is recorded from the moment ccxt stores it, before its first entries: a
    cache born in a frame holding more entries than it keeps (four orders, an
    ``ordersLimit`` of 2) loses none of them to rxpro.
    """

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        cls = value.__class__
        if cls not in _RECORDING and cls is not CacheDict and (isinstance(value, (BaseCache, dict))):
            value = recording_container(value)
        dict.__setitem__(self, key, value)


def recording_container(value: Any, depth: int = 3) -> Any:
    """``value`` with every ccxt cache in it recorded (a dict becomes a :class:`CacheDict`)."""
    if isinstance(value, BaseCache):
        recorder, installed = recorder_for(value)
        if installed and len(value):
            # ccxt stores a new cache after appending this frame's entries to it: they are new
            for entry in existing_entries(value):
                recorder.note(entry)
        return value
    if depth and type(value) is dict:
        return CacheDict((k, recording_container(v, depth - 1)) for k, v in value.items())
    return value


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
