"""WS trading calls are single-value Observables on the ``rx`` accessor."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import pytest

import rxpro

from .conftest import Collector

pytestmark = pytest.mark.timeout(20)


async def test_create_order_ws_emits_the_order_once_and_completes() -> None:
    ex = rxpro.binance({"apiKey": "k", "secret": "s"})
    calls: list[tuple[Any, ...]] = []

    async def create_order_ws(symbol: str, type: str, side: str, amount: float, price: float | None = None,
                              params: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.append((symbol, type, side, amount, price, params))
        return {"id": "1", "symbol": symbol, "status": "open"}

    ex.create_order_ws = create_order_ws  # the network call itself is ccxt's; here only its contract
    try:
        source = ex.rx.create_order_ws("BTC/USDT", "limit", "buy", 0.1, 50_000)
        await asyncio.sleep(0)
        assert calls == []  # lazy: nothing happens before subscription
        order = Collector(source)
        await order.until(lambda c: c.completed)
        assert order.items == [{"id": "1", "symbol": "BTC/USDT", "status": "open"}]
        assert calls == [("BTC/USDT", "limit", "buy", 0.1, 50_000, {})]
    finally:
        await ex.close()


async def test_a_failing_ws_call_goes_to_on_error_and_disposing_cancels_it() -> None:
    ex = rxpro.binance()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def cancel_order_ws(id: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Any:
        raise ccxt.OrderNotFound(f"order {id} not found")

    async def cancel_all_orders_ws(symbol: str | None = None, params: dict[str, Any] | None = None) -> Any:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    ex.cancel_order_ws = cancel_order_ws
    ex.cancel_all_orders_ws = cancel_all_orders_ws
    try:
        error = await Collector(ex.rx.cancel_order_ws("42", "BTC/USDT")).error()
        assert isinstance(error, ccxt.OrderNotFound)
        pending = Collector(ex.rx.cancel_all_orders_ws("BTC/USDT"))
        await asyncio.wait_for(started.wait(), 5)
        pending.dispose()
        await asyncio.wait_for(cancelled.wait(), 5)
    finally:
        await ex.close()


async def test_a_ws_call_in_flight_at_close_tells_its_observer_the_outcome_is_unknown() -> None:
    ex = rxpro.binance()
    started = asyncio.Event()

    async def edit_order_ws(*args: Any, **kwargs: Any) -> Any:
        started.set()
        await asyncio.sleep(30)

    ex.edit_order_ws = edit_order_ws
    pending = Collector(ex.rx.edit_order_ws("1", "BTC/USDT", "limit", "buy", 0.1, 50_000))
    await asyncio.wait_for(started.wait(), 5)
    await ex.close()
    error = await pending.error()
    assert isinstance(error, ccxt.ExchangeClosedByUser) and "edit_order_ws" in str(error)
    assert "unknown" in str(error) and pending.items == []
    late = await Collector(ex.rx.create_order_ws("BTC/USDT", "limit", "buy", 0.1, 50_000)).error()
    assert isinstance(late, ccxt.ExchangeClosedByUser) and "not sent" in str(late)
