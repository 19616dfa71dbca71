"""Fixtures: a simulator per test and ccxt.pro clients attached to it (always closed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import ccxt.pro
import pytest

from rxpro.testing import Simulator, SimulatorConfig

E = TypeVar("E", bound=Any)  # the exchange class given, handed back


@asynccontextmanager
async def simulated(config: SimulatorConfig, exchange: E) -> AsyncIterator[tuple[Simulator, E]]:
    """A simulator of its own (paced, looped...) with ``exchange`` attached to it, closed after."""
    async with Simulator(config) as simulator:
        attached = simulator.attach(exchange)
        try:
            yield simulator, attached
        finally:
            await attached.close()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(speed=None)) as simulator:
        yield simulator


@pytest.fixture
async def binance(sim: Simulator) -> AsyncIterator[ccxt.pro.binance]:
    exchange = sim.attach(ccxt.pro.binance())
    try:
        yield exchange
    finally:
        await exchange.close()


@pytest.fixture
async def okx(sim: Simulator) -> AsyncIterator[ccxt.pro.okx]:
    exchange = sim.attach(ccxt.pro.okx())
    try:
        yield exchange
    finally:
        await exchange.close()
