"""Coinbase Exchange (ccxt ``coinbaseexchange``) public market data parsed natively: matches, level2, ticker.

:class:`CoinbaseExchangeNative` is the ``native`` mixin of the ``coinbaseexchange`` venue
(``_coinbase.py``).  Each method overrides the ccxt.pro ``coinbaseexchange`` handler of the
same name and leaves exactly what ccxt's would — the same entries in ``trades``,
``orderbooks``, ``tickers``, resolved under the same message hashes in the same order —
with plain dict indexing where ccxt chains ``safe_*`` calls (``_native_parse.py`` holds the
shared steps).  ``handle_message`` hands ``match`` (on the public connection),
``snapshot``/``l2update`` and ``ticker`` frames straight to their handler, as ccxt's
dispatch would; everything else (orders, errors, subscriptions, ``last_match``) is ccxt's.

Books follow ccxt's rules: a snapshot resets the book (depth from the ``level2``
subscription's ``limit``), an ``l2update`` stores each change through the ``OrderBook``
API; like ccxt, no sequence is checked (the channel carries none).  A frame with anything
unexpected — a field of another shape, a product that is not loaded, a fill's fee fields,
an update before its snapshot — is ccxt's: the native handler finds out before it changes
anything and calls ccxt's handler.
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
    book_snapshot,
    iso8601,
    market_by_id,
    number,
    number_field,
    overridden,
    parse8601,
    string,
    ticker,
    trade_cost,
)

__all__ = ["CoinbaseExchangeNative"]

#: ccxt methods whose work the native handlers do themselves: overridden in a subclass, they rule
_CCXT_STEPS = (
    "handle_trade", "parse_ws_trade", "parse_trade", "safe_trade", "handle_ticker", "parse_ticker", "safe_ticker",
    "handle_order_book", "parse_order_book", "parse_order_book_bid_ask", "handle_delta", "handle_deltas",
    "safe_market", "safe_symbol", "market", "iso8601", "parse8601", "parse_number", "number",
)
#: fields of a user's own fill: ccxt reads a fee, a rate, a cost or the liquidity from them
_FILL_FIELDS = ("liquidity", "fill_fees", "fee", "maker_fee_rate", "taker_fee_rate")
#: which book side an l2update change goes to
_SIDES = {"buy": "bids", "sell": "asks"}
_INVERTED = {"buy": "sell", "sell": "buy"}


class CoinbaseExchangeNative(NativeHandlers):
    """Native handlers of Coinbase Exchange's public channels (mixed in before ``ccxt.pro.coinbaseexchange``)."""

    #: no ccxt step the natives replace is overridden below them (set per class)
    rx_native_plain: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.rx_native_plain = issubclass(cls, ccxt.pro.coinbaseexchange) and not overridden(
            cls, CoinbaseExchangeNative, ccxt.pro.coinbaseexchange, _CCXT_STEPS)

    # -- dispatch ------------------------------------------------------------------------------

    def handle_message(self, client: Any, message: Any) -> Any:
        """``match`` (public connection), ``snapshot``, ``l2update`` and ``ticker`` frames to their handler."""
        if self.rx_native and self.rx_native_plain and type(message) is dict:
            kind = message.get("type")
            if kind == "l2update" or kind == "snapshot":
                self.handle_order_book(client, message)
                return None
            if kind == "ticker":
                self.handle_ticker(client, message)
                return None
            if kind == "match" and not client.url.endswith("?"):  # ccxt's mark of the signed (user) connection
                self.handle_trade(client, message)
                return None
        return super().handle_message(client, message)  # type: ignore[misc]

    # -- matches -------------------------------------------------------------------------------

    def handle_trade(self, client: Any, message: Any) -> Any:
        """``{"type": "match", "trade_id": 82047307, "maker_order_id": "0f358725-...", "taker_order_id":
        "252b7002-...", "side": "sell", "size": "0.00513192", "price": "9314.78", "product_id": "BTC-USD",
        "sequence": 12038915443, "time": "2020-01-31T20:03:41.158814Z"}``
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_trade(client, message)  # type: ignore[misc]
        try:
            market_id = string(message.get("product_id"))
            market = market_by_id(self, market_id)
            trade = self._rx_trade(message, market)
        except NOT_NATIVE:
            return super().handle_trade(client, message)  # type: ignore[misc]
        symbol = trade["symbol"]
        stored = self.trades.get(symbol)
        if stored is None:
            stored = ArrayCache(Exchange.safe_integer(self.options, "tradesLimit", 1000))
            self.trades[symbol] = stored
        stored.append(trade)
        client.resolve(stored, "matches:" + market_id)  # type: ignore[operator]
        return message

    def _rx_trade(self, item: dict[str, Any], market: dict[str, Any]) -> dict[str, Any]:
        """``parse_ws_trade`` of a public match: ``parse_trade`` and ``safe_trade``, then the taker's view."""
        for name in _FILL_FIELDS:
            if name in item:
                raise NotNative(name)
        quote_id = market.get("quoteId")
        if type(quote_id) is not str or quote_id.lower() + "_value" in item:
            raise NotNative("a fill's cost")  # parse_trade reads the cost from '<quote>_value'
        timestamp = parse8601(string(item.get("time")) or string(item.get("created_at")))
        raw_side = string(item.get("side"))
        side = "buy"
        if raw_side == "buy":
            side = "sell"
        if (string(item.get("order_id")) is not None
                or (string(item.get("maker_order_id")) is not None and string(item.get("taker_order_id")) is not None)):
            side = "buy" if raw_side == "buy" else "sell"
        price = string(item.get("price"))
        amount = string(item.get("size"))
        quote = market["quote"]
        return {
            "id": string(item.get("trade_id")),
            "order": string(item.get("taker_order_id")),
            "info": item,
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),  # type: ignore[arg-type]
            "symbol": market["symbol"],
            "type": None,
            "takerOrMaker": "taker",
            "side": _INVERTED[side],  # a match's side is the maker's; parse_ws_trade gives the taker's
            "price": number(price),
            "amount": number(amount),
            "fee": {"rate": None, "cost": None, "currency": quote},
            "cost": trade_cost(price, amount, market),
            # safe_trade's fees: the one fee, without a cost, is reduced away (ccxt's default reduceFees)
            "fees": [] if self.reduceFees else [{"cost": None, "currency": quote, "rate": None}],
        }

    # -- tickers ---------------------------------------------------------------------------------

    def handle_ticker(self, client: Any, message: Any) -> Any:
        """``{"type": "ticker", "sequence": 12042642428, "product_id": "BTC-USD", "price": "9380.55",
        "open_24h": "9450.81000000", "volume_24h": "9611.79166047", "low_24h": "9195.49000000",
        "high_24h": "9475.19000000", "volume_30d": "327812.00311873", "best_bid": "9380.54",
        "best_bid_size": "0.10647825", "best_ask": "9380.55", "best_ask_size": "0.03131702", "side": "buy",
        "time": "2020-02-01T01:40:16.253563Z", "trade_id": 82062566, "last_size": "0.41969131"}``
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_ticker(client, message)  # type: ignore[misc]
        try:
            market_id = string(message.get("product_id"))
            market = market_by_id(self, market_id)
            parsed = self._rx_ticker(message, market)
        except NOT_NATIVE:
            return super().handle_ticker(client, message)  # type: ignore[misc]
        symbol = parsed["symbol"]
        self.tickers[symbol] = parsed
        client.rx_fresh = parsed
        client.resolve(parsed, "ticker:" + symbol)
        client.resolve(parsed, "ticker:" + market_id)  # type: ignore[operator]
        return message

    def _rx_ticker(self, item: dict[str, Any], market: dict[str, Any]) -> dict[str, Any]:
        """``parse_ticker`` of a ``ticker`` frame, ``safe_ticker`` included (ccxt passes it no market)."""
        timestamp = parse8601(string(item.get("time")))
        last = string(item.get("price"))
        return ticker(self, {
            "symbol": market["symbol"],
            "timestamp": timestamp,
            "datetime": iso8601(timestamp),  # type: ignore[arg-type]
            "high": string(item.get("high_24h")),
            "low": string(item.get("low_24h")),
            "bid": string(item.get("best_bid")),
            "bidVolume": string(item.get("best_bid_size")),
            "ask": string(item.get("best_ask")),
            "askVolume": string(item.get("best_ask_size")),
            "vwap": None,
            "open": string(item.get("open_24h")),
            "close": last,
            "last": last,
            "previousClose": None,
            "change": None,
            "percentage": None,
            "average": None,
            "baseVolume": string(item.get("volume_24h")),
            "quoteVolume": None,
            "info": item,
        })

    # -- level2 ------------------------------------------------------------------------------

    def handle_order_book(self, client: Any, message: Any) -> Any:
        """``{"type": "snapshot", "product_id": "BTC-USD", "bids": [["10101.10", "0.45054140"]], "asks":
        [["10102.55", "0.57753524"]]}``, then ``{"type": "l2update", "product_id": "BTC-USD",
        "time": "2019-08-14T20:42:27.265Z", "changes": [["buy", "10101.80000000", "0.162567"]]}``
        """
        if not (self.rx_native and self.rx_native_plain):
            return super().handle_order_book(client, message)  # type: ignore[misc]
        try:
            kind = message.get("type")
            market_id = string(message.get("product_id"))
            symbol = market_by_id(self, market_id)["symbol"]
            if kind == "snapshot":
                snapshot = book_snapshot(message.get("bids", []), message.get("asks", []), symbol, None)
            elif kind == "l2update":
                if symbol not in self.orderbooks:
                    raise NotNative("an update before its snapshot")  # ccxt's KeyError, from ccxt
                timestamp = parse8601(string(message.get("time")))
                changes = [_change(change) for change in message.get("changes", [])]
            else:
                raise NotNative(f"type {kind!r}")
        except NOT_NATIVE:
            return super().handle_order_book(client, message)  # type: ignore[misc]
        message_hash = "level2:" + market_id  # type: ignore[operator]
        if kind == "snapshot":
            if symbol not in self.orderbooks:
                subscription = client.subscriptions.get(message_hash)
                limit = Exchange.safe_integer(subscription if isinstance(subscription, dict) else {}, "limit")
                self.orderbooks[symbol] = self.order_book({}, limit)
            orderbook = self.orderbooks[symbol]
            orderbook.reset(snapshot)
            client.resolve(orderbook, message_hash)
        else:
            orderbook = self.orderbooks[symbol]
            for side, level in changes:
                orderbook[side].storeArray(level)  # ccxt's store(price, size)
            orderbook["timestamp"] = timestamp
            orderbook["datetime"] = iso8601(timestamp)  # type: ignore[arg-type]
            client.resolve(orderbook, message_hash)
        return None


def _change(change: Any) -> tuple[str, list[float]]:
    """``["buy", "10101.80000000", "0.162567"]`` -> ``("bids", [10101.8, 0.162567])``."""
    if type(change) is not list:
        raise NotNative(f"change {change!r}")
    return _SIDES[change[0]], [number_field(change[1]), number_field(change[2])]
