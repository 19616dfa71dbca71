"""Subjects: the default scheme ``<prefix>.<exchange>.<channel>.<symbol>`` and its reversible symbol token.

A NATS subject is dot-separated tokens; a token may not be empty or hold
whitespace, and ``*`` / ``>`` are wildcards. A ccxt symbol carries ``/``, ``:``,
``-``, sometimes ``.`` or ``_``; so the symbol becomes one token by this
encoding, which keeps the common symbols readable and every symbol reversible:

==============  =========  =====================================================
symbol char     token      example
==============  =========  =====================================================
``/``           ``_``      ``BTC/USDT`` -> ``BTC_USDT``
``:``           ``~``      ``BTC/USDT:USDT`` -> ``BTC_USDT~USDT``
A-Z a-z 0-9 -   itself     ``BTC/USD:BTC-220527`` -> ``BTC_USD~BTC-220527``
anything else   ``%XX``    UTF-8 bytes in hex: ``_`` -> ``%5F``, ``.`` -> ``%2E``,
                           ``~`` -> ``%7E``, ``%`` -> ``%25``, ``é`` -> ``%C3%A9``
==============  =========  =====================================================

``decode_symbol(encode_symbol(s)) == s`` for every string ``s``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ._errors import InvalidSubject

__all__ = [
    "DEFAULT_PREFIX",
    "STATUS_PREFIX",
    "SubjectParts",
    "check_subject",
    "decode_symbol",
    "encode_symbol",
    "parse_subject",
    "status_subject",
    "subject_for",
]

DEFAULT_PREFIX = "rxpro"
#: where publishers say they are alive, and how they ended: ``_rxpro_status.<data subject>``, plain
#: NATS (no JetStream stream stores it: ``rxpro.>`` doesn't match it)
STATUS_PREFIX = "_rxpro_status"

_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_NAMED = {"/": "_", ":": "~"}
_UNNAMED = {"_": "/", "~": ":"}
_ESCAPE = re.compile(r"%([0-9A-F]{2})")
#: a token of the exchange, channel or prefix part: what ccxt ids and rxpro's channels are made of
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_ILLEGAL = re.compile(r"[\s]")


@lru_cache(maxsize=4096)
def encode_symbol(symbol: str) -> str:
    """The subject token of a ccxt symbol (``'BTC/USDT:USDT'`` -> ``'BTC_USDT~USDT'``); see the module table."""
    if not isinstance(symbol, str) or not symbol:
        raise InvalidSubject(f"a symbol must be a non-empty str, got {symbol!r}")
    out: list[str] = []
    for char in symbol:
        if char in _KEPT:
            out.append(char)
        elif char in _NAMED:
            out.append(_NAMED[char])
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode())
    return "".join(out)


@lru_cache(maxsize=4096)
def decode_symbol(token: str) -> str:
    """The ccxt symbol of a subject token (``'BTC_USDT~USDT'`` -> ``'BTC/USDT:USDT'``)."""
    if not isinstance(token, str) or not token:
        raise InvalidSubject(f"a symbol token must be a non-empty str, got {token!r}")
    raw = bytearray()
    i = 0
    while i < len(token):
        char = token[i]
        if char == "%":
            match = _ESCAPE.match(token, i)
            if match is None:
                raise InvalidSubject(f"{token!r} is not an rxpro symbol token: bad escape at {i}")
            raw.append(int(match.group(1), 16))
            i += 3
            continue
        if char in _KEPT:
            raw.extend(char.encode())
        elif char in _UNNAMED:
            raw.extend(_UNNAMED[char].encode())
        else:
            raise InvalidSubject(f"{token!r} is not an rxpro symbol token: {char!r} at {i}")
        i += 1
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InvalidSubject(f"{token!r} is not an rxpro symbol token: its escapes are not UTF-8") from None


def check_subject(subject: str, *, wildcards: bool = False) -> str:
    """``subject`` if NATS can publish to it (or, with ``wildcards``, subscribe to it); else :class:`InvalidSubject`.

    Tokens are non-empty and free of whitespace; ``*`` and ``>`` only as whole
    tokens, ``>`` last, and only when ``wildcards``.
    """
    if not isinstance(subject, str) or not subject:
        raise InvalidSubject(f"a subject must be a non-empty str, got {subject!r}")
    bad = _ILLEGAL.search(subject)
    if bad is not None:
        raise InvalidSubject(f"subject {subject!r} has whitespace ({bad.group()!r}), which NATS does not allow")
    tokens = subject.split(".")
    for position, token in enumerate(tokens):
        if not token:
            raise InvalidSubject(f"subject {subject!r} has an empty token (a leading, trailing or double '.')")
        if token in ("*", ">"):
            if not wildcards:
                raise InvalidSubject(f"subject {subject!r} has the wildcard {token!r}: publish to a full subject")
            if token == ">" and position != len(tokens) - 1:
                raise InvalidSubject(f"subject {subject!r}: '>' may only be the last token")
        elif "*" in token or ">" in token:
            raise InvalidSubject(f"subject {subject!r}: token {token!r} mixes a wildcard with text")
    return subject


def _check_token(value: str, what: str) -> str:
    if not isinstance(value, str) or not _PLAIN_TOKEN.fullmatch(value):
        raise InvalidSubject(f"{what} {value!r} can't be a subject token: use letters, digits, '_' and '-'")
    return value


@lru_cache(maxsize=4096)
def subject_for(exchange: str, channel: str, symbol: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The default subject of one stream: ``subject_for('binance', 'trades', 'BTC/USDT')`` -> ``'rxpro.binance.trades.BTC_USDT'``.

    ``prefix`` may hold several tokens (``'desk.rxpro'``).
    """
    for token in prefix.split(".") if isinstance(prefix, str) else [prefix]:
        _check_token(token, "prefix token")
    return f"{prefix}.{_check_token(exchange, 'exchange id')}.{_check_token(channel, 'channel')}.{encode_symbol(symbol)}"


@dataclass(frozen=True, slots=True)
class SubjectParts:
    """What a default-scheme subject says: exchange id, channel and ccxt symbol."""

    prefix: str
    exchange: str
    channel: str
    symbol: str


def parse_subject(subject: str) -> SubjectParts:
    """The inverse of :func:`subject_for` (the prefix is everything before the last three tokens)."""
    check_subject(subject)
    tokens = subject.split(".")
    if len(tokens) < 4:
        raise InvalidSubject(f"{subject!r} is not <prefix>.<exchange>.<channel>.<symbol>")
    return SubjectParts(".".join(tokens[:-3]), tokens[-3], tokens[-2], decode_symbol(tokens[-1]))


def status_subject(subject: str) -> str:
    """Where the publishers of ``subject`` (a subject or a wildcard) send their status: ``_rxpro_status.<subject>``."""
    return f"{STATUS_PREFIX}.{subject}"
