"""Custom ReactiveX operators for market data (imported as ``rxpro.operators``).

Single-stream operators take ccxt unified structures (plain dicts):
``throttle``, ``ohlcv``, ``bars``, ``book_snapshots``, ``mid_price``,
``vwap``, ``imbalance``. Cross-exchange ones take the ``Venued`` stream
``merge_exchanges`` makes: ``best_bid_offer``, ``consolidated_book``,
``spread``. Only operators live here; streams come from ``rxpro``.

Each operator lives in a private module (``_ohlcv.py``, ``_throttle.py``,
...): a public function that checks its arguments and returns the operator,
and, where a subscription keeps state, a small class holding it
(``_CandleBuilder``, ``_Throttler``, ...). Shared pieces: ``_checks``
(argument and value checks), ``_scheduling`` (which scheduler timers run
on), ``_errors``, ``_board`` and ``_symbols`` (cross-exchange state).
"""

from rxpro._errors import OperatorArgumentError, QuoteCurrencyError, StreamShapeError

from ._bars import bars
from ._book import book_snapshots, imbalance, mid_price
from ._consolidation import (
    BestBidOffer,
    BookLevel,
    ConsolidatedBook,
    Spread,
    best_bid_offer,
    consolidated_book,
    spread,
)
from ._ohlcv import ohlcv
from ._scheduling import default_scheduler
from ._throttle import throttle
from ._venues import Venued, VenueEnded, VenueError, merge_exchanges
from ._vwap import vwap

__all__ = [
    "BestBidOffer",
    "BookLevel",
    "ConsolidatedBook",
    "OperatorArgumentError",
    "QuoteCurrencyError",
    "Spread",
    "StreamShapeError",
    "VenueEnded",
    "VenueError",
    "Venued",
    "bars",
    "best_bid_offer",
    "book_snapshots",
    "consolidated_book",
    "default_scheduler",
    "imbalance",
    "merge_exchanges",
    "mid_price",
    "ohlcv",
    "spread",
    "throttle",
    "vwap",
]
