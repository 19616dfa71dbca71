"""Native handlers of Binance spot and USDⓈ-M: ccxt.pro's public stream handlers, rewritten.

:class:`BinanceNative` overrides these ccxt.pro ``binance`` methods (the registry puts it
before ccxt's class, see ``exchanges/_native.py``):

* ``handle_message`` — the dispatch: a market-data frame (``trade``, ``aggTrade``,
  ``bookTicker``, ``depthUpdate``, ``kline``, ``24hrTicker``, ``24hrMiniTicker``) goes
  straight to its handler; every other frame goes to ccxt's ``handle_message``;
* ``handle_trade`` (``@trade``, ``@aggTrade``), ``handle_bids_asks`` (``@bookTicker``),
  ``handle_tickers`` (``@ticker``, ``@miniTicker``), ``handle_ohlcv`` (``@kline_<tf>``),
  ``handle_order_book`` and ``handle_order_book_message`` (``@depth``, with ccxt's
  snapshot sync and nonce checks).

Each leaves what ccxt's leaves: the same dicts (key for key, number types included) in the
same caches, resolved under the same message hashes in the same order.  What they do not
recognise goes to ccxt's method, for that frame: a field of another type or a field ccxt
would read on another path (``x`` of an execution, ``symbol``, ``commission``...), a
market id ccxt can't tell, an event they don't handle (``markPrice_kline``, ``@arr``
lists), a book waiting for its snapshot or out of sequence, ``exchange.number`` other
than ``float``, or a class where ccxt's helper methods these handlers stand in for are
overridden (a user subclass overriding ``parse_ws_trade``: its trades go through ccxt).
Instance attributes set over methods are not looked at.

Numbers, times and markets: ccxt's generic steps (``Precise`` for ``cost`` and the ticker's
derived values, ``iso8601``, ``safe_ticker``, the market by its id) are ``_native_parse``'s,
which gives their results exactly.  ``tests/exchanges/test_native_binance.py`` compares the
recorded frames and generated edge cases with ccxt's handlers.  COIN-M's shapes (inverse
markets, contract volumes) are handled as ccxt handles them, but no COIN-M recording with its
markets ships to check them: ``binancecoinm`` keeps ccxt's handlers (``exchanges/_binance.py``).
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.exchange import Exchange
from ._native import NativeHandlers
from ._native_parse import (NOT_NATIVE, NotNative, decimal, iso8601, market_by_id, mul, nonzero_number, number, store_levels,
                            string, ticker, to_text, trade_cost)

__all__ = ["BinanceNative"]

_CCXT = ccxt.pro.binance

# -- what each native handler stands in for ----------------------------------------------
#: ccxt helpers every native handler does the work of (a class overriding one gets ccxt's handlers)
_COMMON_HELPERS = ("safe_string", "safe_string_2", "safe_string_n", "safe_integer", "safe_integer_2",
                   "safe_integer_n", "safe_float", "safe_value", "safe_dict", "safe_list", "safe_bool",
                   "safe_bool_2", "parse_number", "safe_number", "omit_zero", "iso8601", "safe_market",
                   "safe_symbol", "is_spot_url")
#: handler -> the further ccxt methods of the binance class whose work its native version does
_STANDS_IN_FOR: dict[str, tuple[str, ...]] = {
    "handle_message": (),  # it calls the same self.handle_* ccxt's table does
    "handle_trade": ("parse_ws_trade", "parse_trade", "safe_trade", "parsed_fee_and_fees"),
    "handle_bids_asks": ("handle_tickers_and_bids_asks", "parse_ws_ticker", "safe_ticker"),
    "handle_tickers": ("handle_tickers_and_bids_asks", "parse_ws_ticker", "safe_ticker", "is_tick_precision",
                       "precision_from_string"),
    "handle_ohlcv": ("find_timeframe",),
    "handle_order_book": (),  # it calls self.handle_order_book_message, as ccxt's does
    "handle_order_book_message": ("handle_deltas", "handle_delta"),
}


def _natives_allowed(cls: type) -> frozenset[str]:
    """The native handlers that may run on ``cls``: those whose ccxt counterparts are ccxt's own.

    What a native handler hands over to (``super()``) must be ccxt.pro binance's method,
    and every ccxt helper whose work it does must be the one ccxt.pro's ``binance`` has.
    """
    allowed = set()
    for handler, helpers in _STANDS_IN_FOR.items():
        if _next_definition(cls, handler) is not _CCXT:
            continue
        if all(getattr(cls, name, None) is getattr(_CCXT, name, None) for name in _COMMON_HELPERS + helpers):
            allowed.add(handler)
    return frozenset(allowed)


def _next_definition(cls: type, name: str) -> type | None:
    """The class past :class:`BinanceNative` in ``cls``'s MRO whose ``name`` its ``super()`` reaches."""
    mro = cls.__mro__
    if BinanceNative not in mro:
        return None
    for klass in mro[mro.index(BinanceNative) + 1:]:
        if name in klass.__dict__:
            return klass
    return None


