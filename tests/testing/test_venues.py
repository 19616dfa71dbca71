"""The simulator by venue: a generic server that plays any venue object, and the Binance/OKX objects reusing
what ``exchanges/`` knows about their venues."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import ccxt.pro
import orjson
import pytest
from aiohttp import web

from rxpro.cli._session import SIMULATED_SYMBOLS
from rxpro.exchanges._table import venue_for
from rxpro.testing import Simulator, SimulatorConfig
from rxpro.testing._sim_binance import BinanceVenue
from rxpro.testing._sim_okx import OkxVenue
from rxpro.testing._sim_venue import Connection, SimulatedVenue
from rxpro.testing._simulator import EXCHANGES, SIMULATED_VENUES

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Tick:
    ns: int
    key: str
    n: int


class Counter(SimulatedVenue):
    """A made-up venue: ``sub <key>`` subscribes; frames are ``{"key":..,"n":..}``; ``book`` frames can gap."""

    id = "counter"
    symbols = ("A/B",)

    def load(self) -> None:
        self._frames = [Tick(i * 1_000_000, "book" if i % 2 else "trade", i) for i in range(200)]

    @property
    def frames(self) -> Sequence[Tick]:
        return getattr(self, "_frames", ())

    def texts(self, conn: Connection, frame: Tick, names: list[str]) -> list[str]:
        return [orjson.dumps({"key": frame.key, "n": frame.n, "cycle": conn.cycle}).decode()]

    def is_book_update(self, frame: Tick) -> bool:
        return frame.key == "book"

    def book_key(self, symbol: str) -> str:
        return "book"

    def trade_burst(self, symbol: str, count: int, start_id: int) -> tuple[str, Callable[[Connection], Iterator[str]]]:
        return "trade", lambda conn: (orjson.dumps({"burst": start_id + i}).decode() for i in range(count))

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/counter", self.ws)

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.server.serve(request, self, False, self.on_text)

    async def on_text(self, conn: Connection, text: str) -> None:
        command, _, key = text.partition(" ")
        if command == "sub":
            conn.active[key] = [key]
            self.server.activate(conn, key)
            self.server.resume(conn)

    def attach(self, exchange: Any, http_url: str, ws_url: str) -> None:
        exchange.urls["api"] = {"ws": f"{ws_url}/counter"}


async def _read(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    return [orjson.loads((await ws.receive(timeout=5)).data) for _ in range(count)]


async def test_the_generic_server_plays_any_venue_object() -> None:
    async with Simulator(SimulatorConfig(speed=None), venues=(Counter,)) as sim:
        assert tuple(sim.venues) == ("counter",)
        with pytest.raises(ValueError, match="binance"):
            sim.attach(ccxt.pro.binance())
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_url}/counter") as ws:
            while not sim.open_connections:  # the server side of the handshake has run
                await asyncio.sleep(0.001)
            sim.inject_sequence_gap("counter", "A/B")  # before any frame: the first book update is skipped
            await ws.send_str("sub book")
            frames = await _read(ws, 99)
            assert [f["n"] for f in frames] == list(range(3, 200, 2))  # book frames only, the first (1) gapped
            burst = sim.burst_trades("counter", "A/B", count=3, start_id=10)  # nobody has "trade" yet: waits
            await ws.send_str("sub trade")
            assert [f["burst"] for f in await _read(ws, 3)] == [10, 11, 12]
            await burst.wait(5)
        assert sim.received[0].exchange == "counter" and sim.received[0].data == "sub book"


async def test_a_looping_venue_restarts_its_timeline() -> None:
    async with Simulator(SimulatorConfig(speed=None, loop=True), venues=(Counter,)) as sim:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_url}/counter") as ws:
            await ws.send_str("sub trade")
            frames = await _read(ws, 150)
            assert {f["cycle"] for f in frames} == {0, 1}
            assert [f["n"] for f in frames if f["cycle"] == 1][:2] == [0, 2]


def test_the_cli_offers_what_the_venue_objects_recorded() -> None:
    assert EXCHANGES == tuple(venue.id for venue in SIMULATED_VENUES) == ("binance", "okx")
    assert SIMULATED_SYMBOLS == {"binance": ("BTC/USDT", "ETH/USDT"),
                                 "okx": ("BTC/USDT", "BTC/USD:BTC-220527", "UNI/USD:UNI")}


async def test_attach_sets_the_offline_options_the_venue_table_declares() -> None:
    async with Simulator(SimulatorConfig(load_recordings=False)) as sim:
        for exchange in (ccxt.pro.binance({"options": {"fetchMarkets": {"kept": 1}}}), ccxt.pro.okx()):
            try:
                sim.attach(exchange)
                offline = venue_for(exchange.id).offline_options
                assert offline is not None
                for key, value in offline.items():
                    if isinstance(value, dict) or hasattr(value, "items"):
                        assert {k: exchange.options[key][k] for k in value} == dict(value)
                    else:
                        assert exchange.options[key] == value
                assert all(sim.url in url or sim.ws_url in url
                           for url in _urls(exchange.urls["api"]) if "://" in url)
            finally:
                await exchange.close()
        assert exchange.options["fetchMarkets"]["types"] == ["spot", "swap", "future"]


def _urls(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _urls(value)
    elif isinstance(tree, str):
        yield tree


async def test_binance_serves_a_depth_stream_at_any_update_speed() -> None:
    async with Simulator(SimulatorConfig(speed=None)) as sim:
        assert isinstance(sim.venue("binance"), BinanceVenue) and isinstance(sim.venue("okx"), OkxVenue)
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_url}/stream") as ws:
            await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@depth@1000ms"],"id":7}')
            assert orjson.loads((await ws.receive(timeout=5)).data) == {"result": None, "id": 7}
            frame = orjson.loads((await ws.receive(timeout=5)).data)
            assert frame["stream"] == "btcusdt@depth@1000ms" and frame["data"]["e"] == "depthUpdate"
            await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":8}')
            while (answer := orjson.loads((await ws.receive(timeout=5)).data)).get("id") != 8:
                pass
            assert answer == {"result": ["btcusdt@depth@1000ms"], "id": 8}


async def test_the_simulator_serves_the_venue_tables_exchange_info() -> None:
    async with Simulator(SimulatorConfig(load_recordings=False)) as sim:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{sim.url}/api/v3/exchangeInfo") as response:
                body = await response.text()
        binance = venue_for("binance")
        assert body == binance.markets()  # type: ignore[attr-defined]
        await asyncio.sleep(0)
