"""Binance spot recording model for the simulator: recorded + derived stream frames.

Recorded (hftbacktest): ``<sym>@trade``, ``<sym>@bookTicker``, ``<sym>@depth@100ms`` and
one REST depth snapshot per symbol. Derived here, because the recording lacks them:
``<sym>@aggTrade`` (one aggregate per trade), ``<sym>@kline_<tf>``, ``<sym>@ticker``
(24hrTicker) and ``<sym>@miniTicker`` (24hrMiniTicker), whose "24h" window is "since
the start of the recording" and whose bid/ask come from the last bookTicker. The protocol
(subscribe frames, envelopes) lives in ``_sim_binance.py``.
"""

from __future__ import annotations

import bisect
import gc
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from rxpro.exchanges._binance import stream_key

from ._data import BINANCE_SPOT_FILES, data_path, iter_hftbacktest_lines

#: kline intervals derived from trades, with their length in ms.
KLINE_INTERVALS: dict[str, int] = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
    "30m": 1_800_000, "1h": 3_600_000,
}
#: Binance pushes kline updates every 1000 ms for 1s and 2000 ms otherwise.
_KLINE_PUSH_MS = {"1s": 1_000}
_DEFAULT_KLINE_PUSH_MS = 2_000
_TICKER_PUSH_MS = 1_000

KIND_OTHER = 0
KIND_DEPTH = 1
KIND_TRADE = 2


def depth_key(symbol: str) -> str:
    """The stream key of a market's diff-depth stream (``BTCUSDT`` -> ``btcusdt@depth``, any update speed)."""
    return stream_key(f"{symbol}@depth")


class Frame:
    """One event of the playback timeline.

    ``payload`` is the bare event JSON text (what ``/ws`` sends); ``envelope`` the
    combined-stream text for the recorded stream name ``stream`` (what ``/stream``
    sends); ``key`` the stream's key (``stream_key``: one key for every update speed).
    """

    __slots__ = ("ns", "key", "stream", "payload", "envelope", "kind")

    def __init__(self, ns: int, stream: str, payload: str, kind: int = KIND_OTHER) -> None:
        self.ns = ns
        self.key = stream_key(stream)
        self.stream = stream
        self.payload = payload
        self.envelope = f'{{"stream":"{stream}","data":{payload}}}'
        self.kind = kind


@dataclass(slots=True)
class DepthDiff:
    index: int  # position in BinanceRecording.frames
    first_id: int  # U
    last_id: int  # u
    bids: list[list[str]]
    asks: list[list[str]]


@dataclass(slots=True)
class DepthSnapshot:
    position: int  # number of timeline frames recorded before the snapshot
    last_update_id: int
    text: str
    bids: list[list[str]]
    asks: list[list[str]]


