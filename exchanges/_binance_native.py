"""Native handlers of the Binance family (spot, USDⓈ-M, COIN-M): ccxt.pro's public stream handlers, rewritten.

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

Numbers: ccxt derives ``cost``, ``vwap``, ``change``, ``average`` with ``Precise`` (exact
decimal strings) and then ``float()``s the string; :class:`_Decimal` does the same
arithmetic on ``(integer, decimals)`` pairs, in the representation ``Precise`` has at each
step, and the float of an exact decimal is what Python's correctly rounded integer
division gives.  ``tests/exchanges/test_native_binance.py`` compares every recorded frame
and generated edge cases with ccxt's handlers.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache, ArrayCacheByTimestamp
from ccxt.base.exchange import Exchange
from ccxt.base.precise import Precise

from ._native import NativeHandlers

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


#: integers ccxt's ``int(float(value))`` keeps as they are
_EXACT_INT = 2 ** 53


def _exact_int(value: Any) -> bool:
    return type(value) is int and -_EXACT_INT < value < _EXACT_INT


# -- numbers as ccxt makes them ------------------------------------------------------------

_ISO_MS = tuple(f".{ms:03d}Z" for ms in range(1000))
_iso_second: tuple[int, str] = (-1, "")
_ISO_MAX = 8640000000000000  # ccxt's iso8601 gives None past this


def _iso8601(timestamp: Any) -> str | None:
    """ccxt's ``Exchange.iso8601(timestamp)``, the date and time worked out once per second."""
    global _iso_second
    if type(timestamp) is not int or not 0 <= timestamp <= _ISO_MAX:
        return Exchange.iso8601(timestamp)  # type: ignore[no-any-return]
    second, ms = divmod(timestamp, 1000)
    cached = _iso_second
    if cached[0] != second:
        text = Exchange.iso8601(second * 1000)
        if text is None:
            return Exchange.iso8601(timestamp)  # type: ignore[no-any-return]
        cached = _iso_second = (second, text[:-5])
    return cached[1] + _ISO_MS[ms]


_POW10 = tuple(10 ** i for i in range(64))


def _pow10(exponent: int) -> int:
    return _POW10[exponent] if exponent < 64 else 10 ** exponent


