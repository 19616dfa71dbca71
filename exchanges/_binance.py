"""Binance spot, USDⓈ-M and COIN-M (and Binance US): what rxpro knows about them.

* the stream protocol: ``{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}``,
  answered ``{"result":null,"id":1}``; a stream's name with or without its
  ``@<n>ms`` update speed is one stream (:func:`stream_key`) — the replay protocol
  and the simulator both speak it from here;
* offline options (one market type, no currencies, no margin lists) and the bundled
  markets (``exchanges/data/BINANCE.0`` spot, ``BINANCE_FUTURES.0`` USDⓈ-M);
* hftbacktest recordings: its folder names and the endpoints it did not record;
* cryptofeed recordings: the channels of their combined-stream URLs name the streams
  (cryptofeed's ``ticker`` is ``bookTicker``) and choose ccxt's trade channel (``aggTrade``);
* the login: ``authenticate`` fetches a listen key by REST, or (spot, margin)
  subscribes the user-data stream on the WebSocket API and awaits that answer;
* the native handlers of the public streams (:class:`~._binance_native.BinanceNative`,
  spot and USDⓈ-M; COIN-M keeps ccxt's: no COIN-M recording with its markets ships to check them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import orjson

from rxpro._recorded import HttpRecord, Recording, WsFrame, read_rest_log
from rxpro._replay_protocols import THIRD_PARTY_SOURCES, ReplayConnection, ReplayProtocol, merge_under

from ._binance_native import BinanceNative
from ._venue import VENUE_DATA, Venue, frozen

__all__ = ["LOGIN_METHODS", "VENUES", "Binance", "BinanceProtocol", "StreamRequest", "acknowledgement",
           "hftbacktest_exchange_id", "parse_request", "stream_key"]

#: every ccxt.pro binance class inherits these from ``ccxt.pro.binance``
LOGIN_METHODS: tuple[str, ...] = (
    "authenticate",
    "ensure_user_data_stream_ws_subscribe_signature",  # spot: userDataStream.subscribe.signature
    "ensure_user_data_stream_ws_subscribe_listen_token",  # margin: userDataStream.subscribe.listenToken
    "renew_listen_token",  # the margin token's renewal timer: no authenticate() above it
)


def stream_key(name: str) -> str:
    """One key per stream: ``'btcusdt@depth@100ms'``, ``'btcusdt@depth@0ms'`` and ``'BTCUSDT@depth'`` are one.

    The update speed changes the pace of a stream, not its frames.
    """
    name = name.lower()
    if name.endswith("ms") and name.count("@") >= 2:
        name = name.rsplit("@", 1)[0]
    return name


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """A client frame ``{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}``."""

    method: Any  # SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS (or whatever the client sent)
    streams: tuple[str, ...]  # the stream names as the client wrote them
    id: Any
    has_id: bool  # the frame carries an "id" (only then does the server answer)


def parse_request(text: str) -> StreamRequest | None:
    """The request in a client frame, or None when it is not a JSON object."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    params = message.get("params") or ()
    streams = tuple(name for name in params if isinstance(name, str)) if isinstance(params, list) else ()
    return StreamRequest(message.get("method"), streams, message.get("id"), "id" in message)


def acknowledgement(request_id: Any, result: Any = None) -> str:
    """The server's answer to a request: ``{"result":null,"id":1}``."""
    return orjson.dumps({"result": result, "id": request_id}).decode()


_Connection = TypeVar("_Connection", bound=ReplayConnection)

#: Binance's two 24 h ticker channels: ``ticker`` (statistics with the best bid/ask) and ``miniTicker``
#: (without: ccxt's default). ccxt 4.5.90's ``watch_ticker`` reads the ``watchTickers`` option (its own
#: ``watchTicker`` option is lost on the way to ``watch_tickers``), so both are set.
TICKER_CHANNELS = frozen({
    channel: {"watchTicker": {"name": channel}, "watchTickers": {"name": channel}}
    for channel in ("ticker", "miniTicker")
})


