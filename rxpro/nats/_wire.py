"""One value as one JetStream message: the JSON body, rxpro's headers and the de-duplication id.

Body: the ccxt unified structure exactly as the subscriber saw it (``info``
included), as JSON by orjson; reading it back gives ``==`` values (floats
round-trip exactly, ints stay ints; tuples come back as lists; NaN would come
back as ``None``, which ccxt never emits).

Headers: ``Rxpro-Exchange``, ``Rxpro-Channel``, ``Rxpro-Symbol`` (the ccxt symbol
itself) and ``Nats-Msg-Id``, made from the value so that two publishers of the
same feed give the same id and JetStream stores one copy:

=============  =====================================================
channel        Nats-Msg-Id = ``<subject>:<key>``, key
=============  =====================================================
trades         the trade ``id`` (a content hash when it has none)
orderbook      ``n<nonce>`` (a content hash when it has none)
ohlcv          ``<candle start>:<content hash>`` (start + version)
anything else  a content hash of the body (tickers, ...)
=============  =====================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ._errors import InvalidSubject, NotRxproMessage

__all__ = [
    "CHANNEL_HEADER",
    "EXCHANGE_HEADER",
    "MSG_ID_HEADER",
    "SYMBOL_HEADER",
    "channel_of",
    "decode_body",
    "encode_body",
    "message_key",
    "symbol_of",
]

EXCHANGE_HEADER = "Rxpro-Exchange"
CHANNEL_HEADER = "Rxpro-Channel"
SYMBOL_HEADER = "Rxpro-Symbol"
MSG_ID_HEADER = "Nats-Msg-Id"


def encode_body(value: Any) -> bytes:
    """The JSON body of ``value`` (orjson; ``str()`` for what JSON has no type for, e.g. Decimal)."""
    return orjson.dumps(value, default=str)


def decode_body(data: bytes, where: str) -> Any:
    """The value of a body; :class:`NotRxproMessage` naming ``where`` when it isn't JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        excerpt = bytes(data[:40])
        raise NotRxproMessage(f"{where} is not an rxpro message: its body is not JSON ({error}; starts {excerpt!r})") from None


def _digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def channel_of(value: Any) -> str:
    """The channel a ccxt structure belongs to, by its shape: trades, orderbook, ohlcv or ticker."""
    if isinstance(value, Mapping):
        if "bids" in value and "asks" in value:
            return "orderbook"
        if "side" in value and "price" in value and "amount" in value:
            return "trades"
        if "last" in value or ("bid" in value and "ask" in value):
            return "ticker"
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) >= 6:
        return "ohlcv"
    raise InvalidSubject(
        f"can't tell the channel of a {type(value).__name__} value ({str(value)[:60]}): pass channel= or subject="
    )


def symbol_of(value: Any) -> str | None:
    """The ``symbol`` of a ccxt dict, ``None`` for what has none (OHLCV rows)."""
    if isinstance(value, Mapping):
        symbol = value.get("symbol")
        return symbol if isinstance(symbol, str) and symbol else None
    return None


def message_key(kind: str, value: Any, body: bytes) -> str:
    """The value's own identity within its subject (see the module table); ``kind`` is the channel sans suffix."""
    if kind == "trades":
        trade_id = value.get("id") if isinstance(value, Mapping) else None
        if trade_id is not None:
            return str(trade_id)
    elif kind == "orderbook":
        nonce = value.get("nonce") if isinstance(value, Mapping) else None
        if nonce is not None:
            return f"n{nonce}"
    elif kind == "ohlcv" and isinstance(value, Sequence) and value:
        return f"{value[0]}:{_digest(body)}"
    return _digest(body)
