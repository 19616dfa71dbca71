"""Errors raised by rxpro's market-data operators.

Kept local to ``operators/`` for now; the core may later move them next to its
own error types (the names and base classes are the contract).
"""

from __future__ import annotations

__all__ = ["OperatorArgumentError", "QuoteCurrencyError", "StreamShapeError"]


class OperatorArgumentError(ValueError):
    """An operator was built with a bad argument (the message names the value)."""


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