@dataclass(slots=True)
class BinanceRecording:
    """A merged, pre-serialized timeline of one or more hftbacktest files."""

    frames: list[Frame]
    keys: frozenset[str]
    symbols: frozenset[str]  # upper-case market ids present in the recording
    snapshots: dict[str, DepthSnapshot]  # by upper-case market id
    depth: dict[str, list[DepthDiff]]  # by depth stream key (``depth_key``)
    trade_id_span: dict[str, int]  # per upper-case market id, for loop playback
    time_span_ms: int
    _book_cache: dict[tuple[str, int], tuple[int, dict[str, str], dict[str, str]]] = field(
        default_factory=dict)

    def book_at(self, symbol: str, position: int) -> tuple[int, dict[str, str], dict[str, str]]:
        """Order book (lastUpdateId, bids, asks) after every diff recorded before ``position``.

        Starts from the recorded REST snapshot and applies diffs by Binance's rules.
        """
        cached = self._book_cache.get((symbol, position))
        if cached is not None:
            return cached
        snapshot = self.snapshots[symbol]
        bids = {p: q for p, q in snapshot.bids}
        asks = {p: q for p, q in snapshot.asks}
        nonce = snapshot.last_update_id
        for diff in self.depth.get(depth_key(symbol), ()):
            if diff.index >= position:
                break
            if diff.last_id <= nonce:
                continue
            for side, levels in ((bids, diff.bids), (asks, diff.asks)):
                for price, qty in levels:
                    if float(qty) == 0.0:
                        side.pop(price, None)
                    else:
                        side[price] = qty
            nonce = diff.last_id
        result = (nonce, bids, asks)
        self._book_cache[(symbol, position)] = result
        return result

    def depth_snapshot_text(self, symbol: str, position: int, limit: int) -> str:
        """REST ``/api/v3/depth`` body that bridges a diff stream starting at ``position``."""
        snapshot = self.snapshots[symbol]
        if position <= snapshot.position and limit >= len(snapshot.bids):
            return snapshot.text  # the real recorded response
        if position <= snapshot.position:
            nonce, bids, asks = snapshot.last_update_id, dict(snapshot.bids), dict(snapshot.asks)
        else:
            nonce, bids, asks = self.book_at(symbol, position)
        bid_levels = sorted(bids.items(), key=lambda kv: -float(kv[0]))[:limit]
        ask_levels = sorted(asks.items(), key=lambda kv: float(kv[0]))[:limit]
        return orjson.dumps({
            "lastUpdateId": nonce,
            "bids": [list(level) for level in bid_levels],
            "asks": [list(level) for level in ask_levels],
        }).decode()


def _fmt(value: Decimal) -> str:
    return f"{value:.8f}"


class _KlineBuilder:
    """Folds trades of one symbol into klines of one interval and emits kline events."""

    def __init__(self, symbol: str, interval: str) -> None:
        self.symbol = symbol
        self.interval = interval
        self.length = KLINE_INTERVALS[interval]
        self.push_ms = _KLINE_PUSH_MS.get(interval, _DEFAULT_KLINE_PUSH_MS)
        self.start: int | None = None
        self.last_push = -1
        self.open = self.high = self.low = self.close = Decimal(0)
        self.volume = self.quote = self.taker_volume = self.taker_quote = Decimal(0)
        self.count = 0
        self.first_id = self.last_id = 0

    def _event(self, event_ms: int, closed: bool) -> str:
        assert self.start is not None
        return orjson.dumps({
            "e": "kline", "E": event_ms, "s": self.symbol,
            "k": {
                "t": self.start, "T": self.start + self.length - 1, "s": self.symbol,
                "i": self.interval, "f": self.first_id, "L": self.last_id,
                "o": _fmt(self.open), "c": _fmt(self.close), "h": _fmt(self.high),
                "l": _fmt(self.low), "v": _fmt(self.volume), "n": self.count, "x": closed,
                "q": _fmt(self.quote), "V": _fmt(self.taker_volume),
                "Q": _fmt(self.taker_quote), "B": "0",
            },
        }).decode()

    def add(self, trade: dict[str, Any]) -> list[str]:
        """Add one trade; return the kline events Binance would push at this moment."""
        out = []
        trade_ms: int = trade["T"]
        start = trade_ms - trade_ms % self.length
        price, qty = Decimal(trade["p"]), Decimal(trade["q"])
        if self.start is not None and start > self.start:
            out.append(self._event(trade["E"], closed=True))
            self.start = None
        if self.start is None:
            self.start = start
            self.open = self.high = self.low = price
            self.volume = self.quote = self.taker_volume = self.taker_quote = Decimal(0)
            self.count = 0
            self.first_id = trade["t"]
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += qty
        self.quote += price * qty
        if not trade["m"]:  # buyer is the taker
            self.taker_volume += qty
            self.taker_quote += price * qty
        self.count += 1
        self.last_id = trade["t"]
        if trade["E"] - self.last_push >= self.push_ms:
            self.last_push = trade["E"]
            out.append(self._event(trade["E"], closed=False))
        return out


