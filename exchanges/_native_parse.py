"""ccxt's generic parsing steps, rewritten for the native handlers: the same results for less work.

ccxt's venue parsers pass every field through ``safe_string``/``safe_number``, compute trade
costs and ticker statistics with ``Precise`` (decimal strings), format times with
``iso8601`` and read them with ``parse8601``.  The functions here give the *identical*
results — value and type — for what the native handlers pass them, at a fraction of the cost:

* :func:`decimal` and the arithmetic on ``(integer, decimals)`` pairs follow
  ``ccxt.base.precise.Precise`` step by step: its parsing (``int()`` on the digits, the
  exponent), its truncating division at 18 decimals, and the reduced form its ``str()``
  gives back between two steps; :func:`to_float` is ``float(str(Precise))`` (both are
  the correctly rounded float of the same decimal);
* :func:`number` and :func:`omit_zero` are ``parse_number`` and ``omit_zero`` on a string;
* :func:`ticker` is ``Exchange.safe_ticker`` (:func:`quote_ticker` for a best bid and ask alone); :func:`trade_cost` is ``safe_trade``'s cost;
* :func:`iso8601` keeps the text of recent seconds; :func:`parse8601` the milliseconds of
  recent ``YYYY-MM-DDTHH:MM:SS`` prefixes; anything else goes to ccxt's own function;
* :func:`market_by_id` is the part of ``safe_market`` that finds a loaded market by its id.

A function that meets input it does not handle raises :class:`NotNative` (or the
``ValueError``/``TypeError``/``KeyError``/``IndexError`` Python gives): the venue's native
handler then gives the frame to ccxt's handler (:data:`NOT_NATIVE` lists what it catches).
Venue facts — field names, channels, message hashes — are not here: they are the venue's
native module's (``_okx_native.py``, ``_coinbase_native.py``, ``_bybit_native.py``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from ccxt.base.decimal_to_precision import TICK_SIZE
from ccxt.base.exchange import Exchange

__all__ = ["NOT_NATIVE", "NotNative", "Pair", "add", "bid_ask", "book_snapshot", "decimal", "div", "exact_float", "iso8601", "market_by_id", "milliseconds", "mul",
           "nonzero_number", "number", "number_field", "optional_milliseconds", "omit_zero", "overridden", "parse8601", "product", "product3", "quote_ticker", "store_levels", "string", "sub", "ticker", "to_float", "to_text",
           "trade_cost"]


class NotNative(Exception):
    """A frame (or a value in it) the native handler does not take: ccxt's handler gets it."""


#: what a native handler catches to give a frame to ccxt's handler
NOT_NATIVE = (NotNative, KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError)

#: a decimal as ``Precise`` holds it: ``integer * 10 ** -decimals``
Pair = tuple[int, int]


def overridden(cls: type, native_class: type, ccxt_class: type, names: Iterable[str]) -> frozenset[str]:
    """Which of ccxt's methods ``names`` resolve on ``cls`` to neither ccxt's nor the native one (a user's)."""
    return frozenset(
        name for name in names
        if getattr(cls, name, None) is not getattr(ccxt_class, name, None)
        and getattr(cls, name, None) is not native_class.__dict__.get(name, _ABSENT)
    )


_ABSENT = object()


# -- strings and numbers ---------------------------------------------------------------------


def string(value: Any) -> str | None:
    """``safe_string`` of a field's value: a non-empty string as is, an int or float as text, else None."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is float or kind is int:
        return str(value)
    return None


def number_field(value: Any) -> float:
    """``safe_number`` of a field that must hold a number; raises where ccxt would give None."""
    kind = type(value)
    if kind is str or kind is float or kind is int:
        return float(value)  # a bad string raises ValueError (ccxt: None) and the frame goes to ccxt
    raise NotNative(f"a number was expected, not {value!r}")


def number(text: str | None) -> float | None:
    """``parse_number(text)`` with ccxt's ``number = float``: None for None and for what float() refuses."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def omit_zero(text: str | None) -> str | None:
    """``omit_zero`` of a string: None for None, ``''`` and zeros; text float() refuses is kept."""
    if not text:
        return None
    try:
        if float(text) == 0:
            return None
    except ValueError:
        pass
    return text


