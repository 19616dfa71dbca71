"""Bybit native handlers (exchanges/_bybit_native.py) against ccxt.pro's bybit, frame for frame.

Recorded frames, read in place from ../shared/data (never copied; skipped when absent):
the cryptofeed v3 re-recording (2026, AGPL: linear and spot connections, publicTrade,
orderbook.200, tickers snapshots and deltas, kline, subscription answers; markets from the
recorded instruments answers in the same file) and the excerpt of Bybit's own public
archive in nautilus_trader's test data (LGPL: orderbook.500 XRPUSDT, a snapshot and 49
deltas).  The recordings hold no orderbook.1, no inverse contract, few spot trades:
hypothesis adds frames in Bybit's documented format (ccxt's handler docstrings) on a
small market list given here (spot and linear BTCUSDT sharing an id, an inverse BTCUSD).
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import orjson
import pytest
from aiohttp import WSMsgType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rxpro
from rxpro._replay_formats import load_recording

from ..core.conftest import route
from ._native_diff import Differential, canon

pytestmark = pytest.mark.timeout(300)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
V3 = SHARED / "cryptofeed" / "v3" / "sample_data" / "BYBIT.jsonl.zst"
ARCHIVE = SHARED / "nautilus_trader" / "tests" / "test_data" / "bybit" / "xrpusdt-ob500.data.zip"
LINEAR = "wss://stream.bybit.com/v5/public/linear"
SPOT = "wss://stream.bybit.com/v5/public/spot"
#: ccxt's parsing steps the natives replace: a call into one means ccxt parsed the frame
FALLBACK_STEPS = ("handle_error_message", "parse_ws_trade", "parse_ticker", "parse_order_book",
                  "handle_deltas", "parse_ws_bid_ask")


def parsed_markets(answers: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """ccxt's own parse of instruments-info answers by category (``fetch_markets`` with them as the REST answers)."""
    parser = ccxt.bybit({"options": {"fetchMarkets": {"types": list(answers)}}})

    def instruments(params: dict[str, Any]) -> dict[str, Any]:
        listed = [] if params.get("status") == "PreLaunch" else answers[params["category"]]
        return {"retCode": 0, "retMsg": "OK",
                "result": {"category": params["category"], "list": listed, "nextPageCursor": ""}}

    parser.publicGetV5MarketInstrumentsInfo = instruments
    return parser.fetch_markets()  # type: ignore[no-any-return]


def _linear(symbol: str, base: str, quote: str, tick: str, step: str, kind: str = "LinearPerpetual",
            settle: str | None = None) -> dict[str, Any]:
    return {"symbol": symbol, "contractType": kind, "status": "Trading", "baseCoin": base, "quoteCoin": quote,
            "launchTime": "1600000000000", "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "4",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "50.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": tick, "maxPrice": "1000000", "tickSize": tick},
            "lotSizeFilter": {"maxOrderQty": "1000", "minOrderQty": step, "qtyStep": step,
                              "postOnlyMaxOrderQty": "1000", "maxMktOrderQty": "100", "minNotionalValue": "5"},
            "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": settle or quote}


def _spot(symbol: str, base: str, quote: str, tick: str, step: str) -> dict[str, Any]:
    return {"symbol": symbol, "baseCoin": base, "quoteCoin": quote, "innovation": "0", "status": "Trading",
            "marginTrading": "both", "priceFilter": {"tickSize": tick},
            "lotSizeFilter": {"basePrecision": step, "quotePrecision": "0.00000001", "minOrderQty": step,
                              "maxOrderQty": "100", "minOrderAmt": "1", "maxOrderAmt": "1000000"}}


