"""rxpro's own exception classes.

Every exception here subclasses a ccxt exception so that ``except ccxt.BaseError``
keeps catching rxpro's errors too; the one warning is a ``DeprecationWarning``.
"""

from __future__ import annotations

import ccxt

__all__ = ["ExchangeRenamedWarning", "InvalidArgument", "UnsupportedExchange"]


class UnsupportedExchange(ccxt.NotSupported):
    """The exchange id is not one that the installed ccxt ships with WebSocket support.

    A subclass of ccxt's :class:`ccxt.NotSupported` (hence an ``ExchangeError``),
    not of the transient ``ExchangeNotAvailable``: retrying will not help.
    """

    def __init__(self, exchange_id: str, reason: str) -> None:
        self.exchange_id = exchange_id
        self.reason = reason
        super().__init__(f"rxpro does not support exchange {exchange_id!r}: {reason}")


class InvalidArgument(ccxt.BadRequest):
    """An argument of the wrong type or value was passed to an rxpro call; the message names it."""


class ExchangeRenamedWarning(DeprecationWarning):
    """An exchange id the CCXT Pro manual lists was renamed upstream; rxpro built its successor.

    Given once per id and process, naming the successor (``huobijp`` -> ``bittrade``):
    use the successor's id.  A ``DeprecationWarning``, so Python shows it for code run
    as ``__main__`` (scripts, notebooks) and test runners show it.
    """
