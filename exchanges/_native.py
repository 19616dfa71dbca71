"""Native parsers: a venue's hot ccxt handlers, rewritten to produce the same structures faster.

A venue declares its native handlers as a mixin class (``Venue.native``); the registry puts
it between rxpro's mixin and the ccxt.pro class::

    class binance(RxExchangeMixin, BinanceNative, ccxt.pro.binance)

Each native method overrides a ccxt handler method (``handle_trade``, ``handle_ticker``,
``handle_order_book``...) and must leave exactly what ccxt's would: the same entries, equal
dict for dict (``info``, ``datetime``, ``fee``, ``cost``, number types), in the same ccxt
caches, resolved under the same message hashes — so ``await ex.watch_trades(...)`` and the
Observable still share one cache.  Anything it does not recognise — an unexpected field
shape, a market it does not know, an option it does not handle — goes to ccxt's handler
for that frame (``super()``).

A structure a native handler builds new for a frame — a ticker, a best bid/ask — is set as
``client.rx_fresh`` before it is resolved: rxpro emits it as is, as it emits a trade, instead
of the copy that keeps ccxt's in-place updates out of emitted values (ccxt never changes
such a structure afterwards: the next frame stores a new one).

They run only where they were checked: :data:`CHECKED_CCXT` holds the ccxt versions the
differential tests (``tests/exchanges/test_native_*.py``: native vs ccxt on every recorded
frame) were run against.  With any other ccxt, or ``config['rxpro']['native'] = False``,
every frame goes to ccxt's handlers, and rxpro says so once in its log.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt

__all__ = ["CHECKED_CCXT", "NativeHandlers", "native_allowed"]

log = logging.getLogger("rxpro")

#: the ccxt versions the native parsers were checked against, frame by frame
CHECKED_CCXT = frozenset({"4.5.90"})

_told = False


def native_allowed(config_flag: Any) -> bool:
    """Whether native handlers may run: asked for (default yes) and checked for this ccxt."""
    global _told
    if config_flag is False:
        return False
    if ccxt.__version__ not in CHECKED_CCXT:
        if not _told:
            _told = True
            log.warning("rxpro: native parsers were checked against ccxt %s, not %s: ccxt's own parsers are used",
                        ", ".join(sorted(CHECKED_CCXT)), ccxt.__version__)
        return False
    return True


class NativeHandlers:
    """Base of a venue's native handler mixin: ``self.rx_native`` says whether they run.

    A native method starts with ``if not self.rx_native: return super().<method>(...)``
    (or its recognising test) and falls back the same way for any frame it does not know.
    """

    #: set by rxpro's mixin at construction (``native_allowed``); False until then
    rx_native: bool = False

    # What the handlers use of the ccxt.pro exchange they are mixed into (annotations only:
    # nothing is assigned here, so ccxt's own attributes and methods are the ones found).
    id: str
    options: dict[str, Any]
    reduceFees: bool
    trades: dict[str, Any]
    orderbooks: dict[str, Any]
    tickers: dict[str, Any]
    bidsasks: dict[str, Any]
    ohlcvs: dict[str, Any]
    order_book: Any
    find_timeframe: Any