# -- Precise, on (integer, decimals) pairs ---------------------------------------------------


def decimal(text: str) -> Pair:
    """``Precise(text)``: the same ``int()`` on the same digits, the same exponent handling."""
    modifier = 0
    if "e" in text or "E" in text:
        text = text.lower()
        text, exponent = text.split("e")
        modifier = int(exponent)
    point = text.find(".")
    if point > -1:
        return int(text.replace(".", "")), len(text) - point - 1 - modifier
    return int(text), -modifier


def _reduced(integer: int, decimals: int) -> Pair:
    """``Precise(str(Precise(integer, decimals)))``: what the next step of a ccxt calculation reads."""
    if integer == 0:
        return 0, 0
    digits = str(integer)
    stripped = digits.rstrip("0")
    if len(stripped) != len(digits):
        decimals -= len(digits) - len(stripped)
        integer = int(stripped)
    if decimals < 0:
        return integer * 10 ** -decimals, 0
    return integer, decimals


def to_float(value: Pair) -> float:
    """``float(str(Precise))``: the correctly rounded float of the decimal."""
    return exact_float(value[0], value[1])


#: the powers of ten an exact quotient divides by (past them: the decimal text is parsed)
_POW10 = tuple(10 ** i for i in range(64))


def exact_float(integer: int, decimals: int) -> float:
    """``float(f"{integer}e{-decimals}")``: the correctly rounded float of ``integer`` × 10^-``decimals``.

    Python's ``int / int`` is correctly rounded (round half to even), as ``float()`` of the
    decimal text is, and skips formatting and parsing the digits.  A quotient too large
    for a float (``float()`` gives inf) and exponents past the table take the text's way.
    """
    if 0 <= decimals < 64:
        try:
            return integer / _POW10[decimals]
        except OverflowError:
            pass
    return float(f"{integer}e{-decimals}")


def to_text(value: Pair) -> str:
    """``str(Precise)``: the reduced decimal text ccxt hands to the next step (``'12.5'``, ``'-0.001'``)."""
    integer, decimals = value
    digits = str(integer)
    if digits == "0":
        return "0"
    stripped = digits.rstrip("0")
    decimals -= len(digits) - len(stripped)
    sign = ""
    if stripped[0] == "-":
        sign = "-"
        stripped = stripped[1:]
    if decimals <= 0:
        return sign + stripped + "0" * -decimals
    length = len(stripped)
    if length > decimals:
        return sign + stripped[:length - decimals] + "." + stripped[length - decimals:]
    return sign + "0." + "0" * (decimals - length) + stripped


def mul(a: Pair, b: Pair) -> Pair:
    """``Precise.string_mul``."""
    return _reduced(a[0] * b[0], a[1] + b[1])


def add(a: Pair, b: Pair) -> Pair:
    """``Precise.string_add``."""
    return _reduced(*_sum(a, b))


def _sum(a: Pair, b: Pair) -> Pair:
    """``a + b`` exactly, not reduced: the same value as :func:`add`, for a step that reads only the value."""
    if a[1] == b[1]:
        return a[0] + b[0], a[1]
    if a[1] > b[1]:
        return a[0] + b[0] * 10 ** (a[1] - b[1]), a[1]
    return a[0] * 10 ** (b[1] - a[1]) + b[0], b[1]


def sub(a: Pair, b: Pair) -> Pair:
    """``Precise.string_sub``."""
    return add(a, (-b[0], b[1]))


def div(a: Pair, b: Pair, precision: int = 18) -> Pair | None:
    """``Precise.string_div``: truncated at ``precision`` decimals; None when dividing by zero."""
    quotient = _quotient(a, b, precision)
    return None if quotient is None else _reduced(*quotient)


