"""The :class:`Venue`: what rxpro knows about one exchange id, with defaults for an id it knows nothing of.

Each venue family's module (``_binance.py``, ``_okx.py``, ...) declares its venues as
``Venue`` objects (or instances of a ``Venue`` subclass where the family has its
own behaviour, e.g. its replay protocol); ``_table.py`` collects them into the one
table that the rest of rxpro asks (``venue_for(exchange_id)``).  A fact is a field
with a default here: a new kind of fact is one more field, set by the venues that
have it.

Imports only ccxt-free leaf modules of the core (the record types, the replay
protocol base classes): the core asks ``exchanges/``, never the other way round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rxpro._recorded import HttpRecord, Recording, read_rest_log, seconds_ns
from rxpro._replay_protocols import THIRD_PARTY_SOURCES, RecordedMarketsProtocol, ReplayProtocol

__all__ = ["DEFAULT_LOGIN_METHODS", "VENUE_DATA", "StubFile", "Venue", "frozen", "recorded_answer"]

#: Venue data bundled with rxpro (``exchanges/data/``, see its README): markets and derived
#: REST answers that offline runs (replay, simulator) serve where no recorder kept them.
VENUE_DATA = Path(__file__).parent / "data"

#: The ccxt.pro method that logs a WebSocket connection in, on most venues.
DEFAULT_LOGIN_METHODS: tuple[str, ...] = ("authenticate",)


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view of ``mapping``, nested dicts too: a venue's facts are shared by every replay."""
    return MappingProxyType({k: frozen(v) if isinstance(v, Mapping) else v for k, v in mapping.items()})


@dataclass(frozen=True)
class StubFile:
    """A REST answer ccxt needs offline, derived from a recorded one and kept in ``exchanges/data/stubs/``.

    ``build(recordings_dir)`` returns ``(ts of the recorded source, body)``: the
    recordings it derives from are the bundled ones (``rxpro/testing/data``), passed
    in by the tool that rebuilds the file (``python -m rxpro.testing._bundle``).
    """

    name: str  # under exchanges/data/stubs/
    url: str  # the request ccxt makes
    build: Callable[[Path], tuple[float, str]]

    @property
    def path(self) -> Path:
        return VENUE_DATA / "stubs" / self.name

    def records(self) -> list[HttpRecord]:
        """The kept answer, as the replay serves it (at its recorded time)."""
        if not self.path.is_file():
            return []
        return [HttpRecord(seconds_ns(r.ts), "GET", r.url, r.body) for r in read_rest_log(self.path)]


def recorded_answer(recordings: Path, source: str, url: str) -> tuple[float, str]:
    """``(ts, body)`` of the response to ``url`` in the recorded REST log ``recordings / source``."""
    for record in read_rest_log(recordings / source):
        if record.url == url:
            return record.ts, record.body
    raise LookupError(f"{source} has no recorded response of {url}")


