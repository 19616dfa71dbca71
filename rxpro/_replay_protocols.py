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


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(value, out[key])  # the user's settings win
        else:
            out.setdefault(key, value)
    return out


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


def _deribit_stubs(recording: Recording) -> list[HttpRecord]:
    # ccxt asks every instrument at once; cryptofeed asked per currency: one merged answer
    results: list[Any] = []
    body: dict[str, Any] = {}
    for record in _records(recording, "/public/get_instruments?"):
        body = orjson.loads(record.body)
        results.extend(body.get("result") or [])
    if not body:
        return []
    merged = dict(body, result=results)
    return [HttpRecord(-1, "GET", "https://www.deribit.com/api/v2/public/get_instruments", orjson.dumps(merged).decode())]


def _gate_stubs(recording: Recording) -> list[HttpRecord]:
    return [HttpRecord(-1, "GET", "https://api.gateio.ws/api/v4/margin/currency_pairs", "[]")]


def _kucoin_stubs(recording: Recording) -> list[HttpRecord]:
    stubs = [HttpRecord(-1, "GET", "https://api.kucoin.com/api/v2/symbols", r.body)
             for r in _records(recording, "/api/v1/symbols")[:1]]
    # the bullet-public token response was not recorded (cryptofeed redacted the token)
    token = {"code": "200000", "data": {"token": "TOKEN", "instanceServers": [{
        "endpoint": "wss://push-private.kucoin.com/endpoint", "encrypt": True, "protocol": "websocket",
        "pingInterval": 18000, "pingTimeout": 10000}]}}
    stubs.append(HttpRecord(-1, "POST", "https://api.kucoin.com/api/v1/bullet-public", orjson.dumps(token).decode()))
    # ccxt's kucoin loads all tickers with the markets (for market activity); none were recorded
    stubs.append(HttpRecord(-1, "GET", "https://api.kucoin.com/api/v1/market/allTickers",
                            '{"code":"200000","data":{"time":0,"ticker":[]}}'))
    return stubs


STUBS = {"deribit": _deribit_stubs, "gate": _gate_stubs, "kucoin": _kucoin_stubs}


class CoinbaseExchangeProtocol(RecordedMarketsProtocol):
    """ccxt signs ``level2`` subscriptions (Coinbase made the channel private in 2023).

    The 2021 recording is the then-public ``level2`` feed; placeholder credentials
    let ccxt build its signed subscribe frame, which never leaves the process.
    """

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        placeholders = {"apiKey": "replay", "secret": "cmVwbGF5", "password": "replay"}
        return _deep_merge(super().configure(config), {k: v for k, v in placeholders.items() if k not in config})


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
    if source in ("cryptofeed-master", "cryptofeed-v3") or exchange_id in RECORDED_MARKETS_OPTIONS:
        return RecordedMarketsProtocol(RECORDED_MARKETS_OPTIONS.get(exchange_id), exchange_id)
    return ReplayProtocol()