def _exact_int(value: Any) -> bool:
    """An int ccxt's ``safe_integer`` (``int(float(value))``) keeps as it is."""
    return type(value) is int and -_EXACT_INT < value < _EXACT_INT


_EXACT_INT = 2 ** 53


def _market(exchange: Any, market_id: Any, market_type: str) -> dict[str, Any] | None:
    """``safe_market(market_id, None, None, market_type)`` for a loaded market; None where ccxt would make one up."""
    try:
        return market_by_id(exchange, market_id, market_type)
    except NotNative:
        return None


def _spot_url(url: str) -> bool:
    """ccxt binance's ``is_spot_url``: the combined-stream endpoints are spot's (and options')."""
    return "/stream" in url or "demo-stream" in url


# -- the fields that put a frame on another of ccxt's paths ------------------------------------

#: a public trade with one of these is read differently by ccxt's parse_ws_trade / parse_trade
#: (an execution report, a dust trade, fees, maker flags, options, quote quantities, order ids)
_TRADE_OTHER_PATH = frozenset({
    "x", "isDustTrade", "quantity", "symbol", "commission", "isMaker", "maker", "optionSide", "quoteQty",
    "baseQty", "total", "orderId", "type", "orderType",
})
#: a bookTicker with one of these fills more of ccxt's ticker than bid and ask (or fills them from
#: the REST names: ccxt's safe_string_2 reads ``bidPrice`` where ``b`` is missing, null or empty)
_BOOK_TICKER_OTHER_PATH = frozenset({
    "symbol", "time", "c", "price", "h", "l", "w", "o", "x", "p", "P", "v", "q", "C", "mp", "i",
    "bidPrice", "bidQty", "askPrice", "askQty",
})
#: a 24hr ticker with one of these is read from other fields by ccxt's parse_ws_ticker
_TICKER_OTHER_PATH = frozenset({"symbol", "time", "price", "bidPrice", "bidQty", "askPrice", "askQty"})
_TICKER_FIELDS = ("h", "l", "b", "B", "a", "A", "w", "o", "c", "x", "p", "P", "v", "q")


