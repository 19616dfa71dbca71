"""The shared steps of the native handlers (exchanges/_native_parse.py) against ccxt's own functions.

``safe_ticker``, ``safe_trade``'s cost, ``iso8601`` and ``parse8601`` are ccxt's; the native
steps must give the same value of the same type for every input they accept (an input they
refuse raises one of ``NOT_NATIVE``, and the handler gives the frame to ccxt).
"""

from __future__ import annotations

import math
from typing import Any

import ccxt
import pytest
from ccxt.base.precise import Precise
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rxpro.exchanges import _native_parse as native

TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["0", "0.0", "1", "-1", "100", "1e-8", "1E5", "2.5e3", "0.1", "65114.30", " 1.5", "1.5 ", "abc",
                     "-0.00001", "10.0", "1_000", "+3", ".5", "5."]),
    st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-10 ** 9, max_value=10 ** 9).map(str),
    st.integers(-10 ** 12, 10 ** 12).map(str),
)
TICKER_FIELDS = ("open", "close", "last", "change", "percentage", "average", "vwap", "baseVolume", "quoteVolume",
                 "bid", "bidVolume", "ask", "askVolume", "high", "low", "previousClose", "indexPrice", "markPrice")
#: no market, and markets whose price tick sets the average's precision (ccxt's TICK_SIZE venues)
MARKETS = [None, {"precision": {"price": 0.1}}, {"precision": {"price": 1e-05}}, {"precision": {}}]
EXCHANGES = [ccxt.okx(), ccxt.bybit(), ccxt.coinbaseexchange()]


def strictly(value: Any) -> Any:
    """Equality that tells 1 from 1.0 (and NaN equal to itself)."""
    if isinstance(value, dict):
        return {key: strictly(item) for key, item in value.items()}
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    return (type(value).__name__, value)


@settings(max_examples=3000)
@given(st.fixed_dictionaries({name: TEXTS for name in TICKER_FIELDS}), st.sampled_from(MARKETS),
       st.sampled_from(EXCHANGES))
def test_ticker_is_safe_ticker(fields: dict[str, Any], market: Any, exchange: Any) -> None:
    fields = {name: value or None for name, value in fields.items()}  # the handlers pass no '' (safe_string)
    fields["info"] = {}
    try:
        mine = native.ticker(exchange, dict(fields), market)
    except native.NOT_NATIVE:
        return  # ccxt's parser takes the frame
    assert strictly(mine) == strictly(exchange.safe_ticker(dict(fields), market))
    assert list(mine) == list(exchange.safe_ticker(dict(fields), market)), "the same keys in the same order"


QUOTE_FIELDS = ("bid", "bidVolume", "ask", "askVolume")


@settings(max_examples=2000)
@given(st.fixed_dictionaries({name: TEXTS for name in QUOTE_FIELDS}), st.permutations(QUOTE_FIELDS + ("info",)),
       st.sampled_from(MARKETS), st.sampled_from(EXCHANGES))
def test_quote_ticker_is_safe_ticker(fields: dict[str, Any], order: list[str], market: Any, exchange: Any) -> None:
    # a best bid and ask alone (okx's bid/ask of a tickers or bbo-tbt frame), its keys in any order
    given_fields = {"symbol": "BTC/USDT", "timestamp": 1626526618762, "datetime": "2021-07-17T12:56:58.762Z"}
    given_fields.update((name, {} if name == "info" else fields[name] or None) for name in order)
    mine = native.quote_ticker(dict(given_fields))
    theirs = exchange.safe_ticker(dict(given_fields), market)
    assert strictly(mine) == strictly(theirs)
    assert list(mine) == list(theirs), "the same keys in the same order"


CONTRACTS = st.sampled_from([
    {"contractSize": None}, {"contractSize": 1.0}, {"contractSize": 0.01, "inverse": False},
    {"contractSize": 100.0, "inverse": True}, {"contractSize": 10, "inverse": True}, {"contractSize": "0.1"},
    {"contractSize": 1e-05}, {"contractSize": "1E-3"}, {"contractSize": 0.001, "inverse": False},
])


@settings(max_examples=3000)
@given(TEXTS, TEXTS, CONTRACTS)
def test_trade_cost_is_safe_trades(price: str | None, amount: str | None, market: dict[str, Any]) -> None:
    price = price or None
    amount = amount or None
    try:
        mine = native.trade_cost(price, amount, market)
    except native.NOT_NATIVE:
        return
    reference = ccxt.okx().safe_trade({"price": price, "amount": amount, "cost": None, "fee": None}, market)
    assert strictly(mine) == strictly(reference["cost"])


@settings(max_examples=3000)
@given(TEXTS.filter(lambda t: t is not None), TEXTS.filter(lambda t: t is not None),
       TEXTS.filter(lambda t: t is not None))
def test_product3_is_two_precise_string_muls_as_a_float(a: str, b: str, c: str) -> None:
    # a linear contract's cost (price × contract size × amount) against ccxt's own Precise, failing alike
    try:
        reference: Any = float(Precise.string_mul(Precise.string_mul(a, b), c))
    except Exception as error:  # noqa: BLE001 - whatever Precise raises, product3 raises too
        with pytest.raises(type(error)):
            native.product3(a, b, c)
        return
    assert strictly(native.product3(a, b, c)) == strictly(reference)