class BinanceProtocol(ReplayProtocol):
    """Replaying Binance: acknowledge SUBSCRIBE, route by stream name.

    ccxt opens one connection per subscription (``.../ws/0``, ``.../ws/1``, ...) and
    subscribes with ``{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}``; the
    server answers ``{"result":null,"id":1}`` and then sends only those streams.  A
    recorded frame ``{"stream":"btcusdt@depth@100ms","data":{...}}`` goes to the
    connection that subscribed to that stream (:func:`stream_key`).
    """

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        return merge_under(super().configure(config), {"options": self.venue.offline_options or {}})

    def prepare(self, exchange: Any, recording: Recording) -> None:
        """Subscribe tickers and trades on the channels the recording has.

        Tickers: ``ticker`` or ``miniTicker``; trades: ``trade`` or ``aggTrade`` (cryptofeed
        records ``aggTrade``; ccxt subscribes ``trade`` unless told).  A plain ``watch_ticker``
        or ``watch_trades`` then replays what was recorded, whichever channel the recorder
        chose; a channel the caller chose that was recorded too is kept.
        """
        subscribed = list(dict.fromkeys(_channels_subscribed(recording)))
        channels = self.venue.ticker_channels
        recorded = [c for c in subscribed if c in channels]
        chosen = (exchange.options.get("watchTickers") or {}).get("name")
        if recorded and chosen not in recorded:
            for method, choice in channels[recorded[0]].items():
                exchange.options[method] = {**dict(exchange.options.get(method) or {}), **choice}
        trades = [c for c in subscribed if c in ("trade", "aggTrade")]
        chosen = (exchange.options.get("watchTradesForSymbols") or {}).get("name", "trade")
        if trades and chosen not in trades:
            for method in ("watchTrades", "watchTradesForSymbols"):  # ccxt reads the latter; trade_history both
                exchange.options[method] = {**dict(exchange.options.get(method) or {}), "name": trades[0]}

    def replies(self, client: ReplayConnection, text: str) -> list[str]:
        request = parse_request(text)
        if request is None or not request.has_id:
            return []
        names = {stream_key(name) for name in request.streams}
        streams: set[str] = client.protocol_state.setdefault("streams", set())
        if request.method == "SUBSCRIBE":
            streams |= names
        elif request.method == "UNSUBSCRIBE":
            streams -= names
        elif request.method != "LIST_SUBSCRIPTIONS":
            return []
        return [acknowledgement(request.id)]

    def route(self, frame: WsFrame, clients: Sequence[_Connection]) -> _Connection | None:
        text = frame.text
        if text is None or not text.startswith('{"stream":"'):
            return super().route(frame, clients)
        key = stream_key(text[11:text.index('"', 11)])
        for client in clients:
            if key in client.protocol_state.get("streams", ()):
                return client
        return None


#: pages of 1,000 trades a reconnect gap is filled with at most (a longer gap is filled in part)
_HISTORY_PAGES = 100


async def trade_history(exchange: Any, symbol: str, after_id: int, before_id: int | None) -> list[dict[str, Any]]:
    """The trades of ``symbol`` with ``after_id < id < before_id``, oldest first, from Binance's REST history.

    The stream's ids are trade ids (``@trade``, ccxt's default) or aggregate ids (``@aggTrade``,
    ``options['watchTrades']['name']``): ``historicalTrades`` or ``aggTrades`` from ``fromId``,
    on the market's API (spot, USDⓈ-M ``fapi``, COIN-M ``dapi``), 1,000 a page, read by ccxt's own
    ``fetch_trades`` (never with ``since``: Binance refuses ``startTime`` there). Binance asks an
    API key for ``historicalTrades``: without one, the most recent 1,000 trades (``trades``) are
    what can be filled (a longer gap is filled in part, and its rest announced).
    """
    market = exchange.market(symbol)
    names = [exchange.options.get(k) for k in ("watchTradesForSymbols", "watchTrades")]
    aggregate = any(isinstance(n, dict) and n.get("name") == "aggTrade" for n in names)
    api = "public" if market["spot"] else ("fapiPublic" if market["linear"] else "dapiPublic")
    if not aggregate and not exchange.apiKey:
        recent = await exchange.fetch_trades(symbol, None, 1000, {"fetchTradesMethod": api + "GetTrades"})
        return _between(recent, after_id, before_id)
    method = api + ("GetAggTrades" if aggregate else "GetHistoricalTrades")
    trades: list[dict[str, Any]] = []
    from_id = after_id + 1
    for _ in range(_HISTORY_PAGES):
        page = await exchange.fetch_trades(symbol, None, 1000, {"fetchTradesMethod": method, "fromId": from_id})
        if not page:
            break
        trades.extend(_between(page, after_id, before_id))
        last = max(int(t["id"]) for t in page)
        if len(page) < 1000 or (before_id is not None and last >= before_id - 1):
            break
        from_id = last + 1
    return sorted(trades, key=lambda t: int(t["id"]))


