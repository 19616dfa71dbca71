"""Coinbase: Coinbase Exchange (the former Pro), Coinbase Advanced Trade, Coinbase International.

* ``coinbaseexchange``: ccxt signs ``level2`` subscriptions (Coinbase made the channel
  private in 2023); the 2021 recording is of the then-public feed, so offline runs
  give ccxt placeholder credentials (they sign a frame that never leaves the process);
  currencies were not recorded.  cryptofeed master recordings name it ``COINBASE``.
  Its public channels (matches, level2, ticker) have native handlers
  (``_coinbase_native.CoinbaseExchangeNative``).
* ``coinbase`` (Advanced Trade): cryptofeed v3 recordings name it ``COINBASE``.
* Neither logs in over the WebSocket: ccxt signs each subscribe frame (or sends a JWT
  in it), so no ``watch`` awaits a login answer.  ``coinbaseinternational`` does log
  in (``authenticate``, the default).
"""

from __future__ import annotations

from ._coinbase_native import CoinbaseExchangeNative
from ._venue import Venue, frozen

__all__ = ["VENUES"]

VENUES: tuple[Venue, ...] = (
    Venue("coinbaseexchange", login_methods=(), offline_options=frozen({}), placeholder_credentials=True,
          cryptofeed_names=("COINBASE",), native=(CoinbaseExchangeNative,)),
    Venue("coinbase", login_methods=(), cryptofeed_v3_names=("COINBASE",)),
)
