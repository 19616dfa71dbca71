"""Bybit v5 public market data parsed natively: publicTrade, orderbook (snapshot + delta), tickers.

:class:`BybitNative` is the ``native`` mixin of the ``bybit`` venue (``_bybit.py``).  Each
method overrides the ccxt.pro ``bybit`` handler of the same name and leaves exactly what
ccxt's would — the same entries in ``trades``, ``orderbooks``, ``bidsasks``, ``tickers``,
resolved under the same message hashes in the same order — with plain dict indexing where
ccxt chains ``safe_*`` calls (``_native_parse.py`` holds the shared steps).

Bybit's spot and linear markets share ids (``BTCUSDT``): as in ccxt, the connection's URL
says which (``/spot``: the spot market, else the contract); a ticker's own fields say it
again (``usdIndexPrice``: spot; ``openInterestValue``: a contract).  ``handle_message``
hands ``publicTrade.*``, ``orderbook.*`` and ``tickers.*`` frames straight to their
handler when ccxt's dispatch would (no error, pong or subscription fields; a topic whose
market id has no lower-case letter, so that none of ccxt's other topic keys matches it);
everything else is ccxt's.

Books follow ccxt's rules: a snapshot resets the book, a delta stores each level through
the ``OrderBook`` API; like ccxt, ``u``/``seq`` are not checked.  ``orderbook.1`` also
updates ``bidsasks``.  Ticker deltas are merged into the last ticker's ``info`` first, as
ccxt merges them.  A frame with anything unexpected — a field of another shape, a market
that is not loaded, a private trade's fields — is ccxt's: the native handler finds out
before it changes anything and calls ccxt's handler.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro
from ccxt.async_support.base.ws.cache import ArrayCache
from ccxt.base.exchange import Exchange

from ._native import NativeHandlers
from ._native_parse import (
    NOT_NATIVE,
    NotNative,
    bid_ask,
    book_snapshot,
    decimal,
    iso8601,
    market_by_id,
    milliseconds,
    mul,
    number,
    optional_milliseconds,
    overridden,
    quote_ticker,
    store_levels,
    string,
    ticker,
    to_text,
    trade_cost,
)

__all__ = ["BybitNative"]

#: the topics' channels and their handlers (ccxt's ``handle_message`` gives them the same)
_HANDLERS = {"publicTrade": "handle_trades", "orderbook": "handle_order_book", "tickers": "handle_ticker"}
#: fields of frames ccxt's dispatch treats otherwise (errors, pongs, subscription answers)
_CONTROL_FIELDS = ("code", "ret_code", "retCode", "success", "ret_msg", "pong", "event", "op")
#: ccxt methods whose work the native handlers do themselves: overridden in a subclass, they rule
_CCXT_STEPS = (
    "handle_error_message", "handle_trades", "parse_ws_trade", "safe_trade", "handle_order_book",
    "parse_order_book", "parse_order_book_bid_ask", "handle_delta", "handle_deltas", "parse_ws_bid_ask",
    "handle_ticker", "parse_ticker", "safe_ticker", "safe_market", "safe_symbol", "iso8601", "parse_number",
    "number",
)
#: fields of a private trade (``ticketInfo``-shaped): ccxt's trade parser reads them
_PRIVATE_FIELDS = ("t", "m", "q", "o")
_HUNDRED = (100, 0)


class BybitNative(NativeHandlers):
    """Native handlers of Bybit's public channels (mixed in before ``ccxt.pro.bybit``)."""

    #: no ccxt step the natives replace is overridden below them (set per class)
    rx_native_plain: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.rx_native_plain = issubclass(cls, ccxt.pro.bybit) and not overridden(
            cls, BybitNative, ccxt.pro.bybit, _CCXT_STEPS)

    # -- dispatch ------------------------------------------------------------------------------

    def handle_message(self, client: Any, message: Any) -> Any:
        """``{"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": ..., "data": [...]}`` to its handler."""
        if self.rx_native and self.rx_native_plain and type(message) is dict:
            topic = message.get("topic")
            if type(topic) is str:
                channel, _, market_id = topic.partition(".")
                name = _HANDLERS.get(channel)
                if name is not None and market_id == market_id.upper():
                    for field in _CONTROL_FIELDS:
                        if field in message:
                            break
                    else:
                        getattr(self, name)(client, message)
                        return None
        return super().handle_message(client, message)  # type: ignore[misc]

    # -- trades --------------------------------------------------------------------------------

    def handle_trades(self, client: Any, message: Any) -> None:
        """``{"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1672304486868, "data": [{"T":
        1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50", "L": "PlusTick",
        "i": "20f43950-d8dd-5b31-9112-a178eb6023af", "BT": false}]}``
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_trades(client, message)  # type: ignore[misc,no-any-return]
        try:
            topic = message.get("topic", "")
            data = message["data"]
            if type(topic) is not str or type(data) is not list:
                raise NotNative("topic or data")
            market = market_by_id(self, string(topic.split(".")[1]), self._rx_market_type(client))
            trades = [self._rx_trade(item, market) for item in data]
        except NOT_NATIVE:
            return super().handle_trades(client, message)  # type: ignore[misc,no-any-return]
        symbol = market["symbol"]
        stored = self.trades.get(symbol)
        if stored is None:
            stored = ArrayCache(Exchange.safe_integer(self.options, "tradesLimit", 1000))
            self.trades[symbol] = stored
        for trade in trades:
            stored.append(trade)
        client.resolve(stored, "trade:" + symbol)
        return None

    @staticmethod
    def _rx_market_type(client: Any) -> str:
        """ccxt's choice between a spot market and a contract of the same id: the connection's URL."""
        return "spot" if client.url.find("spot") >= 0 else "contract"

    def _rx_trade(self, item: Any, market: dict[str, Any]) -> dict[str, Any]:
        """``parse_ws_trade`` of a public trade, ``safe_trade`` included."""
        if type(item) is not dict:
            raise NotNative("trade")
        for name in _PRIVATE_FIELDS:
            if name in item:
                raise NotNative(name)
        trade_id = None
        for key in ("i", "T", "v"):  # ccxt's safe_string_n: the first present, non-empty one
            value = item.get(key)
            if value is not None and value != "":
                trade_id = string(value)
                break
        market_id = string(item.get("s"))
        if market_id is not None:
            market = market_by_id(self, market_id, market["type"])
        timestamp = milliseconds(item["T"])
        side = string(item.get("S"))
        if side is None:
            raise NotNative("a trade without a side")
        price = string(item.get("p"))
        amount = string(item.get("v"))
        return {
            "id": trade_id,
            "info": item,
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),
            "symbol": market["symbol"],
            "order": None,
            "type": None,
            "side": side.lower(),
            "takerOrMaker": None,
            "price": number(price),
            "amount": number(amount),
            "cost": trade_cost(price, amount, market),
            "fee": {"cost": None, "currency": None},
            "fees": [],
        }

    # -- order books -------------------------------------------------------------------------

    def handle_order_book(self, client: Any, message: Any) -> None:
        """``{"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1672304484978, "data": {"s":
        "BTCUSDT", "b": [["16493.50", "0.006"], ["16493.00", "0.100"]], "a": [["16611.00", "0.029"]],
        "u": 18521288, "seq": 7961638724}}``, then ``"type": "delta"`` frames of changed levels
        (size ``"0"``: the level is gone).
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_order_book(client, message)  # type: ignore[misc,no-any-return]
        try:
            topic = message.get("topic", "")
            kind = message.get("type")
            data = message["data"]
            if type(topic) is not str or type(data) is not dict:
                raise NotNative("topic or data")
            depth = string(topic.split(".")[1]) if topic.count(".") >= 1 else None
            market = market_by_id(self, string(data.get("s")), self._rx_market_type(client))
            symbol = market["symbol"]
            timestamp = optional_milliseconds(message.get("ts"))
            if kind == "snapshot":
                snapshot = book_snapshot(data.get("b", _NO_LEVELS), data.get("a", _NO_LEVELS), symbol, timestamp)
            elif kind == "delta":
                asks = _levels(data.get("a", _NO_LEVELS))
                bids = _levels(data.get("b", _NO_LEVELS))
            else:
                raise NotNative(f"type {kind!r}")
        except NOT_NATIVE:
            return super().handle_order_book(client, message)  # type: ignore[misc,no-any-return]
        orderbooks = self.orderbooks
        if symbol not in orderbooks:
            orderbooks[symbol] = self.order_book()
        orderbook = orderbooks[symbol]
        orderbook["symbol"] = symbol
        if kind == "snapshot":
            orderbook.reset(snapshot)
        else:
            store_levels(orderbook["asks"], asks)
            store_levels(orderbook["bids"], bids)
            orderbook["timestamp"] = timestamp
            orderbook["datetime"] = None if timestamp is None else iso8601(timestamp)
        orderbooks[symbol] = orderbook
        client.resolve(orderbook, "orderbook:" + symbol)
        if depth == "1":
            self._rx_best_bid_ask(client, orderbooks[symbol], market)
        return None

    def _rx_best_bid_ask(self, client: Any, orderbook: Any, market: dict[str, Any]) -> None:
        """``orderbook.1``'s bid/ask into ``bidsasks``, as ccxt's ``parse_ws_bid_ask`` reads the book."""
        timestamp = Exchange.safe_integer(orderbook, "timestamp")
        bids = Exchange.sort_by(Exchange.aggregate(orderbook["bids"]), 0)
        asks = Exchange.sort_by(Exchange.aggregate(orderbook["asks"]), 0)
        best_bid = bids[0] if bids else _NO_LEVELS
        best_ask = asks[0] if asks else _NO_LEVELS
        symbol = market["symbol"]
        parsed = quote_ticker({
            "symbol": symbol,
            "timestamp": timestamp,
            "datetime": iso8601(timestamp) if timestamp is not None else None,
            "ask": string(best_ask[0]) if best_ask else None,
            "askVolume": string(best_ask[1]) if best_ask else None,
            "bid": string(best_bid[0]) if best_bid else None,
            "bidVolume": string(best_bid[1]) if best_bid else None,
            "info": orderbook,
        })
        self.bidsasks[symbol] = parsed  # not fresh: its info is ccxt's live book (rxpro emits a copy)
        client.resolve({symbol: parsed}, "bidask:" + symbol)

    # -- tickers ---------------------------------------------------------------------------------

    def handle_ticker(self, client: Any, message: Any) -> None:
        """``{"topic": "tickers.BTCUSDT", "type": "snapshot", "data": {"symbol": "BTCUSDT",
        "price24hPcnt": "0.017103", "lastPrice": "17216.00", "prevPrice24h": "16926.50", "highPrice24h":
        "17281.50", "lowPrice24h": "16915.00", "markPrice": "17217.33", "indexPrice": "17227.36",
        "openInterestValue": "1183601235.91", "turnover24h": "1570383121.943499", "volume24h": "91705.276",
        "bid1Price": "17215.50", "bid1Size": "84.489", "ask1Price": "17216.00", "ask1Size": "83.020"},
        "cs": 24987956059, "ts": 1673272861686}``; contracts then send ``"type": "delta"`` frames of the
        changed fields, merged into the last ticker's ``info``.
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_ticker(client, message)  # type: ignore[misc,no-any-return]
        try:
            topic = message.get("topic", "")
            kind = message.get("type", "")
            data = message["data"]
            if type(topic) is not str or type(data) is not dict:
                raise NotNative("topic or data")
            if kind == "snapshot":
                parsed = self._rx_ticker(data)
                symbol = parsed["symbol"]
            elif kind == "delta":
                market_type = "spot" if string(data.get("usdIndexPrice")) is not None else "contract"
                symbol = market_by_id(self, string(topic.split(".")[-1]), market_type)["symbol"]
                last = self.tickers.get(symbol)
                info = last.get("info") if isinstance(last, dict) else None
                parsed = self._rx_ticker({**(info if isinstance(info, dict) else {}), **data})
            else:
                raise NotNative(f"type {kind!r}")
            timestamp = optional_milliseconds(message.get("ts"))
        except NOT_NATIVE:
            return super().handle_ticker(client, message)  # type: ignore[misc,no-any-return]
        parsed["timestamp"] = timestamp
        parsed["datetime"] = None if timestamp is None else iso8601(timestamp)
        self.tickers[symbol] = parsed
        client.rx_fresh = parsed
        client.resolve(parsed, "ticker:" + symbol)
        return None

    def _rx_ticker(self, item: dict[str, Any]) -> dict[str, Any]:
        """``parse_ticker`` (``safe_ticker`` included) of a ticker's fields."""
        market_type = "spot" if string(item.get("openInterestValue")) is None else "contract"
        market = market_by_id(self, string(item.get("symbol")), market_type)
        if "time" in item:
            raise NotNative("time")  # REST tickers carry one; ccxt reads it
        percentage = string(item.get("price24hPcnt"))
        last = string(item.get("lastPrice"))
        return ticker(self, {
            "symbol": market["symbol"],
            "timestamp": None,
            "datetime": None,
            "high": string(item.get("highPrice24h")),
            "low": string(item.get("lowPrice24h")),
            "bid": string(item.get("bid1Price")),
            "bidVolume": string(item.get("bidSize")) or string(item.get("bid1Size")),
            "ask": string(item.get("ask1Price")),
            "askVolume": string(item.get("askSize")) or string(item.get("ask1Size")),
            "vwap": None,
            "open": string(item.get("prevPrice24h")),
            "close": last,
            "last": last,
            "previousClose": None,
            "change": None,
            "percentage": None if percentage is None else to_text(mul(decimal(percentage), _HUNDRED)),
            "average": None,
            "baseVolume": string(item.get("volume24h")),
            "quoteVolume": string(item.get("turnover24h")),
            "markPrice": string(item.get("markPrice")),
            "indexPrice": string(item.get("indexPrice")),
            "info": item,
        }, market)


_NO_LEVELS: list[Any] = []


def _levels(levels: Any) -> list[list[Any]]:
    """A delta's ``[[price, size], ...]`` as ccxt's ``handle_delta`` parses each (``parse_order_book_bid_ask``)."""
    if type(levels) is not list:
        raise NotNative(f"book levels {levels!r}")
    return [bid_ask(level) for level in levels]
