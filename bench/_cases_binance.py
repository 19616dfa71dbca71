"""Binance parser cases (issue 9): the bundled hftbacktest sessions, as the simulator serves them.

Frames: ``rxpro.testing._binance`` — spot BTCUSDT (2 days, ~11 min) with the aggTrade, kline
and 24hr ticker frames it derives from the recorded trades; USDⓈ-M BTCUSDT (the bundled
0808 half).  Markets: ccxt's parse of the bundled exchangeInfo (``exchanges/data/``).

Depth diffs: every exchange starts from the recorded REST snapshot (as ``watch_order_book``
leaves it) and is fed the diffs after it; a round feeds them again, so the feed puts the
book's nonce just before each diff (``U - 1``: ccxt's and cryptofeed's sequence checks pass,
the book keeps growing as the recorded one did).  That costs every variant the same two
dict writes.

cryptofeed 2.4.1 column: aggTrade, bookTicker, depth diffs (its book built from the same
recorded snapshot, its last update id put before each diff as for ccxt) and klines; it has no
``@trade`` handler, so the trade row feeds it the aggTrade frame derived one to one from each
trade (the issue's rule; a dict lookup per frame finds it), and no 24hr ticker handler.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.pro
import orjson

import rxpro
from rxpro._recorded import Recording
from rxpro.exchanges._table import venue_for
from rxpro.testing import data_path
from rxpro.testing._binance import load_binance_recording

from _cases import Case
from _native_cases import Watch, cryptofeed_feeder, feeder, noop, watched

__all__ = ["CASES"]

URLS = {"binance": "wss://stream.binance.com:9443/ws", "binanceusdm": "wss://fstream.binance.com/ws"}
FILES = {"binance": ("btcusdt_20240808.gz", "btcusdt_20240809.gz"), "binanceusdm": ("usdm/btcusdt_20240808.gz",)}
SYMBOLS = {"binance": "BTC/USDT", "binanceusdm": "BTC/USDT:USDT"}


def _thawed(value: Any) -> Any:
    if hasattr(value, "items"):
        return {key: _thawed(item) for key, item in value.items()}
    return list(value) if isinstance(value, tuple) else value


@functools.cache
def _exchange_info(venue: str) -> dict[str, str]:
    """The bundled REST answers ``load_markets`` reads offline, by URL."""
    return {r.url.split("?", 1)[0]: r.body for r in venue_for(venue).stub_http(Recording())}


@functools.cache
def _markets(venue: str) -> list[dict[str, Any]]:
    bodies = _exchange_info(venue)
    parser = getattr(ccxt, venue)({"options": _thawed(venue_for(venue).offline_options or {})})
    parser.fetch = lambda url, method="GET", headers=None, body=None: orjson.loads(bodies[url.split("?", 1)[0]])
    return list(parser.load_markets().values())


@functools.cache
def _recording(venue: str) -> Any:
    return load_binance_recording(tuple(str(data_path(name)) for name in FILES[venue]))


def _texts(venue: str, event: str) -> list[str]:
    """The session's frames of one event type, as received (combined-stream envelopes)."""
    marker = '"e":"%s"' % event
    texts = []
    for frame in _recording(venue).frames:
        text = frame.envelope
        if event == "bookTicker":
            if frame.stream.endswith("@bookTicker"):
                texts.append(text)
        elif marker in text:
            texts.append(text)
    return texts


def _depth_after_snapshot(venue: str) -> tuple[list[str], str]:
    recording = _recording(venue)
    snapshot = recording.snapshots["BTCUSDT"]
    nonce = orjson.loads(snapshot.text)["lastUpdateId"]
    texts = [text for text in _texts(venue, "depthUpdate") if orjson.loads(text)["data"]["u"] > nonce]
    return texts, snapshot.text


def _seed_book(exchange: Any, symbol: str, snapshot: str, limit: int | None) -> None:
    """What ccxt's watch_order_book leaves after its REST snapshot (subscription answer + snapshot)."""
    body = orjson.loads(snapshot)
    book = exchange.order_book({}, limit)
    exchange.orderbooks[symbol] = book
    parsed = exchange.parse_order_book(body, symbol, exchange.safe_integer(body, "T"))
    parsed["nonce"] = body["lastUpdateId"]
    book.reset(parsed)


def _exchanges(venue: str, watches: list[Watch], book: tuple[str, int | None] | None
               ) -> tuple[Callable[[], Any], Callable[[bool], Any]]:
    url = URLS[venue]

    def ready(exchange: Any, routed: bool = True) -> Any:
        exchange.set_markets(_markets(venue))
        if book is not None:
            _seed_book(exchange, SYMBOLS[venue], book[0], book[1])
        return watched(exchange, url, watches, routed=routed)

    def plain() -> Any:
        return ready(getattr(ccxt.pro, venue)({"options": _thawed(venue_for(venue).offline_options or {})}))

    def rx(native: bool, routed: bool = True) -> Any:
        return ready(getattr(rxpro, venue)({"rxpro": {"native": native}}), routed)

    return plain, rx


def _depth_feeder(venue: str) -> Callable[[Any, Any], None]:
    """``feeder`` with the book's nonce put just before each diff (a round feeds the diffs again)."""
    feed, symbol = feeder(URLS[venue]), SYMBOLS[venue]
    futures = venue != "binance"

    def feed_diff(exchange: Any, message: Any) -> None:
        data = message["data"]
        book = exchange.orderbooks[symbol]
        book["nonce"] = data["pu"] if futures else data["U"] - 1
        feed(exchange, message)

    return feed_diff


