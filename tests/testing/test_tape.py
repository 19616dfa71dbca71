"""Trade tapes: a venue's own trade sequence, live to whoever is subscribed, and all of it in the REST history.

What the REST history answers is read by ccxt's own REST parser (``fetch_trades``) and
compared with what ccxt's WebSocket parser made of the live frames of the same ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import ccxt
import ccxt.pro
import orjson
import pytest

from rxpro.testing import Simulator, SimulatorConfig, Tape, TapeTrade

pytestmark = pytest.mark.timeout(60)

SYMBOL = "BTC/USDT"
VENUES = ("binance", "okx")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """Synthetic data only: no recorded trades interleave with the tape's."""
    async with Simulator(SimulatorConfig(load_recordings=False)) as simulator:
        yield simulator


@pytest.fixture(params=VENUES)
async def exchange(request: pytest.FixtureRequest, sim: Simulator) -> AsyncIterator[Any]:
    # historicalTrades needs an API key header on Binance: ccxt sends none without an apiKey
    # (the simulator doesn't check it); every trade delivered stays in ccxt's cache; no rate limits here
    config = {"apiKey": "simulated", "enableRateLimit": False, "options": {"tradesLimit": 1_000_000}}
    client = sim.attach(ccxt.pro.binance(config) if request.param == "binance" else ccxt.pro.okx(config))
    try:
        await client.load_markets()  # before any tape starts: binance's takes a while to parse
        yield client
    finally:
        await client.close()


def _fields(trade: dict[str, Any]) -> tuple[int, int, float, float, str]:
    """What a live trade and its REST twin must agree on, as ccxt parsed them."""
    return int(trade["id"]), trade["timestamp"], trade["price"], trade["amount"], trade["side"]


def _tape_fields(trade: TapeTrade) -> tuple[int, int, float, float, str]:
    return trade.id, trade.timestamp, float(trade.price), float(trade.amount), trade.side


async def _history(exchange: Any, after_id: int, before_id: int) -> list[dict[str, Any]]:
    """Every trade with ``after_id < id < before_id`` through ccxt's ``fetch_trades``, a page at a time.

    Binance: ``historicalTrades`` from ``fromId`` upwards (1000 a page); OKX:
    ``history-trades`` by trade id (``type=1``) from ``after`` downwards (100 a page).
    """
    found: list[dict[str, Any]] = []
    if exchange.id == "binance":
        from_id = after_id + 1
        while from_id < before_id:
            page = await exchange.fetch_trades(SYMBOL, None, 1000, {"fetchTradesMethod": "publicGetHistoricalTrades",
                                                                    "fromId": from_id})
            if not page:
                break
            found.extend(t for t in page if int(t["id"]) < before_id)
            assert max(int(t["id"]) for t in page) + 1 > from_id, "historicalTrades went backwards"
            from_id = max(int(t["id"]) for t in page) + 1
    else:
        cursor = before_id
        while cursor - 1 > after_id:
            page = await exchange.fetch_trades(SYMBOL, None, 100, {"method": "publicGetMarketHistoryTrades",
                                                                   "type": "1", "after": str(cursor),
                                                                   "before": str(after_id)})
            if not page:
                break
            found.extend(page)
            assert min(int(t["id"]) for t in page) < cursor, "history-trades answered at or above 'after'"
            cursor = min(int(t["id"]) for t in page)
    return sorted(found, key=lambda t: int(t["id"]))  # ccxt sorts by (timestamp, id as a string)


async def _live(exchange: Any, *, last_id: int | None = None, count: int | None = None) -> list[dict[str, Any]]:
    """ccxt's cache of the live trades (kept whole: ``tradesLimit``) once it ends with ``last_id`` or holds ``count``.

    The cache rather than what ``watch_trades`` returns: a watch resolves on the next
    frame, and the tape's last trade has none after it.
    """
    async with asyncio.timeout(10):
        while True:
            cached = list(exchange.trades.get(SYMBOL, ()))
            if cached and ((last_id is not None and int(cached[-1]["id"]) >= last_id)
                           or (count is not None and len(cached) >= count)):
                return cached
            await asyncio.sleep(0.005)


def _ids(trades: list[dict[str, Any]]) -> list[int]:
    return [int(t["id"]) for t in trades]