def _quotient(a: Pair, b: Pair, precision: int = 18) -> Pair | None:
    """:func:`div` not reduced.

    The dividend's trailing zeros don't change the quotient: ``Precise`` scales it to
    ``precision`` decimals first, and ``a·10^k`` scaled (or floored) by ``10^(d-k)`` is ``a``
    scaled by ``10^d``.  The divisor is read as given (as ``Precise`` reads its text).
    """
    if b[0] == 0:
        return None
    distance = precision - a[1] + b[1]
    if distance == 0:
        numerator = a[0]
    elif distance < 0:
        numerator = a[0] // 10 ** -distance
    else:
        numerator = a[0] * 10 ** distance
    result, rest = divmod(numerator, b[0])
    if result < 0 and rest:
        result += 1  # Precise truncates towards zero
    return result, precision


def product(a: str, b: str) -> float:
    """``to_float(mul(decimal(a), decimal(b)))`` in one call: the spot trade's cost, the hot case.

    The exact product's digits and decimals, not reduced (reducing does not change the value,
    and ``float`` of the decimal text is correctly rounded either way); texts with an exponent
    go the long way.
    """
    if "e" in a or "E" in a or "e" in b or "E" in b:
        return to_float(mul(decimal(a), decimal(b)))
    point_a = a.find(".")
    point_b = b.find(".")
    decimals = 0
    if point_a > -1:
        decimals = len(a) - point_a - 1
        a = a.replace(".", "")
    if point_b > -1:
        decimals += len(b) - point_b - 1
        b = b.replace(".", "")
    return exact_float(int(a) * int(b), decimals)


def product3(a: str, b: str, c: str) -> float:
    """``to_float(mul(mul(decimal(a), decimal(b)), decimal(c)))`` in one call: a linear contract's cost.

    Price × contract size × amount: ``Precise`` multiplies exactly (its reductions drop
    trailing zeros only), so the float of the exact product of the three is ccxt's.
    """
    if "e" in a or "E" in a or "e" in b or "E" in b or "e" in c or "E" in c:
        return to_float(mul(mul(decimal(a), decimal(b)), decimal(c)))
    integer = 1
    decimals = 0
    for text in (a, b, c):
        point = text.find(".")
        if point > -1:
            decimals += len(text) - point - 1
            text = text.replace(".", "")
        integer *= int(text)
    return exact_float(integer, decimals)


def trade_cost(price: str | None, amount: str | None, market: dict[str, Any]) -> float | None:
    """``safe_trade``'s cost of a trade without one: price × amount (× contract size; 1/price if inverse).

    The steps (and so what raises) in ccxt's order: a missing price or amount gives None.
    """
    if price is None:
        return None
    size = market.get("contractSize")
    if size is None:
        return None if amount is None else product(price, amount)
    if type(size) is float or type(size) is int:
        size_text = str(size)
    elif type(size) is str and size:
        size_text = size
    else:
        raise NotNative(f"contract size {size!r}")
    if market.get("inverse") is True:
        inverse = div((1, 0), decimal(price))
        if inverse is None:
            return None
        multiplier = mul(inverse, decimal(size_text))
    elif amount is not None:
        return product3(price, size_text, amount)  # the hot case (linear contracts), in one call
    else:
        multiplier = mul(decimal(price), decimal(size_text))  # ccxt reads them (a bad one raises) before amount
    return None if amount is None else to_float(mul(multiplier, decimal(amount)))


def milliseconds(value: Any) -> int:
    """``safe_integer`` of a time in milliseconds sent as digits (``"1626531038288"``) or a JSON integer."""
    if type(value) is str or type(value) is int:
        integer = int(value)
        if -_EXACT < integer < _EXACT:  # where int(float(value)), ccxt's way, is exact too
            return integer
    raise NotNative(f"a time in milliseconds was expected, not {value!r}")


