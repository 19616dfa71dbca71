"""How a replay speaks to ccxt: the protocol base classes that each venue's replay protocol extends.

A recording holds what the server sent to *its* recorder.  Replaying it to ccxt
needs, per exchange family, a little protocol knowledge that is not data:

* ``configure`` — ccxt options that keep ``load_markets`` to the REST calls that
  were recorded (e.g. Binance spot only, no currencies);
* ``stub_http`` — minimal answers for REST calls ccxt makes but no recorder kept;
* ``replies`` — the server's answer to a client frame when the recording lacks it
  (Binance's ``{"result":null,"id":N}`` subscription acknowledgement);
* ``route`` — which of ccxt's connections a recorded frame belongs to (Binance
  spreads subscriptions over several connections, one per stream).

The generic classes live here; the venue's own knowledge (its options, stubs,
subscribe frames) lives with the venue in ``exchanges/_<venue>.py``, whose
:class:`~rxpro.exchanges._venue.Venue` builds the protocol of a replay
(``venue.replay_protocol(source)``).  The default binds each recorded connection to
the ccxt connection of the same host and feeds it every frame.  Nothing here
touches the network, and nothing here imports the replay itself: a replay
connection is anything with a ``protocol_state`` dict (:class:`ReplayConnection`).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import orjson

from ._errors import StreamNotRecorded
from ._recorded import HttpRecord, Recording, WsFrame

__all__ = [
    "OWN_SOURCE",
    "PLACEHOLDER_CREDENTIALS",
    "THIRD_PARTY_SOURCES",
    "RecordedMarketsProtocol",
    "ReplayConnection",
    "ReplayedBook",
    "ReplayProtocol",
    "TopicProtocol",
    "VenueFacts",
    "json_object",
    "merge_under",
]

#: Recording formats written by other programs: they kept the markets request only.
THIRD_PARTY_SOURCES = ("cryptofeed-master", "cryptofeed-v3")

#: rxpro's own recordings (``rxpro.record``): ccxt's own connection, its requests and the answers
#: to them, and only the channels it subscribed.  A venue's protocol for other recordings (which
#: feeds a connection only the topics it subscribes, answers requests) has nothing to add to them.
OWN_SOURCE = "rxpro/1"

#: Credentials that let ccxt build a signed request that never leaves the process.
PLACEHOLDER_CREDENTIALS: Mapping[str, str] = {"apiKey": "replay", "secret": "cmVwbGF5", "password": "replay"}


class ReplayConnection(Protocol):
    """One ccxt connection of a replay, as a protocol sees it (``rxpro._replay.ReplayClient``)."""

    protocol_state: dict[str, Any]


_Connection = TypeVar("_Connection", bound=ReplayConnection)


class VenueFacts(Protocol):
    """What a protocol reads of its venue (``rxpro.exchanges._venue.Venue``)."""

    @property
    def id(self) -> str: ...

    @property
    def offline_options(self) -> Mapping[str, Any] | None: ...

    @property
    def placeholder_credentials(self) -> bool: ...

    @property
    def stream_params(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def ticker_channels(self) -> Mapping[str, Mapping[str, Any]]: ...

    def stub_http(self, recording: Recording) -> list[HttpRecord]: ...


def merge_under(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra``'s keys added where ``base`` lacks them, nested dicts merged alike.

    The caller's settings (``base``) win: a replay's options never override the user's.
    """
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_under(out[key], value)
        elif isinstance(value, Mapping):
            out.setdefault(key, merge_under({}, value))  # a copy: the venue's facts stay unshared
        else:
            out.setdefault(key, list(value) if isinstance(value, list) else value)
    return out


def json_object(text: str | None) -> dict[str, Any] | None:
    """``text`` parsed when it is a JSON object, else None."""
    if text is None or not text.startswith("{"):
        return None
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


