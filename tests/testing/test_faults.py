"""Faults, bursts and protocol edges of the simulator."""

from __future__ import annotations

import asyncio

import aiohttp
import ccxt.pro
import orjson
import pytest

from rxpro.testing import (
    Simulator,
    SimulatorConfig,
    data_path,
    iter_hftbacktest,
)

pytestmark = pytest.mark.timeout(60)


async def test_burst_of_100k_trades_reaches_the_writer_and_ccxt() -> None:
    async with Simulator(SimulatorConfig(load_recordings=False)) as sim:
        binance = sim.attach(ccxt.pro.binance())
        try:
            pending = asyncio.ensure_future(binance.watch_trades("BTC/USDT"))
            await sim.wait_for_received(lambda f: f.data.get("method") == "SUBSCRIBE")
            burst = sim.burst_trades("binance", "BTC/USDT", count=100_000, start_id=1)
            await burst.wait(timeout=30)
            assert burst.sent == 100_000
            trades = await pending
            assert trades[0]["id"] == "1"
            for _ in range(1000):  # ccxt parses the burst after the writer is done
                cached = binance.trades["BTC/USDT"]
                if cached[-1]["id"] == "100000":
                    break
                await asyncio.sleep(0.01)
            ids = [int(t["id"]) for t in binance.trades["BTC/USDT"]]
            assert ids == list(range(100_001 - len(ids), 100_001))
        finally:
            await binance.close()


async def test_burst_before_subscribe_is_delivered_to_the_next_subscriber() -> None:
    async with Simulator(SimulatorConfig(load_recordings=False)) as sim:
        burst = sim.burst_trades("okx", "BTC/USDT", count=10, start_id=500)
        okx = sim.attach(ccxt.pro.okx())
        try:
            trades = await asyncio.wait_for(okx.watch_trades("BTC/USDT"), 10)
            assert trades[0]["id"] == "500"
            await burst.wait(5)
        finally:
            await okx.close()


async def test_drop_connections_raises_network_error(sim: Simulator, binance: ccxt.pro.binance) -> None:
    async with Simulator(SimulatorConfig(speed=1.0)) as paced:
        exchange = paced.attach(ccxt.pro.binance())
        try:
            await exchange.watch_trades("BTC/USDT")
            paced.stall(10_000)  # no ETH trade may resolve the watch before the drop
            pending = asyncio.ensure_future(exchange.watch_trades("ETH/USDT"))
            await paced.wait_for_received(lambda f: f.data.get("params") == ["ethusdt@trade"])
            await paced.drop_connections("binance")
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(pending, 10)
            assert paced.open_connections == 0
        finally:
            await exchange.close()


async def test_malformed_frame_reaches_the_client() -> None:
    async with Simulator(SimulatorConfig(speed=1.0)) as sim:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{sim.ws_url}/stream?streams=btcusdt@trade") as ws:
                first = orjson.loads((await ws.receive()).data)
                assert first["stream"] == "btcusdt@trade"
                sim.inject_malformed("binance")
                async with asyncio.timeout(10):
                    while True:  # trades already on their way come first, each valid
                        text = (await ws.receive()).data
                        try:
                            assert orjson.loads(text)["stream"] == "btcusdt@trade"
                        except orjson.JSONDecodeError:
                            break
                after = orjson.loads((await ws.receive(timeout=5)).data)
                assert after["stream"] == "btcusdt@trade"  # playback goes on


async def test_sequence_gap_makes_ccxt_binance_reject_the_book() -> None:
    async with Simulator(SimulatorConfig(speed=10.0)) as sim:
        binance = sim.attach(ccxt.pro.binance())
        try:
            await asyncio.wait_for(binance.watch_order_book("BTC/USDT"), 10)
            sim.inject_sequence_gap("binance", "BTC/USDT")
            with pytest.raises(ccxt.ChecksumError):
                for _ in range(50):
                    await asyncio.wait_for(binance.watch_order_book("BTC/USDT"), 10)
        finally:
            await binance.close()


async def test_sequence_gap_makes_ccxt_okx_reject_the_book() -> None:
    async with Simulator(SimulatorConfig(speed=2.0)) as sim:
        okx = sim.attach(ccxt.pro.okx())
        try:
            await asyncio.wait_for(okx.watch_order_book("BTC/USDT"), 10)
            sim.inject_sequence_gap("okx", "BTC/USDT")
            with pytest.raises(ccxt.InvalidNonce):
                for _ in range(50):
                    await asyncio.wait_for(okx.watch_order_book("BTC/USDT"), 10)
        finally:
            await okx.close()


async def test_unknown_symbols_get_the_exchange_error_frame(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sim.ws_url}/ws") as ws:
            await ws.send_str('{"method":"SUBSCRIBE","params":["nosuchcoin@trade"],"id":7}')
            reply = orjson.loads((await ws.receive(timeout=5)).data)
            assert reply == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 7}
        async with session.ws_connect(f"{sim.ws_url}/ws/v5/public") as ws:
            await ws.send_str('{"op":"subscribe","args":[{"channel":"trades","instId":"NO-SUCH"}]}')
            reply = orjson.loads((await ws.receive(timeout=5)).data)
            assert reply["event"] == "error" and reply["code"] == "60018"
            await ws.send_str("ping")
            assert (await ws.receive(timeout=5)).data == "pong"


async def test_raw_endpoint_sends_bare_payloads_and_stall_pauses_them(sim: Simulator) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sim.ws_url}/ws") as ws:
            sim.stall(300)
            started = loop.time()
            await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@depth"],"id":1}')
            assert orjson.loads((await ws.receive(timeout=5)).data) == {"result": None, "id": 1}
            first = orjson.loads((await ws.receive(timeout=5)).data)
            assert loop.time() - started >= 0.25
            raw = next(f["data"] for _, f in iter_hftbacktest(data_path("btcusdt_20240808.gz"))
                       if f.get("stream") == "btcusdt@depth@100ms")
            assert first == raw


async def test_loop_keeps_ids_increasing(tmp_path: object) -> None:
    async with Simulator(SimulatorConfig(loop=True, load_recordings=False)) as sim:
        sim.load_binance_recording([data_path("ethusdt_20240809.gz")])
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{sim.ws_url}/stream?streams=ethusdt@trade") as ws:
                last = 0
                for _ in range(20_000):  # > 8409 trades: at least two cycles
                    trade = orjson.loads((await ws.receive(timeout=5)).data)["data"]
                    assert trade["t"] > last
                    last = trade["t"]


def test_attach_rejects_other_exchanges() -> None:
    sim = Simulator()
    with pytest.raises(ValueError, match="kraken"):
        sim.attach(ccxt.pro.kraken())