def minimal_markets() -> list[dict[str, Any]]:
    """A few markets in Bybit's v5 instruments format (values made up): ids shared by spot and linear, an inverse."""
    return parsed_markets({
        "spot": [_spot("BTCUSDT", "BTC", "USDT", "0.1", "0.000001"), _spot("ETHUSDT", "ETH", "USDT", "0.01", "0.00001")],
        "linear": [_linear("BTCUSDT", "BTC", "USDT", "0.10", "0.001"), _linear("ETHUSDT", "ETH", "USDT", "0.01", "0.01"),
                   _linear("XRPUSDT", "XRP", "USDT", "0.0001", "1")],
        "inverse": [_linear("BTCUSD", "BTC", "USD", "0.50", "1", "InversePerpetual", "BTC")],
    })


def recorded_markets() -> list[dict[str, Any]]:
    """The markets of the v3 recording's own instruments answers (linear and spot, 2026)."""
    answers = {}
    for record in load_recording(V3).http:
        category = record.url.split("category=", 1)[1].split("&", 1)[0]
        answers[category] = orjson.loads(record.body)["result"]["list"]
    return parsed_markets(answers)


def channel_of(message: Any) -> str:
    topic = message.get("topic") if isinstance(message, dict) else None
    return str(topic).split(".", 1)[0] if topic else "control"


def close(*exchanges: Any) -> None:
    async def closing() -> None:
        for exchange in exchanges:
            await exchange.close()
    asyncio.run(closing())


def differential(markets: list[dict[str, Any]], config: dict[str, Any] | None = None) -> Differential:
    reference = ccxt.pro.bybit(dict(config or {}))
    native = rxpro.bybit(dict(config or {}))
    reference.set_markets(markets)
    native.set_markets(markets)
    return Differential(reference, native, {}, FALLBACK_STEPS, channel_of)


NATIVE_CHANNELS = {"publicTrade", "orderbook", "tickers"}


def check_all_native(diff: Differential) -> None:
    fell_back = {channel: n for channel, n in diff.fallbacks.items() if channel in NATIVE_CHANNELS}
    assert fell_back == {}, (fell_back, dict(diff.frames))


def v3_frames() -> Iterator[tuple[str, str]]:
    recording = load_recording(V3)
    for frame in recording.frames:
        assert frame.text is not None
        yield recording.connections[frame.conn], frame.text


def archive_frames() -> Iterator[tuple[str, str]]:
    with zipfile.ZipFile(ARCHIVE) as archive:
        for name in archive.namelist():
            for line in archive.read(name).decode().splitlines():
                if line.strip():
                    yield LINEAR, line


def test_v3_recording_parses_as_ccxt_parses_it() -> None:
    if not V3.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, read in place, never copied) is not at {V3}")
    diff = differential(recorded_markets())
    try:
        diff.feed_all(v3_frames())
        assert diff.frames["orderbook"] == 2148 and diff.frames["tickers"] == 839 and diff.frames["publicTrade"] == 120
        check_all_native(diff)
        assert set(diff.native.orderbooks) == {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT",
                                               "SOL/USDT:USDT", "DOGE/USDT:USDT"}
    finally:
        close(diff.reference, diff.native)


def test_bybit_archive_excerpt_parses_as_ccxt_parses_it() -> None:
    if not ARCHIVE.is_file():
        pytest.skip(f"nautilus_trader's Bybit archive excerpt (LGPL, read in place) is not at {ARCHIVE}")
    diff = differential(minimal_markets())
    try:
        diff.feed_all(archive_frames())
        assert diff.frames["orderbook"] == 50
        check_all_native(diff)
        assert len(diff.native.orderbooks["XRP/USDT:USDT"]["bids"]) > 400
    finally:
        close(diff.reference, diff.native)


# -- hypothesis: Bybit's documented format, around the edges ----------------------------------------