async def test_a_tape_nobody_listens_to_is_all_in_the_history(sim: Simulator, exchange: Any) -> None:
    tape = sim.trade_tape(exchange.id, SYMBOL, count=2_500, start_id=7)
    await tape.wait(10)
    assert tape.produced == 2_500 and [t.id for t in tape.trades] == list(range(7, 2_507))
    assert all(a.timestamp <= b.timestamp for a, b in zip(tape.trades, tape.trades[1:]))
    history = await _history(exchange, 0, 10**9)
    assert [_fields(t) for t in history] == [_tape_fields(t) for t in tape.trades]
    assert {t["symbol"] for t in history} == {SYMBOL}


async def test_a_subscriber_gets_only_the_trades_produced_while_it_listens(sim: Simulator, exchange: Any) -> None:
    tape = sim.trade_tape(exchange.id, SYMBOL, count=3_000, rate=6_000)
    while tape.produced < 600:
        await asyncio.sleep(0.01)
    before = tape.produced
    await asyncio.wait_for(exchange.watch_trades(SYMBOL), 10)  # subscribes, returns on the first live trade
    received = await _live(exchange, last_id=3_000)
    ids = _ids(received)
    assert before < ids[0] and ids == list(range(ids[0], 3_001))  # live from its subscription on, none missed
    # the live frames and the history agree on every trade, each parsed by ccxt
    history = await _history(exchange, ids[0] - 1, 3_001)
    assert [_fields(t) for t in received] == [_fields(t) for t in history]
    assert [_fields(t) for t in received] == [_tape_fields(t) for t in tape.trades[ids[0] - 1:]]


async def test_the_history_covers_exactly_what_a_reconnect_missed(sim: Simulator, exchange: Any) -> None:
    tape = sim.trade_tape(exchange.id, SYMBOL, count=6_000, start_id=10**9, rate=6_000)
    last_id = 10**9 + 5_999
    await asyncio.wait_for(exchange.watch_trades(SYMBOL), 10)
    await _live(exchange, count=1_000)
    await sim.drop_connections(exchange.id)
    await asyncio.sleep(0.05)  # ccxt reconnects on the next watch: the tape goes on meanwhile
    await asyncio.wait_for(exchange.watch_trades(SYMBOL), 10)  # no watch was pending at the drop: no error
    ids = _ids(await _live(exchange, last_id=last_id))
    gaps = [i for i in range(1, len(ids)) if ids[i] != ids[i - 1] + 1]
    assert len(gaps) == 1 and ids[-1] == last_id  # in order, once each, but for what the drop cost
    last_before, first_after = ids[gaps[0] - 1], ids[gaps[0]]
    missed = list(range(last_before + 1, first_after))
    assert len(missed) >= 100  # 50 ms at 6,000 trades/s, at least
    history = await _history(exchange, last_before, first_after)
    assert _ids(history) == missed
    assert [_fields(t) for t in history] == [_tape_fields(tape.trades[i - 10**9]) for i in missed]
    await tape.wait(10)


async def test_drops_closes_and_stalls_do_not_stop_a_tape(sim: Simulator) -> None:
    tape = sim.trade_tape("binance", SYMBOL, count=600, rate=2_000)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sim.ws_url}/stream?streams=btcusdt@trade") as ws:
            await ws.receive(timeout=5)
            sim.stall(100)
            await sim.close_connections("binance", 1001)
        async with session.ws_connect(f"{sim.ws_url}/ws/btcusdt@trade") as ws:
            await ws.receive(timeout=5)
            await sim.drop_connections("binance")
    await tape.wait(5)
    assert tape.produced == 600


async def test_binance_frames_look_as_burst_frames_on_combined_and_raw_connections(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        combined = await session.ws_connect(f"{sim.ws_url}/stream?streams=btcusdt@trade")
        raw = await session.ws_connect(f"{sim.ws_url}/ws/btcusdt@trade")
        try:
            while sim.open_connections < 2:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)  # both subscriptions are active
            tape = sim.trade_tape("binance", SYMBOL, count=3, start_id=41)
            await tape.wait(5)
            burst = sim.burst_trades("binance", SYMBOL, count=3, start_id=41)
            await burst.wait(5)
            for ws, envelope in ((combined, True), (raw, False)):
                frames = [orjson.loads((await ws.receive(timeout=5)).data) for _ in range(6)]
                if envelope:
                    assert {f["stream"] for f in frames} == {"btcusdt@trade"}
                    frames = [f["data"] for f in frames]
                taped, bursted = frames[:3], frames[3:]
                for trade, frame, twin in zip(tape.trades, taped, bursted):
                    assert frame == {"e": "trade", "E": trade.timestamp, "s": "BTCUSDT", "t": trade.id,
                                     "p": trade.price, "q": "0.00100000", "T": trade.timestamp,
                                     "m": trade.side == "sell", "M": True}
                    assert {k: (v, type(v)) for k, v in frame.items() if k not in "ET"} == \
                           {k: (v, type(v)) for k, v in twin.items() if k not in "ET"}
        finally:
            await combined.close()
            await raw.close()