@dataclass(frozen=True, eq=False)
class Venue:
    """What rxpro knows about one exchange id; the defaults hold for an id it knows nothing of."""

    #: the ccxt id
    id: str
    #: the ccxt.pro methods of this venue that log a WebSocket connection in and await ``watch``
    #: for the login answer (not for data): the hub must not take that answer for a stream's data
    login_methods: tuple[str, ...] = DEFAULT_LOGIN_METHODS
    #: ccxt ``options`` that keep ``load_markets`` to the REST calls rxpro has offline (recorded or
    #: simulated); ``None``: nothing declared
    offline_options: Mapping[str, Any] | None = None
    #: offline runs give ccxt placeholder credentials: it signs a request the recording answers publicly
    placeholder_credentials: bool = False
    #: ``params`` per rxpro stream name that a replay needs to subscribe what was recorded
    stream_params: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: frozen({}))
    #: the exchange names cryptofeed writes in its recordings: master ``EX.*`` files, v3 headers
    cryptofeed_names: tuple[str, ...] = ()
    cryptofeed_v3_names: tuple[str, ...] = ()
    #: the folder hftbacktest keeps this market's recordings in (``spot``, ``usdm``)
    hftbacktest_folder: str | None = None
    #: the public combined-stream endpoint, for stream recordings that did not keep their URL
    market_stream_url: str | None = None
    #: the REST order-book snapshot endpoint, for recorded snapshots that did not keep their URL
    depth_snapshot_url: str | None = None
    #: REST answers derived from recorded ones (``exchanges/data/stubs/``)
    stub_files: tuple[StubFile, ...] = ()
    #: fixed REST answers for calls ccxt makes offline that no recorder keeps
    unrecorded: tuple[HttpRecord, ...] = ()
    #: ccxt's ``create_order_ws`` takes ``params['clientOrderId']`` here (checked in ccxt's
    #: ``create_order_request``): rxpro generates one per call the user gave none
    generates_client_order_id: bool = False
    #: the ``params`` names ccxt's ``create_order_ws`` takes a client order id from here: one the user
    #: gave under any of them is the order's, and rxpro generates none
    client_order_id_params: tuple[str, ...] = ("clientOrderId",)
    #: every public trade of this venue carries an id (ccxt's validators allow none: kraken's
    #: WebSocket trades have none): here a trade without one is a frame error, not data
    trade_ids: bool = False
    #: each stream kind's normal cadence: a subscribed stream silent longer than this (ms) is
    #: stalled and reconnected (kinds not named: ``rxpro._health.DEFAULT_SILENCE_MS``; None: never)
    silence_ms: Mapping[str, float | None] = field(default_factory=lambda: frozen({}))
    #: the REST trade history carrying the stream's trade ids: ``history(exchange, symbol, after_id,
    #: before_id)`` -> the trades in between, oldest first (rxpro._backfill fills reconnect gaps with it)
    trade_history: Callable[[Any, str, int, int | None], Awaitable[list[dict[str, Any]]]] | None = None
    #: ``names_request(error_text, request)``: whether an error the venue sent without saying which
    #: request it answers (ccxt rejects the whole connection with it) names this subscribe request
    #: (the ``message`` ccxt's ``watch`` sent). None: rxpro can't tell, and the error ends every
    #: stream on the connection still waiting for its first data
    names_request: Callable[[str, Any], bool] | None = None
    #: recorded WebSocket endpoints ccxt can't be fed (a protocol version it no longer speaks) -> why;
    #: a replay of such a recording is refused (``ReplayFormatError``) instead of running silent
    unreplayable_urls: Mapping[str, str] = field(default_factory=lambda: frozen({}))
    #: mixin classes of native handlers (``exchanges/_native.py``), placed before ccxt's class
    native: tuple[type, ...] = ()
    #: the ticker channels ccxt can subscribe here, by the venue's name, each with the ccxt
    #: ``options`` that choose it; the first is the one whose tickers carry the best bid/ask.
    #: Empty: ccxt offers one ticker channel
    ticker_channels: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: frozen({}))
    #: ``book_channel(exchange, symbol, limit, params)``: the channel ccxt's ``watch_order_book``
    #: subscribes for that limit, where the limit picks it (OKX ``books5``, Bybit ``orderbook.200``)
    #: while ccxt keeps one book per symbol whatever the channel: two streams of one symbol on two
    #: channels would overwrite each other's book, so rxpro refuses the second. None: the limit
    #: picks no channel (one book per symbol, cut to each stream's limit)
    book_channel: Callable[[Any, str, int | None, Mapping[str, Any]], str] | None = None

    def replay_protocol(self, source: str) -> ReplayProtocol:
        """The protocol of a replay of this venue recorded by ``source`` (``rxpro/1``, ``cryptofeed-master``...)."""
        if source in THIRD_PARTY_SOURCES or self.offline_options is not None:
            return RecordedMarketsProtocol(self)
        return ReplayProtocol(self)

    def streams_of(self, channels: Iterable[str]) -> list[str]:
        """rxpro's stream names (``trades``, ``orderbook``, ``ohlcv:1m``) of the channels a recording's
        frames carry, for recordings that don't name their streams (hftbacktest); empty: not known here."""
        return []

    def loaded(self, recording: Recording) -> None:
        """Make a just-loaded recording of this venue read as its replay needs it (in place).

        Called at the end of ``load_recording``, so every reader of the recording sees the
        result: a third-party recording's stream names where the recorder's mean something
        else on this venue (Binance), answers and frames rewritten as the venue sends them
        today or as ccxt reads them (Kraken Futures' market ids, Upbit's field names), its
        symbols read off what it subscribed (Gemini).  Default: nothing.
        """

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        """REST answers a replay serves besides the recorded ones: kept stubs, then fixed answers."""
        return [record for stub in self.stub_files for record in stub.records()] + list(self.unrecorded)
