"""rxpro exchange classes, imported as ``rxpro.exchanges``; and, in its private modules, everything venue-specific.

``rxpro.exchanges.<id>`` exists for every id in ``ccxt.pro.exchanges``: a class
built from :class:`rxpro.RxExchangeMixin` and the ccxt.pro class of that id
(the manual's "Python multiple inheritance"), so every ccxt attribute, option
and method works unchanged.  Classes are built on first access and cached.

Ids the CCXT Pro manual lists that the installed ccxt no longer ships: a renamed one
gives its successor's class (with a one-time ``ExchangeRenamedWarning``);
the others raise :class:`rxpro.UnsupportedExchange`, which is also an
``AttributeError``, so ``hasattr(rxpro.exchanges, id)`` is False.

What rxpro knows about each venue lives in ``_<venue>.py`` (``_binance.py``,
``_okx.py``, ...) and is looked up through one table, ``_table.venue_for(id)``.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro

__all__ = sorted(ccxt.pro.exchanges)


def __getattr__(name: str) -> type[Any]:
    if name.startswith("_"):  # a private module not imported yet (``from . import _binance``), a dunder
        raise AttributeError(f"module 'rxpro.exchanges' has no attribute {name!r}")
    # the registry builds classes from the core mixin: imported here, not at the top, so that
    # the core can import the venue table (rxpro.exchanges._table) without importing itself
    from rxpro._registry import exchange_attribute, is_exchange_id

    if is_exchange_id(name):
        cls = exchange_attribute(name)
        if name in __all__:
            globals()[name] = cls  # a renamed id is not cached: its class is its successor's
        return cls
    raise AttributeError(f"module 'rxpro.exchanges' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


del Any