DECIMALS = st.one_of(
    st.decimals(min_value=0, max_value=10 ** 6, places=6, allow_nan=False).map(str),
    st.sampled_from(["0", "0.000", "1e-8", "2.5E3", "16578.50", "0.001", "100"]),
)
OPTIONAL = st.one_of(DECIMALS, st.sampled_from(["", None]))
TIMES = st.integers(1_600_000_000_000, 1_900_000_000_000)
#: (connection, market id): spot and linear BTCUSDT share an id; BTCUSD is inverse; NOPEUSDT is not loaded
MARKET = st.sampled_from([(SPOT, "BTCUSDT"), (SPOT, "ETHUSDT"), (LINEAR, "BTCUSDT"), (LINEAR, "XRPUSDT"),
                          (LINEAR, "BTCUSD"), (LINEAR, "NOPEUSDT")])


@st.composite
def trades(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    url, market_id = draw(MARKET)
    entries = draw(st.lists(st.fixed_dictionaries({
        "T": TIMES, "s": st.just(market_id), "S": st.sampled_from(["Buy", "Sell"]), "v": DECIMALS, "p": DECIMALS,
        "L": st.sampled_from(["PlusTick", "MinusTick"]), "i": st.uuids().map(str),
    }, optional={"BT": st.booleans(), "RPI": st.booleans(), "seq": st.integers(1, 10 ** 12)}), max_size=4))
    return url, [{"topic": f"publicTrade.{market_id}", "type": "snapshot", "ts": draw(TIMES), "data": entries}]


LEVEL = st.tuples(DECIMALS, DECIMALS).map(list)


@st.composite
def books(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    url, market_id = draw(MARKET)
    depth = draw(st.sampled_from(["1", "50", "200"]))
    topic = f"orderbook.{depth}.{market_id}"
    frames = []
    if draw(st.integers(0, 5)) > 0:
        frames.append({"topic": topic, "type": "snapshot", "ts": draw(TIMES), "data": {
            "s": market_id, "b": draw(st.lists(LEVEL, max_size=6)), "a": draw(st.lists(LEVEL, max_size=6)),
            "u": 1, "seq": 1}, "cts": draw(TIMES)})
    for update in range(draw(st.integers(0, 4))):
        frames.append({"topic": topic, "type": "delta", "ts": draw(TIMES), "data": {
            "s": market_id, "b": draw(st.lists(LEVEL, max_size=3)), "a": draw(st.lists(LEVEL, max_size=3)),
            "u": update + 2, "seq": update + 2}, "cts": draw(TIMES)})
    return url, frames


LINEAR_FIELDS = ("tickDirection", "price24hPcnt", "lastPrice", "prevPrice24h", "highPrice24h", "lowPrice24h",
                 "prevPrice1h", "markPrice", "indexPrice", "openInterest", "openInterestValue", "turnover24h",
                 "volume24h", "nextFundingTime", "fundingRate", "bid1Price", "bid1Size", "ask1Price", "ask1Size")
SPOT_FIELDS = ("lastPrice", "highPrice24h", "lowPrice24h", "prevPrice24h", "volume24h", "turnover24h", "price24hPcnt")


@st.composite
def tickers(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    url, market_id = draw(MARKET)
    topic = f"tickers.{market_id}"
    if url == SPOT:
        data = draw(st.fixed_dictionaries({"symbol": st.just(market_id), "usdIndexPrice": DECIMALS},
                                          optional={name: OPTIONAL for name in SPOT_FIELDS}))
        return url, [{"topic": topic, "ts": draw(TIMES), "type": "snapshot", "cs": 1, "data": data}]
    frames = []
    if draw(st.integers(0, 4)) > 0:
        snapshot = draw(st.fixed_dictionaries({"symbol": st.just(market_id)},
                                              optional={name: OPTIONAL for name in LINEAR_FIELDS}))
        frames.append({"topic": topic, "type": "snapshot", "data": snapshot, "cs": 1, "ts": draw(TIMES)})
    for _ in range(draw(st.integers(0, 3))):
        delta = draw(st.fixed_dictionaries({"symbol": st.just(market_id)},
                                           optional={name: DECIMALS for name in ("bid1Price", "bid1Size", "ask1Price",
                                                                                 "ask1Size", "lastPrice",
                                                                                 "price24hPcnt")}))
        frames.append({"topic": topic, "type": "delta", "data": delta, "cs": 2, "ts": draw(TIMES)})
    return url, frames


FRAMES = st.one_of(trades(), books(), tickers())


@pytest.fixture(scope="module")
def shared() -> Iterator[Differential]:
    """One pair of exchanges for all examples (ccxt's constructor is slow): caches reset per example."""
    diff = differential(minimal_markets())
    yield diff
    close(diff.reference, diff.native)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(FRAMES, min_size=1, max_size=5))
def test_generated_frames_parse_as_ccxt_parses_them(shared: Differential, frames: list[Any]) -> None:
    for exchange in (shared.reference, shared.native):
        exchange.trades = {}
        exchange.orderbooks = {}
        exchange.tickers = {}
        exchange.bidsasks = {}
    shared.clients.clear()
    for url, messages in frames:
        for message in messages:
            shared.feed(orjson.dumps(message), url)
    shared.compare_caches()


def test_a_private_trade_goes_to_ccxt() -> None:
    diff = differential(minimal_markets())
    try:
        frame = {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1672304486868, "data": [
            {"T": 1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50", "i": "x", "m": True}]}
        diff.feed(orjson.dumps(frame), LINEAR)
        assert diff.fallbacks["publicTrade"] == 1
    finally:
        close(diff.reference, diff.native)


def test_a_topic_ccxt_would_dispatch_elsewhere_goes_to_ccxt() -> None:
    # ccxt's dispatch looks for 'order', 'kline', 'ticker'... anywhere in the topic: a market id with
    # lower-case letters could name another handler, so ccxt's dispatch decides
    diff = differential(minimal_markets())
    try:
        frame = {"topic": "publicTrade.order", "type": "snapshot", "ts": 1672304486868, "data": []}
        diff.feed(orjson.dumps(frame), LINEAR)
        assert diff.fallbacks["publicTrade"] == 1
    finally:
        close(diff.reference, diff.native)


def test_natives_off_by_config() -> None:
    ex = rxpro.bybit({"rxpro": {"native": False}})
    assert not ex.rx_native
    close(ex)


class _Frame:
    """A received text frame as aiohttp hands it to ccxt's client."""

    def __init__(self, data: str) -> None:
        self.type, self.data = WSMsgType.TEXT, data


async def _emissions(native: bool) -> dict[str, list[Any]]:
    """The v3 recording through rxpro's clients (decode, handler, resolve, router) into routed streams."""
    ex = rxpro.bybit({"rxpro": {"native": native}})
    try:
        assert ex.rx_native is native
        ex.set_markets(recorded_markets())
        got: dict[str, list[Any]] = {}
        clients = {}
        for url, market_type, symbols in ((LINEAR, "linear", ("BTC/USDT:USDT", "SOL/USDT:USDT")),
                                          (SPOT, "spot", ("BTC/USDT", "ETH/USDT"))):
            clients[url] = client = ex.client(url)
            for symbol in symbols:
                for method, message_hash in (("watch_trades", "trade:" + symbol), ("watch_order_book", "orderbook:" + symbol),
                                             ("watch_ticker", "ticker:" + symbol)):
                    got[message_hash] = route(ex, client, method, [message_hash], {"symbol": symbol})
        for url, text in v3_frames():
            clients[url].handle_message(_Frame(text))
        return {key: [canon(value) for value in values] for key, values in got.items()}
    finally:
        await ex.close()


async def test_observables_emit_the_same_with_the_natives_on_and_off() -> None:
    # rxpro's path from the client on (decode, handler, resolve, router, stream) over the v3 re-recording
    if not V3.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, read in place, never copied) is not at {V3}")
    on = await _emissions(True)
    off = await _emissions(False)
    assert on == off
    assert all(on.values()), {key: len(values) for key, values in on.items()}


def _first_recorded(url: str, topic: str) -> dict[str, Any]:
    for frame_url, text in v3_frames():
        message = orjson.loads(text)
        if frame_url == url and message.get("topic") == topic:
            return message  # type: ignore[no-any-return]
    raise AssertionError(f"no {topic} on {url}")


async def test_the_v3_recording_replays_each_category_on_its_own_connection() -> None:
    """``rxpro.replay`` of the v3 file (exchanges/_bybit.py's protocol).

    ccxt asks for instruments the recorder asked for with other filters: its markets are
    ccxt's own parse of the recorded answers.  Spot and linear share topic names
    (``tickers.BTCUSDT``) and a host: each ccxt connection gets its own URL's frames.  The
    recorder's subscription answers carry no request id: an un-watch is answered with its own.
    """
    if not V3.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, read in place, never copied) is not at {V3}")
    reference = ccxt.pro.bybit()
    reference.set_markets(recorded_markets())
    ex = rxpro.replay([V3])
    try:
        spot = await asyncio.wait_for(ex.watch_ticker("BTC/USDT"), 30)
        linear = await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), 30)
        assert ex.markets == reference.markets
        assert spot["info"] == _first_recorded(SPOT, "tickers.BTCUSDT")["data"]
        assert linear["info"] == _first_recorded(LINEAR, "tickers.BTCUSDT")["data"]
        assert spot["last"] != linear["last"]
        assert await asyncio.wait_for(ex.un_watch_ticker("BTC/USDT"), 30) is True
        later = await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), 30)
        assert later["symbol"] == "BTC/USDT:USDT" and later["timestamp"] > linear["timestamp"]
    finally:
        await ex.close()
        await reference.close()


