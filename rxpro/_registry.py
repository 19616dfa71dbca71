"""The registry of exchange ids: id -> rxpro class (cached), and ``rxpro.exchange(id, config)``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import ccxt
import ccxt.pro

from ._errors import InvalidArgument, UnsupportedExchange
from ._mixin import RxExchangeMixin

__all__ = ["exchange", "exchange_class", "exchange_ids", "manual_exchange_ids"]


@lru_cache(maxsize=1)
def exchange_ids() -> tuple[str, ...]:
    """Every exchange id the installed ccxt ships with WebSocket (ccxt.pro) support."""
    return tuple(ccxt.pro.exchanges)


@lru_cache(maxsize=1)
def manual_exchange_ids() -> tuple[str, ...]:
    """The 64 exchange ids that the CCXT Pro manual lists (bundled copy of its table)."""
    text = resources.files("rxpro").joinpath("data/manual-exchanges.txt").read_text(encoding="utf-8")
    return tuple(line.split("\t")[0] for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _why_unsupported(exchange_id: str) -> str:
    if exchange_id in ccxt.exchanges:
        return (
            f"ccxt {ccxt.__version__} ships only a REST class for it (ccxt.{exchange_id}), "
            "no WebSocket class in ccxt.pro"
        )
    if exchange_id in manual_exchange_ids():
        return (
            f"the CCXT Pro manual lists it, but ccxt {ccxt.__version__} ships neither a REST "
            "nor a WebSocket class for it (removed or renamed upstream)"
        )
    return f"it is not an exchange id known to ccxt {ccxt.__version__} (see rxpro.exchanges.__all__)"


@lru_cache(maxsize=None)
def exchange_class(exchange_id: str) -> type[Any]:
    """The rxpro class of ``exchange_id``: ``type(id, (RxExchangeMixin, ccxt.pro.<id>), {})``."""
    if not isinstance(exchange_id, str):
        raise InvalidArgument(f"exchange id must be a string, got {exchange_id!r}")
    if exchange_id not in exchange_ids():
        raise UnsupportedExchange(exchange_id, _why_unsupported(exchange_id))
    base = getattr(ccxt.pro, exchange_id)
    return type(
        exchange_id,
        (RxExchangeMixin, base),
        {
            "__module__": "rxpro.exchanges",
            "__qualname__": exchange_id,
            "__doc__": f"{base.__name__} (ccxt.pro) with rxpro Observables on ``.rx``.",
            # the venue's login methods: what they watch is no data route
            "rx_login_methods": tuple(n for n in ("authenticate",) if callable(getattr(base, n, None))),
        },
    )


def exchange(exchange_id: str, config: dict[str, Any] | None = None) -> Any:
    """Build the rxpro exchange ``exchange_id`` with ccxt's ``config`` dict.

    ``config['rxpro']`` (optional) holds rxpro's own settings, e.g.
    ``{'retry': RetryPolicy(max_retries=5)}``. ``config['replay']`` (a recording's
    path, or a list of paths) builds the exchange as ``rxpro.replay(path, exchange_id)``
    does, fed from the file with no network; ``config['replay_speed']`` paces it (e.g.
    ``10``: ten times real time; default: as fast as possible on virtual time).
    """
    config = dict(config or {})
    recording = config.pop("replay", None)
    speed = config.pop("replay_speed", None)
    if recording is not None:
        from ._replay import replay

        return replay(recording, exchange_id, speed=speed, config=config)
    if speed is not None:
        raise InvalidArgument(f"replay_speed={speed!r} needs a recording: config['replay'] = path")
    return exchange_class(exchange_id)(config)
