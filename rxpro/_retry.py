"""Reconnect policy for Observable streams (exponential backoff with jitter)."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How an Observable stream recovers from transient (``ccxt.NetworkError``) failures.

    ccxt.pro itself reconnects only when the user calls ``watch_*`` again; an rxpro
    stream re-subscribes by itself, waiting ``initial_delay_ms * multiplier**n``
    (capped at ``max_delay_ms``, +/- ``jitter`` as a fraction) before attempt ``n``.
    After ``max_retries`` consecutive failed attempts the last error goes to
    ``on_error``.  ``max_retries=None`` retries forever; ``max_retries=0`` never retries.
    A successful update resets the count.
    """

    max_retries: int | None = 10
    initial_delay_ms: float = 100.0
    max_delay_ms: float = 30_000.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0 or None, got {self.max_retries!r}")
        if self.initial_delay_ms < 0 or self.max_delay_ms < 0:
            raise ValueError(
                f"delays must be >= 0, got initial_delay_ms={self.initial_delay_ms!r}, "
                f"max_delay_ms={self.max_delay_ms!r}"
            )
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter!r}")

    def allows(self, attempt: int) -> bool:
        """Whether retry number ``attempt`` (1-based) may run."""
        return self.max_retries is None or attempt <= self.max_retries

    def delay_ms(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based), jitter included."""
        base = min(self.max_delay_ms, self.initial_delay_ms * self.multiplier ** max(0, attempt - 1))
        if self.jitter:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(0.0, base)
