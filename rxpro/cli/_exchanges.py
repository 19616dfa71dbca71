"""``rxpro exchanges``: every exchange id and the streams its ``exchange.has`` declares."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import rxpro

from ._session import exchange_class
from ._streams import STREAMS, support

__all__ = ["ExchangeStreams", "exchange_streams"]


@dataclass(frozen=True, slots=True)
class ExchangeStreams:
    id: str
    name: str
    streams: tuple[str, ...]  # public and private, in ``STREAMS`` order
    emulated: tuple[str, ...] = field(default=())  # those ccxt emulates from another stream

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "streams": list(self.streams), "emulated": list(self.emulated)}


async def _collect(ids: Sequence[str]) -> list[ExchangeStreams]:
    # instances, not classes: ccxt builds ``has`` in __init__ from describe()
    exchanges = [exchange_class(exchange_id)() for exchange_id in ids]
    try:
        return [_streams_of(exchange) for exchange in exchanges]
    finally:
        # together: each close() waits a quarter of a second inside ccxt
        await asyncio.gather(*(exchange.close() for exchange in exchanges))


def _streams_of(exchange: Any) -> ExchangeStreams:
    streams, emulated = [], []
    for info in STREAMS:
        value = support(exchange, info.name)
        if value:
            streams.append(info.name)
        if value == "emulated":
            emulated.append(info.name)
    return ExchangeStreams(str(exchange.id), str(exchange.name), tuple(streams), tuple(emulated))


def exchange_streams(ids: Sequence[str] = ()) -> list[ExchangeStreams]:
    """The streams of ``ids`` (default: every exchange rxpro supports)."""
    for exchange_id in ids:
        exchange_class(exchange_id)  # UserError for an unknown id, before any work
    return asyncio.run(_collect(list(ids) or list(rxpro.exchange_ids())))
