"""``rxpro.exchange(id, config)``: the one call that builds an exchange, live or replayed."""

from __future__ import annotations

from typing import Any

from ._errors import InvalidArgument
from ._registry import exchange_class
from ._replay import replay

__all__ = ["exchange"]


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
        return replay(recording, exchange_id, speed=speed, config=config)
    if speed is not None:
        raise InvalidArgument(f"replay_speed={speed!r} needs a recording: config['replay'] = path")
    return exchange_class(exchange_id)(config)
