"""Gate: what rxpro knows about it.

* offline options: spot markets only (the recordings are spot), and an empty margin
  pair list ccxt asks for and no recorder kept;
* cryptofeed names its recordings ``GATEIO`` (spot) and ``GATEIO_FUTURES``;
* the login: ``authenticate`` sends a signed ``<type>.login`` request and awaits it.

The bundled recording's order book does not replay (protocol drift: ccxt subscribes
``spot.obu``, cryptofeed recorded ``spot.order_book_update``; see the data README).
"""

from __future__ import annotations

from rxpro._recorded import HttpRecord

from ._venue import Venue, frozen

__all__ = ["VENUES"]

VENUES: tuple[Venue, ...] = (
    Venue("gate", offline_options=frozen({"fetchMarkets": {"types": ["spot"]}}),
          cryptofeed_names=("GATEIO", "GATEIO_FUTURES"),
          unrecorded=(HttpRecord(-1, "GET", "https://api.gateio.ws/api/v4/margin/currency_pairs", "[]"),)),
)