def _cryptofeed_feed(venue: str, channel: str, **options: Any) -> tuple[Any, str]:
    """A cryptofeed 2.4.1 feed of ``channel`` for BTCUSDT, as its subscribe() leaves it, and the pair's name."""
    from cryptofeed.exchanges import Binance, BinanceFutures
    from cryptofeed.symbols import Symbols

    kind = Binance if venue == "binance" else BinanceFutures
    info = next(orjson.loads(body) for url, body in _exchange_info(venue).items() if "exchangeInfo" in url)
    symbols, details = kind._parse_symbol_data(info)
    Symbols.set(kind.id, symbols, details)
    name = next(n for n, market_id in symbols.items() if market_id == "BTCUSDT")
    feed = kind(symbols=[name], channels=[channel], callbacks={channel: noop}, **options)
    feed._reset()
    return feed, name


def _cryptofeed(venue: str, channel: str, **options: Any) -> Callable[[], Callable[[str], Any]]:
    return cryptofeed_feeder(lambda: _cryptofeed_feed(venue, channel, **options)[0])


def _cryptofeed_depth(venue: str, texts: list[str], snapshot: str, limit: int | None
                      ) -> Callable[[], Callable[[str], Any]]:
    """cryptofeed's depth parser from the recorded snapshot (its _snapshot, without the REST call).

    As for ccxt (``_depth_feeder``), its last update id is put just before each diff.
    """
    futures = venue != "binance"
    before = {text: (data["pu"] if futures else data["U"] - 1)
              for text in texts for data in (orjson.loads(text)["data"],)}

    def fresh() -> Callable[[str], Any]:
        from decimal import Decimal

        from cryptofeed.types import OrderBook

        feed, name = _cryptofeed_feed(venue, "l2_book", **({"max_depth": limit} if limit else {}))
        body = orjson.loads(snapshot)
        feed._l2_book[name] = OrderBook(feed.id, name, max_depth=feed.max_depth,
                                        bids={Decimal(p): Decimal(q) for p, q in body["bids"]},
                                        asks={Decimal(p): Decimal(q) for p, q in body["asks"]})
        parse, last_update_id = cryptofeed_feeder(lambda: feed)(), feed.last_update_id

        def parse_diff(text: str) -> Any:
            last_update_id[name] = before[text]
            return parse(text)

        return parse_diff

    return fresh


def _case(venue: str, label: str, texts: list[str], watches: list[Watch],
          book: tuple[str, int | None] | None = None,
          cryptofeed: Callable[[], Callable[[str], Any]] | None = None) -> Case:
    plain, rx = _exchanges(venue, watches, book)
    feed = _depth_feeder(venue) if book is not None else feeder(URLS[venue])
    return Case(venue, label, texts, plain, rx, feed, cryptofeed)


def _as_agg_trade(text: str) -> str:
    """A ``@trade`` frame as the ``@aggTrade`` frame of that one trade (cryptofeed has no ``@trade`` handler)."""
    message = orjson.loads(text)
    trade = message["data"]
    return orjson.dumps({"stream": message["stream"].replace("@trade", "@aggTrade"), "data": {
        "e": "aggTrade", "E": trade["E"], "s": trade["s"], "a": trade["t"], "p": trade["p"], "q": trade["q"],
        "f": trade["t"], "l": trade["t"], "T": trade["T"], "m": trade["m"], "M": trade.get("M", True)}}).decode()


def _cases() -> list[Case]:
    cases = []
    for venue in ("binance", "binanceusdm"):
        symbol = SYMBOLS[venue]
        trades = [("watch_trades", (symbol,), ("trade::" + symbol,))]
        bids_asks = [("watch_bids_asks", ([symbol],), ("bidask:bookTicker@" + symbol,))]
        trade_texts = _texts(venue, "trade")
        cases += [
            _case(venue, "trade", trade_texts, trades,
                  cryptofeed=_CryptofeedTexts(_cryptofeed(venue, "trades"), trade_texts)),
            _case(venue, "aggTrade", _texts(venue, "aggTrade"), trades, cryptofeed=_cryptofeed(venue, "trades")),
            _case(venue, "bookTicker", _texts(venue, "bookTicker"), bids_asks, cryptofeed=_cryptofeed(venue, "ticker")),
        ]
        diffs, snapshot = _depth_after_snapshot(venue)
        for limit, label in ((None, "depth diff, full book"), (20, "depth diff, limit 20")):
            watch = [("watch_order_book", (symbol, limit) if limit else (symbol,), ("orderbook::" + symbol,))]
            cases.append(_case(venue, label, diffs, watch, (snapshot, limit),
                               _cryptofeed_depth(venue, diffs, snapshot, limit)))
        if venue == "binance":
            cases += [
                _case(venue, "kline 1m", [t for t in _texts(venue, "kline") if '"i":"1m"' in t],
                      [("watch_ohlcv", (symbol, "1m"), (f"ohlcv::{symbol}::1m",))],
                      cryptofeed=_cryptofeed(venue, "candles", candle_interval="1m", candle_closed_only=False)),
                _case(venue, "24hr ticker", _texts(venue, "24hrTicker"),
                      [("watch_ticker", (symbol,), ("ticker:ticker@" + symbol,))]),
            ]
    return cases


class _CryptofeedTexts:
    """A cryptofeed factory fed other texts than the case's: each case text's counterpart (same index)."""

    def __init__(self, factory: Callable[[], Callable[[str], Any]], texts: list[str]) -> None:
        self.factory = factory
        self.counterparts = {text: _as_agg_trade(text) for text in texts}

    def __call__(self) -> Callable[[str], Any]:
        parse, counterparts = self.factory(), self.counterparts

        def parse_counterpart(text: str) -> Any:
            return parse(counterparts[text])

        return parse_counterpart


CASES: list[Case] = _cases()
