"""OKX v5 public market data parsed natively: trades, order books, tickers, candles.

:class:`OkxNative` is the ``native`` mixin of the ``okx`` venue (``_okx.py``).  Each method
overrides the ccxt.pro ``okx`` handler of the same name and leaves exactly what ccxt's
would — the same entries in ``trades``, ``orderbooks``, ``tickers``, ``bidsasks``,
``ohlcvs``, resolved (or rejected) under the same message hashes in the same order — with
plain dict indexing where ccxt chains ``safe_*`` calls (``_native_parse.py`` holds the
shared steps).  ``handle_message`` hands the data channels below straight to their
handler, as ccxt's dispatch table would; everything else is ccxt's.

Order books follow ccxt's rules exactly: the levels go in through the ``OrderBook`` API
(``store``, ``reset``), ``seqId``/``prevSeqId`` are checked as ccxt checks them (a gap
rejects the watch with ``InvalidNonce`` and drops the book; an update that finds the
watch gone marks the channel ``'resync'``), and like ccxt 4.5.90 nothing checks
``checksum``.

A frame with anything unexpected — a field of another shape, an instrument that is not
loaded, a private field such as ``fillPx``, a channel not listed here — is ccxt's:
the native handler finds out before it changes anything and calls ccxt's handler.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.errors import InvalidNonce
from ccxt.base.exchange import Exchange

from ._native import NativeHandlers
from ._native_parse import (
    NOT_NATIVE,
    NotNative,
    book_snapshot,
    iso8601,
    market_by_id,
    milliseconds,
    number,
    number_field,
    optional_milliseconds,
    overridden,
    quote_ticker,
    store_levels,
    string,
    ticker,
    trade_cost,
)

__all__ = ["OkxNative"]

#: data channels and the handler ccxt's ``handle_message`` gives them (candles: ``candle*``)
_HANDLERS = {
    "trades": "handle_trades",
    "trades-all": "handle_trades",
    "tickers": "handle_ticker",
    "bbo-tbt": "handle_order_book",
    "books": "handle_order_book",
    "books5": "handle_order_book",
    "books-rpi": "handle_order_book",
    "books50-l2-tbt": "handle_order_book",
    "books-l2-tbt": "handle_order_book",
}
#: ccxt's depth per book channel (``handle_order_book``'s ``depths``)
_DEPTHS = {"bbo-tbt": 1, "books": 400, "books5": 5, "books-rpi": 400, "books-l2-tbt": 400, "books50-l2-tbt": 50}
#: ccxt methods whose work the native handlers do themselves: overridden in a subclass, they rule
_CCXT_STEPS = (
    "handle_error_message", "handle_trades", "parse_trade", "safe_trade", "handle_ticker", "parse_ticker",
    "handle_bid_ask", "parse_ws_bid_ask", "safe_ticker", "handle_order_book", "handle_order_book_message",
    "handle_deltas", "handle_delta", "parse_order_book", "parse_order_book_bid_ask", "handle_ohlcv",
    "parse_ohlcv", "safe_market", "safe_symbol", "iso8601", "parse_number", "number",
)
#: fields of a private fill (``fetchMyTrades``-shaped): ccxt's trade parser reads them
_FILL_FIELDS = ("fillPx", "fillSz", "ordId", "fee", "execType")
_NO_LEVELS: list[Any] = []


def _levels(levels: Any) -> list[list[float]]:
    """``[price, size, liquidated, orders]`` rows as ccxt's ``handle_delta`` reads them: ``[price, size]``.

    Each a new list: ``storeArray`` keeps the list it is given (ccxt's ``store`` makes one the same way).
    """
    if type(levels) is not list:
        raise NotNative(f"book levels {levels!r}")
    return [[float(level[0]), float(level[1])] for level in levels]


def _candle(row: Any, volume: int) -> list[Any]:
    """``okx.parse_ohlcv``: ``[ts, open, high, low, close, volume]`` (volume in the base currency)."""
    if type(row) is not list:
        raise NotNative(f"candle {row!r}")
    return [milliseconds(row[0]), number_field(row[1]), number_field(row[2]), number_field(row[3]),
            number_field(row[4]), number_field(row[volume])]


def _sequence(update: dict[str, Any], key: str) -> int | None:
    value = update.get(key)
    if value is None:
        return None
    if type(value) is int and -(2 ** 53) < value < 2 ** 53:
        return value
    raise NotNative(f"{key} {value!r}")


class _BookUpdate:
    """One entry of a ``books`` frame's ``data``, read before anything changes."""

    __slots__ = ("asks", "bids", "symbol", "seq_id", "prev_seq_id", "timestamp")

    def __init__(self, asks: list[list[float]], bids: list[list[float]], symbol: str,
                 seq_id: int | None, prev_seq_id: int | None, timestamp: int | None) -> None:
        self.asks = asks
        self.bids = bids
        self.symbol = symbol
        self.seq_id = seq_id
        self.prev_seq_id = prev_seq_id
        self.timestamp = timestamp


class OkxNative(NativeHandlers):
    """Native handlers of OKX's public channels (mixed in before ``ccxt.pro.okx``)."""

    #: no ccxt step the natives replace is overridden below them (set per class)
    rx_native_plain: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.rx_native_plain = issubclass(cls, ccxt.pro.okx) and not overridden(cls, OkxNative, ccxt.pro.okx, _CCXT_STEPS)

    # -- dispatch ------------------------------------------------------------------------------

    def handle_message(self, client: Any, message: Any) -> Any:
        """A data frame of a channel above goes to its handler; anything else to ccxt's dispatch.

        ``{"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [...]}`` carries no
        ``event``, ``op`` or ``code``: ccxt's error check and event table would pass it on.
        """
        if (self.rx_native and self.rx_native_plain and type(message) is dict and "event" not in message
                and "op" not in message and "code" not in message):
            arg = message.get("arg")
            channel = arg.get("channel") if type(arg) is dict else None
            if type(channel) is str:
                name = _HANDLERS.get(channel)
                if name is not None:
                    getattr(self, name)(client, message)
                    return None
                if channel.startswith("candle"):
                    self.handle_ohlcv(client, message)
                    return None
        return super().handle_message(client, message)  # type: ignore[misc]

    # -- trades --------------------------------------------------------------------------------

    def handle_trades(self, client: Any, message: Any) -> None:
        """``{"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [{"instId": "BTC-USDT",
        "tradeId": "216970876", "px": "31684.5", "sz": "0.00001186", "side": "buy", "ts": "1626531038288"}]}``
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_trades(client, message)  # type: ignore[misc,no-any-return]
        try:
            arg = message["arg"]
            channel = string(arg.get("channel"))
            symbol = market_by_id(self, arg["instId"])["symbol"]
            data = message["data"]
            if type(data) is not list:
                raise NotNative("data")
            trades = [self._rx_trade(item) for item in data]
        except NOT_NATIVE:
            return super().handle_trades(client, message)  # type: ignore[misc,no-any-return]
        message_hash = None if channel is None else channel + ":" + symbol
        for trade in trades:
            stored = self.trades.get(symbol)
            if stored is None:
                stored = ArrayCache(Exchange.safe_integer(self.options, "tradesLimit", 1000))
                self.trades[symbol] = stored
            stored.append(trade)
            if message_hash is not None:
                client.resolve(stored, message_hash)
        return None

    def _rx_trade(self, item: Any) -> dict[str, Any]:
        """``parse_trade`` of a public trade, ``safe_trade`` included."""
        if type(item) is not dict:
            raise NotNative("trade")
        for name in _FILL_FIELDS:
            if name in item:
                raise NotNative(name)
        market = market_by_id(self, item.get("instId"))
        timestamp = milliseconds(item["ts"])
        price = string(item.get("px"))
        amount = string(item.get("sz"))
        return {
            "info": item,
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),
            "symbol": market["symbol"],
            "id": string(item.get("tradeId")),
            "order": None,
            "type": None,
            "takerOrMaker": None,
            "side": string(item.get("side")),
            "price": number(price),
            "amount": number(amount),
            "cost": trade_cost(price, amount, market),
            "fee": {"cost": None, "currency": None},
            "fees": [],
        }

    # -- tickers and best bid/ask ----------------------------------------------------------------

    def handle_ticker(self, client: Any, message: Any) -> None:
        """``{"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [{"instType": "SPOT",
        "instId": "BTC-USDT", "last": "31500.1", "lastSz": "0.00001754", "askPx": "31500.1",
        "askSz": "0.00998144", "bidPx": "31500", "bidSz": "3.05652439", "open24h": "31697",
        "high24h": "32248", "low24h": "31165.6", "sodUtc0": "31385.5", "sodUtc8": "32134.9",
        "volCcy24h": "503403597.38138519", "vol24h": "15937.10781721", "ts": "1626526618762"}]}``

        Only ``tickers`` is native (mark-price, index-tickers... are ccxt's): its bid/ask goes
        to ``bidsasks`` first, as ccxt's ``handle_bid_ask``.
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_ticker(client, message)  # type: ignore[misc,no-any-return]
        try:
            arg = message["arg"]
            if arg.get("channel") != "tickers":
                raise NotNative("channel")
            market = market_by_id(self, arg["instId"])
            data = message["data"]
            if type(data) is not list or not data:
                raise NotNative("data")
            bid_ask = self._rx_bid_ask(data[0], market)
            tickers = [self._rx_ticker(item) for item in data]
        except NOT_NATIVE:
            return super().handle_ticker(client, message)  # type: ignore[misc,no-any-return]
        symbol = market["symbol"]
        self.bidsasks[bid_ask["symbol"]] = bid_ask
        client.rx_fresh = bid_ask
        client.resolve(bid_ask, "bidask::" + bid_ask["symbol"])
        new_tickers = {}
        for parsed in tickers:
            self.tickers[symbol] = parsed
            new_tickers[symbol] = parsed
        client.rx_fresh = new_tickers[symbol]
        client.resolve(new_tickers, "tickers::" + symbol)
        return None

    def _rx_ticker(self, item: Any) -> dict[str, Any]:
        """``parse_ticker`` (``safe_ticker`` included) of one ``tickers`` entry."""
        if type(item) is not dict:
            raise NotNative("ticker")
        inst_type = string(item.get("instType"))
        market_type = None if inst_type is None else ("spot" if inst_type == "SPOT" else "swap")
        market = market_by_id(self, item.get("instId"), market_type)
        timestamp = milliseconds(item["ts"])
        last = string(item.get("last"))
        return ticker(self, {
            "symbol": market["symbol"],
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),
            "high": string(item.get("high24h")),
            "low": string(item.get("low24h")),
            "bid": string(item.get("bidPx")),
            "bidVolume": string(item.get("bidSz")),
            "ask": string(item.get("askPx")),
            "askVolume": string(item.get("askSz")),
            "vwap": None,
            "open": string(item.get("open24h")),
            "close": last,
            "last": last,
            "previousClose": None,
            "change": None,
            "percentage": None,
            "average": None,
            "baseVolume": string(item.get("vol24h")),
            "quoteVolume": string(item.get("volCcy24h")) if market.get("spot") is True else None,
            "markPrice": string(item.get("markPx")),
            "indexPrice": string(item.get("idxPx")),
            "info": item,
        }, market)

    def _rx_bid_ask(self, item: Any, market: dict[str, Any]) -> dict[str, Any]:
        """``parse_ws_bid_ask``: a ``tickers`` entry's bidPx/askPx, else a ``bbo-tbt`` entry's first levels."""
        if type(item) is not dict:
            raise NotNative("bid/ask")
        market_id = string(item.get("instId"))
        if market_id is not None:
            market = market_by_id(self, market_id)
        timestamp = milliseconds(item["ts"])
        ask = string(item.get("askPx"))
        ask_volume = string(item.get("askSz"))
        bid = string(item.get("bidPx"))
        bid_volume = string(item.get("bidSz"))
        if ask is None:
            ask, ask_volume = self._rx_first_level(item.get("asks"))
        if bid is None:
            bid, bid_volume = self._rx_first_level(item.get("bids"))
        return quote_ticker({
            "symbol": market["symbol"],
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),
            "ask": ask,
            "askVolume": ask_volume,
            "bid": bid,
            "bidVolume": bid_volume,
            "info": item,
        })

    @staticmethod
    def _rx_first_level(levels: Any) -> tuple[str | None, str | None]:
        if levels is None:
            return None, None
        if type(levels) is not list or (levels and type(levels[0]) is not list):
            raise NotNative(f"levels {levels!r}")
        first = levels[0] if levels else _NO_LEVELS
        return (string(first[0]) if len(first) > 0 else None), (string(first[1]) if len(first) > 1 else None)

    def handle_bid_ask(self, client: Any, message: Any) -> None:
        """The best bid/ask of a ``tickers`` or ``bbo-tbt`` frame, into ``bidsasks`` (``bidask::<symbol>``)."""
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_bid_ask(client, message)  # type: ignore[misc,no-any-return]
        try:
            market = market_by_id(self, message["arg"]["instId"])
            data = message["data"]
            if type(data) is not list or not data:
                raise NotNative("data")
            bid_ask = self._rx_bid_ask(data[0], market)
        except NOT_NATIVE:
            return super().handle_bid_ask(client, message)  # type: ignore[misc,no-any-return]
        self.bidsasks[bid_ask["symbol"]] = bid_ask
        client.rx_fresh = bid_ask
        client.resolve(bid_ask, "bidask::" + bid_ask["symbol"])
        return None

    # -- order books -------------------------------------------------------------------------

    def handle_order_book(self, client: Any, message: Any) -> Any:
        """``{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [{"asks":
        [["31657.7", "0", "0", "0"], ["31659.7", "0.01", "0", "1"]], "bids": [["31642.9", "0.50296385",
        "0", "4"]], "ts": "1626535709008", "checksum": 830931827, "prevSeqId": 123456, "seqId": 123457}]}``

        ``books``/``books-l2-tbt``/``books50-l2-tbt``/``books-rpi`` send a ``snapshot`` and then
        ``update`` frames; ``books5`` and ``bbo-tbt`` send whole tops without an ``action``.
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_order_book(client, message)  # type: ignore[misc]
        try:
            arg = message["arg"]
            channel = arg["channel"]
            action = string(message.get("action"))
            data = message["data"]
            if type(channel) is not str or type(data) is not list:
                raise NotNative("channel or data")
            market = market_by_id(self, arg["instId"])
            if action == "snapshot" or action == "update":
                updates = [self._rx_book_update(update, market) for update in data]
            elif action is None and (channel == "books5" or channel == "bbo-tbt"):
                tops = [self._rx_book_top(update, market) for update in data]
            else:
                raise NotNative(f"action {action!r}")
            # ccxt's handle_bid_ask runs after the book: read now, before anything changes
            bid_ask = self._rx_bid_ask(data[0] if data else {}, market) if channel == "bbo-tbt" else None
        except NOT_NATIVE:
            return super().handle_order_book(client, message)  # type: ignore[misc]
        symbol = market["symbol"]
        message_hash = channel + ":" + symbol
        subscriptions = client.subscriptions
        if action == "snapshot":
            for update in updates:
                orderbook = self.order_book({}, _DEPTHS.get(channel))
                self.orderbooks[symbol] = orderbook
                orderbook["symbol"] = symbol
                self._rx_book_message(client, update, orderbook, message_hash)
                if message_hash not in subscriptions:
                    break
                client.resolve(orderbook, message_hash)
        elif action == "update":
            if symbol in self.orderbooks:
                orderbook = self.orderbooks[symbol]
                for update in updates:
                    self._rx_book_message(client, update, orderbook, message_hash)
                    if message_hash not in subscriptions:
                        # a nonce gap rejected the watch: the next watch resyncs the channel (ccxt's mark)
                        subscriptions[message_hash] = "resync"
                        break
                    client.resolve(orderbook, message_hash)
        elif message_hash in subscriptions:
            # books5 / bbo-tbt: the book is reset to each top (only when watch_order_book asked for
            # this channel; watch_bids_asks shares bbo-tbt under bidask:: hashes)
            if symbol not in self.orderbooks:
                self.orderbooks[symbol] = self.order_book({}, _DEPTHS.get(channel))
            orderbook = self.orderbooks[symbol]
            for top in tops:
                orderbook.reset(top)
                client.resolve(orderbook, message_hash)
        if bid_ask is not None:
            self.bidsasks[bid_ask["symbol"]] = bid_ask
            client.rx_fresh = bid_ask
            client.resolve(bid_ask, "bidask::" + bid_ask["symbol"])
        return message

    def _rx_book_update(self, update: Any, market: dict[str, Any]) -> _BookUpdate:
        if type(update) is not dict:
            raise NotNative("book update")
        market_id = update.get("instId")
        symbol = market["symbol"] if market_id is None else market_by_id(self, market_id)["symbol"]
        return _BookUpdate(
            _levels(update.get("asks", _NO_LEVELS)), _levels(update.get("bids", _NO_LEVELS)), symbol,
            _sequence(update, "seqId"), _sequence(update, "prevSeqId"), optional_milliseconds(update.get("ts")))

    def _rx_book_message(self, client: Any, update: _BookUpdate, orderbook: Any, message_hash: str) -> None:
        """ccxt's ``handle_order_book_message``: the levels, then the sequence check, then the times."""
        store_levels(orderbook["asks"], update.asks)  # ccxt's store(price, size) is storeArray([price, size])
        store_levels(orderbook["bids"], update.bids)
        prev_seq_id = update.prev_seq_id
        if prev_seq_id is not None and prev_seq_id != -1 and orderbook["nonce"] != prev_seq_id:
            error = InvalidNonce(self.id + " watchOrderBook received invalid nonce")
            del client.subscriptions[message_hash]
            del self.orderbooks[update.symbol]
            client.reject(error, message_hash)
            return
        orderbook["nonce"] = update.seq_id
        orderbook["timestamp"] = update.timestamp
        orderbook["datetime"] = None if update.timestamp is None else iso8601(update.timestamp)

    def _rx_book_top(self, update: Any, market: dict[str, Any]) -> dict[str, Any]:
        """``parse_order_book`` of a ``books5``/``bbo-tbt`` entry: what ccxt resets the book to."""
        if type(update) is not dict:
            raise NotNative("book top")
        return book_snapshot(update.get("bids", _NO_LEVELS), update.get("asks", _NO_LEVELS), market["symbol"],
                             optional_milliseconds(update.get("ts")))

    # -- candles -------------------------------------------------------------------------------

    def handle_ohlcv(self, client: Any, message: Any) -> None:
        """``{"arg": {"channel": "candle1m", "instId": "BTC-USDT"}, "data": [["1626690720000", "31334",
        "31334", "31334", "31334", "0.0077", "241.2718", "241.2718", "0"]]}``
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_ohlcv(client, message)  # type: ignore[misc,no-any-return]
        try:
            arg = message["arg"]
            channel = arg["channel"]
            data = message["data"]
            if type(channel) is not str or type(data) is not list:
                raise NotNative("channel or data")
            market = market_by_id(self, arg["instId"])
            volume = 5 if market["type"] == "spot" else 6  # okx.parse_ohlcv: base volume, contracts' index 6
            rows = [_candle(row, volume) for row in data]
        except NOT_NATIVE:
            return super().handle_ohlcv(client, message)  # type: ignore[misc,no-any-return]
        symbol = market["symbol"]
        timeframe = self.find_timeframe(channel.replace("candle", ""))
        message_hash = channel + ":" + market["id"]
        multi_hash = "multi:" + channel + ":" + symbol
        ohlcvs = self.ohlcvs
        for row in rows:
            by_timeframe = ohlcvs.get(symbol)
            ohlcvs[symbol] = by_timeframe if isinstance(by_timeframe, dict) else {}
            stored = ohlcvs[symbol].get(timeframe)
            if stored is None:
                stored = ArrayCacheByTimestamp(Exchange.safe_integer(self.options, "OHLCVLimit", 1000))
                if timeframe is not None:
                    ohlcvs[symbol][timeframe] = stored
            stored.append(row)
            client.resolve(stored, message_hash)
            client.resolve([symbol, timeframe, stored], multi_hash)
        return None
