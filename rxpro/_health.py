"""Telling a dead stream from a quiet one: the health policy and the silence watchdog.

ccxt notices a dead TCP connection by its keepalive (a ping unanswered for
``keepAlive × maxPingPongMisses``: minutes on some venues) and never notices a
connection whose pings are answered while no data comes.  rxpro watches the data:
each stream kind of each venue has a normal cadence (``exchanges/``: a Binance
``depth@100ms`` book updates ten times a second; a quiet market's trades may not
come for minutes, so trades have none), and a subscription silent for longer than
its cadence allows is *stalled*: rxpro says so (a ``stalled`` connection event) and
reconnects it, through the same retry path as any lost connection. So is one waiting
for its first data (subscribing, or re-subscribing after a stall) that gets none for
that long: a new connection that stays mute, or a venue that acknowledged the request
and never feeds it, is stalled again, until the retry budget ends the stream — even
while other streams of the same connection flow; a book whose diffs ccxt buffers
while its REST snapshot waits in ccxt's rate limiter is slow, not dead.

:class:`HealthPolicy` also bounds two other waits that were silent: a stream that
never connected at all ends with ``ExchangeNotAvailable`` after a few attempts
(rather than the whole retry budget), and a login that gets no answer ends the
stream with ``AuthenticationError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import ccxt

__all__ = ["DEFAULT_SILENCE_MS", "HealthPolicy", "Watchdog"]

#: cadences of the stream kinds a venue declares none for: generous, a dead connection
#: still shows within minutes (trades, balances and orders: none, quiet is normal)
DEFAULT_SILENCE_MS: Mapping[str, float] = MappingProxyType({
    "orderbook": 60_000.0,
    "ticker": 180_000.0,
    "ohlcv": 180_000.0,
})


@dataclass(frozen=True)
class HealthPolicy:
    """How rxpro tells a dead stream from a quiet one (``ex.rx.health``, ``config['rxpro']['health']``).

    ``silence_ms``: per stream kind (``orderbook``, ``ticker``, ``ohlcv``, ``trades``, ...)
    how long a subscribed stream may go without data before it is stalled; overrides the
    venue's cadences (``rxpro.exchanges`` table), ``None`` for a kind: never.
    ``watchdog``: False turns the silence watchdog off.  ``connect_attempts``: a stream
    whose host no connection has ever reached (no network, a wrong URL, a futures host blocked
    while spot connects) ends with ``ExchangeNotAvailable`` after this many failed attempts.  ``login_timeout_ms``: a
    login (``authenticate``...) that gets no answer within it ends the stream with
    ``AuthenticationError``.  ``backfill``: fill the trades a reconnect missed from REST
    where the venue can (see ``rxpro._backfill``).
    """

    silence_ms: Mapping[str, float | None] = field(default_factory=dict)
    watchdog: bool = True
    connect_attempts: int = 3
    login_timeout_ms: float = 10_000.0
    backfill: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.connect_attempts, int) or self.connect_attempts < 1:
            raise ValueError(f"connect_attempts must be an int >= 1, got {self.connect_attempts!r}")
        if not self.login_timeout_ms > 0:
            raise ValueError(f"login_timeout_ms must be > 0, got {self.login_timeout_ms!r}")
        for kind, ms in self.silence_ms.items():
            if ms is not None and not ms > 0:
                raise ValueError(f"silence_ms[{kind!r}] must be > 0 or None, got {ms!r}")

    def silence_for(self, topic: str, venue_cadences: Mapping[str, float | None]) -> float | None:
        """The allowed silence of a stream kind, in ms (None: never stalled)."""
        if not self.watchdog:
            return None
        if topic in self.silence_ms:
            return self.silence_ms[topic]
        if topic in venue_cadences:
            return venue_cadences[topic]
        return DEFAULT_SILENCE_MS.get(topic)


class Watched(Protocol):
    """A subscription as the watchdog sees it (``rxpro._hub.Subscription``)."""

    silence_ms: float | None
    seen_deliveries: int  # the activity seen at the last look
    quiet_since: float

    @property
    def activity(self) -> int: ...  # deliveries (and, while a book waits for its first data, its buffered diffs)

    @property
    def description(self) -> str: ...

    @property
    def watchable(self) -> bool: ...  # subscribing or subscribed, with subscribers: silence means something


class Guarded(Protocol):
    """The hub as the watchdog sees it (``rxpro._hub.Hub``)."""

    closed: bool

    def spawn(self, coro: Any) -> asyncio.Task[Any]: ...

    def watched(self) -> list[Any]: ...

    def stalled(self, subscription: Any, error: Exception) -> None: ...


class Watchdog:
    """Looks over one hub's subscriptions twice a second; reconnects the stalled ones."""

    TICK_S = 0.25

    def __init__(self, hub: Guarded) -> None:
        self.hub = hub
        self.task: asyncio.Task[Any] | None = None

    def watch(self) -> None:
        """Make sure the watchdog runs (a subscription with a cadence is live)."""
        if self.task is None or self.task.done():
            self.task = self.hub.spawn(self._run())

    async def _run(self) -> None:
        hub = self.hub
        while not hub.closed:
            await asyncio.sleep(self.TICK_S)
            watched = hub.watched()
            if not watched:
                return  # started again by the next subscription with a cadence
            now = time.monotonic()
            for subscription in watched:
                self._look(subscription, now)

    def _look(self, subscription: Watched, now: float) -> None:
        activity = subscription.activity
        if not subscription.watchable or activity != subscription.seen_deliveries:
            subscription.seen_deliveries = activity
            subscription.quiet_since = now
            return
        silence_ms = subscription.silence_ms
        assert silence_ms is not None
        if (now - subscription.quiet_since) * 1000 >= silence_ms:
            subscription.quiet_since = now
            self.hub.stalled(subscription, ccxt.RequestTimeout(
                f"{subscription.description}: no data for {silence_ms / 1000:g} s "
                f"(its normal cadence allows {silence_ms / 1000:g} s); reconnecting"))
