"""The venue table: exchange id -> :class:`Venue`, the one place the rest of rxpro asks about a venue.

As cryptofeed's ``EXCHANGE_MAP``: each venue family's module declares its venues,
this module collects them.  Core code asks here (``venue_for(exchange.id).offline_options``,
``cryptofeed_id("BINANCE_FUTURES")``, ``retired("huobijp")``) instead of branching on
exchange ids.

    >>> venue_for("binanceusdm").offline_options["fetchMarkets"]
    mappingproxy({'types': ['linear']})
    >>> venue_for("kraken").login_methods
    ()
"""

from __future__ import annotations

from types import MappingProxyType
from collections.abc import Mapping

from . import (_binance, _bitfinex, _bitstamp, _bybit, _coinbase, _deribit, _gate, _gemini, _hyperliquid,
               _krakenfutures, _kucoin, _okx, _others, _upbit)
from ._retired import RETIRED, Retired
from ._venue import StubFile, Venue

__all__ = ["VENUES", "Retired", "StubFile", "Venue", "cryptofeed_id", "hftbacktest_exchange_id", "hftbacktest_urls",
           "retired", "stub_files", "venue_for"]


def _collect() -> Mapping[str, Venue]:
    venues: dict[str, Venue] = {}
    for module in (_binance, _bitfinex, _bitstamp, _bybit, _coinbase, _deribit, _gate, _gemini, _hyperliquid,
                   _krakenfutures, _kucoin, _okx, _others, _upbit):
        for venue in module.VENUES:
            if venue.id in venues:
                raise RuntimeError(f"venue {venue.id!r} is declared twice ({module.__name__})")
            venues[venue.id] = venue
    return MappingProxyType(venues)


#: every venue rxpro knows something about, by ccxt id
VENUES: Mapping[str, Venue] = _collect()

_CRYPTOFEED = {name: venue.id for venue in VENUES.values() for name in venue.cryptofeed_names}
_CRYPTOFEED_V3 = {**_CRYPTOFEED, **{name: venue.id for venue in VENUES.values() for name in venue.cryptofeed_v3_names}}
_HFTBACKTEST = {venue.hftbacktest_folder: venue.id for venue in VENUES.values() if venue.hftbacktest_folder}


def venue_for(exchange_id: str) -> Venue:
    """The venue of ``exchange_id``: its declared facts, or the defaults for an id rxpro knows nothing of."""
    venue = VENUES.get(exchange_id)
    return venue if venue is not None else Venue(exchange_id)


def cryptofeed_id(name: str, v3: bool = False) -> str | None:
    """The ccxt id of an exchange as cryptofeed names it in a recording (``BINANCE_FUTURES``), or None.

    ``v3``: a cryptofeed v3 header, where ``COINBASE`` is Advanced Trade (``coinbase``), not the
    master recordings' Coinbase Exchange.
    """
    return (_CRYPTOFEED_V3 if v3 else _CRYPTOFEED).get(name)


def hftbacktest_exchange_id(folder: str, depth_frame: str | None, first_frame: str | None = None) -> str:
    """The ccxt id of an hftbacktest recording: by its folder (``usdm``), else by its frames (Hyperliquid's
    ``{"channel":...}``, else a Binance market told by its first depth frame)."""
    if folder in _HFTBACKTEST:
        return _HFTBACKTEST[folder]
    if _hyperliquid.is_hyperliquid_frame(first_frame):
        return "hyperliquid"
    return _binance.hftbacktest_exchange_id(depth_frame)


def hftbacktest_urls(exchange_id: str) -> tuple[str, str | None]:
    """``(stream URL, depth-snapshot URL)`` an hftbacktest recording of ``exchange_id`` was taken from.

    hftbacktest records Binance combined streams; for an id without its own endpoints the
    recording is taken as Binance spot's stream (and its snapshot line is not served).
    """
    venue = venue_for(exchange_id)
    spot = venue_for(hftbacktest_exchange_id("spot", None))
    return venue.market_stream_url or spot.market_stream_url or "", venue.depth_snapshot_url


def retired(exchange_id: str) -> Retired | None:
    """What became of a CCXT Pro manual id that ccxt no longer ships, or None."""
    return RETIRED.get(exchange_id)


def stub_files() -> tuple[StubFile, ...]:
    """Every derived REST answer kept in ``exchanges/data/stubs/``, venue by venue."""
    return tuple(stub for venue in VENUES.values() for stub in venue.stub_files)