def _between(trades: list[dict[str, Any]], after_id: int, before_id: int | None) -> list[dict[str, Any]]:
    """Those of ``trades`` with ``after_id < id < before_id``, by id (ccxt sorts by time, then id as text)."""
    kept = [t for t in trades if after_id < int(t["id"]) and (before_id is None or int(t["id"]) < before_id)]
    return sorted(kept, key=lambda t: int(t["id"]))


@dataclass(frozen=True, eq=False)
class Binance(Venue):
    """A Binance market (spot, USDⓈ-M, COIN-M): its own replay protocol and bundled markets."""

    login_methods: tuple[str, ...] = LOGIN_METHODS
    generates_client_order_id: bool = True  # newClientOrderId, up to 36 of [.A-Z:/a-z0-9_-]
    #: ccxt's create_order_request takes the first of these it finds
    client_order_id_params: tuple[str, ...] = ("newClientOrderId", "clientOrderId", "origClientOrderId")
    trade_ids: bool = True
    trade_history: Any = trade_history
    # depth@100ms, 24hr ticker (1 s) and kline (2 s) streams push on their own clock: 10 s of
    # silence is a dead stream; bookTicker (bids_asks) and trades come only when something changes
    silence_ms: Mapping[str, float | None] = field(default_factory=lambda: frozen(
        {"orderbook": 10_000.0, "ticker": 10_000.0, "ohlcv": 10_000.0, "bidsasks": None, "trades": None}))
    ticker_channels: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: TICKER_CHANNELS)
    #: the bundled exchangeInfo of this market (``exchanges/data/``), for recordings without one
    markets_file: str | None = None
    #: trades, bookTicker, depth diffs, klines and 24hr tickers parsed natively (``_binance_native.py``)
    native: tuple[type, ...] = (BinanceNative,)

    def replay_protocol(self, source: str) -> ReplayProtocol:
        return BinanceProtocol(self)

    def loaded(self, recording: Recording) -> None:
        """A third-party recording's streams, read off the channels it subscribed: cryptofeed's
        ``ticker`` here is ``bookTicker``, rxpro's ``bids_asks`` (a ``ticker`` stream would get nothing)."""
        if recording.source in THIRD_PARTY_SOURCES:
            recording.streams = self.streams_of(dict.fromkeys(_channels_subscribed(recording))) or recording.streams

    def streams_of(self, channels: Iterable[str]) -> list[str]:
        """``btcusdt@depth@100ms`` -> ``orderbook``, ``@bookTicker`` -> ``bids_asks``, ``@kline_1m`` -> ``ohlcv:1m``..."""
        streams: list[str] = []
        for name in channels:
            stream = _stream_of_channel(name.split("@")[1] if "@" in name else name)
            if stream is not None and stream not in streams:
                streams.append(stream)
        return streams

    def markets(self) -> str | None:
        """The bundled exchangeInfo body (``GET .../exchangeInfo``), or None."""
        records = self._markets_records()
        return records[0].body if records else None

    def _markets_records(self) -> list[HttpRecord]:
        if self.markets_file is None or not (VENUE_DATA / self.markets_file).is_file():
            return []
        return [HttpRecord(-1, "GET", r.url, r.body) for r in read_rest_log(VENUE_DATA / self.markets_file)
                if "exchangeInfo" in r.url]

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        """The bundled exchangeInfo unless the recording has its own, then the fixed answers."""
        recorded = {r.url.split("?", 1)[0].split("/", 3)[-1] for r in recording.http}
        markets = [r for r in self._markets_records() if r.url.split("/", 3)[-1] not in recorded]
        return markets + super().stub_http(recording)