@settings(max_examples=3000)
@given(TEXTS, TEXTS)
def test_product_is_precise_string_mul_as_a_float(a: str, b: str) -> None:
    # the one-call spot cost against ccxt's own Precise, both failing alike on what isn't a number
    try:
        reference: Any = float(Precise.string_mul(a, b))
    except Exception as error:  # noqa: BLE001 - whatever Precise raises, product raises too
        with pytest.raises(type(error)):
            native.product(a, b)
        return
    assert strictly(native.product(a, b)) == strictly(reference)


def test_trade_cost_rounds_as_precise_does() -> None:
    # 0.1 * 3 is 0.30000000000000004 in binary floats; ccxt multiplies decimals, then rounds once
    assert native.trade_cost("0.1", "3", {"contractSize": None}) == 0.3
    # an inverse contract: 1/price truncated at 18 decimals first (not 7 * 100 / 30000 = 0.023333333333333334)
    assert native.trade_cost("30000", "7", {"contractSize": 100.0, "inverse": True}) == 0.0233333333333331


@settings(max_examples=3000)
@given(st.integers(-10, 2 ** 63))
def test_iso8601_is_ccxts(timestamp: int) -> None:
    assert native.iso8601(timestamp) == ccxt.Exchange.iso8601(timestamp)


@pytest.mark.parametrize("timestamp", [None, True, 1.5, "1652459225464", -1, 253_402_300_800_000])
def test_iso8601_of_odd_values_is_ccxts(timestamp: Any) -> None:
    assert native.iso8601(timestamp) == ccxt.Exchange.iso8601(timestamp)


@settings(max_examples=3000)
@given(st.integers(0, 253_402_300_799_999), st.integers(0, 999_999), st.integers(1, 9),
       st.sampled_from(["Z", "", "+01:00", "z", "-0530"]))
def test_parse8601_is_ccxts(timestamp: int, fraction: int, digits: int, zone: str) -> None:
    text = ccxt.Exchange.iso8601(timestamp)[:19] + "." + str(fraction).zfill(6)[:digits] + zone
    assert native.parse8601(text) == ccxt.Exchange.parse8601(text)


@pytest.mark.parametrize("text", ["2021-02-30T00:00:00.123Z", "2021-04-17T16:43:37.089723Z", "2021-04-17 16:43:37.08Z",
                                  "20210417T164337.1Z", "2021-04-17T16:43:37Z", "x2021-04-17T16:43:37.5Z", "",
                                  "2021-04-17T16:43:37.0８Z"])
def test_parse8601_of_odd_texts_is_ccxts(text: str) -> None:
    assert native.parse8601(text) == ccxt.Exchange.parse8601(text)


def test_milliseconds_refuse_what_ccxt_would_round() -> None:
    assert native.milliseconds("1652459225464") == 1652459225464
    for odd in ("1.5", 2 ** 60, True, None, "x"):
        with pytest.raises(native.NOT_NATIVE):
            native.milliseconds(odd)


def test_market_by_id_finds_only_what_safe_market_finds() -> None:
    exchange = ccxt.bybit()
    spot = {"id": "BTCUSDT", "symbol": "BTC/USDT", "spot": True, "contract": False, "swap": False}
    linear = {"id": "BTCUSDT", "symbol": "BTC/USDT:USDT", "spot": False, "contract": True, "swap": True}
    exchange.markets_by_id = {"BTCUSDT": [spot, linear], "ETHUSDT": [spot | {"id": "ETHUSDT"}]}
    assert native.market_by_id(exchange, "BTCUSDT", "contract") is linear
    assert native.market_by_id(exchange, "BTCUSDT", "spot") is spot
    assert native.market_by_id(exchange, "ETHUSDT")["id"] == "ETHUSDT"
    for market_id, market_type in (("BTCUSDT", None), ("NOPE", "spot"), (None, None), ("BTCUSDT", "option")):
        with pytest.raises(native.NOT_NATIVE):
            native.market_by_id(exchange, market_id, market_type)


@settings(max_examples=5000)
@given(st.one_of(st.integers(), st.integers(-(10 ** 400), 10 ** 400), st.integers(-(2 ** 60), 2 ** 60)),
       st.integers(-400, 400))
@example(2 ** 53 + 1, 0)  # halfway between two floats: to even
@example(2 ** 53 + 3, 0)
@example(90071992547409930000001, 7)  # just past halfway, 2**53 + 1 with more digits
@example(5, 324)  # the smallest subnormal's half: to zero
@example(-1, 400)  # -0.0
@example(10 ** 309, 0)  # inf
def test_exact_float_is_the_float_of_the_decimal_text(integer: int, decimals: int) -> None:
    # int / int against float() of the decimal text, both correctly rounded: equal, and inf where the text overflows
    assert strictly(native.exact_float(integer, decimals)) == strictly(float(f"{integer}e{-decimals}"))