def optional_milliseconds(value: Any) -> int | None:
    """:func:`milliseconds`, or None for None (ccxt's ``safe_integer`` of a missing field)."""
    return None if value is None else milliseconds(value)


#: integers below this are exact as floats
_EXACT = 2 ** 53


# -- safe_ticker ---------------------------------------------------------------------------------

_Value = str | Pair | None  # a field as given (a string) or as calculated (a pair)


def _pair(value: str | Pair) -> Pair:
    return decimal(value) if type(value) is str else value  # type: ignore[arg-type,return-value]


def _omit_zero(value: _Value) -> _Value:
    if type(value) is tuple:
        return None if value[0] == 0 else value
    return omit_zero(value)  # type: ignore[arg-type]


def _number(value: _Value) -> float | None:
    if type(value) is tuple:
        return to_float(value)  # type: ignore[arg-type]
    return number(value)  # type: ignore[arg-type]


_PRECISION_DIGITS: dict[str, int] = {}


def _average_precision(exchange: Any, market: dict[str, Any] | None) -> int:
    if market is None or exchange.precisionMode != TICK_SIZE:
        return 18
    precision = market.get("precision")
    tick = Exchange.safe_string(precision, "price") if isinstance(precision, dict) else None
    if tick is None:
        return 18
    digits = _PRECISION_DIGITS.get(tick)
    if digits is None:
        if len(_PRECISION_DIGITS) > 1024:
            _PRECISION_DIGITS.clear()
        digits = _PRECISION_DIGITS[tick] = exchange.precision_from_string(tick)
    return digits


def _add(a: _Value, b: _Value) -> Pair | None:
    return None if a is None or b is None else add(_pair(a), _pair(b))


def _sub(a: _Value, b: _Value) -> Pair | None:
    return None if a is None or b is None else sub(_pair(a), _pair(b))


def _mul(a: _Value, b: _Value) -> Pair | None:
    return None if a is None or b is None else mul(_pair(a), _pair(b))


def _div(a: _Value, b: _Value, precision: int = 18) -> Pair | None:
    return None if a is None or b is None else div(_pair(a), _pair(b), precision)


_ONE, _TWO, _HUNDRED = (1, 0), (2, 0), (100, 0)


