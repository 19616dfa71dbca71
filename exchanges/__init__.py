"""rxpro exchange classes, imported as ``rxpro.exchanges``.

``rxpro.exchanges.<id>`` exists for every id in ``ccxt.pro.exchanges``: a class
built from :class:`rxpro.RxExchangeMixin` and the ccxt.pro class of that id
(the manual's "Python multiple inheritance"), so every ccxt attribute, option
and method works unchanged.  Classes are built on first access and cached.

Ids that the CCXT Pro manual lists but the installed ccxt does not ship raise
:class:`rxpro.UnsupportedExchange` (never ``AttributeError``).
"""

from __future__ import annotations

from typing import Any

from rxpro._registry import exchange_class, exchange_ids, manual_exchange_ids
from rxpro._errors import UnsupportedExchange

__all__ = sorted(exchange_ids())


def __getattr__(name: str) -> type[Any]:
    if name in exchange_ids() or name in manual_exchange_ids():
        cls = exchange_class(name)  # raises UnsupportedExchange for manual ids ccxt lacks
        globals()[name] = cls
        return cls
    raise AttributeError(f"module 'rxpro.exchanges' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


del Any, UnsupportedExchange
