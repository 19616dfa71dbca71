"""Bybit v5: what rxpro knows about it.

* its WebSocket trading calls take ``orderLinkId`` (up to 36 characters): rxpro generates
  one per call that has none;
* every public trade carries an id;
* the native handlers of its public channels (``_bybit_native.BybitNative``: publicTrade,
  orderbook, tickers);
* cryptofeed names its recordings ``BYBIT``.
"""

from __future__ import annotations

from ._bybit_native import BybitNative
from ._venue import Venue

__all__ = ["VENUES"]

VENUES: tuple[Venue, ...] = (
    Venue("bybit", cryptofeed_names=("BYBIT",), generates_client_order_id=True, trade_ids=True,
          native=(BybitNative,)),
)