def nonzero_number(text: str | None) -> float | None:
    """``parse_number(omit_zero(text))``."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None  # omit_zero keeps it, parse_number refuses it
    return None if value == 0 else value


def ticker(exchange: Any, fields: dict[str, Any], market: dict[str, Any] | None = None) -> dict[str, Any]:
    """``exchange.safe_ticker(fields, market)`` for ``fields`` whose numbers are strings or None.

    The same steps in the same order: open/close/change/percentage/average/vwap derived
    from one another with ``Precise`` where missing, zeros omitted where ccxt omits them.
    """
    get = fields.get
    open_: _Value = omit_zero(get("open"))
    close: _Value = omit_zero(get("close") or get("last"))
    change: _Value = get("change")
    percentage: _Value = omit_zero(get("percentage"))
    average: _Value = omit_zero(get("average"))
    vwap: _Value = get("vwap")
    base_volume = get("baseVolume")
    quote_volume = get("quoteVolume")
    if vwap is None and base_volume is not None:
        quote = omit_zero(quote_volume)
        if quote is not None:
            vwap = _quotient(decimal(quote), decimal(base_volume))
    if change is None and average is None and open_ is not None and close is not None:
        # what venues send (an open and a last): safe_ticker's steps for it, each decimal read once.
        # The results are read only as floats or as dividends: exact values, not reduced (ccxt's
        # texts of them are the reduced decimals of the same values)
        opened = decimal(open_)  # type: ignore[arg-type]
        closed = decimal(close)  # type: ignore[arg-type]
        change = _sum(closed, (-opened[0], opened[1]))
        if percentage is None:
            ratio = _quotient(change, opened)
            percentage = None if ratio is None else (ratio[0] * 100, ratio[1])
        average = _quotient(_sum(opened, closed), _TWO, _average_precision(exchange, market))
    elif change is not None or percentage is not None or average is not None:
        open_, close, change, percentage, average = _derived(exchange, market, open_, close, change, percentage,
                                                             average)
    result = dict(fields)
    try:
        result.update(_statistics(get, open_, close, change, percentage, average, vwap, base_volume, quote_volume))
    except ValueError:  # a field float() refuses: each one the careful way (ccxt gives None for it)
        result.update(_careful_statistics(get, open_, close, change, percentage, average, vwap, base_volume,
                                          quote_volume))
    return result


def _statistics(get: Any, open_: _Value, close: _Value, change: _Value, percentage: _Value, average: _Value,
                vwap: _Value, base_volume: str | None, quote_volume: str | None) -> dict[str, Any]:
    """The numbers of :func:`ticker`, inline: raises ValueError where a text is no number.

    ``(float(t) or None) if t else None`` is ``nonzero_number(t)`` and ``float(t) if t is not
    None else None`` is ``number(t)`` where ``t`` reads as a number (a zero, ``-0`` included,
    is falsy as a float); a calculated value (a pair) is ``to_float`` of it.
    """
    bid, ask, high, low = get("bid"), get("ask"), get("high"), get("low")
    bid_volume, ask_volume = get("bidVolume"), get("askVolume")
    previous, index, mark = get("previousClose"), get("indexPrice"), get("markPrice")
    close_number = _nonzero_float(close)
    open_number = _nonzero_float(open_)
    return {
        "bid": (float(bid) or None) if bid else None,
        "bidVolume": float(bid_volume) if bid_volume is not None else None,
        "ask": (float(ask) or None) if ask else None,
        "askVolume": float(ask_volume) if ask_volume is not None else None,
        "high": (float(high) or None) if high else None,
        "low": (float(low) or None) if low else None,
        "open": open_number,
        "close": close_number,
        "last": close_number,
        "change": _number(change),
        "percentage": _number(percentage),
        "average": _number(average),
        "vwap": _number(vwap),
        "baseVolume": float(base_volume) if base_volume is not None else None,
        "quoteVolume": float(quote_volume) if quote_volume is not None else None,
        "previousClose": float(previous) if previous is not None else None,
        "indexPrice": float(index) if index is not None else None,
        "markPrice": float(mark) if mark is not None else None,
    }


def _nonzero_float(value: _Value) -> float | None:
    """``_number(_omit_zero(value))`` where a text reads as a number (else ValueError)."""
    if type(value) is tuple:
        return None if value[0] == 0 else exact_float(value[0], value[1])  # type: ignore[index]
    return (float(value) or None) if value else None  # type: ignore[arg-type]


def _careful_statistics(get: Any, open_: _Value, close: _Value, change: _Value, percentage: _Value,
                        average: _Value, vwap: _Value, base_volume: str | None,
                        quote_volume: str | None) -> dict[str, Any]:
    """The numbers of :func:`ticker`, each field on its own (a text float() refuses gives None)."""
    close_number = _number(_omit_zero(close))
    return {
        "bid": nonzero_number(get("bid")),
        "bidVolume": number(get("bidVolume")),
        "ask": nonzero_number(get("ask")),
        "askVolume": number(get("askVolume")),
        "high": nonzero_number(get("high")),
        "low": nonzero_number(get("low")),
        "open": _number(_omit_zero(open_)),
        "close": close_number,
        "last": close_number,
        "change": _number(change),
        "percentage": _number(percentage),
        "average": _number(average),
        "vwap": _number(vwap),
        "baseVolume": number(base_volume),
        "quoteVolume": number(quote_volume),
        "previousClose": number(get("previousClose")),
        "indexPrice": number(get("indexPrice")),
        "markPrice": number(get("markPrice")),
    }


#: what ``safe_ticker`` gives a structure that has no statistics (only a best bid and ask)
_NO_STATISTICS: dict[str, None] = dict.fromkeys((
    "high", "low", "open", "close", "last", "change", "percentage", "average", "vwap", "baseVolume", "quoteVolume",
    "previousClose", "indexPrice", "markPrice"))


def quote_ticker(fields: dict[str, Any]) -> dict[str, Any]:
    """:func:`ticker` of a best bid and ask alone: ``fields`` holds no statistic (open, close, volumes...).

    The same dict, keys in the same order, without safe_ticker's derivations (nothing to derive
    them from): ``{"symbol", "timestamp", "datetime", "bid", "bidVolume", "ask", "askVolume",
    "info"}`` in the venue's order, the rest None.
    """
    get = fields.get
    result = dict(fields)
    # ticker()'s first four entries, written again on purpose: ticker() calling this one costs
    # it ~0.5 µs (5 %, timeit); both are held to ccxt's safe_ticker by tests/exchanges/test_native_parse.py
    result.update({
        "bid": nonzero_number(get("bid")),
        "bidVolume": number(get("bidVolume")),
        "ask": nonzero_number(get("ask")),
        "askVolume": number(get("askVolume")),
    })
    result.update(_NO_STATISTICS)
    return result


def _derived(exchange: Any, market: dict[str, Any] | None, open_: _Value, close: _Value, change: _Value,
             percentage: _Value, average: _Value) -> tuple[_Value, _Value, _Value, _Value, _Value]:
    """safe_ticker's derivations, every branch: (open, close, change, percentage, average)."""
    if change is not None:
        if close is None and average is not None:
            close = _add(average, _div(change, _TWO))
        if open_ is None and close is not None:
            open_ = _sub(close, change)
    elif percentage is not None:
        if close is None and average is not None:
            open_and_close = _mul(average, _TWO)
            denominator = _add(_TWO, _div(percentage, _HUNDRED))
            opened = open_ if open_ is not None else _div(open_and_close, denominator)
            close = _mul(opened, _add(_ONE, _div(percentage, _HUNDRED)))
        if open_ is None and close is not None:
            open_ = _div(close, _add(_ONE, _div(percentage, _HUNDRED)))
    if change is None:
        if close is not None and open_ is not None:
            change = _sub(close, open_)
        elif close is not None and percentage is not None:
            change = _mul(_div(percentage, _HUNDRED), _div(close, _HUNDRED))
        elif open_ is not None and percentage is not None:
            change = _mul(open_, _div(percentage, _HUNDRED))
    if open_ is not None:
        if percentage is None and change is not None:
            percentage = _mul(_div(change, open_), _HUNDRED)
        if close is None and change is not None:
            close = _add(open_, change)
        if close is None and average is not None:
            close = _sub(_mul(average, _TWO), open_)
        if average is None and close is not None:
            average = _div(_add(open_, close), _TWO, _average_precision(exchange, market))
    return open_, close, change, percentage, average


