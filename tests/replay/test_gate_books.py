"""Gate's bundled cryptofeed recording (2021) replays its order books (exchanges/_gate.py).

ccxt 4.5.90 reads Gate spot books from ``spot.obu`` (order book v2); the recording holds
``spot.order_book_update`` changes and one REST snapshot per market.  The reference here is
rebuilt from the recorded files directly, without rxpro or ccxt: the snapshot, then every
change past its id, the top 50 levels after each (the depth ccxt subscribes by default).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

import rxpro
from rxpro.exchanges._gate import GateProtocol
from rxpro.exchanges._table import venue_for
from rxpro.testing._data import DATA_DIR

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

GATE = sorted((DATA_DIR / "cryptofeed").glob("GATEIO*"))


def _reference(market_id: str, depth: int) -> list[tuple[list[list[float]], list[list[float]]]]:
    snapshot: dict[str, Any] = {}
    for line in (DATA_DIR / "cryptofeed" / "GATEIO.http.0.0").read_text().splitlines():
        if f"currency_pair={market_id}&" in line:
            snapshot = orjson.loads(line.split(": ", 1)[1])
            break
    bids = {float(p): float(s) for p, s in snapshot["bids"]}
    asks = {float(p): float(s) for p, s in snapshot["asks"]}

    def top() -> tuple[list[list[float]], list[list[float]]]:
        return ([[p, bids[p]] for p in sorted(bids, reverse=True)[:depth]],
                [[p, asks[p]] for p in sorted(asks)[:depth]])

    books = [top()]
    for line in (DATA_DIR / "cryptofeed" / "GATEIO.ws.1.0").read_text().splitlines():
        if line.startswith("wss://") or '"spot.order_book_update"' not in line:
            continue
        message = orjson.loads(line.split(": ", 1)[1])
        change = message.get("result")
        if message.get("event") != "update" or change["s"] != market_id or change["u"] <= snapshot["id"]:
            continue
        for side, levels in ((bids, change["b"]), (asks, change["a"])):
            for price, size in levels:
                if float(size) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)
        books.append(top())
    return books


@pytest.mark.parametrize("symbol", ["NEO/BTC", "OMG/USDT", "ZKS/ETH"])
async def test_gate_books_replay_as_rebuilt_from_the_recording(symbol: str) -> None:
    ex = rxpro.replay(GATE, autostart=False)
    try:
        await ex.load_markets()
        books = sink(rxpro.order_book(ex, symbol))
        await asyncio.sleep(0)
        await ex.replay.run()
        reference = _reference(ex.market(symbol)["id"], 50)
        assert books.errors == [] and len(reference) > 5
        assert [(b["bids"], b["asks"]) for b in books.items] == reference
        assert all(b["symbol"] == symbol for b in books.items)
    finally:
        await ex.close()


async def test_the_awaitable_reads_the_same_book() -> None:
    ex = rxpro.replay(GATE)
    try:
        book = await asyncio.wait_for(ex.watch_order_book("NEO/BTC"), 30)
        first_bids, first_asks = _reference("NEO_BTC", 50)[0]
        assert book["bids"] == first_bids and book["asks"] == first_asks
    finally:
        await ex.close()


def test_a_market_without_a_recorded_snapshot_is_refused() -> None:
    # its changes alone would build no book: said on subscribe, not left silent
    protocol = GateProtocol(venue_for("gate"))
    protocol._snapshots = {"NEO_BTC": (0, {"id": 1, "bids": [], "asks": []})}

    class Markets:
        def market(self, symbol: str) -> dict[str, Any]:
            return {"symbol": symbol, "id": symbol.replace("/", "_"), "spot": True}

    refusal = protocol.unrecorded(Markets(), "orderbook", {"symbol": "ETH/USDT"})
    assert isinstance(refusal, rxpro.StreamNotRecorded) and "ETH_USDT" in str(refusal)
    assert refusal.recorded == ("NEO_BTC",)
    assert protocol.unrecorded(Markets(), "orderbook", {"symbol": "NEO/BTC"}) is None
    assert protocol.unrecorded(Markets(), "trades", {"symbol": "ETH/USDT"}) is None
