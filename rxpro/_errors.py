"""Every exception and warning rxpro raises, in one place; all are exported from ``rxpro``.

The tree (ccxt's classes in brackets; rxpro's errors sit under the ccxt class a
ccxt user already catches, so ``except ccxt.BaseError`` keeps catching them)::

    Exception
    ├── [ccxt.BaseError]
    │   └── [ccxt.ExchangeError]
    │       ├── [ccxt.NotSupported]
    │       │   └── UnsupportedExchange ............ an id rxpro can't build (with the reason)
    │       │       └── UnsupportedExchangeAttribute  (also AttributeError: hasattr() is False)
    │       ├── [ccxt.BadRequest]
    │       │   ├── InvalidArgument ................ a bad argument to an rxpro call, named
    │       │   └── StreamNotRecorded .............. a replay asked for a stream/symbol its recording lacks
    │       └── ReplayMissingResponse .............. a REST call the recording does not hold
    ├── ValueError
    │   ├── ReplayFormatError ...................... a file that is not a recording rxpro reads
    │   ├── OperatorArgumentError .................. an operator built with a bad argument, named
    │   └── QuoteCurrencyError ..................... venues quoting a base in different currencies
    └── TypeError
        └── StreamShapeError ....................... a value an operator can't work on (at on_error)

    Warning
    └── DeprecationWarning
        └── ExchangeRenamedWarning ................. a manual id ccxt renamed: its successor is built

What an Observable's ``on_error`` receives otherwise is ccxt's own exception
(``BadSymbol``, ``AuthenticationError``, ``NetworkError``, ...), unchanged.
"""

from __future__ import annotations

import ccxt

__all__ = [
    "ExchangeRenamedWarning",
    "InvalidArgument",
    "OperatorArgumentError",
    "QuoteCurrencyError",
    "ReplayFormatError",
    "ReplayMissingResponse",
    "StreamNotRecorded",
    "StreamShapeError",
    "UnsupportedExchange",
    "UnsupportedExchangeAttribute",
]


class UnsupportedExchange(ccxt.NotSupported):
    """The exchange id is not one that the installed ccxt ships with WebSocket support.

    A subclass of ccxt's :class:`ccxt.NotSupported` (hence an ``ExchangeError``),
    not of the transient ``ExchangeNotAvailable``: retrying will not help.
    """

    def __init__(self, exchange_id: str, reason: str) -> None:
        self.exchange_id = exchange_id
        self.reason = reason
        super().__init__(f"rxpro does not support exchange {exchange_id!r}: {reason}")


class UnsupportedExchangeAttribute(UnsupportedExchange, AttributeError):
    """What ``rxpro.<id>`` / ``rxpro.exchanges.<id>`` raise for an id rxpro cannot build.

    An :class:`UnsupportedExchange` (with its reason) that is also an ``AttributeError``,
    so that ``hasattr(rxpro, id)`` answers False instead of raising.
    """


class InvalidArgument(ccxt.BadRequest):
    """An argument of the wrong type or value was passed to an rxpro call; the message names it."""


class StreamNotRecorded(ccxt.BadRequest):
    """A replayed exchange was asked for a stream, timeframe or symbol its recording does not hold.

    Raised by the replay's ``watch_*`` (so an Observable's ``on_error`` gets it on
    subscribe) before ccxt subscribes anything: the replay goes on for what it holds.
    The message names what the recording has (``the recording has no ticker stream;
    it has trades, orderbook``); ``stream`` / ``symbol`` is what was asked for,
    ``recorded`` what the recording holds of that kind.

    A ``ccxt.BadRequest``, not ``NotSupported``: the exchange supports the stream (live,
    or on a recording that has it); this request cannot be served from this file, and
    asking again will not change that.
    """

    def __init__(self, message: str, *, stream: str | None = None, symbol: str | None = None,
                 recorded: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.stream = stream
        self.symbol = symbol
        self.recorded = recorded


class ReplayMissingResponse(ccxt.ExchangeError):
    """During a replay, ccxt made a REST call that the recording does not hold (the message names the URL)."""


class ReplayFormatError(ValueError):
    """A file is not a recording rxpro can read; the message names the file (and line)."""


class OperatorArgumentError(ValueError):
    """An operator (``rxpro.operators``) was built with a bad argument (the message names the value)."""


class StreamShapeError(TypeError):
    """A value reaching an operator is not the ccxt structure it works on.

    Sent to ``on_error`` at the first bad value, with the value's type and a
    short excerpt in the message.
    """


class QuoteCurrencyError(ValueError):
    """Streams quote one base asset in different currencies (e.g. USD and USDT).

    Cross-exchange operators never merge them silently: pass ``quote_map`` to
    say how quote currencies relate (``{"USD": "USDT"}``), or to keep them
    apart (``{}``).
    """


class ExchangeRenamedWarning(DeprecationWarning):
    """An exchange id the CCXT Pro manual lists was renamed upstream; rxpro built its successor.

    Given once per id and process, naming the successor (``huobijp`` -> ``bittrade``):
    use the successor's id.  A ``DeprecationWarning``, so Python shows it for code run
    as ``__main__`` (scripts, notebooks) and test runners show it.
    """