# -- times -------------------------------------------------------------------------------------

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
#: the last millisecond ccxt's iso8601 formats (after it, datetime overflows and ccxt gives None)
_LAST_MS = 253_402_300_799_999
_SECOND_TEXT: dict[int, str] = {}
_PREFIX_MS: dict[str, int | None] = {}
_CACHED = 4096
#: ``.000Z`` … ``.999Z``: the end of an ISO 8601 text by its milliseconds
_MILLIS_TEXT = tuple(f".{millis:03d}Z" for millis in range(1000))


def iso8601(timestamp: int) -> str | None:
    """``Exchange.iso8601(timestamp)``: ``2022-05-13T16:27:05.464Z``."""
    if type(timestamp) is not int or not 0 <= timestamp <= _LAST_MS:
        return Exchange.iso8601(timestamp)  # type: ignore[no-any-return]
    seconds, millis = divmod(timestamp, 1000)
    text = _SECOND_TEXT.get(seconds)
    if text is None:
        if len(_SECOND_TEXT) >= _CACHED:
            _SECOND_TEXT.clear()
        utc = _EPOCH + datetime.timedelta(seconds=seconds)
        text = _SECOND_TEXT[seconds] = (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
                                        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}")
    return text + _MILLIS_TEXT[millis]


def parse8601(text: str | None) -> int | None:
    """``Exchange.parse8601(text)`` for ``2021-04-17T16:43:37.089723Z``; other shapes go to ccxt's."""
    if type(text) is str and len(text) > 21 and text[19] == "." and text[-1] == "Z":
        fraction = text[20:-1]
        if fraction.isdigit() and fraction.isascii():
            prefix = text[:19]
            base = _PREFIX_MS.get(prefix, -1)
            if base == -1:
                if len(_PREFIX_MS) >= _CACHED:
                    _PREFIX_MS.clear()
                match = Exchange._PARSE8601_ISO8601_PATTERN.fullmatch(prefix)
                # only the canonical digits-and-separators prefix is cached; the rest is ccxt's
                base = _PREFIX_MS[prefix] = (Exchange.parse8601(prefix)
                                             if match is not None and prefix[4] == "-" and prefix[10] == "T"
                                             else -2)
            if base is None:
                return None  # an impossible date: ccxt's datetime() refuses it too
            if base >= 0:
                return base + int((fraction + "00")[:3])
    return Exchange.parse8601(text)  # type: ignore[no-any-return]