class BinanceNative(NativeHandlers):
    """ccxt.pro binance's public stream handlers, native (see the module docstring)."""

    #: the native handlers that may run on this class (worked out per class: ``__init_subclass__``)
    rx_native_handlers: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.rx_native_handlers = _natives_allowed(cls)

    # -- dispatch ----------------------------------------------------------------------------

    def handle_message(self, client: Any, message: Any) -> Any:
        """One frame: market data to its handler, anything else to ccxt's ``handle_message``.

        ``{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256013,"s":"BTCUSDT",...}}``
        (combined stream) or the bare event (``/ws``).
        """
        if not self.rx_native or "handle_message" not in self.rx_native_handlers or type(message) is not dict:
            return super().handle_message(client, message)  # type: ignore[misc]
        data: Any = message
        if "stream" in message:
            stream = message["stream"]
            data = message.get("data")
            if type(stream) is not str or not stream or type(data) is not dict:
                return super().handle_message(client, message)  # type: ignore[misc]
        if "event" in data or "data" in data or "status" in data or "error" in data or "id" in data:
            return super().handle_message(client, message)  # type: ignore[misc]
        event = data.get("e")
        if event is None:
            if "a" in data and "b" in data:  # spot's bookTicker has no event type
                return self.handle_bids_asks(client, data)
        elif event == "trade" or event == "aggTrade":
            return self.handle_trade(client, data)
        elif event == "bookTicker":
            return self.handle_bids_asks(client, data)
        elif event == "depthUpdate":
            return self.handle_order_book(client, data)
        elif event == "kline":
            return self.handle_ohlcv(client, data)
        elif event == "24hrTicker" or event == "24hrMiniTicker":
            return self.handle_tickers(client, data)
        return super().handle_message(client, message)  # type: ignore[misc]

    # -- trades --------------------------------------------------------------------------------

    def handle_trade(self, client: Any, message: Any) -> Any:
        """A public trade: ``self.trades[symbol]`` gains it, resolved under ``trade::<symbol>``.

        ``{"e":"trade","E":1723161256013,"s":"BTCUSDT","t":3735683259,"p":"61050.01000000",
        "q":"0.00030000","T":1723161256012,"m":true,"M":true}`` (``@aggTrade``: ``a`` for ``t``).
        """
        if not self.rx_native or "handle_trade" not in self.rx_native_handlers:
            return super().handle_trade(client, message)  # type: ignore[misc]
        trade = self._rx_trade(client, message)
        if trade is None:
            return super().handle_trade(client, message)  # type: ignore[misc]
        symbol = trade["symbol"]
        trades = self.trades
        cache = trades.get(symbol)
        if cache is None:  # ccxt stores the cache again on every trade; once is the same (as the other natives)
            cache = ArrayCache(self.safe_integer(self.options, "tradesLimit", 1000))  # type: ignore[attr-defined]
            trades[symbol] = cache
        cache.append(trade)
        client.resolve(cache, "trade::" + symbol)

    def _rx_trade(self, client: Any, message: Any) -> dict[str, Any] | None:
        """The trade ccxt's ``parse_ws_trade`` makes of ``message``, or None where it would read it otherwise."""
        if type(message) is not dict or not _TRADE_OTHER_PATH.isdisjoint(message) or self.number is not float:  # type: ignore[attr-defined]
            return None
        try:
            market_id = message["s"]
            timestamp = message["T"]
            price = message["p"]
            amount = message["q"]
            maker = message["m"]
            trade_id = message["t"] if "t" in message else message["a"]
            if (type(market_id) is not str or not _exact_int(timestamp) or type(maker) is not bool
                    or type(trade_id) is not int or type(price) is not str or type(amount) is not str):
                return None
            market = _market(self, market_id, "spot" if _spot_url(client.url) else "contract")
            if market is None or market.get("option") is True:
                return None
            return {
                "info": message,
                "timestamp": timestamp,
                "datetime": iso8601(timestamp),
                "symbol": market["symbol"],
                "id": str(trade_id),
                "order": None,
                "type": None,
                "side": "sell" if maker else "buy",  # the buyer made the market: a sell took it
                "takerOrMaker": None,
                "price": float(price),
                "amount": float(amount),
                "cost": trade_cost(price, amount, market),
                "fee": {"cost": None, "currency": None},
                "fees": [],
            }
        except NOT_NATIVE:
            return None

    # -- best bid and offer, 24hr tickers ------------------------------------------------------------

    def handle_bids_asks(self, client: Any, message: Any) -> Any:
        """A bookTicker: ``self.bidsasks[symbol]``, resolved under ``bidask:bookTicker@<symbol>`` and ``bidasks:bookTicker``.

        ``{"u":48967914412,"s":"BTCUSDT","b":"61045.99000000","B":"2.99461000",
        "a":"61046.00000000","A":"3.80744000"}`` (USDⓈ-M adds ``"e":"bookTicker"``, ``E``, ``T``).
        """
        if not self.rx_native or "handle_bids_asks" not in self.rx_native_handlers:
            return super().handle_bids_asks(client, message)  # type: ignore[misc]
        channel = self._rx_ticker_channel("bookTicker")
        ticker = self._rx_book_ticker(client, message) if channel is not None else None
        if ticker is None:
            return super().handle_bids_asks(client, message)  # type: ignore[misc]
        symbol = ticker["symbol"]
        self.bidsasks[symbol] = ticker
        client.rx_fresh = ticker
        client.resolve(ticker, "bidask:" + channel + "@" + symbol)  # type: ignore[operator]
        client.resolve({symbol: ticker}, "bidasks:" + channel)  # type: ignore[operator]

    def _rx_ticker_channel(self, event: str) -> str | None:
        """ccxt's channel name of a ticker event (``options['tickerChannelsMap']``)."""
        channels = self.options.get("tickerChannelsMap")
        channel = channels.get(event, event) if isinstance(channels, dict) else None
        return channel if type(channel) is str and channel else None

    def _rx_ticker_market(self, client: Any, market_id: Any) -> dict[str, Any] | None:
        """The market ccxt's ``handle_tickers_and_bids_asks`` reads a ticker of ``market_id`` for."""
        if type(market_id) is not str or not market_id:
            return None
        markets = self.markets_by_id.get(market_id) if self.markets_by_id is not None else None  # type: ignore[attr-defined]
        if markets is not None and type(markets) is list and len(markets) == 1:
            return markets[0]  # type: ignore[no-any-return]  # an id of one market: that one, whatever the url
        return _market(self, market_id, "spot" if _spot_url(client.url) else "contract")

    def _rx_book_ticker(self, client: Any, message: Any) -> dict[str, Any] | None:
        if (type(message) is not dict or not _BOOK_TICKER_OTHER_PATH.isdisjoint(message)
                or self.number is not float):  # type: ignore[attr-defined]
            return None
        try:
            event = message.get("e", "bookTicker")
            timestamp = message.get("E")
            if event != "bookTicker" or (timestamp is not None and not _exact_int(timestamp)):
                return None
            bid, bid_volume = string(message.get("b")), string(message.get("B"))
            ask, ask_volume = string(message.get("a")), string(message.get("A"))
            market = self._rx_ticker_market(client, message.get("s"))
            if market is None:
                return None
            return {
                "symbol": market["symbol"],
                "timestamp": timestamp,
                "datetime": iso8601(timestamp) if timestamp is not None else None,
                "high": None,
                "low": None,
                "bid": nonzero_number(bid),
                "bidVolume": number(bid_volume),
                "ask": nonzero_number(ask),
                "askVolume": number(ask_volume),
                "vwap": None,
                "open": None,
                "close": None,
                "last": None,
                "previousClose": None,
                "change": None,
                "percentage": None,
                "average": None,
                "baseVolume": None,
                "quoteVolume": None,
                "info": message,
                "indexPrice": None,
                "markPrice": None,
            }
        except NOT_NATIVE:
            return None

    def handle_tickers(self, client: Any, message: Any) -> Any:
        """A 24hr ticker: ``self.tickers[symbol]``, resolved under ``ticker:<channel>@<symbol>`` and ``tickers:<channel>``.

        ``{"e":"24hrMiniTicker","E":1723161300013,"s":"BTCUSDT","c":"61050.01000000",
        "o":"61100.00000000","h":"61120.00000000","l":"61000.00000000","v":"12.34567000",
        "q":"753210.12345678"}`` (``24hrTicker`` adds ``p P w x Q b B a A O C F L n``).
        """
        if not self.rx_native or "handle_tickers" not in self.rx_native_handlers or type(message) is not dict:
            return super().handle_tickers(client, message)  # type: ignore[misc]
        event = message.get("e")
        channel = self._rx_ticker_channel(event) if event == "24hrTicker" or event == "24hrMiniTicker" else None
        ticker = self._rx_ticker(client, message) if channel is not None else None
        if ticker is None:
            return super().handle_tickers(client, message)  # type: ignore[misc]
        symbol = ticker["symbol"]
        self.tickers[symbol] = ticker
        client.rx_fresh = ticker
        client.resolve(ticker, "ticker:" + channel + "@" + symbol)  # type: ignore[operator]
        client.resolve({symbol: ticker}, "tickers:" + channel)  # type: ignore[operator]

    def _rx_ticker(self, client: Any, message: dict[str, Any]) -> dict[str, Any] | None:
        """ccxt's ``parse_ws_ticker`` of a 24hr (mini) ticker, or None where it would read it otherwise."""
        if not _TICKER_OTHER_PATH.isdisjoint(message) or self.number is not float:  # type: ignore[attr-defined]
            return None
        try:
            timestamp = message["C"] if "C" in message else message["E"]
            if not _exact_int(timestamp):
                return None
            market = self._rx_ticker_market(client, message.get("s"))
            if market is None:
                return None
            fields = {key: string(message.get(key)) for key in _TICKER_FIELDS}
            return self._rx_safe_ticker(market, timestamp, fields, message)
        except NOT_NATIVE:
            return None

    def _rx_safe_ticker(self, market: dict[str, Any], timestamp: int, fields: dict[str, str | None],
                        message: dict[str, Any]) -> dict[str, Any]:
        """ccxt's ``safe_ticker`` of what ``parse_ws_ticker`` gathers from the frame's strings."""
        base_volume, quote_volume = fields["v"], fields["q"]
        if market["inverse"] is True:  # COIN-M: contracts in v, the base asset in q (Precise.string_mul)
            contracts, base_volume = base_volume, quote_volume
            other = string(market.get("contractSize")) if fields["w"] is None else fields["w"]
            factor = contracts if fields["w"] is None else base_volume
            if factor is None or other is None:
                raise NotNative("an inverse ticker without its volumes")
            quote_volume = to_text(mul(decimal(factor), decimal(other)))
        return ticker(self, {
            "symbol": market["symbol"],
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),
            "high": fields["h"],
            "low": fields["l"],
            "bid": fields["b"],
            "bidVolume": fields["B"],
            "ask": fields["a"],
            "askVolume": fields["A"],
            "vwap": fields["w"],
            "open": fields["o"],
            "close": fields["c"],
            "last": fields["c"],
            "previousClose": fields["x"],
            "change": fields["p"],
            "percentage": fields["P"],
            "average": None,
            "baseVolume": base_volume,
            "quoteVolume": quote_volume,
            "info": message,
        }, market)

    # -- candles ---------------------------------------------------------------------------------------

    def handle_ohlcv(self, client: Any, message: Any) -> Any:
        """A kline: ``self.ohlcvs[symbol][timeframe]`` gains or updates its candle, resolved under ``ohlcv::<symbol>::<tf>``.

        ``{"e":"kline","E":1723161258000,"s":"BTCUSDT","k":{"t":1723161240000,"T":1723161299999,
        "s":"BTCUSDT","i":"1m","f":3735683001,"L":3735683259,"o":"61010.00000000",
        "c":"61050.01000000","h":"61060.00000000","l":"61000.00000000","v":"3.21000000",
        "n":259,"x":false,"q":"195900.12000000","V":"1.20000000","Q":"73260.01000000","B":"0"}}``
        """
        if not self.rx_native or "handle_ohlcv" not in self.rx_native_handlers:
            return super().handle_ohlcv(client, message)  # type: ignore[misc]
        parsed = self._rx_candle(client, message)
        if parsed is None:
            return super().handle_ohlcv(client, message)  # type: ignore[misc]
        symbol, timeframe, candle = parsed
        ohlcvs = self.ohlcvs
        by_timeframe = ohlcvs.get(symbol)
        ohlcvs[symbol] = by_timeframe if isinstance(by_timeframe, dict) else {}
        by_timeframe = ohlcvs[symbol]  # (rxpro's cache dict may have wrapped it)
        stored = by_timeframe.get(timeframe)
        if stored is None or stored == "":
            stored = ArrayCacheByTimestamp(self.safe_integer(self.options, "OHLCVLimit", 1000))  # type: ignore[attr-defined]
            by_timeframe[timeframe] = stored
        stored.append(candle)
        client.resolve([symbol, timeframe, stored], "ohlcv::" + symbol + "::" + timeframe)

    def _rx_candle(self, client: Any, message: Any) -> tuple[str, str, list[Any]] | None:
        """``(symbol, timeframe, [t, o, h, l, c, v])`` of a kline, or None where ccxt reads it otherwise."""
        try:
            kline = message["k"]
            if message["e"] != "kline" or type(kline) is not dict:
                return None
            market_id, interval, start = kline["s"], kline["i"], kline["t"]
            if type(market_id) is not str or not market_id or not _exact_int(start):
                return None
            timeframe = self.find_timeframe(interval)
            market = _market(self, market_id, "spot" if _spot_url(client.url) else "contract")
            if timeframe is None or market is None:
                return None
            candle = [start, float(kline["o"]), float(kline["h"]), float(kline["l"]), float(kline["c"]),
                      float(kline["v"])]
            return market["symbol"], timeframe, candle
        except NOT_NATIVE:
            return None

    # -- order books -------------------------------------------------------------------------------------

    def handle_order_book(self, client: Any, message: Any) -> Any:
        """A depth diff applied to ``self.orderbooks[symbol]`` in sequence, resolved under ``orderbook::<symbol>``.

        ``{"e":"depthUpdate","E":1723161256100,"s":"BTCUSDT","U":48967914400,"u":48967914412,
        "b":[["61045.99000000","2.99461000"]],"a":[["61046.00000000","0.00000000"]]}``
        (USDⓈ-M adds ``T`` and ``pu``, the previous diff's ``u``).  A diff that does not
        follow the book (and one for a book still waiting for its snapshot) goes to ccxt's
        handler, which buffers it, drops it, or raises the checksum error that resyncs.
        """
        if not self.rx_native or "handle_order_book" not in self.rx_native_handlers:
            return super().handle_order_book(client, message)  # type: ignore[misc]
        found = self._rx_book_in_sequence(client, message)
        if found is None:
            return super().handle_order_book(client, message)  # type: ignore[misc]
        symbol, orderbook, nonce, futures = found
        message_hash = "orderbook::" + symbol
        try:
            self.handle_order_book_message(client, message, orderbook)
            new_nonce = Exchange.safe_integer(orderbook, "nonce", 0)
            if nonce < new_nonce or (futures and nonce == new_nonce):
                client.resolve(orderbook, message_hash)
        except Exception as e:  # as ccxt: the book is dropped and its watchers told
            if symbol in self.orderbooks:
                del self.orderbooks[symbol]
            if message_hash in client.subscriptions:
                del client.subscriptions[message_hash]
            client.reject(e, message_hash)

    def _rx_book_in_sequence(self, client: Any, message: Any) -> tuple[str, Any, int, bool] | None:
        """``(symbol, book, its nonce, futures' rules)`` when ``message`` is the next diff of a synchronised book.

        ccxt's sequence rules: spot, the first diff after the snapshot ``U - 1 <= nonce <= u - 1``,
        later ones ``U - 1 == nonce``; USDⓈ-M/COIN-M (``pu``), ``u >= nonce`` and
        ``U <= nonce`` or ``pu == nonce``.  Both resolve when ``u`` moved the nonce on.
        """
        if type(message) is not dict:
            return None
        first: Any = message.get("U")
        last: Any = message.get("u")
        previous, market_id = message.get("pu"), message.get("s")
        if not _exact_int(first) or not _exact_int(last) or type(market_id) is not str:
            return None
        market = _market(self, market_id, "spot" if _spot_url(client.url) else "swap")
        orderbook = self.orderbooks.get(market["symbol"]) if market is not None else None
        if orderbook is None:
            return None
        nonce: Any = orderbook.get("nonce")
        if not _exact_int(nonce):
            return None
        if previous is None:
            if last <= nonce:
                return None
            timestamp = orderbook.get("timestamp")
            if timestamp is None:
                in_sequence = first - 1 <= nonce <= last - 1
            else:
                in_sequence = _exact_int(timestamp) and first - 1 == nonce
        else:
            in_sequence = _exact_int(previous) and last >= nonce and (first <= nonce or previous == nonce)
        return (market["symbol"], orderbook, nonce, previous is not None) if in_sequence else None  # type: ignore[index]

    def handle_order_book_message(self, client: Any, message: Any, orderbook: Any) -> Any:
        """Apply one depth diff to ``orderbook`` (asks, then bids; size 0 removes), with its nonce and time.

        Called for every live diff and, by ccxt's snapshot sync, for each buffered one.
        Levels go through the book's own ``storeArray`` (``store_levels``), as ccxt's ``handle_delta`` does.
        """
        if not self.rx_native or "handle_order_book_message" not in self.rx_native_handlers:
            return super().handle_order_book_message(client, message, orderbook)  # type: ignore[misc]
        try:
            nonce, timestamp = message["u"], message["E"]
            if not _exact_int(nonce) or not _exact_int(timestamp):
                raise TypeError
            asks = _levels(message["a"])
            bids = _levels(message["b"])
        except NOT_NATIVE:
            return super().handle_order_book_message(client, message, orderbook)  # type: ignore[misc]
        store_levels(orderbook["asks"], asks)
        store_levels(orderbook["bids"], bids)
        orderbook["nonce"] = nonce
        orderbook["timestamp"] = timestamp
        orderbook["datetime"] = iso8601(timestamp)
        return orderbook


def _levels(levels: Any) -> list[list[float]]:
    """``[[price, size], ...]`` as floats, as ccxt's ``handle_delta`` reads them (a ValueError for a bad one)."""
    if type(levels) is not list:
        raise TypeError
    return [[float(level[0]), float(level[1])] for level in levels]