class ReplayedBook:
    """A book a replay keeps from recorded levels (price and size texts, as sent), to serve a
    subscriber what the recording holds in another form (another depth, another channel).

    ``apply`` a snapshot's or a change's levels (a size that reads as zero removes the
    level); ``top(depth)`` is the book's best ``depth`` levels a side, ``[[price, size], ...]``.
    """

    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, bids: Any, asks: Any) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for level in levels if isinstance(levels, list) else ():
                price, size = level[0], level[1]
                if float(size) == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def top(self, depth: int) -> tuple[list[list[str]], list[list[str]]]:
        return ([list(level) for level in heapq.nlargest(depth, self.bids.items(), key=_price)],
                [list(level) for level in heapq.nsmallest(depth, self.asks.items(), key=_price)])


def _price(level: tuple[str, str]) -> float:
    return float(level[0])


class ReplayProtocol:
    """Default: frames go to the ccxt connection bound to their recorded connection."""

    def __init__(self, venue: VenueFacts) -> None:
        self.venue = venue

    @property
    def stream_params(self) -> dict[str, dict[str, Any]]:
        """``params`` a stream needs to subscribe what was recorded, where no ccxt option
        reaches it (e.g. Deribit tickers: ``{"ticker": {"interval": "raw"}}``); plain dicts, as ccxt wants."""
        return {stream: merge_under({}, params) for stream, params in self.venue.stream_params.items()}

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        """ccxt's config for the replay (the user's settings win)."""
        if not self.venue.placeholder_credentials:
            return config
        return merge_under(config, {k: v for k, v in PLACEHOLDER_CREDENTIALS.items() if k not in config})

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        return self.venue.stub_http(recording)

    def prepare(self, exchange: Any, recording: Recording) -> None:
        """Adjust the exchange after construction (before any call)."""

    def replies(self, client: ReplayConnection, text: str) -> list[str]:
        return []

    def route(self, frame: WsFrame, clients: Sequence[_Connection]) -> _Connection | None:
        return clients[0] if clients else None

    def adapt(self, frame: WsFrame, client: ReplayConnection) -> WsFrame:
        """The frame as the server would have sent it to this client (default: as recorded)."""
        return frame

    def unrecorded(self, exchange: Any, stream: str, arguments: Mapping[str, Any]) -> StreamNotRecorded | None:
        """Why the recording can't serve ``watch_*(**arguments)`` of rxpro's ``stream`` (``orderbook``...)
        where the stream and symbols are recorded but not what the call asks of them (a deeper
        book than was recorded); None: it can, or the protocol can't tell."""
        return None


class RecordedMarketsProtocol(ReplayProtocol):
    """Third-party recordings kept the markets request only: no currencies, recorded types.

    The venue's ``offline_options`` are merged under the user's config (the user's
    settings win).
    """

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        return merge_under(super().configure(config),
                           {"has": {"fetchCurrencies": False}, "options": self.venue.offline_options or {}})


class TopicProtocol(RecordedMarketsProtocol):
    """A recorded connection carried every channel of the recorder; ccxt gets only its own.

    A live server sends a connection only the channels it subscribed to.  The
    recordings hold cryptofeed's subscriptions (often more symbols and channels than
    ccxt asks for), and ccxt's handlers react to unasked-for frames — e.g. an order
    book delta starts a REST snapshot that was never recorded.  Subclasses say which
    topics a client frame subscribes to (``subscribed``) and which topic a recorded
    frame belongs to (``topic``); ``route`` feeds a frame only to a connection that
    subscribed its topic.  Frames without a topic (welcome, info) go through.
    """

    #: ``topic`` returns this for recorded frames that must not be fed (answered by ``replies``).
    DROP = "\0drop"

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        """``(subscribe?, topics)`` for a subscribe/unsubscribe client frame, else None."""
        return None

    def topic(self, frame: WsFrame, client: ReplayConnection) -> str | None:
        return None

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        return []

    def replies(self, client: ReplayConnection, text: str) -> list[str]:
        message = json_object(text)
        if message is None:
            return []
        change = self.subscribed(message)
        if change is None:
            return []
        subscribe, topics = change
        own: set[str] = client.protocol_state.setdefault("topics", set())
        if subscribe:
            own.update(topics)
        else:
            own.difference_update(topics)
        return self.acknowledge(message)

    def route(self, frame: WsFrame, clients: Sequence[_Connection]) -> _Connection | None:
        for client in clients:
            topic = self.topic(frame, client)
            if topic is None or topic in client.protocol_state.get("topics", ()):
                return client
        return None