async def _replayed_books(symbol: str, limit: int | None, native: bool = True) -> list[Any]:
    ex = rxpro.replay([V3], autostart=False, config={"rxpro": {"native": native}})
    try:
        await ex.load_markets()
        books: list[Any] = []
        errors: list[Exception] = []
        rxpro.order_book(ex, symbol, limit).subscribe(on_next=books.append, on_error=errors.append)
        await asyncio.sleep(0)
        await ex.replay.run()
        assert errors == []
        return books
    finally:
        await ex.close()


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT:USDT"])
async def test_a_recorded_book_answers_a_shallower_subscription(symbol: str) -> None:
    """cryptofeed recorded ``orderbook.200``; ccxt subscribes ``orderbook.50`` by default, ``.1`` for a best bid/ask.

    Each book of a ``limit=50`` subscription (natives on and off) is the top 50 of the book
    at the recorded depth; a depth-1 book is one level and fills ccxt's best bid/ask (ccxt
    reads ``orderbook.1`` off the topic); a deeper book than recorded is refused on
    subscribe, saying what was recorded.
    """
    if not V3.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, read in place, never copied) is not at {V3}")
    recorded = await _replayed_books(symbol, 200)
    shallow = await _replayed_books(symbol, 50)
    assert len(recorded) == len(shallow) > 100
    for deep, top in zip(recorded, shallow):
        assert top["nonce"] == deep["nonce"] and top["timestamp"] == deep["timestamp"]
        assert top["bids"] == deep["bids"][:50] and top["asks"] == deep["asks"][:50]
    assert any(len(deep["bids"]) > 50 for deep in recorded)
    assert await _replayed_books(symbol, 50, native=False) == shallow  # ccxt's parser reads the snapshots alike

    ex = rxpro.replay([V3])
    try:
        book = await asyncio.wait_for(ex.watch_order_book(symbol, 1), 30)
        assert len(book["bids"]) == len(book["asks"]) == 1
        assert ex.bidsasks[symbol]["bid"] == book["bids"][0][0] and ex.bidsasks[symbol]["ask"] == book["asks"][0][0]
        with pytest.raises(rxpro.StreamNotRecorded, match="200 levels deep") as refused:
            await ex.watch_order_book(symbol, 1000)
        assert refused.value.recorded == ("orderbook:200",) and refused.value.symbol == symbol
    finally:
        await ex.close()
