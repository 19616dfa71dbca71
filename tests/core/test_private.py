"""Private, list-shaped streams (orders, own trades) through ccxt's real binance parser.

The simulator speaks only public channels, so these frames are fed straight into
the exchange's ``handle_message`` on a client that never connects; the hub hooks
and ccxt's by-id caches are the real ones.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import rxpro
from rxpro.testing import Simulator

from .conftest import route

pytestmark = pytest.mark.timeout(30)


def execution_report(status: str, filled: str, trade_id: int, event_ms: int) -> dict[str, Any]:
    """A spot executionReport as Binance sends it (the example from ccxt's handler, varied)."""
    return {
        "e": "executionReport", "E": event_ms, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW", "S": "BUY",
        "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410", "P": "0.00000000", "F": "0.00000000",
        "g": -1, "C": None, "x": "TRADE" if trade_id > 0 else "NEW", "X": status, "r": "NONE", "i": 4293153,
        "l": filled, "z": filled, "L": "0.10264410" if trade_id > 0 else "0.00000000", "n": "0.00010000", "N": "BNB",
        "T": event_ms, "t": trade_id, "I": 8641984, "w": True, "m": False, "M": False, "O": 1499405658657,
        "Z": "0.00000000", "Y": "0.00000000", "Q": "0.00000000",
    }


async def test_orders_and_my_trades_emit_each_update_as_an_unchanging_copy(sim: Simulator) -> None:
    ex = sim.attach(rxpro.binance({"apiKey": "key", "secret": "secret"}))
    try:
        await ex.load_markets()
        client = ex.client("ws://127.0.0.1:9/never-connected")
        orders = route(ex, client, "watch_orders", ["orders"], {"symbol": None})
        symbol_orders = route(ex, client, "watch_orders", ["orders:ETH/BTC"], {"symbol": "ETH/BTC"})
        my_trades = route(ex, client, "watch_my_trades", ["myTrades"], {"symbol": None})

        ex.handle_message(client, execution_report("NEW", "0.00000000", -1, 1499405658658))
        first = copy.deepcopy(orders)
        ex.handle_message(client, execution_report("PARTIALLY_FILLED", "0.40000000", 101, 1499405659000))
        ex.handle_message(client, execution_report("FILLED", "1.00000000", 102, 1499405660000))

        assert [o["status"] for o in orders] == ["open", "open", "closed"]
        assert [o["filled"] for o in orders] == [0.0, 0.4, 1.0]
        assert all(o["id"] == "4293153" and o["symbol"] == "ETH/BTC" for o in orders)
        assert [o["id"] for o in symbol_orders] == [o["id"] for o in orders]
        assert orders[:1] == first  # the first update did not change when the order filled
        assert [t["id"] for t in my_trades] == ["101", "102"]
        assert all(t["order"] == "4293153" for t in my_trades)
    finally:
        await ex.close()
