"""The native Binance handlers (``exchanges/_binance_native.py``) against ccxt.pro's own, frame by frame.

Two exchanges read every frame: ccxt.pro's plain class and rxpro's (natives on); each
resolve (value and message hash, in order), each rejection, and at the end every cache
(``trades``, ``tickers``, ``bidsasks``, ``ohlcvs``, ``orderbooks``) must be equal, number
types included.  Books go through ccxt's own subscription and snapshot sync: the REST
snapshot is served when the recording reached the point where it was fetched, so the
diffs buffered before it are replayed through ``handle_order_book_message``.

Sources: the bundled hftbacktest recordings (spot BTCUSDT + ETHUSDT, with the aggTrade,
kline, ticker and miniTicker frames ``rxpro.testing`` derives from them; USDⓈ-M BTCUSDT),
and, read in place when present, hftbacktest's USDⓈ-M ETHUSDT and COIN-M BTCUSD_PERP and
cryptofeed's v3 ``BINANCE*.jsonl.zst`` (AGPL: never copied).  Then generated frames around
the edges (hypothesis), the switches (ccxt version, ``native: False``, a subclass's own
parser), and the values Observables emit in a replay, natives on and off.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import orjson
import pytest
from ccxt.async_support.base.ws.cache import BaseCache
from ccxt.async_support.base.ws.client import Client
from ccxt.async_support.base.ws.order_book import OrderBook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rxpro
import rxpro.exchanges
from rxpro._recorded import Recording
from rxpro._replay_formats import load_recording
from rxpro.exchanges import _native
from rxpro.exchanges._table import venue_for
from rxpro.testing import data_path
from rxpro.testing._binance import load_binance_recording

pytestmark = pytest.mark.timeout(600)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HFTBACKTEST = SHARED / "hftbacktest" / "examples"
CRYPTOFEED_V3 = SHARED / "cryptofeed" / "v3" / "sample_data"

#: the URL ccxt subscribes each market type's public streams on (it decides spot or contract)
WS_URLS = {
    "binance": "wss://stream.binance.com:9443/ws/0",
    "binanceusdm": "wss://fstream.binance.com/market/ws/0",
    "binancecoinm": "wss://dstream.binance.com/ws/0",
}
CACHES = ("trades", "tickers", "bidsasks", "ohlcvs", "orderbooks")


# -- two exchanges on the same frames -----------------------------------------------------------


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


class Gates:
    """REST depth snapshots held until the recording reaches the moment they were fetched."""

    def __init__(self, bodies: Mapping[str, str]) -> None:
        self.bodies = dict(bodies)  # market id -> recorded snapshot body
        self.open: dict[str, asyncio.Event] = collections.defaultdict(asyncio.Event)


def offline_exchange(cls: type, markets: Mapping[str, str], gates: Gates, options: Mapping[str, Any]) -> Any:
    """An instance of (a subclass of) ``cls`` whose REST calls are answered from recorded bodies.

    ``markets``: exchangeInfo URL -> body; depth snapshots come from ``gates`` once opened.
    The background calls ccxt spawns (the snapshot fetch) are kept in ``ex.spawned``.
    """

    class Offline(cls):  # type: ignore[valid-type,misc]
        spawned: list[Any]

        async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            path, _, query = url.partition("?")
            if path in markets:
                return orjson.loads(markets[path])
            if path.endswith("/depth"):
                market_id = dict(p.split("=", 1) for p in query.split("&"))["symbol"]
                await gates.open[market_id].wait()
                return orjson.loads(gates.bodies[market_id])
            raise ccxt.ExchangeError(f"no recorded answer for {url}")

        def spawn(self, method: Any, *args: Any) -> Any:
            future = super().spawn(method, *args)
            self.spawned.append(future)
            return future

    ex = Offline({"options": _thawed(options)})
    ex.spawned = []
    return ex


class ResolveLog(Client):  # type: ignore[misc]
    """A connection that keeps what handlers resolve and reject, in order (no socket)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, None, None, None, None, {})
        self.resolved: list[tuple[str, Any]] = []

    def resolve(self, result: Any, message_hash: str) -> None:
        self.resolved.append((message_hash, result))

    def reject(self, result: Any, message_hash: str | None = None) -> None:
        self.resolved.append((f"reject {message_hash}", f"{type(result).__name__}: {result}"))