async def test_okx_frames_look_as_burst_frames(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_url}/ws/v5/public") as ws:
        await ws.send_str('{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}')
        assert orjson.loads((await ws.receive(timeout=5)).data)["event"] == "subscribe"
        tape = sim.trade_tape("okx", SYMBOL, count=2, start_id=41)
        await tape.wait(5)
        burst = sim.burst_trades("okx", SYMBOL, count=2, start_id=41)
        frames = [orjson.loads((await ws.receive(timeout=5)).data) for _ in range(4)]
        await burst.wait(5)
        for trade, frame, twin in zip(tape.trades, frames[:2], frames[2:]):
            assert frame == {"arg": {"channel": "trades", "instId": "BTC-USDT"},
                             "data": [{"instId": "BTC-USDT", "tradeId": str(trade.id), "px": trade.price,
                                       "sz": "0.001", "side": trade.side, "ts": str(trade.timestamp)}]}
            twin["data"][0]["ts"] = frame["data"][0]["ts"]
            assert frame == twin


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as response:
        return response.status, orjson.loads(await response.read())


async def test_binance_history_pages_at_their_boundaries(sim: Simulator) -> None:
    tape = sim.trade_tape("binance", SYMBOL, count=2_500)
    await tape.wait(10)
    history = f"{sim.url}/api/v3/historicalTrades?symbol=BTCUSDT"
    async with aiohttp.ClientSession() as session:
        async def ids(url: str) -> list[int]:
            status, body = await _get(session, url)
            assert status == 200
            return [t["id"] for t in body]
        assert await ids(f"{history}&fromId=1&limit=1000") == list(range(1, 1001))
        assert await ids(f"{history}&fromId=1001&limit=1000") == list(range(1001, 2001))
        assert await ids(f"{history}&fromId=2001&limit=1000") == list(range(2001, 2501))
        assert await ids(f"{history}&fromId=2500&limit=1000") == [2500]
        assert await ids(f"{history}&fromId=2501&limit=1000") == []
        assert await ids(f"{history}&fromId=0&limit=3") == [1, 2, 3]
        assert await ids(f"{history}&fromId=5") == list(range(5, 505))  # 500 by default
        assert await ids(f"{history}&fromId=1&limit=5000") == list(range(1, 1001))  # at most 1000
        assert await ids(history) == list(range(2001, 2501))  # no fromId: the most recent
        assert await ids(f"{sim.url}/api/v3/trades?symbol=BTCUSDT&limit=1000") == list(range(1501, 2501))
        status, body = await _get(session, f"{history}&fromId=2&limit=1")
        trade = tape.trades[1]
        assert body == [{"id": 2, "price": trade.price, "qty": "0.00100000",
                         "quoteQty": f"{float(trade.price) * 0.001:.8f}", "time": trade.timestamp,
                         "isBuyerMaker": False, "isBestMatch": True}]


async def test_okx_history_pages_at_their_boundaries(sim: Simulator) -> None:
    tape = sim.trade_tape("okx", SYMBOL, count=250, rate=5_000)
    await tape.wait(10)
    history = f"{sim.url}/api/v5/market/history-trades?instId=BTC-USDT"
    async with aiohttp.ClientSession() as session:
        async def ids(url: str) -> list[int]:
            status, body = await _get(session, url)
            assert status == 200 and body["code"] == "0"
            return [int(t["tradeId"]) for t in body["data"]]
        newest_first = list(range(250, 0, -1))
        assert await ids(history) == newest_first[:100]
        assert await ids(f"{history}&type=1&after=101") == list(range(100, 0, -1))
        assert await ids(f"{history}&after=1") == []
        assert await ids(f"{history}&after=201&before=100") == list(range(200, 100, -1))
        assert await ids(f"{history}&after=202&before=100") == list(range(201, 101, -1))  # the newest 100 of 101..201
        assert await ids(f"{history}&before=200") == list(range(250, 200, -1))
        assert await ids(f"{history}&before=10") == newest_first[:100]  # before alone: the latest, as OKX documents
        assert await ids(f"{history}&after=51&limit=500") == list(range(50, 0, -1))  # at most 100
        assert await ids(f"{history}&after=51&limit=7") == list(range(50, 43, -1))
        assert await ids(f"{sim.url}/api/v5/market/trades?instId=BTC-USDT&limit=500") == newest_first
        ts = tape.trades[150].timestamp
        older = [t.id for t in reversed(tape.trades) if t.timestamp < ts][:100]
        assert older and await ids(f"{history}&type=2&after={ts}") == older
        status, body = await _get(session, f"{history}&after=3&limit=1")
        trade = tape.trades[1]
        assert body == {"code": "0", "msg": "", "data": [{"instId": "BTC-USDT", "side": "buy", "sz": "0.001",
                                                          "px": trade.price, "source": "0", "tradeId": "2",
                                                          "ts": str(trade.timestamp)}]}


