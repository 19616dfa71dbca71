"""Bybit parser cases (issue 9): the cryptofeed v3 re-recording, read in place (never copied).

Frames: ``../shared/data/cryptofeed/v3/sample_data/BYBIT.jsonl.zst`` (2026; its licence keeps
it out of the repository: no cases when it is absent), the linear connection (BTC, ETH, SOL,
DOGE USDT perpetuals): publicTrade, orderbook.200 snapshots and deltas, tickers snapshots
and deltas, as received.  Each instrument is watched as a user watches it.  Markets:
ccxt's parse of the recording's own instruments answers.  cryptofeed 2.4.1 parses all three
(v5 public linear), fed the same texts with a connection object giving the URL it reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ccxt
import ccxt.pro
import orjson

import rxpro
from rxpro._replay_formats import load_recording

from _cases import Case
from _native_cases import Watch, cryptofeed_feeder, feeder, noop, watched

__all__ = ["CASES", "RECORDING"]

RECORDING = Path(__file__).resolve().parents[2] / "shared" / "data" / "cryptofeed" / "v3" / "sample_data" / "BYBIT.jsonl.zst"
URL = "wss://stream.bybit.com/v5/public/linear"


@functools.cache
def _recording() -> Any:
    return load_recording(RECORDING)


@functools.cache
def _answers() -> dict[str, dict[str, Any]]:
    """The recorded instruments-info answers by category."""
    answers = {}
    for record in _recording().http:
        category = record.url.split("category=", 1)[1].split("&", 1)[0]
        answers[category] = orjson.loads(record.body)
    return answers


@functools.cache
def _markets() -> list[dict[str, Any]]:
    """ccxt's own parse of the recorded answers (``fetch_markets`` with them as the REST answers)."""
    answers = _answers()
    parser = ccxt.bybit({"options": {"fetchMarkets": {"types": list(answers)}}})

    def instruments(params: dict[str, Any]) -> dict[str, Any]:
        listed = [] if params.get("status") == "PreLaunch" else answers[params["category"]]["result"]["list"]
        return {"retCode": 0, "retMsg": "OK",
                "result": {"category": params["category"], "list": listed, "nextPageCursor": ""}}

    parser.publicGetV5MarketInstrumentsInfo = instruments
    return parser.fetch_markets()  # type: ignore[no-any-return]


def _texts(channel: str) -> list[str]:
    recording = _recording()
    texts = []
    for frame in recording.frames:
        if recording.connections[frame.conn] != URL or frame.text is None:
            continue
        topic = orjson.loads(frame.text).get("topic")
        if topic and topic.split(".", 1)[0] == channel:
            texts.append(frame.text)
    return texts


def _symbols(channel: str) -> list[str]:
    by_id = {market["id"]: market["symbol"] for market in _markets() if market["linear"]}
    return sorted({by_id[orjson.loads(text)["topic"].rsplit(".", 1)[1]] for text in _texts(channel)})


def _exchanges(watches: list[Watch]) -> tuple[Callable[[], Any], Callable[[bool], Any]]:
    def plain() -> Any:
        exchange = ccxt.pro.bybit()
        exchange.set_markets(_markets())
        return watched(exchange, URL, watches)

    def rx(native: bool, routed: bool = True) -> Any:
        exchange = rxpro.bybit({"rxpro": {"native": native}})
        exchange.set_markets(_markets())
        return watched(exchange, URL, watches, None, routed)

    return plain, rx


def _cryptofeed(channel: str, symbols: list[str]) -> Callable[[], Callable[[str], Any]]:
    connection = SimpleNamespace(address=URL, uuid="bench", subscription={})  # what its handlers read of one

    def make_feed() -> Any:
        from cryptofeed.exchanges import Bybit
        from cryptofeed.symbols import Symbols

        names, info = Bybit._parse_symbol_data(list(_answers().values()))
        Symbols.set(Bybit.id, names, info)
        wanted = {market_id for market_id in (s.split("/")[0] + "USDT" for s in symbols)}
        feed = Bybit(symbols=[name for name, market_id in names.items() if market_id in wanted and "PERP" in name],
                     channels=[channel], callbacks={channel: noop})
        feed._l2_book = {}  # what its subscribe() would set up
        connection.subscription = feed.subscription
        return feed

    return cryptofeed_feeder(make_feed, connection)


def _case(channel: str, label: str, method: str, prefix: str, cryptofeed_channel: str) -> Case:
    symbols = _symbols(channel)
    plain, rx = _exchanges([(method, (symbol,), (f"{prefix}:{symbol}",)) for symbol in symbols])
    return Case("bybit", label, _texts(channel), plain, rx, feeder(URL), _cryptofeed(cryptofeed_channel, symbols))


def _cases() -> list[Case]:
    if not RECORDING.is_file():
        return []
    return [
        _case("publicTrade", "publicTrade", "watch_trades", "trade", "trades"),
        _case("orderbook", "orderbook.200", "watch_order_book", "orderbook", "l2_book"),
        _case("tickers", "tickers", "watch_ticker", "ticker", "ticker"),
    ]


CASES: list[Case] = _cases()