class _Decimal:
    """``Precise``'s arithmetic on ``(integer, decimals)`` pairs, exactly as ccxt's ``Precise.string_*`` do it.

    ``Precise.string_mul(a, b)`` parses both strings, multiplies, and prints the result
    with trailing zeros stripped; the next operation parses that string again.  A pair
    parsed from a frame keeps the frame's digits (:meth:`parse`); a pair computed here is
    put in the form the printed string parses back to (:meth:`canonical`), which matters
    for the truncating division.
    """

    @staticmethod
    def parse(number: str) -> tuple[int, int]:
        """``Precise(number)``: '61234.5600' -> (612345600, 4), '1e-8' -> (1, 8)."""
        modifier = 0
        if "e" in number or "E" in number:
            number, exponent = number.lower().split("e")
            modifier = int(exponent)
        dot = number.find(".")
        if dot > -1:
            return int(number.replace(".", "")), len(number) - dot - 1 - modifier
        return int(number), -modifier

    @staticmethod
    def canonical(integer: int, decimals: int) -> tuple[int, int]:
        """What ``Precise(str(Precise(integer, decimals)))`` holds."""
        if integer == 0:
            return 0, 0
        while integer % 10 == 0:
            integer //= 10
            decimals -= 1
        if decimals < 0:
            return integer * _pow10(-decimals), 0
        return integer, decimals

    @staticmethod
    def to_float(value: tuple[int, int]) -> float:
        """``float(str(Precise))``: the exact decimal, correctly rounded (as int / int is)."""
        integer, decimals = value
        if decimals > 0:
            return integer / _pow10(decimals)
        return float(integer * _pow10(-decimals))

    @staticmethod
    def mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return _Decimal.canonical(a[0] * b[0], a[1] + b[1])

    @staticmethod
    def add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        if a[1] >= b[1]:
            return _Decimal.canonical(a[0] + b[0] * _pow10(a[1] - b[1]), a[1])
        return _Decimal.canonical(a[0] * _pow10(b[1] - a[1]) + b[0], b[1])

    @staticmethod
    def sub(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return _Decimal.add(a, (-b[0], b[1]))

    @staticmethod
    def div(a: tuple[int, int], b: tuple[int, int], precision: int = 18) -> tuple[int, int]:
        """``Precise.div``: truncated to ``precision`` decimals (ZeroDivisionError as ccxt)."""
        distance = precision - a[1] + b[1]
        if distance == 0:
            numerator = a[0]
        elif distance < 0:
            numerator = a[0] // _pow10(-distance)
        else:
            numerator = a[0] * _pow10(distance)
        result, remainder = divmod(numerator, b[0])
        if result < 0 and remainder:
            result += 1
        return _Decimal.canonical(result, precision)


def _nonzero(value: str | None) -> str | None:
    """ccxt's ``omit_zero`` of a frame's string (a ValueError for what is no number)."""
    if value is None or float(value) == 0:
        return None
    return value


def _nonzero_pair(value: tuple[int, int] | None) -> tuple[int, int] | None:
    return None if value is None or value[0] == 0 else value


def _number(value: str | tuple[int, int] | None) -> float | None:
    """ccxt's ``parse_number`` of a frame's string or of a computed pair."""
    if value is None:
        return None
    if type(value) is str:
        return float(value)
    return _Decimal.to_float(value)  # type: ignore[arg-type]


def _string(message: dict[str, Any], key: str) -> str | None:
    """ccxt's ``safe_string`` where only strings are expected: '' is None, any other type a TypeError."""
    value = message.get(key)
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise TypeError(f"{key}: {value!r}")
    return value


def _market(markets_by_id: Any, market_id: str, market_type: str) -> dict[str, Any] | None:
    """``safe_market(market_id, None, None, market_type)`` for a known id; None where ccxt would make one up."""
    markets = markets_by_id.get(market_id) if markets_by_id is not None else None
    if not markets:
        return None
    if len(markets) == 1:
        return markets[0]  # type: ignore[no-any-return]
    for market in markets:
        if market.get(market_type) is True:
            return market  # type: ignore[no-any-return]
    return None


def _spot_url(url: str) -> bool:
    """ccxt binance's ``is_spot_url``: the combined-stream endpoints are spot's (and options')."""
    return "/stream" in url or "demo-stream" in url


def _contract_size(market: dict[str, Any]) -> str | None:
    """``safe_string(market, 'contractSize')``."""
    size = market.get("contractSize")
    if size is None or size == "":
        return None
    if type(size) is str:
        return size
    if type(size) is float or type(size) is int:
        return str(size)
    return None


def _trade_cost(price: str, amount: str, market: dict[str, Any]) -> float:
    """``safe_trade``'s cost: price × amount, for contracts × contract size (inverse: of 1 / price).

    Without a truncating division on the way (all but inverse markets) it is the exact
    product of the decimals, correctly rounded: the digits multiplied as integers, divided
    by the power of ten of their decimals.
    """
    size = _contract_size(market)
    if size is None:
        dot, point = price.find("."), amount.find(".")
        if dot > 0 and point > 0:
            try:
                product = int(price.replace(".", "")) * int(amount.replace(".", ""))
                return product / _pow10(len(price) + len(amount) - dot - point - 2)
            except ValueError:  # an exponent, a sign after the point...: Precise's own reading below
                pass
        value = _Decimal.parse(price)
    elif market.get("inverse") is True:
        value = _Decimal.mul(_Decimal.div((1, 0), _Decimal.parse(price)), _Decimal.parse(size))
    else:
        value = _Decimal.mul(_Decimal.parse(price), _Decimal.parse(size))
    return _Decimal.to_float(_Decimal.mul(value, _Decimal.parse(amount)))


# -- the fields that put a frame on another of ccxt's paths ------------------------------------

#: a public trade with one of these is read differently by ccxt's parse_ws_trade / parse_trade
#: (an execution report, a dust trade, fees, maker flags, options, quote quantities, order ids)
_TRADE_OTHER_PATH = frozenset({
    "x", "isDustTrade", "quantity", "symbol", "commission", "isMaker", "maker", "optionSide", "quoteQty",
    "baseQty", "total", "orderId", "type", "orderType",
})
#: a bookTicker with one of these fills more of ccxt's ticker than bid and ask
_BOOK_TICKER_OTHER_PATH = frozenset({
    "symbol", "time", "c", "price", "h", "l", "w", "o", "x", "p", "P", "v", "q", "C", "mp", "i",
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
        trades = self.trades  # type: ignore[attr-defined]
        cache = trades.get(symbol)
        if cache is None:
            cache = ArrayCache(self.safe_integer(self.options, "tradesLimit", 1000))  # type: ignore[attr-defined]
        cache.append(trade)
        trades[symbol] = cache
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
            market = _market(self.markets_by_id, market_id,  # type: ignore[attr-defined]
                             "spot" if _spot_url(client.url) else "contract")
            if market is None or market.get("option") is True:
                return None
            return {
                "info": message,
                "timestamp": timestamp,
                "datetime": _iso8601(timestamp),
                "symbol": market["symbol"],
                "id": str(trade_id),
                "order": None,
                "type": None,
                "side": "sell" if maker else "buy",  # the buyer made the market: a sell took it
                "takerOrMaker": None,
                "price": float(price),
                "amount": float(amount),
                "cost": _trade_cost(price, amount, market),
                "fee": {"cost": None, "currency": None},
                "fees": [],
            }
        except (KeyError, TypeError, ValueError, ArithmeticError):
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
        self.bidsasks[symbol] = ticker  # type: ignore[attr-defined]
        client.resolve(ticker, "bidask:" + channel + "@" + symbol)  # type: ignore[operator]
        client.resolve({symbol: ticker}, "bidasks:" + channel)  # type: ignore[operator]

    def _rx_ticker_channel(self, event: str) -> str | None:
        """ccxt's channel name of a ticker event (``options['tickerChannelsMap']``)."""
        channels = self.options.get("tickerChannelsMap")  # type: ignore[attr-defined]
        channel = channels.get(event, event) if isinstance(channels, dict) else None
        return channel if type(channel) is str and channel else None

    def _rx_ticker_market(self, client: Any, market_id: Any) -> dict[str, Any] | None:
        """The market ccxt's ``handle_tickers_and_bids_asks`` reads a ticker of ``market_id`` for."""
        if type(market_id) is not str or not market_id:
            return None
        markets = self.markets_by_id.get(market_id) if self.markets_by_id is not None else None  # type: ignore[attr-defined]
        if markets is not None and type(markets) is list and len(markets) == 1:
            market_type = markets[0]["type"]  # an id of one market: its own type, whatever the url
        else:
            market_type = "spot" if _spot_url(client.url) else "contract"
        return _market(self.markets_by_id, market_id, market_type)  # type: ignore[attr-defined]

    def _rx_book_ticker(self, client: Any, message: Any) -> dict[str, Any] | None:
        if (type(message) is not dict or not _BOOK_TICKER_OTHER_PATH.isdisjoint(message)
                or self.number is not float):  # type: ignore[attr-defined]
            return None
        try:
            event = message.get("e", "bookTicker")
            timestamp = message.get("E")
            if event != "bookTicker" or (timestamp is not None and not _exact_int(timestamp)):
                return None
            bid, bid_volume = _string(message, "b"), _string(message, "B")
            ask, ask_volume = _string(message, "a"), _string(message, "A")
            market = self._rx_ticker_market(client, message.get("s"))
            if market is None:
                return None
            return {
                "symbol": market["symbol"],
                "timestamp": timestamp,
                "datetime": _iso8601(timestamp) if timestamp is not None else None,
                "high": None,
                "low": None,
                "bid": _number(_nonzero(bid)),
                "bidVolume": _number(bid_volume),
                "ask": _number(_nonzero(ask)),
                "askVolume": _number(ask_volume),
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
        except (KeyError, TypeError, ValueError, ArithmeticError):
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
        self.tickers[symbol] = ticker  # type: ignore[attr-defined]
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
            fields = {key: _string(message, key) for key in _TICKER_FIELDS}
            return self._rx_safe_ticker(market, timestamp, fields, message)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return None

    def _rx_safe_ticker(self, market: dict[str, Any], timestamp: int, fields: dict[str, str | None],
                        message: dict[str, Any]) -> dict[str, Any]:
        """ccxt's ``safe_ticker`` of what ``parse_ws_ticker`` gathered (strings of the frame)."""
        base_volume: str | tuple[int, int] | None = fields["v"]
        quote_volume: str | tuple[int, int] | None = fields["q"]
        if market["inverse"] is True:  # COIN-M: contracts in v, the base asset in q
            contracts, base_volume = fields["v"], fields["q"]
            if fields["w"] is None:
                size = _contract_size(market)
                quote_volume = (_Decimal.mul(_Decimal.parse(contracts), _Decimal.parse(size))
                                if contracts is not None and size is not None else None)
            else:
                quote_volume = (_Decimal.mul(_Decimal.parse(fields["q"]), _Decimal.parse(fields["w"]))
                                if fields["q"] is not None else None)
        derived = _derived_ticker(fields, _pair(base_volume), _pair(quote_volume), self._rx_average_precision(market))
        close = _number(derived["close"])
        return {
            "symbol": market["symbol"],
            "timestamp": timestamp,
            "datetime": _iso8601(timestamp),
            "high": _number(_nonzero(fields["h"])),
            "low": _number(_nonzero(fields["l"])),
            "bid": _number(_nonzero(fields["b"])),
            "bidVolume": _number(fields["B"]),
            "ask": _number(_nonzero(fields["a"])),
            "askVolume": _number(fields["A"]),
            "vwap": _number(derived["vwap"]),
            "open": _number(derived["open"]),
            "close": close,
            "last": close,
            "previousClose": _number(fields["x"]),
            "change": _number(derived["change"]),
            "percentage": _number(derived["percentage"]),
            "average": _number(derived["average"]),
            "baseVolume": _number(base_volume),
            "quoteVolume": _number(quote_volume),
            "info": message,
            "indexPrice": None,
            "markPrice": None,
        }

    def _rx_average_precision(self, market: dict[str, Any]) -> int:
        """The decimals of ccxt's ticker ``average``: the market's price precision where it is a tick size."""
        if self.is_tick_precision():  # type: ignore[attr-defined]
            precision = market.get("precision")
            price = Exchange.safe_string(precision, "price") if isinstance(precision, dict) else None
            if price is not None:
                return self.precision_from_string(price)  # type: ignore[attr-defined,no-any-return]
        return 18

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
        ohlcvs = self.ohlcvs  # type: ignore[attr-defined]
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
            timeframe = self.find_timeframe(interval)  # type: ignore[attr-defined]
            market = _market(self.markets_by_id, market_id,  # type: ignore[attr-defined]
                             "spot" if _spot_url(client.url) else "contract")
            if timeframe is None or market is None:
                return None
            candle = [start, float(kline["o"]), float(kline["h"]), float(kline["l"]), float(kline["c"]),
                      float(kline["v"])]
            return market["symbol"], timeframe, candle
        except (KeyError, TypeError, ValueError):
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
            if symbol in self.orderbooks:  # type: ignore[attr-defined]
                del self.orderbooks[symbol]  # type: ignore[attr-defined]
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
        market = _market(self.markets_by_id, market_id, "spot" if _spot_url(client.url) else "swap")  # type: ignore[attr-defined]
        orderbook = self.orderbooks.get(market["symbol"]) if market is not None else None  # type: ignore[attr-defined]
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
        Levels go through the book's own ``storeArray``, as ccxt's ``handle_delta`` does.
        """
        if not self.rx_native or "handle_order_book_message" not in self.rx_native_handlers:
            return super().handle_order_book_message(client, message, orderbook)  # type: ignore[misc]
        try:
            nonce, timestamp = message["u"], message["E"]
            if not _exact_int(nonce) or not _exact_int(timestamp):
                raise TypeError
            asks = _levels(message["a"])
            bids = _levels(message["b"])
        except (KeyError, TypeError, ValueError, IndexError):
            return super().handle_order_book_message(client, message, orderbook)  # type: ignore[misc]
        store = orderbook["asks"].storeArray
        for level in asks:
            store(level)
        store = orderbook["bids"].storeArray
        for level in bids:
            store(level)
        orderbook["nonce"] = nonce
        orderbook["timestamp"] = timestamp
        orderbook["datetime"] = _iso8601(timestamp)
        return orderbook


def _levels(levels: Any) -> list[list[float]]:
    """``[[price, size], ...]`` as floats, as ccxt's ``handle_delta`` reads them (a ValueError for a bad one)."""
    if type(levels) is not list:
        raise TypeError
    return [[float(level[0]), float(level[1])] for level in levels]


def _pair(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    return _Decimal.parse(value) if type(value) is str else value  # type: ignore[return-value]


def _derived_ticker(fields: dict[str, str | None], base_volume: tuple[int, int] | None,
                    quote_volume: tuple[int, int] | None, precision: int) -> dict[str, Any]:
    """The values ccxt's ``safe_ticker`` works out from the others: open, close, change, percentage, average, vwap.

    Each is a frame's string or a computed ``(integer, decimals)`` pair, None where ccxt has none.
    """
    open_: Any = _nonzero(fields["o"])
    close: Any = _nonzero(fields["c"])
    change: Any = fields["p"]
    percentage: Any = _nonzero(fields["P"])
    average: Any = None
    vwap: Any = fields["w"]
    if vwap is None:
        quote = _nonzero_pair(quote_volume)
        vwap = _Decimal.div(quote, base_volume) if quote is not None and base_volume is not None else None
    if change is not None:
        if open_ is None and close is not None:
            open_ = _Decimal.sub(_pair(close), _pair(change))  # type: ignore[arg-type]
    elif percentage is not None:
        if open_ is None and close is not None:
            hundredth = _Decimal.div(_Decimal.parse(percentage), (100, 0))
            open_ = _Decimal.div(_pair(close), _Decimal.add((1, 0), hundredth))  # type: ignore[arg-type]
    if change is None:
        if close is not None and open_ is not None:
            change = _Decimal.sub(_pair(close), _pair(open_))  # type: ignore[arg-type]
        elif close is not None and percentage is not None:
            change = _Decimal.mul(_Decimal.div(_Decimal.parse(percentage), (100, 0)),
                                  _Decimal.div(_pair(close), (100, 0)))  # type: ignore[arg-type]
        elif open_ is not None and percentage is not None:
            change = _Decimal.mul(_pair(open_), _Decimal.div(_Decimal.parse(percentage), (100, 0)))  # type: ignore[arg-type]
    if open_ is not None:
        if percentage is None and change is not None:
            percentage = _Decimal.mul(_Decimal.div(_pair(change), _pair(open_)), (100, 0))  # type: ignore[arg-type]
        if close is None and change is not None:
            close = _Decimal.add(_pair(open_), _pair(change))  # type: ignore[arg-type]
        if close is not None:
            average = _Decimal.div(_Decimal.add(_pair(open_), _pair(close)), (2, 0), precision)  # type: ignore[arg-type]
    if type(open_) is tuple:
        open_ = _nonzero_pair(open_)
    if type(close) is tuple:
        close = _nonzero_pair(close)
    return {"open": open_, "close": close, "change": change, "percentage": percentage, "average": average,
            "vwap": vwap}
