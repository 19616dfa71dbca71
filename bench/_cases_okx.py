"""OKX parser cases (issue 9): the bundled 2022 recording, as the simulator serves it.

Frames: ``rxpro.testing._okx`` — the cryptofeed master recording (BTC-USDT, UNI-USD-SWAP,
BTC-USD-220527; trades and tickers as recorded) with the books given a seqId chain, and
books5 / bbo-tbt / candles derived from it.  Each instrument is watched as a user watches it
(one stream per instrument and channel).  Markets: ccxt's parse of the recorded instruments
answers (``OKX.0``).  cryptofeed 2.4.1 parses trades, tickers, books and candles (not books5
or bbo-tbt: its OKX feed has no such channel).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.pro
import orjson

import rxpro
from rxpro._recorded import read_rest_log
from rxpro.testing import data_path
from rxpro.testing._okx import load_okx_recording

from _cases import Case
from _native_cases import Watch, cryptofeed_feeder, feeder, noop, watched

__all__ = ["CASES"]

URL = "wss://ws.okx.com:8443/ws/v5/public"
INSTRUMENTS = {"BTC-USDT": "BTC/USDT", "UNI-USD-SWAP": "UNI/USD:UNI", "BTC-USD-220527": "BTC/USD:BTC-220527"}


@functools.cache
def _instruments() -> tuple[str, ...]:
    """The recorded instruments answers (SPOT, SWAP, FUTURES), as received."""
    return tuple(record.body for record in read_rest_log(data_path("OKX.0")))


@functools.cache
def _markets() -> list[dict[str, Any]]:
    parser = ccxt.okx()
    return [market for body in _instruments() for market in parser.parse_markets(orjson.loads(body)["data"])]


def _texts(channel: str) -> list[str]:
    return [frame.text for frame in load_okx_recording().frames if frame.key.split(":", 1)[0] == channel]


def _book_subscriptions(channel: str) -> dict[str, Any]:
    return {f"{channel}:{symbol}": True for symbol in INSTRUMENTS.values()}


def _exchanges(watches: list[Watch], subscriptions: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[bool], Any]]:
    def plain() -> Any:
        exchange = ccxt.pro.okx()
        exchange.set_markets(_markets())
        return watched(exchange, URL, watches, subscriptions)

    def rx(native: bool, routed: bool = True) -> Any:
        exchange = rxpro.okx({"rxpro": {"native": native}})
        exchange.set_markets(_markets())
        return watched(exchange, URL, watches, subscriptions, routed)

    return plain, rx


def _cryptofeed(channel: str, **options: Any) -> Callable[[], Callable[[str], Any]]:
    def make_feed() -> Any:
        from cryptofeed.exchanges import OKX
        from cryptofeed.symbols import Symbols

        symbols, info = OKX._parse_symbol_data([orjson.loads(body) for body in _instruments()])
        Symbols.set(OKX.id, symbols, info)
        names = {inst_id: name for name, inst_id in symbols.items()}
        feed = OKX(symbols=[names[inst_id] for inst_id in INSTRUMENTS], channels=[channel],
                   callbacks={channel: noop}, **options)
        feed._l2_book = {}  # what its subscribe() would set up
        return feed

    return cryptofeed_feeder(make_feed)


def _case(channel: str, label: str, watches: list[Watch], subscriptions: dict[str, Any],
          cryptofeed: Callable[[], Callable[[str], Any]] | None) -> Case:
    plain, rx = _exchanges(watches, subscriptions)
    return Case("okx", label, _texts(channel), plain, rx, feeder(URL), cryptofeed)


def _cases() -> list[Case]:
    symbols = list(INSTRUMENTS.values())
    ids = list(INSTRUMENTS)
    return [
        _case("trades", "trades", [("watch_trades", (s,), (f"trades:{s}",)) for s in symbols], {},
              _cryptofeed("trades")),
        _case("tickers", "tickers", [("watch_ticker", (s,), (f"tickers::{s}",)) for s in symbols], {},
              _cryptofeed("ticker")),
        _case("books", "books, full book", [("watch_order_book", (s,), (f"books:{s}",)) for s in symbols],
              _book_subscriptions("books"), _cryptofeed("l2_book")),
        _case("books", "books, limit 20", [("watch_order_book", (s, 20), (f"books:{s}",)) for s in symbols],
              _book_subscriptions("books"), _cryptofeed("l2_book", max_depth=20)),
        _case("books5", "books5", [("watch_order_book", (s, 5), (f"books5:{s}",)) for s in symbols],
              _book_subscriptions("books5"), None),
        _case("bbo-tbt", "bbo-tbt", [("watch_order_book", (s, 1), (f"bbo-tbt:{s}",)) for s in symbols],
              _book_subscriptions("bbo-tbt"), None),
        _case("candle1m", "candles 1m", [("watch_ohlcv", (s, "1m"), (f"candle1m:{i}",)) for s, i in zip(symbols, ids)],
              {}, _cryptofeed("candles", candle_interval="1m", candle_closed_only=False)),
    ]


CASES: list[Case] = _cases()
