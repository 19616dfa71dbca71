"""``rxpro exchanges``: every exchange id, its status, and the streams its ``exchange.has`` declares.

The ids are the CCXT Pro manual's 64 and every other id ccxt.pro ships.  Status:
``supported``; ``redirected to <id>`` for a manual id ccxt renamed (rxpro builds the
successor, whose streams are listed); ``unsupported: <reason>`` for one ccxt no longer
ships (``rxpro.exchanges._table.retired`` says why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import rxpro
from rxpro._registry import manual_exchange_names, why_unsupported
from rxpro.exchanges._table import retired

from ._session import exchange_class
from ._streams import STREAMS, support

__all__ = ["ExchangeStreams", "exchange_status", "exchange_streams"]

SUPPORTED = "supported"


@dataclass(frozen=True, slots=True)
class ExchangeStreams:
    id: str
    name: str
    streams: tuple[str, ...]  # public and private, in ``STREAMS`` order
    emulated: tuple[str, ...] = field(default=())  # those ccxt emulates from another stream
    status: str = SUPPORTED

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "streams": list(self.streams), "emulated": list(self.emulated),
                "status": self.status}


def exchange_status(exchange_id: str) -> tuple[str, str | None]:
    """``(status, the ccxt.pro id rxpro builds for it or None)`` of an exchange id."""
    if exchange_id in rxpro.exchange_ids():
        return SUPPORTED, exchange_id
    fate = retired(exchange_id)
    if fate is not None and fate.successor is not None and fate.successor in rxpro.exchange_ids():
        return f"redirected to {fate.successor}", fate.successor
    return f"unsupported: {why_unsupported(exchange_id)}", None


async def _collect(ids: Sequence[str]) -> list[ExchangeStreams]:
    statuses = {exchange_id: exchange_status(exchange_id) for exchange_id in ids}
    built = sorted({built for _, built in statuses.values() if built is not None})
    # instances, not classes: ccxt builds ``has`` in __init__ from describe()
    exchanges = {built_id: exchange_class(built_id)() for built_id in built}
    try:
        names = manual_exchange_names()
        rows = []
        for exchange_id, (status, built_id) in statuses.items():
            if built_id is None:
                rows.append(ExchangeStreams(exchange_id, names.get(exchange_id, exchange_id), (), (), status))
            else:
                rows.append(_streams_of(exchange_id, exchanges[built_id], status))
        return rows
    finally:
        # together: each close() waits a quarter of a second inside ccxt
        await asyncio.gather(*(exchange.close() for exchange in exchanges.values()))


def _streams_of(exchange_id: str, exchange: Any, status: str) -> ExchangeStreams:
    streams, emulated = [], []
    for info in STREAMS:
        value = support(exchange, info.name)
        if value:
            streams.append(info.name)
        if value == "emulated":
            emulated.append(info.name)
    name = str(exchange.name) if exchange_id == exchange.id else manual_exchange_names().get(exchange_id, exchange_id)
    return ExchangeStreams(exchange_id, name, tuple(streams), tuple(emulated), status)


def exchange_streams(ids: Sequence[str] = ()) -> list[ExchangeStreams]:
    """The status and streams of ``ids`` (default: the manual's 64 and every other ccxt.pro id, sorted)."""
    for exchange_id in ids:
        if retired(exchange_id) is None:
            exchange_class(exchange_id)  # UserError for an unknown id, before any work
    every = sorted(set(rxpro.manual_exchange_ids()) | set(rxpro.exchange_ids()))
    return asyncio.run(_collect(list(ids) or every))