def typed_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where ``a`` and ``b`` differ in value or number type (float vs int, None vs 0), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(map(str, a.keys() ^ b.keys()))}"
        for key in a:
            found = typed_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} items"
        for index, (x, y) in enumerate(zip(a, b)):
            found = typed_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        return None
    if type(a) is not type(b) or (a != b and not (a != a and b != b)):  # NaN equals NaN here
        return f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    return None


def resolved_view(value: Any) -> Any:
    """What a resolve delivered, as comparable data: a cache's size and newest entry, a book whole."""
    if isinstance(value, OrderBook):
        return {"book": dict(value), "bids": list(map(list, value["bids"])), "asks": list(map(list, value["asks"]))}
    if isinstance(value, BaseCache):
        return {"cache size": len(value), "newest": value[-1] if len(value) else None}
    if isinstance(value, list):
        return [resolved_view(v) for v in value]
    return value


def cache_view(value: Any) -> Any:
    """An exchange cache, whole: entries of list caches, book sides and buffered diffs of books."""
    if isinstance(value, OrderBook):
        return {"book": {k: v for k, v in value.items() if k not in ("bids", "asks")},
                "bids": list(map(list, value["bids"])), "asks": list(map(list, value["asks"])),
                "buffered": list(value.cache)}
    if isinstance(value, BaseCache):
        return [cache_view(v) for v in value]
    if isinstance(value, dict):
        return {k: cache_view(v) for k, v in value.items()}
    return value


@dataclass
class Pair:
    """ccxt.pro's plain class and rxpro's (natives on), fed the same frames."""

    ccxt: Any
    native: Any
    url: str
    logs: tuple[ResolveLog, ResolveLog] = field(init=False)

    def __post_init__(self) -> None:
        self.logs = (ResolveLog(self.url), ResolveLog(self.url))

    @property
    def exchanges(self) -> tuple[Any, Any]:
        return self.ccxt, self.native

    def feed(self, text: str) -> str | None:
        """Both handle ``text``; where they differ (resolves, rejections, what they raise), or None."""
        outcomes = []
        for ex, log in zip(self.exchanges, self.logs):
            try:
                ex.handle_message(log, orjson.loads(text))
                outcomes.append(None)
            except Exception as error:  # noqa: BLE001 - both must raise alike
                outcomes.append(f"{type(error).__name__}: {error}")
        return self.difference((outcomes[0], outcomes[1]))

    def difference(self, outcomes: tuple[Any, Any] = (None, None)) -> str | None:
        """How the two differ in what they resolved (and raised) since the last look, or None."""
        a, b = ([(h, resolved_view(v)) for h, v in log.resolved] for log in self.logs)
        for log in self.logs:
            log.resolved.clear()
        return typed_difference([outcomes[0], a], [outcomes[1], b])

    def cache_difference(self) -> str | None:
        for name in CACHES:
            found = typed_difference(*(cache_view(dict(getattr(ex, name))) for ex in self.exchanges), name)
            if found:
                return found
        return None

    async def close(self) -> None:
        for ex in self.exchanges:
            await ex.close()


async def make_pair(exchange_id: str, markets: Mapping[str, str], gates: Gates,
                    options: Mapping[str, Any] | None = None) -> Pair:
    options = options if options is not None else venue_for(exchange_id).offline_options or {}
    plain = offline_exchange(getattr(ccxt.pro, exchange_id), markets, gates, options)
    native = offline_exchange(getattr(rxpro.exchanges, exchange_id), markets, gates, options)
    for ex in (plain, native):
        ex.open()  # its loop and session, as a watch call would
        await ex.load_markets()
    assert native.rx_native and not getattr(plain, "rx_native", False)
    return Pair(plain, native, WS_URLS[exchange_id])


# -- recorded sessions ---------------------------------------------------------------------------


