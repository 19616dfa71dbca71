"""Venues rxpro knows only a fact or two about: the names cryptofeed records them under, or their login.

A venue with more to say (a replay protocol, bundled markets, offline options) has
its own module.  Every ccxt.pro id that is in no module is a plain :class:`Venue`
with the defaults (``venue_for`` builds it).
"""

from __future__ import annotations

import ccxt

from ._venue import Venue, frozen

__all__ = ["VENUES"]

#: ccxt.pro classes whose private streams await no WebSocket login answer: they sign each
#: subscribe frame, put a REST-fetched token or listen key in it or in the URL, or have no
#: private streams.  (Checked against ccxt's source by tests/exchanges/test_venues.py.)
_NO_LOGIN_ANSWER = (
    "aster", "backpack", "bingx", "bitopro", "bitrue", "bittrade", "bullish", "bydfi", "coincheck", "coinone",
    "deepcoin", "dydx", "extended", "grvt", "hashkey", "hollaex", "lbank", "lighter", "luno",  # hyperliquid: own module
    "mexc", "mudrex", "ndax", "p2b", "pacifica", "toobit", "weex", "xt",  # upbit: _upbit.py
)

VENUES: tuple[Venue, ...] = (
    *(Venue(exchange_id, login_methods=()) for exchange_id in _NO_LOGIN_ANSWER),
    # recorded by cryptofeed (master ``EX.*`` files)
    Venue("bitflyer", login_methods=(), cryptofeed_names=("BITFLYER",)),  # ccxt ships only a REST class
    Venue("bitget", cryptofeed_names=("BITGET",)),
    Venue("bithumb", login_methods=(), cryptofeed_names=("BITHUMB",)),
    Venue("cryptocom", cryptofeed_names=("CRYPTO.COM",)),
    Venue("htx", cryptofeed_names=("HUOBI", "HUOBI_SWAP")),
    Venue("independentreserve", login_methods=(), cryptofeed_names=("INDEPENDENT_RESERVE",)),
    # their v3 samples (2021) hold REST answers ccxt no longer asks for: a replay says which, at load_markets
    Venue("phemex", cryptofeed_names=("PHEMEX",)),
    Venue("poloniex", cryptofeed_names=("POLONIEX",)),
    Venue("kraken", login_methods=(), cryptofeed_names=("KRAKEN",), unreplayable_urls=frozen({
        # cryptofeed's KRAKEN recordings (2021) speak v1: ``[channelID, data, "trade", "XBT/USD"]``
        "wss://ws.kraken.com": f"Kraken's WebSocket API v1; ccxt {ccxt.__version__} reads Kraken's public "
                               "streams in v2 only (wss://ws.kraken.com/v2), so nothing of it would reach a stream",
    })),
)
