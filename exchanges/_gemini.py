"""Gemini: what rxpro knows about it.

Its public market data needs no login.  cryptofeed names its recordings ``GEMINI`` and, in
the header of its v3 sample, names the perpetuals it subscribed (``BTCUSDCPERP``) as if they
were the spot markets (``BTC-USDC``): the replay took ``BTC/USDC`` for recorded (whose streams
then stayed silent) and refused the perpetual ``BTC/USDC:USDC`` that was.  Once such a
recording is loaded (:meth:`Gemini.loaded`), its symbols are the market ids its subscribe
frames asked for, which is what its frames carry.
"""

from __future__ import annotations

from rxpro._recorded import Recording
from rxpro._replay_protocols import THIRD_PARTY_SOURCES, json_object

from ._venue import Venue

__all__ = ["VENUES", "Gemini"]


class Gemini(Venue):
    """Gemini: a cryptofeed recording's symbols read off its subscribe frames (see the module)."""

    def loaded(self, recording: Recording) -> None:
        if recording.source not in THIRD_PARTY_SOURCES:
            return
        ids: list[str] = []
        for _, _, text in recording.sent:
            message = json_object(text)
            subscriptions = message.get("subscriptions") if message is not None else None
            if message is None or message.get("type") != "subscribe" or not isinstance(subscriptions, list):
                continue
            for subscription in subscriptions:
                symbols = subscription.get("symbols") if isinstance(subscription, dict) else None
                for market_id in symbols or ():
                    if isinstance(market_id, str) and market_id not in ids:
                        ids.append(market_id)
        if ids:
            recording.symbols = ids


VENUES: tuple[Venue, ...] = (
    Gemini("gemini", login_methods=(), cryptofeed_names=("GEMINI",)),
)