@dataclass
class Session:
    """A recording as the differential test feeds it."""

    exchange_id: str
    markets: dict[str, str]  # exchangeInfo URL -> body
    frames: list[str]  # every received frame, in order
    snapshots: dict[str, tuple[int, str]]  # market id -> (frames before its REST snapshot, body)


def channel_of(text: str) -> str:
    """A frame's channel for counting: ``trade``, ``depthUpdate``, ``bookTicker``, ``kline_1m``..."""
    data = orjson.loads(text)
    data = data.get("data", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        return "other"
    event = data.get("e", "bookTicker" if "b" in data and "a" in data else "other")
    return f"kline_{data['k']['i']}" if event == "kline" else str(event)


def bundled_markets(exchange_id: str) -> dict[str, str]:
    """The REST answers rxpro's venue data gives ccxt's ``load_markets`` offline (exchangeInfo, stubs)."""
    records = venue_for(exchange_id).stub_http(Recording())
    return {r.url.split("?", 1)[0]: r.body for r in records}


def hftbacktest_session(exchange_id: str, paths: list[Path], markets: dict[str, str]) -> Session:
    recording = load_binance_recording(tuple(str(p) for p in paths))
    snapshots = {}
    for key, snapshot in recording.snapshots.items():
        market_id = orjson.loads(snapshot.text).get("symbol", key)  # COIN-M's snapshot names its market
        snapshots[market_id] = (snapshot.position, snapshot.text)
    return Session(exchange_id, markets, [frame.envelope for frame in recording.frames], snapshots)


def cryptofeed_v3_session(exchange_id: str, path: Path) -> Session:
    recording = load_recording(path)
    markets = bundled_markets(exchange_id)
    markets.update({r.url.split("?", 1)[0]: r.body for r in recording.http if "exchangeInfo" in r.url})
    frame_ns = [frame.ts_ns for frame in recording.frames]
    snapshots = {}
    for record in recording.http:
        if "/depth?" in record.url:
            market_id = record.url.split("symbol=", 1)[1].split("&", 1)[0]
            snapshots[market_id] = (sum(1 for ns in frame_ns if ns < record.ts_ns), record.body)
    frames = [frame.text for frame in recording.frames if frame.text is not None]
    return Session(exchange_id, markets, frames, snapshots)


def _shared(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not here (shared data, read in place)")
    return path


SESSIONS: dict[str, Callable[[], Session]] = {
    "bundled spot BTCUSDT+ETHUSDT (hftbacktest, + derived)": lambda: hftbacktest_session(
        "binance", [data_path(n) for n in ("btcusdt_20240808.gz", "btcusdt_20240809.gz", "ethusdt_20240808.gz",
                                            "ethusdt_20240809.gz")], bundled_markets("binance")),
    "bundled USDⓈ-M BTCUSDT (hftbacktest, + derived)": lambda: hftbacktest_session(
        "binanceusdm", [data_path("usdm/btcusdt_20240808.gz")], bundled_markets("binanceusdm")),
    "shared USDⓈ-M ETHUSDT (hftbacktest, + derived)": lambda: hftbacktest_session(
        "binanceusdm", [_shared(HFTBACKTEST / "usdm" / "ethusdt_20240808.gz")], bundled_markets("binanceusdm")),
    "shared COIN-M BTCUSD_PERP (hftbacktest, + derived)": lambda: hftbacktest_session(
        "binancecoinm", [_shared(HFTBACKTEST / "cm" / f"btcusd_perp_2024080{d}.gz") for d in (8, 9)],
        cryptofeed_v3_session("binancecoinm", _shared(CRYPTOFEED_V3 / "BINANCE_DELIVERY.jsonl.zst")).markets),
    "shared cryptofeed v3 BINANCE": lambda: cryptofeed_v3_session(
        "binance", _shared(CRYPTOFEED_V3 / "BINANCE.jsonl.zst")),
    "shared cryptofeed v3 BINANCE_FUTURES": lambda: cryptofeed_v3_session(
        "binanceusdm", _shared(CRYPTOFEED_V3 / "BINANCE_FUTURES.jsonl.zst")),
    "shared cryptofeed v3 BINANCE_DELIVERY": lambda: cryptofeed_v3_session(
        "binancecoinm", _shared(CRYPTOFEED_V3 / "BINANCE_DELIVERY.jsonl.zst")),
}


async def subscribe_books(pair: Pair, market_ids: list[str]) -> None:
    """ccxt's own book subscription (as its subscribe answer runs it): a book per symbol, fetching its snapshot."""
    for ex, log in zip(pair.exchanges, pair.logs):
        for market_id in market_ids:
            market = ex.markets_by_id[market_id][0]
            subscription = {"id": "1", "name": "depth", "symbol": market["symbol"], "limit": None,
                            "method": ex.handle_order_book_subscription, "params": {},
                            "type": "spot" if market["spot"] else ("linear" if market["linear"] else "inverse")}
            ex.handle_order_book_subscription(log, {"result": None, "id": 1}, subscription)
    await asyncio.sleep(0)  # the snapshot fetches start, and wait at their gates


async def snapshot_arrives(pair: Pair, gates: Gates, market_id: str) -> None:
    gates.open[market_id].set()
    for ex in pair.exchanges:
        await asyncio.gather(*ex.spawned)
        ex.spawned.clear()


async def run_session(session: Session) -> collections.Counter[str]:
    """Feed every frame to both; fail at the first difference. Returns frames per channel."""
    gates = Gates({m: body for m, (_, body) in session.snapshots.items()})
    pair = await make_pair(session.exchange_id, session.markets, gates)
    try:
        books = [m for m in session.snapshots if m in pair.native.markets_by_id]
        await subscribe_books(pair, books)
        arriving = sorted((position, m) for m, (position, _) in session.snapshots.items() if m in books)
        counts: collections.Counter[str] = collections.Counter()
        for index, text in enumerate(session.frames):
            while arriving and arriving[0][0] <= index:
                await snapshot_arrives(pair, gates, arriving.pop(0)[1])
                assert pair.difference() is None
            difference = pair.feed(text)
            assert difference is None, f"frame {index} {text[:160]}: {difference}"
            counts[channel_of(text)] += 1
        for _, market_id in arriving:
            await snapshot_arrives(pair, gates, market_id)
        assert pair.difference() is None
        assert pair.cache_difference() is None
        return counts
    finally:
        await pair.close()


@pytest.mark.parametrize("name", list(SESSIONS))
async def test_every_recorded_frame_leaves_what_ccxt_leaves(name: str) -> None:
    session = SESSIONS[name]()
    with _ccxt_calls_on_natives() as fallbacks:
        counts = await run_session(session)
    print(f"{name}: {sum(counts.values())} frames {dict(sorted(counts.items()))}")
    # the natives did the work: ccxt's parsers ran only for what they hand over
    assert fallbacks["parse_ws_trade"] == 0 and fallbacks["parse_ws_ticker"] == 0
    assert fallbacks["handle_ohlcv"] == 0
    assert fallbacks["handle_order_book_message"] == 0
    assert sum(counts[c] for c in ("trade", "aggTrade", "bookTicker", "depthUpdate")) > 0


_WATCHED = ("parse_ws_trade", "parse_ws_ticker", "handle_ohlcv", "handle_order_book_message", "handle_trade",
            "handle_bids_asks", "handle_tickers", "handle_order_book")


class _ccxt_calls_on_natives:  # noqa: N801 - a context manager used like a function
    """Counts calls of ccxt's own binance methods made on exchanges with natives on."""

    def __enter__(self) -> collections.Counter[str]:
        self.calls: collections.Counter[str] = collections.Counter()
        self.originals = {name: ccxt.pro.binance.__dict__[name] for name in _WATCHED}
        for name, original in self.originals.items():
            setattr(ccxt.pro.binance, name, self._counting(name, original))
        return self.calls

    def _counting(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        calls = self.calls

        def counting(ex: Any, *args: Any) -> Any:
            if getattr(ex, "rx_native", False):
                calls[name] += 1
            return original(ex, *args)

        return counting

    def __exit__(self, *exc: Any) -> None:
        for name, original in self.originals.items():
            setattr(ccxt.pro.binance, name, original)