async def test_unknown_symbols_and_unread_parameters_get_the_venue_errors(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("historicalTrades", "trades"):
            assert await _get(session, f"{sim.url}/api/v3/{path}?symbol=NOSUCHCOIN") == \
                (400, {"code": -1121, "msg": "Invalid symbol."})
        assert await _get(session, f"{sim.url}/api/v3/trades?symbol=BTCUSDT&fromId=1") == \
            (400, {"code": -1104, "msg": "Not all sent parameters were read; read '1' parameter(s) but was sent '2'."})
        assert (await _get(session, f"{sim.url}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=x"))[1]["code"] == -1100
        for path in ("history-trades", "trades"):
            status, body = await _get(session, f"{sim.url}/api/v5/market/{path}?instId=NO-SUCH")
            assert body == {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        assert (await _get(session, f"{sim.url}/api/v5/market/history-trades"))[1]["code"] == "50014"
    binance = sim.attach(ccxt.pro.binance({"apiKey": "simulated"}))
    try:
        with pytest.raises(ccxt.BadRequest, match="-1104"):  # historicalTrades reads no startTime
            await binance.fetch_trades(SYMBOL, 1_700_000_000_000, 10, {"fetchTradesMethod": "publicGetHistoricalTrades"})
    finally:
        await binance.close()
    with pytest.raises(ValueError, match="NOSUCH/COIN"):
        sim.trade_tape("binance", "NOSUCH/COIN")
    with pytest.raises(ValueError, match="NOSUCH/COIN"):
        sim.trade_tape("okx", "NOSUCH/COIN")
    with pytest.raises(ValueError, match="kraken"):
        sim.trade_tape("kraken", SYMBOL)


async def test_a_rate_spreads_the_tape_over_count_over_rate_seconds(sim: Simulator) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    tape = sim.trade_tape("okx", SYMBOL, count=500, rate=1_000)
    await tape.wait(10)
    elapsed = loop.time() - started
    span_ms = tape.trades[-1].timestamp - tape.trades[0].timestamp
    assert 0.25 <= elapsed and 250 <= span_ms <= 750  # ~0.5 s, within 50 %
    # without a rate, nobody listening: one batch of yield_every (100) trades per millisecond at most
    unpaced = sim.trade_tape("binance", SYMBOL, count=2_000)
    await unpaced.wait(10)
    assert unpaced.trades[-1].timestamp - unpaced.trades[0].timestamp >= 15  # 20 batches: not all at once


async def test_tapes_of_one_stream_follow_each_other(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="rate"):
        sim.trade_tape("binance", SYMBOL, rate=0)
    with pytest.raises(ValueError, match="count"):
        sim.trade_tape("binance", SYMBOL, count=-1)
    with pytest.raises(ValueError, match="start_id"):
        sim.trade_tape("binance", SYMBOL, start_id=0)
    first = sim.trade_tape("binance", SYMBOL, count=100, start_id=1, rate=1_000)
    with pytest.raises(ValueError, match="still producing"):
        sim.trade_tape("binance", SYMBOL, count=10, start_id=1_000)
    await first.wait(5)
    with pytest.raises(ValueError, match="start_id 100 must follow"):
        sim.trade_tape("binance", SYMBOL, count=10, start_id=100)
    second = sim.trade_tape("binance", SYMBOL, count=10, start_id=1_000)
    other = sim.trade_tape("binance", "ETH/USDT", count=10, start_id=1)  # another stream: its own sequence
    await asyncio.gather(second.wait(5), other.wait(5))
    async with aiohttp.ClientSession() as session:
        _, body = await _get(session, f"{sim.url}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=99&limit=3")
    assert [t["id"] for t in body] == [99, 100, 1_000]


async def test_closing_the_simulator_stops_a_tape_that_says_so() -> None:
    async with Simulator(SimulatorConfig(load_recordings=False)) as sim:
        tape: Tape = sim.trade_tape("okx", SYMBOL, count=1_000, rate=100)
    with pytest.raises(RuntimeError, match="stopped at"):
        await tape.wait(1)
    assert tape.produced < 1_000
