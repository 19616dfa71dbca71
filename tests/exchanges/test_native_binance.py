"""Binance native handlers (exchanges/_binance_native.py) against ccxt.pro's binance, frame for frame.

Two exchanges read every frame: ccxt.pro's plain class (the reference) and rxpro's with its
natives on, both with the markets ccxt parses from the bundled exchangeInfo answers.  Per
frame, what they resolved and rejected (value and message hash, in order: ``canon`` of
``_native_diff``, number types strict), what they raised and the subscriptions they left must
be equal; the caches (``trades``, ``tickers``, ``bidsasks``, ``ohlcvs``, ``orderbooks``) are
compared whole every few thousand frames and at the end.  A resolved order book is compared
per frame by its nonce, time, depth and top 25 levels of each side, and whole with the caches.

Books go through ccxt's own subscription (``handle_order_book_subscription``) and snapshot
sync (``fetch_order_book_snapshot``, the recorded REST snapshot served when the recording
reached it): the diffs buffered before it are replayed by ccxt's code through the natives.

Sources: the bundled hftbacktest recordings (spot BTCUSDT + ETHUSDT, 2 days, with the
aggTrade, kline, ticker and miniTicker frames ``rxpro.testing`` derives from them; USDⓈ-M
BTCUSDT), cryptofeed's 2021 BINANCE / BINANCE_FUTURES recordings (master: permissive) and
hftbacktest's USDⓈ-M ETHUSDT, read in place from ../shared/data (skipped when absent).
The hftbacktest files are long (~470,000 frames): by default each session runs its first
``FRAMES`` frames (snapshot sync included); ``RXPRO_NATIVE_ALL_FRAMES=1`` runs every one.
Then hypothesis frames around the edges, and the switches.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import ccxt
import ccxt.pro
import orjson
import pytest
from ccxt.async_support.base.ws.cache import BaseCache
from ccxt.async_support.base.ws.order_book import OrderBook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rxpro
from rxpro._recorded import Recording
from rxpro._replay_formats import load_recording
from rxpro.exchanges import _native
from rxpro.exchanges._table import venue_for
from rxpro.testing import data_path
from rxpro.testing._binance import load_binance_recording

from ._native_diff import CACHES, RecordingClient, canon

pytestmark = pytest.mark.timeout(600)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HFTBACKTEST = SHARED / "hftbacktest" / "examples"
CRYPTOFEED = SHARED / "cryptofeed" / "master" / "sample_data"
#: frames per long session by default (every one with RXPRO_NATIVE_ALL_FRAMES=1)
FRAMES = None if os.environ.get("RXPRO_NATIVE_ALL_FRAMES") else 12_000
#: the connections ccxt subscribes each market type's public streams on (is_spot_url tells them apart)
URLS = {"binance": "wss://stream.binance.com:9443/ws", "binanceusdm": "wss://fstream.binance.com/ws"}
#: ccxt's parsing steps the natives replace: a call into one means ccxt parsed the frame
FALLBACK_STEPS = ("parse_ws_trade", "parse_ws_ticker", "handle_delta", "safe_symbol")
NATIVE_CHANNELS = {"trade", "aggTrade", "bookTicker", "depthUpdate", "kline", "24hrTicker", "24hrMiniTicker"}


# -- markets, exchanges, connections ---------------------------------------------------------------


def _thawed(value: Any) -> Any:
    if isinstance(value, (dict, MappingProxyType)):
        return {key: _thawed(item) for key, item in value.items()}
    return list(value) if isinstance(value, tuple) else value


def options(exchange_id: str) -> dict[str, Any]:
    return _thawed(venue_for(exchange_id).offline_options or {})


@functools.cache
def markets(exchange_id: str) -> list[dict[str, Any]]:
    """ccxt's own parse of the bundled exchangeInfo answer (``exchanges/data/``)."""
    bodies = {r.url.split("?", 1)[0]: r.body for r in venue_for(exchange_id).stub_http(Recording())}
    parser = getattr(ccxt, exchange_id)({"options": options(exchange_id)})
    parser.fetch = lambda url, method="GET", headers=None, body=None: orjson.loads(bodies[url.split("?", 1)[0]])
    return list(parser.load_markets().values())


def resolved_view(value: Any) -> Any:
    """A resolved value as compared per frame: a book by its header and top 25 levels, a cache by its newest entry.

    (Books and caches are long: they are compared whole with the caches, every few thousand frames.)
    """
    if isinstance(value, OrderBook):
        return {key: item for key, item in value.items() if key not in ("bids", "asks")} | {
            "bids": (len(value["bids"]), [list(level) for level in value["bids"][:25]]),
            "asks": (len(value["asks"]), [list(level) for level in value["asks"][:25]])}
    if isinstance(value, BaseCache):
        return (_cache_class(value), len(value), value[-1] if len(value) else None)
    if type(value) is list:
        return [resolved_view(item) for item in value]
    return value