# -- order books -------------------------------------------------------------------------------------

_by_price = itemgetter(0)


def bid_ask(level: Any) -> list[Any]:
    """``parse_order_book_bid_ask(level)``: ``[price, size]``, and the third column as an int if it reads as one.

    A new list each time: ``storeArray`` keeps the list it is given.
    """
    row: list[Any] = [float(level[0]), float(level[1])]  # safe_float's own float(); a bad one raises here
    if len(level) > 2:
        try:
            row.append(int(float(level[2])))
        except Exception:  # noqa: BLE001 - safe_integer's catch-all: the column is left out
            pass
    return row


def store_levels(side: Any, levels: Any) -> None:
    """``side.storeArray(level)`` for each level in turn, as ccxt's delta handlers do.

    A side rxpro shares between book snapshots takes them all in one call (``rx_store_all``,
    the same steps); any other side (ccxt's own, counted, indexed) gets its ``storeArray``.
    """
    store_all = getattr(side, "rx_store_all", None)
    if store_all is not None:
        store_all(levels)
        return
    store = side.storeArray
    for level in levels:
        store(level)


def book_snapshot(bids: Any, asks: Any, symbol: str, timestamp: int | None) -> dict[str, Any]:
    """``parse_order_book`` of two lists of levels: what ccxt's ``OrderBook.reset`` is given."""
    if type(bids) is not list or type(asks) is not list:
        raise NotNative("book sides")
    return {
        "symbol": symbol,
        "bids": sorted(map(bid_ask, bids), key=_by_price, reverse=True),
        "asks": sorted(map(bid_ask, asks), key=_by_price),
        "timestamp": timestamp,
        "nonce": None,
    }


# -- markets -------------------------------------------------------------------------------------


def market_by_id(exchange: Any, market_id: Any, market_type: str | None = None) -> dict[str, Any]:
    """The loaded market ``safe_market(market_id, None, None, market_type)`` finds by its id.

    Raises :class:`NotNative` where ccxt would build a placeholder market (an unknown id) or
    refuse (an id of several markets and no type to choose by).
    """
    by_id = exchange.markets_by_id
    markets = by_id.get(market_id) if by_id is not None and type(market_id) is str else None
    if not markets:
        raise NotNative(f"no loaded market has the id {market_id!r}")
    if len(markets) == 1:
        return markets[0]  # type: ignore[no-any-return]
    if market_type is not None:
        for market in markets:
            if market[market_type] is True:
                return market  # type: ignore[no-any-return]
    raise NotNative(f"the id {market_id!r} is several markets")
