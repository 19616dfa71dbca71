"""Per-exchange details of replaying a recording through an unmodified ccxt.pro class.

A recording holds what the server sent to *its* recorder.  Replaying it to ccxt
needs, per exchange family, a little protocol knowledge that is not data:

* ``configure`` — ccxt options that keep ``load_markets`` to the REST calls that
  were recorded (e.g. Binance spot only, no currencies);
* ``stub_http`` — minimal answers for REST calls ccxt makes but no recorder kept
  (documented per exchange in ``rxpro/testing/data/README.md``);
* ``replies`` — the server's answer to a client frame when the recording lacks it
  (Binance's ``{"result":null,"id":N}`` subscription acknowledgement);
* ``route`` — which of ccxt's connections a recorded frame belongs to (Binance
  spreads subscriptions over several connections, one per stream).

The default protocol binds each recorded connection to the ccxt connection of the
same host and feeds it every frame.  Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from ._replay_formats import HttpRecord, Recording, WsFrame

if TYPE_CHECKING:
    from ._replay import ReplayClient

__all__ = ["ReplayProtocol", "protocol_for"]


class ReplayProtocol:
    """Default: frames go to the ccxt connection bound to their recorded connection."""

    #: ``params`` a stream needs to subscribe what was recorded, where no ccxt option
    #: reaches it (e.g. Deribit tickers: ``{"ticker": {"interval": "raw"}}``)
    stream_params: dict[str, dict[str, Any]] = {}

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        return config

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        return []

    def prepare(self, exchange: Any, recording: Recording) -> None:
        """Adjust the exchange after construction (before any call)."""

    def replies(self, client: ReplayClient, text: str) -> list[str]:
        return []

    def route(self, frame: WsFrame, clients: Sequence[ReplayClient]) -> ReplayClient | None:
        return clients[0] if clients else None

    def adapt(self, frame: WsFrame, client: ReplayClient) -> WsFrame:
        """The frame as the server would have sent it to this client (default: as recorded)."""
        return frame


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(value, out[key])  # the user's settings win
        else:
            out.setdefault(key, value)
    return out


#: Credentials that let ccxt build a signed request that never leaves the process.
_PLACEHOLDER_CREDENTIALS = {"apiKey": "replay", "secret": "cmVwbGF5", "password": "replay"}


class BinanceProtocol(ReplayProtocol):
    """Binance spot / USDⓈ-M / COIN-M: acknowledge SUBSCRIBE, route by stream name.

    ccxt opens one connection per subscription (``.../ws/0``, ``.../ws/1``, ...) and
    subscribes with ``{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}``; the
    server answers ``{"result":null,"id":1}`` and then sends only those streams.  A
    recorded frame ``{"stream":"btcusdt@depth@100ms","data":{...}}`` goes to the
    connection that subscribed to that stream; the ``@<n>ms`` update-speed suffix
    is ignored in the comparison (it changes the pace, not the frames).
    """

    def __init__(self, exchange_id: str) -> None:
        self.exchange_id = exchange_id

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        types = {"binance": ["spot"], "binanceusdm": ["linear"], "binancecoinm": ["inverse"]}[self.exchange_id]
        return _deep_merge(config, {
            "options": {"fetchMarkets": {"types": types}, "fetchCurrencies": False, "fetchMargins": False},
        })

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        from .testing._data import DATA_DIR, read_rest_log

        stubs: list[HttpRecord] = []
        paths = {r.url.split("?", 1)[0].split("/", 3)[-1] for r in recording.http}
        bundled = {"binance": "BINANCE.0", "binanceusdm": "cryptofeed/BINANCE_FUTURES.0"}.get(self.exchange_id)
        if bundled is not None and (DATA_DIR / bundled).is_file():
            for record in read_rest_log(DATA_DIR / bundled):
                if "exchangeInfo" in record.url and record.url.split("/", 3)[-1] not in paths:
                    stubs.append(HttpRecord(-1, "GET", record.url, record.body))
        if self.exchange_id == "binanceusdm":
            # ccxt's binanceusdm also asks the COIN-M exchangeInfo; it was never recorded
            stubs.append(HttpRecord(-1, "GET", "https://dapi.binance.com/dapi/v1/exchangeInfo",
                                    '{"timezone":"UTC","symbols":[]}'))
        return stubs

    def replies(self, client: ReplayClient, text: str) -> list[str]:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(message, dict) or "id" not in message:
            return []
        method = message.get("method")
        names = {_stream_key(name) for name in message.get("params") or () if isinstance(name, str)}
        streams: set[str] = client.protocol_state.setdefault("streams", set())
        if method == "SUBSCRIBE":
            streams |= names
        elif method == "UNSUBSCRIBE":
            streams -= names
        elif method != "LIST_SUBSCRIPTIONS":
            return []
        return [orjson.dumps({"result": None, "id": message["id"]}).decode()]

    def route(self, frame: WsFrame, clients: Sequence[ReplayClient]) -> ReplayClient | None:
        text = frame.text
        if text is None or not text.startswith('{"stream":"'):
            return super().route(frame, clients)
        key = _stream_key(text[11:text.index('"', 11)])
        for client in clients:
            if key in client.protocol_state.get("streams", ()):
                return client
        return None


def _stream_key(name: str) -> str:
    # 'btcusdt@depth@100ms' and 'btcusdt@depth@0ms' and 'btcusdt@depth' are one stream
    name = name.lower()
    if name.endswith("ms") and name.count("@") >= 2:
        name = name.rsplit("@", 1)[0]
    return name


class RecordedMarketsProtocol(ReplayProtocol):
    """Third-party recordings kept the markets request only: no currencies, recorded types.

    ``options`` are merged under the user's config (the user's settings win).
    """

    def __init__(self, options: dict[str, Any] | None = None, exchange_id: str = "") -> None:
        self.options = options or {}
        self.exchange_id = exchange_id

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        stubs = STUBS.get(self.exchange_id)
        return stubs(recording) if stubs is not None else []

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        return _deep_merge(config, {"has": {"fetchCurrencies": False}, "options": self.options})


def _records(recording: Recording, fragment: str) -> list[HttpRecord]:
    return [r for r in recording.http if fragment in r.url]


def _gate_stubs(recording: Recording) -> list[HttpRecord]:
    return [HttpRecord(-1, "GET", "https://api.gateio.ws/api/v4/margin/currency_pairs", "[]")]


STUBS = {"gate": _gate_stubs}


class CoinbaseExchangeProtocol(RecordedMarketsProtocol):
    """ccxt signs ``level2`` subscriptions (Coinbase made the channel private in 2023).

    The 2021 recording is the then-public ``level2`` feed; placeholder credentials
    let ccxt build its signed subscribe frame, which never leaves the process.
    """

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        placeholders = {k: v for k, v in _PLACEHOLDER_CREDENTIALS.items() if k not in config}
        return _deep_merge(super().configure(config), placeholders)


def _stub_file(name: str) -> list[HttpRecord]:
    """The REST answers kept in ``rxpro/testing/data/stubs/<name>`` (see ``_replay_stubs``)."""
    from .testing._data import DATA_DIR, read_rest_log

    path = DATA_DIR / "stubs" / name
    if not path.is_file():
        return []
    return [HttpRecord(_seconds_ns(r.ts), "GET", r.url, r.body) for r in read_rest_log(path)]


def _seconds_ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None or not text.startswith("{"):
        return None
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


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

    def topic(self, frame: WsFrame, client: ReplayClient) -> str | None:
        return None

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        return []

    def replies(self, client: ReplayClient, text: str) -> list[str]:
        message = _json_object(text)
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

    def route(self, frame: WsFrame, clients: Sequence[ReplayClient]) -> ReplayClient | None:
        for client in clients:
            topic = self.topic(frame, client)
            if topic is None or topic in client.protocol_state.get("topics", ()):
                return client
        return None


class KucoinProtocol(TopicProtocol):
    """KuCoin spot: topics ``/market/match:EQZ-BTC``; ccxt's own ids get the ``ack``.

    Client frame ``{"id":"1","type":"subscribe","topic":"/market/match:EQZ-BTC,ANKR-BTC",
    "response":true}`` subscribes one topic per symbol; a recorded frame
    ``{"data":{...},"subject":"trade.l3match","topic":"/market/match:DAPPT-BTC","type":"message"}``
    belongs to its ``topic``.  cryptofeed sent every subscription with ``id`` 1, so the
    recorded ``{"id":"1","type":"ack"}`` frames are dropped and each ccxt request is
    acknowledged with its own id instead.

    ccxt's defaults differ from the recording in two documented ways, bridged with
    ccxt's own options: tickers (``watchTicker.spotMethod = "/market/ticker"``, the
    recorded channel; ccxt defaults to ``/market/snapshot``), and the order-book
    snapshot, recorded as ``/api/v3/market/orderbook/level2`` — the endpoint ccxt
    uses with credentials and no limit, so placeholder credentials are set (they sign
    nothing that leaves the process).
    """

    def __init__(self) -> None:
        # fetchTickersFees: no allTickers were recorded; hf: ccxt's account-type query is private
        super().__init__({"fetchMarkets": {"types": ["spot"], "fetchTickersFees": False},
                          "watchTicker": {"spotMethod": "/market/ticker"}, "hf": False}, "kucoin")

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        placeholders = {k: v for k, v in _PLACEHOLDER_CREDENTIALS.items() if k not in config}
        return _deep_merge(super().configure(config), placeholders)

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        # ccxt asks /api/v2/symbols; the recorded /api/v1/symbols has the same fields it reads
        stubs = [HttpRecord(r.ts_ns, "GET", "https://api.kucoin.com/api/v2/symbols", r.body)
                 for r in _records(recording, "/api/v1/symbols")[:1]]
        # the bullet-public token call was not recorded (cryptofeed redacted the token as TOKEN)
        token = {"code": "200000", "data": {"token": "TOKEN", "instanceServers": [{
            "endpoint": "wss://push-private.kucoin.com/endpoint", "encrypt": True, "protocol": "websocket",
            "pingInterval": 18000, "pingTimeout": 10000}]}}
        stubs.append(HttpRecord(-1, "POST", "https://api.kucoin.com/api/v1/bullet-public",
                                orjson.dumps(token).decode()))
        # with credentials ccxt also asks which markets are marginable: not recorded, none
        for url in ("https://api.kucoin.com/api/v3/margin/symbols", "https://api.kucoin.com/api/v1/isolated/symbols"):
            stubs.append(HttpRecord(-1, "GET", url, '{"code":"200000","data":{"items":[]}}'))
        return stubs

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        kind, topic = message.get("type"), message.get("topic")
        if kind not in ("subscribe", "unsubscribe") or not isinstance(topic, str) or ":" not in topic:
            return None
        channel, _, symbols = topic.partition(":")
        return kind == "subscribe", [f"{channel}:{symbol}" for symbol in symbols.split(",")]

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        return [orjson.dumps({"id": str(message.get("id")), "type": "ack"}).decode()]

    def topic(self, frame: WsFrame, client: ReplayClient) -> str | None:
        text = frame.text or ""
        if text.startswith('{"id":') and '"type":"ack"' in text:
            return self.DROP
        message = _json_object(text)
        return None if message is None else message.get("topic")


class BitstampProtocol(TopicProtocol):
    """Bitstamp: channels ``diff_order_book_ethusd``, ``live_trades_ethusd``.

    Client frame ``{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}``;
    recorded frame ``{"data":{...},"channel":"live_trades_ethusd","event":"trade"}``.
    The recorded ``bts:subscription_succeeded`` frames are fed for ccxt's channels
    only.  Markets: ``stubs/BITSTAMP.markets.0``, derived from the recorded
    ``trading-pairs-info`` (see ``_replay_stubs.bitstamp_markets``).
    """

    def __init__(self) -> None:
        super().__init__({}, "bitstamp")

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        return _stub_file("BITSTAMP.markets.0")

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        event, data = message.get("event"), message.get("data")
        if event not in ("bts:subscribe", "bts:unsubscribe") or not isinstance(data, dict):
            return None
        return event == "bts:subscribe", [str(data.get("channel"))]

    def topic(self, frame: WsFrame, client: ReplayClient) -> str | None:
        message = _json_object(frame.text)
        channel = None if message is None else message.get("channel")
        return channel if isinstance(channel, str) else None


#: Bitfinex ``conf`` flag: every channel message ends with a sequence number.
_BITFINEX_SEQ_ALL = 65536


class BitfinexProtocol(TopicProtocol):
    """Bitfinex v2: channels are numbered by the server (``chanId``).

    Client frame ``{"event":"subscribe","channel":"trades","symbol":"tBFTUSD"}``; the
    recorded answer ``{"event":"subscribed","channel":"trades","chanId":232953,
    "symbol":"tBFTUSD","pair":"BFTUSD"}`` is fed for ccxt's subscriptions only, and
    then the channel's frames ``[232953,"te",[id,mts,amount,price],7]``.

    cryptofeed asked ``{"event":"conf","flags":65536}`` (``SEQ_ALL``): the server then
    appends a sequence number to every channel frame (the trailing ``7`` above).  ccxt
    asks ``flags: 131072`` (checksums) instead, and its trades handler reads a
    3-element frame as an update — so for a connection that did not ask ``SEQ_ALL``
    the trailing number is removed, as the server would not have sent it.  No ``cs``
    checksum frames were recorded (cryptofeed did not ask for them): ccxt's book
    checksum is never checked in this replay.  Markets: ``stubs/BITFINEX.conf.0``,
    derived from the recorded pair list (see ``_replay_stubs.bitfinex_conf``).
    """

    def __init__(self) -> None:
        super().__init__({}, "bitfinex")

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        return _stub_file("BITFINEX.conf.0")

    @staticmethod
    def _key(message: dict[str, Any]) -> str:
        return f"{message.get('channel')}:{message.get('symbol') or message.get('key')}"

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        if message.get("event") == "subscribe":
            return True, [self._key(message)]
        return None

    def replies(self, client: ReplayClient, text: str) -> list[str]:
        message = _json_object(text)
        if message is not None and message.get("event") == "conf":
            client.protocol_state["flags"] = int(message.get("flags") or 0)
        if message is not None and message.get("event") == "unsubscribe":
            chan_id = str(message.get("chanId"))
            client.protocol_state.setdefault("channels", set()).discard(chan_id)
            return [orjson.dumps({"event": "unsubscribed", "status": "OK", "chanId": message.get("chanId")}).decode()]
        return super().replies(client, text)

    def topic(self, frame: WsFrame, client: ReplayClient) -> str | None:
        text = frame.text or ""
        channels: set[str] = client.protocol_state.setdefault("channels", set())
        if text.startswith("["):
            chan_id = text[1:text.find(",")]
            return None if chan_id in channels else self.DROP
        message = _json_object(text)
        if message is None or message.get("event") != "subscribed":
            return None
        key = self._key(message)
        if key in client.protocol_state.get("topics", ()):
            channels.add(str(message.get("chanId")))
        return key

    def adapt(self, frame: WsFrame, client: ReplayClient) -> WsFrame:
        text = frame.text
        if (text is None or not text.startswith("[")
                or client.protocol_state.get("flags", 0) & _BITFINEX_SEQ_ALL):
            return frame
        message = orjson.loads(text)
        if len(message) >= 3 and isinstance(message[-1], int):
            return WsFrame(frame.ts_ns, frame.conn, orjson.dumps(message[:-1]).decode())
        return frame


class DeribitProtocol(TopicProtocol):
    """Deribit JSON-RPC: ``public/subscribe`` channels ``book.BTC-24SEP21-8000-P.raw``.

    Client frame ``{"jsonrpc":"2.0","method":"public/subscribe","params":{"channels":[...]},"id":3}``
    is answered ``{"jsonrpc":"2.0","id":3,"result":[...]}`` (the recorded answer to
    cryptofeed's id 0 is dropped); a recorded notification
    ``{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.ETH-30JUL21-2800-C.raw",
    "data":{...}}}`` goes to the connection that subscribed its channel.

    **Protocol drift**: the recording holds the ``raw`` channels; ccxt defaults to
    ``100ms`` and subscribes ``raw`` only after ``public/auth`` (Deribit made raw
    feeds authenticated).  The replay sets ccxt's ``interval`` option to ``raw`` for
    trades and books (tickers take ``params={"interval": "raw"}``), placeholder
    credentials, and answers ``public/auth`` with a placeholder token.  Markets:
    ``stubs/DERIBIT.instruments.0`` (see ``_replay_stubs.deribit_instruments``).
    """

    stream_params = {"ticker": {"interval": "raw"}}  # ccxt's watch_ticker has no option for it

    def __init__(self) -> None:
        raw = {"interval": "raw"}  # ccxt looks under the caller's name, then the ...ForSymbols one
        super().__init__({"watchTrades": raw, "watchTradesForSymbols": raw,
                          "watchOrderBook": raw, "watchOrderBookForSymbols": raw}, "deribit")

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        placeholders = {k: v for k, v in _PLACEHOLDER_CREDENTIALS.items() if k not in config}
        return _deep_merge(super().configure(config), placeholders)

    def stub_http(self, recording: Recording) -> list[HttpRecord]:
        return _stub_file("DERIBIT.instruments.0")

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        method, params = message.get("method"), message.get("params")
        if method not in ("public/subscribe", "public/unsubscribe") or not isinstance(params, dict):
            return None
        return method == "public/subscribe", [str(c) for c in params.get("channels") or ()]

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        channels = (message.get("params") or {}).get("channels") or []
        return [orjson.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": channels}).decode()]

    def replies(self, client: ReplayClient, text: str) -> list[str]:
        message = _json_object(text)
        if message is not None and message.get("method") == "public/auth":
            token = {"access_token": "replay", "refresh_token": "replay", "expires_in": 31536000,
                     "scope": "connection", "token_type": "bearer"}
            return [orjson.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": token}).decode()]
        return super().replies(client, text)

    def topic(self, frame: WsFrame, client: ReplayClient) -> str | None:
        message = _json_object(frame.text)
        if message is None:
            return None
        if "result" in message or "error" in message:
            return self.DROP  # answers to cryptofeed's requests; ccxt's are answered by replies()
        params = message.get("params")
        channel = params.get("channel") if isinstance(params, dict) else None
        return channel if isinstance(channel, str) else None


#: Per exchange: ccxt options that keep load_markets to the recorded REST calls.
RECORDED_MARKETS_OPTIONS: dict[str, dict[str, Any]] = {
    "okx": {"fetchMarkets": {"types": ["spot", "swap", "future"]}},
    "coinbaseexchange": {},
    "bitfinex": {},
    "bitstamp": {},
    "gate": {"fetchMarkets": {"types": ["spot"]}},
    "kucoin": {"fetchMarkets": {"types": ["spot"]}},
    "deribit": {},
}


def protocol_for(exchange_id: str, source: str = "") -> ReplayProtocol:
    if exchange_id in ("binance", "binanceusdm", "binancecoinm"):
        return BinanceProtocol(exchange_id)
    if exchange_id == "coinbaseexchange":
        return CoinbaseExchangeProtocol()
    if exchange_id == "kucoin":
        return KucoinProtocol()
    if exchange_id == "bitstamp":
        return BitstampProtocol()
    if exchange_id == "bitfinex":
        return BitfinexProtocol()
    if exchange_id == "deribit":
        return DeribitProtocol()
    if source in ("cryptofeed-master", "cryptofeed-v3") or exchange_id in RECORDED_MARKETS_OPTIONS:
        return RecordedMarketsProtocol(RECORDED_MARKETS_OPTIONS.get(exchange_id), exchange_id)
    return ReplayProtocol()