class _TickerBuilder:
    """Derives 24hrTicker events from trades and the latest bookTicker of one symbol."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.open: Decimal | None = None
        self.high = self.low = self.last = self.last_qty = Decimal(0)
        self.volume = self.quote = Decimal(0)
        self.first_id = self.last_id = 0
        self.count = 0
        self.open_ms = 0
        self.last_push = -1
        self.book_text = "{}"

    def on_book_ticker(self, payload: str) -> None:
        self.book_text = payload  # parsed only when a ticker event is emitted

    def on_trade(self, trade: dict[str, Any]) -> tuple[str, str] | None:
        """Add a trade; return ``(24hrTicker, 24hrMiniTicker)`` texts when one is due."""
        price, qty = Decimal(trade["p"]), Decimal(trade["q"])
        if self.open is None:
            self.open = self.high = self.low = price
            self.first_id = trade["t"]
            self.open_ms = trade["T"]
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.last, self.last_qty = price, qty
        self.volume += qty
        self.quote += price * qty
        self.last_id = trade["t"]
        self.count += 1
        if trade["E"] - self.last_push < _TICKER_PUSH_MS:
            return None
        self.last_push = trade["E"]
        change = self.last - self.open
        book: dict[str, Any] = orjson.loads(self.book_text)
        mini = orjson.dumps({
            "e": "24hrMiniTicker", "E": trade["E"], "s": self.symbol, "c": _fmt(self.last),
            "o": _fmt(self.open), "h": _fmt(self.high), "l": _fmt(self.low),
            "v": _fmt(self.volume), "q": _fmt(self.quote),
        }).decode()
        full = orjson.dumps({
            "e": "24hrTicker", "E": trade["E"], "s": self.symbol,
            "p": _fmt(change), "P": f"{(change / self.open * 100):.3f}",
            "w": _fmt(self.quote / self.volume), "x": _fmt(self.open),
            "c": _fmt(self.last), "Q": _fmt(self.last_qty),
            "b": book.get("b", _fmt(self.last)), "B": book.get("B", "0.00000000"),
            "a": book.get("a", _fmt(self.last)), "A": book.get("A", "0.00000000"),
            "o": _fmt(self.open), "h": _fmt(self.high), "l": _fmt(self.low),
            "v": _fmt(self.volume), "q": _fmt(self.quote), "O": self.open_ms,
            "C": trade["E"], "F": self.first_id, "L": self.last_id, "n": self.count,
        }).decode()
        return full, mini


def _agg_trade(trade: dict[str, Any]) -> str:
    return orjson.dumps({
        "e": "aggTrade", "E": trade["E"], "s": trade["s"], "a": trade["t"], "p": trade["p"],
        "q": trade["q"], "f": trade["t"], "l": trade["t"], "T": trade["T"], "m": trade["m"],
        "M": True,
    }).decode()


def _data_text(envelope: str, stream: str) -> str:
    # '{"stream":"<stream>","data":<payload>}' -> '<payload>' without re-serializing.
    prefix = f'{{"stream":"{stream}","data":'
    if envelope.startswith(prefix) and envelope.endswith("}"):
        return envelope[len(prefix):-1]
    return orjson.dumps(orjson.loads(envelope)["data"]).decode()


@functools.lru_cache(maxsize=4)
def load_binance_recording(paths: tuple[str, ...]) -> BinanceRecording:
    """Parse hftbacktest files into one timeline (cached per tuple of paths)."""
    # Hundreds of thousands of small objects: the cyclic GC would rescan them
    # over and over while loading, for nothing (none of them form cycles).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(paths)
    finally:
        if was_enabled:
            gc.enable()


def _load(paths: tuple[str, ...]) -> BinanceRecording:
    raw: list[tuple[int, str, str, dict[str, Any] | None]] = []  # ns, stream, frame, parsed
    snapshot_lines: list[tuple[int, str, str]] = []  # ns, symbol, text
    for path in paths:
        symbol = Path(path).name.split("_", 1)[0].upper()
        for ns, text in iter_hftbacktest_lines(path):
            if text.startswith('{"lastUpdateId"'):
                snapshot_lines.append((ns, symbol, text))
                continue
            stream = text[11:text.index('"', 11)]  # '{"stream":"' is 11 chars
            parsed = None if stream.endswith("@bookTicker") else orjson.loads(text)["data"]
            raw.append((ns, stream, text, parsed))
    raw.sort(key=lambda item: item[0])

    recorded: list[tuple[int, str, str, int, dict[str, Any] | None]] = []
    derived: list[tuple[int, str, str]] = []
    klines: dict[tuple[str, str], _KlineBuilder] = {}
    tickers: dict[str, _TickerBuilder] = {}
    for ns, stream, text, parsed in raw:
        payload = _data_text(text, stream)
        lower = stream.split("@", 1)[0]
        kind = KIND_OTHER
        if stream.endswith("@bookTicker"):
            ticker = tickers.get(lower)
            if ticker is None:
                ticker = tickers[lower] = _TickerBuilder(lower.upper())
            ticker.on_book_ticker(payload)
        elif stream.endswith("@trade") and parsed is not None:
            kind = KIND_TRADE
            derived.append((ns, f"{lower}@aggTrade", _agg_trade(parsed)))
            for interval in KLINE_INTERVALS:
                builder = klines.get((lower, interval))
                if builder is None:
                    builder = klines[(lower, interval)] = _KlineBuilder(parsed["s"], interval)
                for event in builder.add(parsed):
                    derived.append((ns, f"{lower}@kline_{interval}", event))
            ticker = tickers.get(lower)
            if ticker is None:
                ticker = tickers[lower] = _TickerBuilder(parsed["s"])
            events = ticker.on_trade(parsed)
            if events is not None:
                derived.append((ns, f"{lower}@ticker", events[0]))
                derived.append((ns, f"{lower}@miniTicker", events[1]))
        elif "@depth" in stream:
            kind = KIND_DEPTH
        recorded.append((ns, stream, payload, kind, parsed))

    merged: list[tuple[int, int, str, str, int, dict[str, Any] | None]] = [
        (ns, 0, stream, payload, kind, parsed) for ns, stream, payload, kind, parsed in recorded]
    merged.extend((ns, 1, key, payload, KIND_OTHER, None) for ns, key, payload in derived)
    merged.sort(key=lambda item: (item[0], item[1]))

    frames: list[Frame] = []
    depth: dict[str, list[DepthDiff]] = {}
    trade_ids: dict[str, list[int]] = {}
    times: list[int] = []
    for ns, _, stream, payload, kind, parsed in merged:
        frame = Frame(ns, stream, payload, kind)
        if kind == KIND_DEPTH and parsed is not None:
            depth.setdefault(frame.key, []).append(
                DepthDiff(len(frames), parsed["U"], parsed["u"], parsed["b"], parsed["a"]))
        if kind == KIND_TRADE and parsed is not None:
            trade_ids.setdefault(parsed["s"], []).append(parsed["t"])
            times.append(parsed["E"])
        frames.append(frame)

    snapshots = {}
    frame_ns = [frame.ns for frame in frames]
    for ns, symbol, text in snapshot_lines:
        body = orjson.loads(text)
        position = bisect.bisect_left(frame_ns, ns)
        snapshots[symbol] = DepthSnapshot(position, body["lastUpdateId"], text,
                                          body["bids"], body["asks"])
    return BinanceRecording(
        frames=frames,
        keys=frozenset(frame.key for frame in frames),
        symbols=frozenset(frame.key.split("@", 1)[0].upper() for frame in frames),
        snapshots=snapshots,
        depth=depth,
        trade_id_span={s: max(ids) - min(ids) + 1 for s, ids in trade_ids.items()},
        # whole hours, so that candles of looped cycles stay aligned to their intervals
        time_span_ms=-(-(max(times) - min(times) + 1_000) // 3_600_000) * 3_600_000 if times else 0,
    )


def default_binance_paths(paths: Sequence[str | Path] | None = None) -> tuple[str, ...]:
    """Normalize ``paths`` (``None`` = the bundled spot BTCUSDT+ETHUSDT files)."""
    if paths is None:
        return tuple(str(data_path(name)) for name in BINANCE_SPOT_FILES)
    return tuple(str(Path(p)) for p in paths)
