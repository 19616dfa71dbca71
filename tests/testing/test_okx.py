"""Unmodified ccxt.pro.okx against the simulator (2022 recording, generated seqIds)."""

from __future__ import annotations

import asyncio

import ccxt.pro
import orjson
import pytest

from rxpro.testing import Simulator, SimulatorConfig, data_path, okx_checksum
from rxpro.testing._data import iter_ws_log

pytestmark = pytest.mark.timeout(60)


def recorded_trades(inst_id: str) -> list[dict[str, str]]:
    out = []
    for _, text in iter_ws_log(data_path("OKX.ws.1.0")):
        msg = orjson.loads(text)
        if msg.get("arg") == {"channel": "trades", "instId": inst_id} and "data" in msg:
            out.extend(msg["data"])
    return out


async def test_load_markets_offline(sim: Simulator, okx: ccxt.pro.okx) -> None:
    markets = await okx.load_markets()
    assert {"BTC/USDT", "UNI/USD:UNI", "BTC/USD:BTC-220527"} <= set(markets)
    assert all(path.startswith("/api/v5/public/instruments") for path in sim.http_requests)


async def test_watch_trades_are_the_recorded_trades(okx: ccxt.pro.okx) -> None:
    trades = await okx.watch_trades("BTC/USDT")
    raw = recorded_trades("BTC-USDT")[: len(trades)]
    assert [t["id"] for t in trades] == [r["tradeId"] for r in raw]
    assert [t["price"] for t in trades] == [float(r["px"]) for r in raw]


async def test_watch_order_book_seq_chain_accepted() -> None:
    async with Simulator(SimulatorConfig(speed=5.0)) as sim:
        okx = sim.attach(ccxt.pro.okx())
        try:
            nonce = 0
            for _ in range(10):
                book = await asyncio.wait_for(okx.watch_order_book("BTC/USDT"), 10)
                assert book["nonce"] > nonce
                nonce = book["nonce"]
                assert book["bids"][0][0] < book["asks"][0][0]
        finally:
            await okx.close()


def test_recorded_checksums_match_okx_algorithm() -> None:
    # the first BTC-USDT snapshot of the recording carries OKX's own checksum
    for _, text in iter_ws_log(data_path("OKX.ws.1.0")):
        msg = orjson.loads(text)
        if msg.get("action") == "snapshot":
            data = msg["data"][0]
            assert okx_checksum(data["bids"], data["asks"]) == data["checksum"]
            return
    pytest.fail("no snapshot in the recording")


async def test_watch_ticker_and_ohlcv_on_one_connection(sim: Simulator, okx: ccxt.pro.okx) -> None:
    trades = await okx.watch_trades("BTC/USDT")
    ticker = await asyncio.wait_for(okx.watch_ticker("BTC/USDT"), 10)  # joins a finished playback
    assert ticker["symbol"] == "BTC/USDT" and ticker["bid"] < ticker["ask"]
    candles = await asyncio.wait_for(okx.watch_ohlcv("BTC/USDT", "1m"), 10)
    assert candles[-1][4] == ticker["last"] or candles[-1][4] > 0
    assert trades[0]["price"] >= candles[-1][3]
    paths = {f.path for f in sim.received}
    assert paths == {"/ws/v5/public", "/ws/v5/business"}


async def test_un_watch_trades(sim: Simulator, okx: ccxt.pro.okx) -> None:
    await okx.watch_trades("BTC/USDT")
    await okx.un_watch_trades("BTC/USDT")
    frame = await sim.wait_for_received(lambda f: isinstance(f.data, dict) and f.data.get("op") == "unsubscribe")
    assert frame.data["args"] == [{"channel": "trades", "instId": "BTC-USDT"}]


async def test_watch_trades_and_books_for_symbols(okx: ccxt.pro.okx) -> None:
    trades = await okx.watch_trades_for_symbols(["BTC/USDT", "UNI/USD:UNI"])
    assert trades
    book = await okx.watch_order_book_for_symbols(["BTC/USDT", "UNI/USD:UNI"])
    assert book["bids"][0][0] < book["asks"][0][0]


async def test_a_paced_loop_with_only_an_unrecorded_stream_pauses_and_a_later_one_still_flows() -> None:
    # review: a subscription the recording holds no frame of made paced playback spin through the
    # looped recording (thousands of rounds a second, its clock running ahead), so a stream
    # subscribed later on the same connection waited cycles x duration / speed for its frames
    async with Simulator(SimulatorConfig(speed=5.0, loop=True)) as sim:
        okx = sim.attach(ccxt.pro.okx())
        try:
            await okx.load_markets()
            unrecorded = asyncio.ensure_future(okx.watch_ohlcv("ETH/USDT", "1m"))  # known instId, never recorded
            await asyncio.sleep(1.0)
            assert max(conn.cycle for conn in sim._open.values()) <= 1
            candles = await asyncio.wait_for(okx.watch_ohlcv("BTC/USDT", "1m"), 10)
            assert candles and not unrecorded.done()
            unrecorded.cancel()
        finally:
            await okx.close()
