"""The book sides rxpro shares between snapshots store, trim and freeze exactly as ccxt's own sides change.

(And two neighbours in ``rxpro._values``: a copy of a quote whose ``info`` is ccxt's live book,
and the bound of what a cache recorder keeps when nobody drains it.)

rxpro switches a ccxt ``Asks``/``Bids`` side to its sharing class on the first snapshot
(``rxpro._values.book_snapshot``): a changed level is replaced rather than changed, a
frame's levels can be stored in one call (``rx_store_all``, what native handlers use) and
``limit()`` drops the levels past the depth in one slice. The reference is ccxt's own side
class fed the same deltas one ``storeArray`` at a time, and its own ``limit()``.
"""

from __future__ import annotations

from typing import Any

import pytest
from ccxt.async_support.base.ws.order_book import OrderBook
from ccxt.async_support.base.ws.order_book_side import Asks, Bids
from hypothesis import given, settings
from hypothesis import strategies as st

from rxpro._values import CacheRecorder, FrozenLevel, book_snapshot, frozen_copy
from rxpro.exchanges._native_parse import store_levels

#: prices on a coarse grid, so that frames hit existing levels, re-insert removed ones, and repeat a price
_PRICES = st.integers(min_value=1, max_value=60).map(lambda tick: tick * 0.5)
_SIZES = st.sampled_from([0.0, 0.0, 0.25, 1.0, 3.5, 1e-8])
_FRAME = st.lists(st.tuples(_PRICES, _SIZES), max_size=25)


def _side_state(side: Any) -> tuple[list[list[float]], list[float]]:
    return [list(level) for level in side], list(side._index)


@settings(max_examples=150, deadline=None)
@given(depth=st.sampled_from([None, 1, 5, 20]), start=_FRAME, frames=st.lists(_FRAME, max_size=12),
       one_call=st.booleans())
def test_sharing_sides_change_as_ccxts_own_and_snapshots_never_change(depth: int | None, start: list[Any],
                                                                        frames: list[Any], one_call: bool) -> None:
    reference = OrderBook({}, depth)
    shared = OrderBook({}, depth)
    for book in (reference, shared):
        for price, size in start:
            book["asks"].storeArray([price, size])
            book["bids"].storeArray([price, size])
        book.limit()
    snapshots: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for frame in [[], *frames]:
        snapshot = book_snapshot(shared)  # the first one switches the sides to sharing ones
        # plain lists of plain levels (a deepcopy would hand back the frozen levels themselves)
        snapshots.append((snapshot, {name: [list(level) for level in snapshot[name]] for name in ("asks", "bids")}))
        assert type(shared["asks"]) is not Asks and isinstance(shared["asks"], Asks)
        for name in ("asks", "bids"):
            for price, size in frame:
                reference[name].storeArray([price, size])
            levels = [[price, size] for price, size in frame]
            if one_call:
                store_levels(shared[name], levels)  # the native handlers' way
            else:
                for level in levels:
                    shared[name].storeArray(level)  # ccxt's handlers' way, on a sharing side
        reference.limit()
        shared.limit()
        for name in ("asks", "bids"):
            assert _side_state(shared[name]) == _side_state(reference[name]), (name, frame)
            assert all(type(level) is FrozenLevel for level in shared[name])
    # no snapshot changed afterwards
    for snapshot, at_the_time in snapshots:
        assert {name: [list(level) for level in snapshot[name]] for name in ("asks", "bids")} == at_the_time


def test_a_frame_repeating_a_price_leaves_what_its_last_delta_says() -> None:
    """Insert, update, delete and re-insert of one price in one call: ccxt's order, step by step."""
    reference, shared = Bids(), Bids()
    book_snapshot({"bids": shared, "asks": Asks()})  # shared becomes a sharing side
    frame = [[10.0, 1.0], [10.0, 2.0], [11.0, 1.0], [10.0, 0.0], [9.0, 4.0], [10.0, 5.0], [11.0, 0.0], [12.0, 0.0]]
    for level in frame:
        reference.storeArray(list(level))
    store_levels(shared, frame)
    assert _side_state(shared) == _side_state(reference) == ([[10.0, 5.0], [9.0, 4.0]], [-10.0, -9.0])


def test_limit_of_a_sharing_side_keeps_ccxts_best_levels() -> None:
    reference, shared = Asks([], 3), Asks([], 3)
    book_snapshot({"bids": Bids(), "asks": shared})
    for side in (reference, shared):
        for price in (5.0, 1.0, 4.0, 2.0, 3.0):
            side.storeArray([price, 1.0])
    assert len(shared) == 5
    reference.limit()
    shared.limit()
    assert _side_state(shared) == _side_state(reference) == ([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]], [1.0, 2.0, 3.0])
    shared.limit()  # nothing past the depth: nothing changes
    assert len(shared) == 3


@pytest.mark.parametrize("side_class", [Asks, Bids])
def test_a_side_rxpro_does_not_share_gets_its_own_store_array(side_class: type) -> None:
    """``store_levels`` on ccxt's own side is its ``storeArray`` per level: the very lists are kept."""
    side = side_class()
    levels = [[1.0, 2.0], [3.0, 4.0]]
    store_levels(side, levels)
    assert not hasattr(side, "rx_store_all")
    assert all(any(level is kept for kept in side) for level in levels)


def test_a_quote_whose_info_is_ccxts_live_book_is_emitted_with_a_snapshot_of_it() -> None:
    """Bybit's best bid/ask (``orderbook.1``) carries ccxt's own book as ``info``: the copy must not follow it."""
    book = OrderBook({"bids": [[10.0, 1.0]], "asks": [[11.0, 2.0]], "symbol": "BTC/USDT"})
    quote = {"symbol": "BTC/USDT", "bid": 10.0, "ask": 11.0, "info": book}
    emitted = frozen_copy(quote)
    book["bids"].storeArray([10.5, 3.0])
    book["asks"].storeArray([11.0, 0.0])
    assert emitted["info"]["bids"] == [[10.0, 1.0]] and emitted["info"]["asks"] == [[11.0, 2.0]]
    assert emitted["info"] is not book and emitted["bid"] == 10.0
    plain = {"symbol": "BTC/USDT", "info": {"raw": "payload"}}
    assert frozen_copy(plain)["info"] is plain["info"]  # a raw payload is shared, as before


def test_entries_nobody_drains_stay_bounded_and_a_late_drain_gets_the_newest() -> None:
    """A cache nobody resolves: the recorder keeps fewer than twice its bound; a drain gets the bound, newest last."""
    recorder = CacheRecorder(1000)
    bound = recorder.bound
    for entry in range(5 * bound + 7):
        recorder.note(entry)
        assert len(recorder.pending) < 2 * bound
    assert recorder.drain(1) == list(range(4 * bound + 7, 5 * bound + 7))
    assert recorder.drain(1) == list(range(4 * bound + 7, 5 * bound + 7))  # the same frame asks again
    assert recorder.drain(2) == []