def _channels_subscribed(recording: Recording) -> list[str]:
    """The channel of every stream the recording subscribed (``btcusdt@miniTicker`` -> ``miniTicker``):
    in recorded client frames, and in combined-stream URLs (``/stream?streams=btcusdt@aggTrade/...``,
    as cryptofeed connects)."""
    names: list[str] = []
    for _, _, text in recording.sent:
        request = parse_request(text)
        if request is not None and request.method == "SUBSCRIBE":
            names.extend(request.streams)
    for url in recording.connections.values():
        for streams in parse_qs(urlsplit(url).query).get("streams", ()):
            names.extend(streams.split("/"))
    channels = []
    for name in names:
        parts = name.split("@")
        channels.append(parts[0][1:] if name.startswith("!") else parts[1] if len(parts) > 1 else name)
    return channels


def _stream_of_channel(channel: str) -> str | None:
    """rxpro's stream name of a Binance market-stream channel (``trade``, ``depth20``, ``kline_1m``), or None."""
    lower = channel.lower()
    if lower.startswith("kline_"):
        return "ohlcv:" + channel[len("kline_"):]
    if lower.startswith("depth"):
        return "orderbook"
    if lower in ("trade", "aggtrade"):
        return "trades"
    if lower == "bookticker":
        return "bids_asks"
    if lower in ("ticker", "miniticker") or lower.startswith("ticker_"):
        return "ticker"
    return None  # markPrice, forceOrder, ...: no stream rxpro records


def _offline_options(market_type: str) -> Any:
    return frozen({"fetchMarkets": {"types": [market_type]}, "fetchCurrencies": False, "fetchMargins": False})


VENUES: tuple[Venue, ...] = (
    Binance("binance", offline_options=_offline_options("spot"), cryptofeed_names=("BINANCE",),
            hftbacktest_folder="spot", market_stream_url="wss://stream.binance.com:9443/stream",
            depth_snapshot_url="https://api.binance.com/api/v3/depth", markets_file="BINANCE.0"),
    Binance("binanceusdm", offline_options=_offline_options("linear"), cryptofeed_names=("BINANCE_FUTURES",),
            hftbacktest_folder="usdm", market_stream_url="wss://fstream.binance.com/stream",
            depth_snapshot_url="https://fapi.binance.com/fapi/v1/depth", markets_file="BINANCE_FUTURES.0",
            # ccxt's binanceusdm also asks the COIN-M exchangeInfo; no recorder kept it
            unrecorded=(HttpRecord(-1, "GET", "https://dapi.binance.com/dapi/v1/exchangeInfo",
                                   '{"timezone":"UTC","symbols":[]}'),)),
    Binance("binancecoinm", offline_options=_offline_options("inverse"), cryptofeed_names=("BINANCE_DELIVERY",),
            hftbacktest_folder="cm", market_stream_url="wss://dstream.binance.com/stream",
            depth_snapshot_url="https://dapi.binance.com/dapi/v1/depth",
            # no COIN-M recording with its markets ships with rxpro: the natives are not checked on it
            native=()),
    # Binance US: ccxt's binanceus extends binance (the same streams, acknowledgements and snapshots);
    # its natives stay off: no recording of it ships to check them on
    Binance("binanceus", offline_options=_offline_options("spot"), cryptofeed_names=("BINANCE_US",),
            market_stream_url="wss://stream.binance.us:9443/stream",
            depth_snapshot_url="https://api.binance.us/api/v3/depth", native=()),
)


def hftbacktest_exchange_id(depth_frame: str | None) -> str:
    """Which Binance market an hftbacktest recording is of, from its first depth-stream frame.

    COIN-M names its markets ``btcusd_perp``; USDⓈ-M depth diffs carry ``"pu"`` (the
    previous update id); spot's carry neither.  No depth frame: spot.
    """
    if depth_frame is None:
        return "binance"
    if "_perp@" in depth_frame[:60]:
        return "binancecoinm"
    return "binanceusdm" if '"pu":' in depth_frame else "binance"