def _cache_class(cache: Any) -> str:
    return next(cls.__name__ for cls in type(cache).__mro__ if cls.__module__.startswith("ccxt."))


class BookClient(RecordingClient):
    """A recording client keeping resolved books and caches as :func:`resolved_view` shows them."""

    def resolve(self, result: Any, message_hash: str) -> None:
        super().resolve(resolved_view(result), message_hash)


class Pair:
    """The reference and the native exchange of one id, fed the same frames on the same connection."""

    def __init__(self, exchange_id: str, config: Mapping[str, Any] | None = None,
                 native_class: type | None = None, count_steps: bool = True) -> None:
        settings_ = {"options": options(exchange_id), **(config or {})}
        self.reference = getattr(ccxt.pro, exchange_id)(dict(settings_))
        self.native = (native_class or getattr(rxpro.exchanges, exchange_id))(dict(settings_))
        assert self.native.rx_native
        self.url = URLS[exchange_id]
        self.clients = (BookClient(self.url), BookClient(self.url))
        self.spawned: tuple[list[Any], list[Any]] = ([], [])
        for ex, spawned in zip(self.exchanges, self.spawned):
            ex.set_markets(markets(exchange_id))
            ex.spawn = lambda method, *args, spawned=spawned: spawned.append((method, args))
        self.frames: Counter[str] = Counter()
        self.fallbacks: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self._steps = 0
        if count_steps:
            for name in FALLBACK_STEPS:
                setattr(self.native, name, self._counting(getattr(self.native, name)))

    @property
    def exchanges(self) -> tuple[Any, Any]:
        return self.reference, self.native

    def _counting(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self._steps += 1
            return method(*args, **kwargs)
        return counted

    def compare(self, context: str) -> None:
        reference_client, native_client = self.clients
        assert native_client.events == reference_client.events, context
        assert canon(native_client.subscriptions) == canon(reference_client.subscriptions), context
        self.outcomes.update(event[0] for event in reference_client.events)
        reference_client.events, native_client.events = [], []

    def feed(self, text: str) -> None:
        outcomes = []
        steps = self._steps
        for ex, client in zip(self.exchanges, self.clients):
            try:
                ex.handle_message(client, orjson.loads(text))
                outcomes.append(None)
            except Exception as error:  # noqa: BLE001 - the two must fail alike
                outcomes.append(canon(error))
        channel = channel_of(text)
        self.frames[channel] += 1
        if self._steps != steps:
            self.fallbacks[channel] += 1
        context = f"frame {sum(self.frames.values())} ({channel}): {text[:300]}"
        assert outcomes[1] == outcomes[0], context
        self.compare(context)

    def subscribe_book(self, symbol: str, limit: int | None = None) -> None:
        """ccxt's own answer to a depth subscription: an empty book buffering diffs, a snapshot fetch spawned."""
        market = self.native.market(symbol)
        for ex, client in zip(self.exchanges, self.clients):
            client.subscriptions["orderbook::" + symbol] = True
            subscription = {"id": "1", "name": "depth", "symbol": symbol, "limit": limit, "params": {},
                            "type": "spot" if market["spot"] else ("linear" if market["linear"] else "inverse")}
            ex.handle_order_book_subscription(client, {"result": None, "id": 1}, subscription)

    def snapshot_arrives(self, symbol: str, body: str) -> None:
        """The spawned snapshot fetch of ``symbol`` completes with ``body`` (a recorded REST depth answer)."""
        for ex, spawned in zip(self.exchanges, self.spawned):
            async def fetch_rest_order_book_safe(symbol: str, limit: Any = None, params: Any = None,
                                                 ex: Any = ex) -> Any:
                response = orjson.loads(body)
                book = ex.parse_order_book(response, symbol, ex.safe_integer(response, "T"))
                book["nonce"] = ex.safe_integer_2(response, "lastUpdateId", "u")
                return book

            ex.fetch_rest_order_book_safe = fetch_rest_order_book_safe
            for method, args in [(m, a) for m, a in spawned if a[2]["symbol"] == symbol]:
                spawned.remove((method, args))
                step = method(*args)
                with pytest.raises(StopIteration):
                    step.send(None)  # nothing waits: the fetch answers at once
        self.compare("snapshot")

    def compare_caches(self) -> None:
        for name in CACHES:
            assert canon(getattr(self.native, name)) == canon(getattr(self.reference, name)), name

    def close(self) -> None:
        import asyncio

        async def closing() -> None:
            for ex in self.exchanges:
                await ex.close()
        asyncio.run(closing())


def channel_of(text: str) -> str:
    data = orjson.loads(text)
    data = data.get("data", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        return "other"
    return str(data.get("e", "bookTicker" if "b" in data and "a" in data else "other"))


def check_all_native(pair: Pair) -> None:
    """Every frame of a native channel was taken by the native handler (none went to ccxt's parser)."""
    fell_back = {channel: n for channel, n in pair.fallbacks.items() if channel in NATIVE_CHANNELS}
    assert fell_back == {}, (fell_back, dict(pair.frames))


# -- recorded sessions ------------------------------------------------------------------------------


def run_hftbacktest(exchange_id: str, paths: Iterable[Path], limit: int | None = FRAMES) -> Pair:
    recording = load_binance_recording(tuple(str(p) for p in paths))
    pair = Pair(exchange_id)
    arriving = []
    for market_id, snapshot in recording.snapshots.items():
        symbol = pair.native.markets_by_id[market_id][0]["symbol"]
        pair.subscribe_book(symbol)
        arriving.append((snapshot.position, symbol, snapshot.text))
    arriving.sort()
    frames = recording.frames if limit is None else recording.frames[:limit]
    for index, frame in enumerate(frames):
        while arriving and arriving[0][0] <= index:
            pair.snapshot_arrives(*arriving.pop(0)[1:])
        pair.feed(frame.envelope)
        if index % 5_000 == 4_999:
            pair.compare_caches()
    pair.compare_caches()
    return pair


def _shared(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not here (shared data, read in place)")
    return path


def test_spot_btcusdt_ethusdt_and_derived_frames() -> None:
    pair = run_hftbacktest("binance", [data_path(n) for n in (
        "btcusdt_20240808.gz", "btcusdt_20240809.gz", "ethusdt_20240808.gz", "ethusdt_20240809.gz")])
    try:
        print(dict(pair.frames), dict(pair.outcomes))
        check_all_native(pair)
        assert {"trade", "aggTrade", "bookTicker", "depthUpdate", "kline", "24hrTicker", "24hrMiniTicker"} <= set(
            pair.frames)
        assert pair.outcomes["reject"] == 0 and pair.native.orderbooks["BTC/USDT"]["nonce"] is not None
    finally:
        pair.close()


def test_usdm_btcusdt_and_derived_frames() -> None:
    pair = run_hftbacktest("binanceusdm", [data_path("usdm/btcusdt_20240808.gz")])
    try:
        print(dict(pair.frames), dict(pair.outcomes))
        check_all_native(pair)
        assert pair.frames["depthUpdate"] and pair.frames["trade"] and pair.frames["bookTicker"]
        assert pair.outcomes["reject"] == 0 and pair.native.orderbooks["BTC/USDT:USDT"]["nonce"] is not None
    finally:
        pair.close()


def test_shared_usdm_ethusdt() -> None:
    pair = run_hftbacktest("binanceusdm", [_shared(HFTBACKTEST / "usdm" / "ethusdt_20240808.gz")])
    try:
        check_all_native(pair)
        assert pair.outcomes["reject"] == 0
    finally:
        pair.close()


@pytest.mark.parametrize("name, exchange_id", [("BINANCE", "binance"), ("BINANCE_FUTURES", "binanceusdm")])
def test_shared_cryptofeed_recordings(name: str, exchange_id: str) -> None:
    """cryptofeed's 2021 sessions: 4 markets each, depth@100ms, bookTicker, aggTrade, kline_1m; REST snapshots."""
    recording = load_recording(_shared(CRYPTOFEED / f"{name}.ws.1.0"))
    http = load_recording(_shared(CRYPTOFEED / f"{name}.http.0.0")).http if hasattr(
        load_recording(CRYPTOFEED / f"{name}.ws.1.0"), "http") else []
    pair = Pair(exchange_id)
    try:
        snapshots = sorted((r.ts_ns, r.url.split("symbol=", 1)[1].split("&", 1)[0], r.body) for r in http
                           if "/depth?" in r.url)
        for _, market_id, _ in snapshots:
            if market_id in pair.native.markets_by_id:
                pair.subscribe_book(pair.native.markets_by_id[market_id][0]["symbol"])
        frames = [frame for frame in recording.frames if frame.text is not None]
        for frame in frames:
            while snapshots and snapshots[0][0] <= frame.ts_ns:
                _, market_id, body = snapshots.pop(0)
                if market_id in pair.native.markets_by_id:
                    pair.snapshot_arrives(pair.native.markets_by_id[market_id][0]["symbol"], body)
            pair.feed(frame.text)
        pair.compare_caches()
        print(dict(pair.frames), dict(pair.fallbacks), dict(pair.outcomes))
        check_all_native(pair)
        assert pair.frames["depthUpdate"] > 100
    finally:
        pair.close()


# -- hypothesis: Binance's documented formats, around the edges -------------------------------------

DECIMALS = st.one_of(
    st.decimals(min_value=0, max_value=10 ** 7, places=8, allow_nan=False).map(str),
    st.integers(0, 10 ** 9).map(str),
    st.sampled_from(["0", "0.00000000", "1e-8", "2.5E3", "1e5", "0.00000001", "61050.01000000", "-0.5"]),
)
#: mostly what Binance sends, now and then what it doesn't (each odd value sends a frame to ccxt's handler)
ODD = st.sampled_from(["", None, 7, 1.5, "abc"])
OPTIONAL = st.one_of(DECIMALS, DECIMALS, DECIMALS, DECIMALS, ODD)
MILLISECONDS = st.integers(1_500_000_000_000, 1_900_000_000_000)
TIMES = st.one_of(MILLISECONDS, MILLISECONDS, MILLISECONDS, st.sampled_from(["1723161256012", None, 1.5]))
#: known ids (BTCUSDT is spot and USDⓈ-M alike), one ccxt doesn't know, and odd ones
MARKET_IDS = st.sampled_from(["BTCUSDT"] * 6 + ["ETHUSDT", "NOSUCHCOIN", "", 5])


def _maybe_without(frame: st.SearchStrategy[dict[str, Any]], optional: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """``frame`` with some of its ``optional`` fields left out."""
    return st.tuples(frame, st.sets(st.sampled_from(optional))).map(
        lambda pair: {key: value for key, value in pair[0].items() if key not in pair[1]})


TRADES = _maybe_without(st.fixed_dictionaries({
    "e": st.sampled_from(["trade", "aggTrade"]), "E": TIMES, "s": MARKET_IDS,
    "t": st.one_of(st.integers(0, 2 ** 40), st.integers(0, 2 ** 40), st.just("12")), "p": DECIMALS, "q": DECIMALS,
    "T": TIMES, "m": st.one_of(st.booleans(), st.booleans(), st.just("true")), "M": st.booleans()}), ("T", "m", "M"))
BOOK_TICKERS = _maybe_without(st.fixed_dictionaries({
    "e": st.just("bookTicker"), "u": st.integers(0, 2 ** 40), "E": TIMES, "T": TIMES, "s": MARKET_IDS,
    "b": OPTIONAL, "B": OPTIONAL, "a": OPTIONAL, "A": OPTIONAL, "bidPrice": OPTIONAL, "bidQty": OPTIONAL,
    "askPrice": OPTIONAL, "askQty": OPTIONAL}), ("e", "E", "T", "B", "A", "bidPrice", "bidQty", "askPrice", "askQty"))
TICKERS = _maybe_without(st.fixed_dictionaries({
    "e": st.sampled_from(["24hrTicker", "24hrMiniTicker"]), "E": TIMES, "s": MARKET_IDS, "p": OPTIONAL,
    "P": OPTIONAL, "w": OPTIONAL, "x": OPTIONAL, "c": OPTIONAL, "Q": OPTIONAL, "b": OPTIONAL, "B": OPTIONAL,
    "a": OPTIONAL, "A": OPTIONAL, "o": OPTIONAL, "h": OPTIONAL, "l": OPTIONAL, "v": OPTIONAL, "q": OPTIONAL,
    "O": TIMES, "C": TIMES, "n": st.integers(0, 10 ** 6)}), ("p", "P", "w", "x", "b", "a", "o", "C", "v", "q"))
KLINES = st.builds(lambda e, s, k: {"e": "kline", "E": e, "s": s, "k": k}, TIMES, MARKET_IDS, _maybe_without(
    st.fixed_dictionaries({"t": TIMES, "T": TIMES, "s": MARKET_IDS,
                           "i": st.sampled_from(["1m", "1m", "1s", "1h", "7m"]), "o": DECIMALS, "c": DECIMALS,
                           "h": DECIMALS, "l": DECIMALS, "v": OPTIONAL, "x": st.booleans()}), ("v", "t")))
LEVELS = st.lists(st.tuples(DECIMALS, DECIMALS).map(list), max_size=4)
#: diffs around a book whose nonce is 100: stale, in sequence, a gap; spot (no pu) and USDⓈ-M (pu)
DEPTHS = st.builds(lambda first, span, pu, s, b, a, e: {"e": "depthUpdate", "E": e, "s": s, "U": first,
                                                      "u": first + span, **({} if pu is None else {"pu": pu}),
                                                      "b": b, "a": a},
                   st.integers(95, 103), st.integers(0, 3), st.one_of(st.none(), st.integers(97, 103)),
                   st.sampled_from(["BTCUSDT", "BTCUSDT", "NOSUCHCOIN"]), LEVELS, LEVELS, TIMES)
FRAMES_ = st.one_of(TRADES, BOOK_TICKERS, TICKERS, KLINES, DEPTHS)
SNAPSHOT = '{"lastUpdateId":100,"bids":[["61000.00","1.0"],["60999.00","2.0"]],"asks":[["61001.00","1.5"]]}'


@pytest.mark.parametrize("exchange_id", ["binance", "binanceusdm"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(frames=st.lists(FRAMES_, min_size=1, max_size=6), envelope=st.booleans())
def test_generated_frames(exchange_id: str, frames: list[Any], envelope: bool) -> None:
    pair = _generated_pair(exchange_id)
    pair.subscribe_book(pair.native.markets_by_id["BTCUSDT"][0]["symbol"])
    pair.snapshot_arrives(pair.native.markets_by_id["BTCUSDT"][0]["symbol"], SNAPSHOT)
    for frame in frames:
        pair.feed(orjson.dumps({"stream": "x@y", "data": frame} if envelope else frame).decode())
    pair.compare_caches()


@functools.cache
def _generated_pair(exchange_id: str) -> Pair:
    """One pair per id for every example (their caches grow alike: compared whole after each example)."""
    return Pair(exchange_id)


@pytest.mark.parametrize("exchange_id, frame", [
    ("binance", {"u": 3, "s": "BTCUSDT", "b": "1", "B": None, "a": "2", "A": "3", "bidQty": "7"}),
    ("binanceusdm", {"e": "bookTicker", "u": 1, "E": 1723161256013, "T": 1723161256012, "s": "BTCUSDT",
                     "b": "", "B": "1", "a": "2", "A": "3", "bidPrice": "5"}),
])
def test_a_book_ticker_with_the_rest_names_is_read_as_ccxt_reads_it(exchange_id: str, frame: dict[str, Any]) -> None:
    # review: ccxt takes bidQty / bidPrice where B / b is null or empty; the native handler read only b B a A
    pair = Pair(exchange_id)
    try:
        pair.feed(orjson.dumps(frame).decode())
        pair.compare_caches()
    finally:
        pair.close()


def test_known_frames_are_native_and_unknown_ones_go_to_ccxt() -> None:
    pair = Pair("binance")
    try:
        trade = {"e": "trade", "E": 1723161256013, "s": "BTCUSDT", "t": 3735683259, "p": "61050.01000000",
                 "q": "0.00030000", "T": 1723161256012, "m": True, "M": True}
        pair.feed(orjson.dumps(trade).decode())
        assert pair.fallbacks == Counter()
        pair.feed(orjson.dumps(trade | {"s": "NOSUCHCOIN"}).decode())  # ccxt makes up a market: its handler
        pair.feed(orjson.dumps(trade | {"p": "1e-8", "q": "0"}).decode())
        assert pair.fallbacks == Counter({"trade": 1})
        pair.compare_caches()
    finally:
        pair.close()


def test_native_off_by_config_and_for_unchecked_ccxt(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    assert ccxt.__version__ in _native.CHECKED_CCXT
    assert rxpro.binance({"rxpro": {"native": False}}).rx_native is False
    monkeypatch.setattr(ccxt, "__version__", "0.0.1")
    monkeypatch.setattr(_native, "_told", False)
    with caplog.at_level(logging.WARNING, logger="rxpro"):
        assert rxpro.binance().rx_native is False
        assert rxpro.binanceusdm().rx_native is False
    assert [r.getMessage() for r in caplog.records].count(
        "rxpro: native parsers were checked against ccxt 4.5.90, not 0.0.1: ccxt's own parsers are used") == 1


def test_a_subclass_parser_override_gets_ccxts_handlers() -> None:
    calls: list[Any] = []

    class Mine(rxpro.exchanges.binance):  # type: ignore[misc,name-defined]
        def parse_ws_trade(self, trade: Any, market: Any = None) -> Any:
            calls.append(trade["t"])
            return super().parse_ws_trade(trade, market)

    pair = Pair("binance", native_class=Mine, count_steps=False)
    try:
        pair.feed('{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.5","q":"2","T":1,"m":false,"M":true}')
        assert calls == [7]
    finally:
        pair.close()
