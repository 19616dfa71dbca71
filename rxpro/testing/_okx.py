"""OKX v5 public recording model for the simulator.

Source: cryptofeed master ``OKX.ws.1.0`` (2022-05-13, 11 s; channels tickers, trades,
books for BTC-USDT, UNI-USD-SWAP, BTC-USD-220527). The 2022 ``books`` frames lack
``seqId``/``prevSeqId``: a deterministic chain is generated here (snapshot
``prevSeqId=-1``) and ``checksum`` is recomputed from the rebuilt book with OKX's
algorithm (``rxpro.exchanges._okx.okx_checksum``). Derived: ``books5``/``bbo-tbt`` (top of the rebuilt book after each
``books`` frame) and ``candle<tf>`` (from trades).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from rxpro.exchanges._okx import okx_checksum

from ._data import data_path, iter_ws_log, read_rest_log

CANDLE_INTERVALS: dict[str, int] = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
    "30m": 1_800_000, "1H": 3_600_000,
}
#: first seqId of the generated chain of instrument number i is SEQ_BASE * (i + 1).
SEQ_BASE = 1_000_000_000


class OkxFrame:
    """One server->client data frame, keyed ``"<channel>:<instId>"``."""

    __slots__ = ("ns", "key", "text", "book_index")

    def __init__(self, ns: int, key: str, text: str, book_index: int = -1) -> None:
        self.ns = ns
        self.key = key
        self.text = text
        self.book_index = book_index  # index into OkxRecording.books[instId] for books frames


class _Book:
    def __init__(self) -> None:
        self.bids: dict[str, list[str]] = {}
        self.asks: dict[str, list[str]] = {}

    def apply(self, update: dict[str, Any], reset: bool) -> None:
        if reset:
            self.bids.clear()
            self.asks.clear()
        for side, levels in ((self.bids, update.get("bids", [])), (self.asks, update.get("asks", []))):
            for level in levels:
                if float(level[1]) == 0.0:
                    side.pop(level[0], None)
                else:
                    side[level[0]] = level

    def sides(self, depth: int = 400) -> tuple[list[list[str]], list[list[str]]]:
        bids = sorted(self.bids.values(), key=lambda lv: -float(lv[0]))[:depth]
        asks = sorted(self.asks.values(), key=lambda lv: float(lv[0]))[:depth]
        return bids, asks


@dataclass(slots=True)
class BookState:
    """Book after one ``books`` frame: what a mid-stream snapshot must contain."""

    seq_id: int
    ts: str
    bids: list[list[str]]
    asks: list[list[str]]


@dataclass(slots=True)
class OkxRecording:
    frames: list[OkxFrame]
    keys: frozenset[str]
    books: dict[str, list[BookState]]  # by instId, one per books frame
    instruments: dict[str, str]  # instType -> REST body (JSON text)
    inst_ids: frozenset[str]
    checksum_mismatches: int  # recorded checksums that differ from the recomputed ones
    trade_id_span: dict[str, int]
    time_span_ms: int

    def snapshot_text(self, inst_id: str, state: BookState) -> str:
        """A ``books`` snapshot frame for ``state`` (sent on a mid-stream subscribe)."""
        return orjson.dumps({
            "arg": {"channel": "books", "instId": inst_id}, "action": "snapshot",
            "data": [{"asks": state.asks, "bids": state.bids, "ts": state.ts,
                      "checksum": okx_checksum(state.bids, state.asks),
                      "prevSeqId": -1, "seqId": state.seq_id}],
        }).decode()


def _top_frame(channel: str, inst_id: str, bids: list[list[str]], asks: list[list[str]],
               ts: str) -> str:
    return orjson.dumps({
        "arg": {"channel": channel, "instId": inst_id},
        "data": [{"asks": asks, "bids": bids, "instId": inst_id, "ts": ts}],
    }).decode()


class _CandleBuilder:
    def __init__(self, inst_id: str, interval: str) -> None:
        self.inst_id = inst_id
        self.channel = f"candle{interval}"
        self.length = CANDLE_INTERVALS[interval]
        self.start: int | None = None
        self.o = self.h = self.l = self.c = self.vol = self.quote = Decimal(0)

    def _frame(self, confirm: bool) -> str:
        row = [str(self.start), str(self.o), str(self.h), str(self.l), str(self.c),
               str(self.vol), str(self.vol), str(self.quote), "1" if confirm else "0"]
        return orjson.dumps({"arg": {"channel": self.channel, "instId": self.inst_id},
                             "data": [row]}).decode()

    def add(self, trade: dict[str, Any]) -> list[str]:
        out = []
        ts = int(trade["ts"])
        start = ts - ts % self.length
        px, sz = Decimal(trade["px"]), Decimal(trade["sz"])
        if self.start is not None and start > self.start:
            out.append(self._frame(confirm=True))
            self.start = None
        if self.start is None:
            self.start = start
            self.o = self.h = self.l = px
            self.vol = self.quote = Decimal(0)
        self.h, self.l, self.c = max(self.h, px), min(self.l, px), px
        self.vol += sz
        self.quote += px * sz
        out.append(self._frame(confirm=False))
        return out


def _received(lines: Iterable[tuple[float, str]]) -> list[tuple[int, dict[str, Any], str]]:
    out = []
    for ts, text in lines:
        msg = orjson.loads(text)
        if "event" in msg or "arg" not in msg:
            continue  # recorded subscribe acknowledgements are answered live instead
        out.append((int(ts * 1e9), msg, text))
    return out


@functools.lru_cache(maxsize=2)
def load_okx_recording(ws_path: str | None = None, rest_path: str | None = None) -> OkxRecording:
    """Parse the OKX recording (default: the bundled trimmed cryptofeed files)."""
    ws_file = ws_path or str(data_path("OKX.ws.1.0"))
    rest_file = rest_path or str(data_path("OKX.0"))
    instruments: dict[str, str] = {}
    inst_ids: set[str] = set()
    for record in read_rest_log(rest_file):
        inst_type = record.url.split("instType=", 1)[1].split("&", 1)[0]
        instruments[inst_type] = record.body
        inst_ids.update(d["instId"] for d in orjson.loads(record.body)["data"])

    frames: list[OkxFrame] = []
    books: dict[str, list[BookState]] = {}
    live: dict[str, _Book] = {}
    seq: dict[str, int] = {}
    mismatches = 0
    candles: dict[tuple[str, str], _CandleBuilder] = {}
    trade_ids: dict[str, list[int]] = {}
    times: list[int] = []
    for ns, msg, text in _received(iter_ws_log(ws_file)):
        channel, inst_id = msg["arg"]["channel"], msg["arg"]["instId"]
        key = f"{channel}:{inst_id}"
        if channel == "books":
            action = msg.get("action")
            if inst_id not in live and action != "snapshot":
                continue
            book = live.setdefault(inst_id, _Book())
            for update in msg["data"]:
                book.apply(update, reset=action == "snapshot")
                bids, asks = book.sides()
                checksum = okx_checksum(bids, asks)
                if update.get("checksum") is not None and update["checksum"] != checksum:
                    mismatches += 1
                update["checksum"] = checksum
                if action == "snapshot":
                    seq[inst_id] = SEQ_BASE * (len(seq) + 1)
                    update["prevSeqId"] = -1
                else:
                    update["prevSeqId"] = seq[inst_id]
                    seq[inst_id] += 1 + len(update.get("asks", [])) + len(update.get("bids", []))
                update["seqId"] = seq[inst_id]
                states = books.setdefault(inst_id, [])
                states.append(BookState(seq[inst_id], update["ts"], bids, asks))
                frames.append(OkxFrame(ns, key, orjson.dumps(msg).decode(), len(states) - 1))
                frames.append(OkxFrame(ns, f"books5:{inst_id}",
                                       _top_frame("books5", inst_id, bids[:5], asks[:5], update["ts"])))
                frames.append(OkxFrame(ns, f"bbo-tbt:{inst_id}",
                                       _top_frame("bbo-tbt", inst_id, bids[:1], asks[:1], update["ts"])))
            continue
        frames.append(OkxFrame(ns, key, text))
        if channel == "trades":
            for trade in msg["data"]:
                trade_ids.setdefault(inst_id, []).append(int(trade["tradeId"]))
                times.append(int(trade["ts"]))
                for interval in CANDLE_INTERVALS:
                    builder = candles.get((inst_id, interval))
                    if builder is None:
                        builder = candles[(inst_id, interval)] = _CandleBuilder(inst_id, interval)
                    for candle in builder.add(trade):
                        frames.append(OkxFrame(ns, f"candle{interval}:{inst_id}", candle))
    return OkxRecording(
        frames=frames,
        keys=frozenset(f.key for f in frames),
        books=books,
        instruments=instruments,
        inst_ids=frozenset(inst_ids),
        checksum_mismatches=mismatches,
        trade_id_span={k: max(v) - min(v) + 1 for k, v in trade_ids.items()},
        # whole hours, so that candles of looped cycles stay aligned to their intervals
        time_span_ms=-(-(max(times) - min(times) + 1_000) // 3_600_000) * 3_600_000 if times else 0,
    )
