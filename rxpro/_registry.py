"""The registry of exchange ids: id -> rxpro class (cached), and ``rxpro.exchange(id, config)``.

An id is one of three kinds: shipped by ccxt.pro (its class is built here), listed by
the CCXT Pro manual but no longer shipped by ccxt (``rxpro.exchanges._table.retired``:
a successor's class with a one-time warning, or :class:`UnsupportedExchange` with the
reason), or unknown (:class:`UnsupportedExchange`).
"""

from __future__ import annotations

import sys
import warnings
from functools import lru_cache
from importlib import resources
from typing import Any

import ccxt
import ccxt.pro

from rxpro.exchanges._table import retired, venue_for

from ._errors import (
    ExchangeRenamedWarning,
    InvalidArgument,
    UnsupportedExchange,
    UnsupportedExchangeAttribute,
)
from ._mixin import RxExchangeMixin

__all__ = ["UnsupportedExchangeAttribute", "exchange_attribute", "exchange_class", "exchange_ids",
           "is_exchange_id", "manual_exchange_ids", "manual_exchange_names", "why_unsupported"]


@lru_cache(maxsize=1)
def exchange_ids() -> tuple[str, ...]:
    """Every exchange id the installed ccxt ships with WebSocket (ccxt.pro) support."""
    return tuple(ccxt.pro.exchanges)


@lru_cache(maxsize=1)
def manual_exchange_names() -> dict[str, str]:
    """The 64 exchanges that the CCXT Pro manual lists (bundled copy of its table): id -> name."""
    text = resources.files("rxpro").joinpath("data/manual-exchanges.txt").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {row[0]: row[1] if len(row) > 1 else row[0] for row in rows}


@lru_cache(maxsize=1)
def manual_exchange_ids() -> tuple[str, ...]:
    """The 64 exchange ids that the CCXT Pro manual lists (bundled copy of its table)."""
    return tuple(manual_exchange_names())


def is_exchange_id(name: str) -> bool:
    """Whether ``name`` is an exchange id rxpro answers for: shipped by ccxt.pro, or listed by the manual."""
    return name in exchange_ids() or name in manual_exchange_ids()


def why_unsupported(exchange_id: str) -> str:
    """Why rxpro cannot build ``exchange_id`` (for an id ccxt.pro does not ship)."""
    version = ccxt.__version__
    fate = retired(exchange_id)
    if fate is not None and fate.successor is None:
        if fate.history is None:
            return f"ccxt {version} no longer ships it (neither a REST nor a WebSocket class)"
        return f"ccxt {fate.history}; ccxt {version} ships neither a REST nor a WebSocket class for it"
    if exchange_id in ccxt.exchanges:
        return (
            f"ccxt {version} ships only a REST class for it (ccxt.{exchange_id}), "
            "no WebSocket class in ccxt.pro"
        )
    if exchange_id in manual_exchange_ids():
        return (
            f"the CCXT Pro manual lists it, but ccxt {version} ships neither a REST "
            "nor a WebSocket class for it (removed or renamed upstream)"
        )
    return f"it is not an exchange id known to ccxt {version} (see rxpro.exchanges.__all__)"


@lru_cache(maxsize=None)
def _build_class(exchange_id: str) -> type[Any]:
    base = getattr(ccxt.pro, exchange_id)
    venue = venue_for(exchange_id)
    return type(
        exchange_id,
        (RxExchangeMixin, *venue.native, base),
        {
            "__module__": "rxpro.exchanges",
            "__qualname__": exchange_id,
            "__doc__": f"{base.__name__} (ccxt.pro) with rxpro Observables on ``.rx``.",
            # the venue's login methods: what they watch is no data route
            "rx_login_methods": venue.login_methods,
        },
    )


#: renamed ids already warned about in this process (the warning is given once per id)
_RENAMED_WARNED: set[str] = set()


def _outside_rxpro() -> int:
    """The ``stacklevel`` of the first caller outside rxpro (a warning names the user's line)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("rxpro"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _warn_renamed(exchange_id: str, successor: str) -> None:
    if exchange_id in _RENAMED_WARNED:
        return
    fate = retired(exchange_id)
    history = f"ccxt {fate.history}" if fate is not None and fate.history else f"ccxt renamed it {successor}"
    scope = f"; it serves {fate.scope}" if fate is not None and fate.scope else ""
    warnings.warn(
        f"exchange id {exchange_id!r} is not in ccxt {ccxt.__version__}: {history}. "
        f"rxpro builds {successor!r} instead{scope}; use {successor!r}",
        ExchangeRenamedWarning,
        stacklevel=_outside_rxpro(),
    )
    _RENAMED_WARNED.add(exchange_id)  # after warn(): under an "error" filter it is raised, and given again


def exchange_class(exchange_id: str) -> type[Any]:
    """The rxpro class of ``exchange_id``: ``type(id, (RxExchangeMixin, ccxt.pro.<id>), {})``.

    A renamed manual id (``huobijp``) gives its successor's class (``bittrade``), warning once.
    """
    if not isinstance(exchange_id, str):
        raise InvalidArgument(f"exchange id must be a string, got {exchange_id!r}")
    if exchange_id in exchange_ids():
        return _build_class(exchange_id)
    fate = retired(exchange_id)
    if fate is not None and fate.successor is not None and fate.successor in exchange_ids():
        _warn_renamed(exchange_id, fate.successor)
        return _build_class(fate.successor)
    raise UnsupportedExchange(exchange_id, why_unsupported(exchange_id))


def exchange_attribute(name: str) -> type[Any]:
    """``exchange_class(name)`` for a module attribute (``rxpro.<id>``): unsupported ids raise an
    :class:`UnsupportedExchangeAttribute`, so ``hasattr`` answers False."""
    try:
        return exchange_class(name)
    except UnsupportedExchange as error:
        raise UnsupportedExchangeAttribute(error.exchange_id, error.reason) from None
