"""Credentials never reach a recording: ccxt's own authentication frames, through the recorder's hooks."""

from __future__ import annotations

import asyncio
import gzip
import inspect
from pathlib import Path
from typing import Any

import ccxt.pro
import orjson
import pytest
from aiohttp import WSMessage, WSMsgType

import rxpro
from rxpro._client import RxClient
from rxpro._scrub import scrub_sent

pytestmark = pytest.mark.timeout(60)

API_KEY = "k3yK3YkeyAPIabcdef0123456789"
SECRET = "s3cr3tS3CR3Tsecretxyz9876543210"
PASSWORD = "pAssPhrase-77"
UID = "1234"  # short: must not be replaced inside prices
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
WS_TOKEN = "xeAQ/RCChBYNVh53sTv1yZ5H4wIbwDF20PiHtTF+4UI"
CONFIG = {"apiKey": API_KEY, "secret": SECRET, "password": PASSWORD, "uid": UID}


class FakeSocket(RxClient):
    """rxpro's websocket client with no wire: keeps what ccxt sends, connects nowhere."""

    sent: list[Any]

    def adopt(self, hub: Any, tap: Any) -> None:
        super().adopt(hub, tap)
        self.sent = []

    def connect(self, session: Any, backoff_delay: int = 0) -> Any:
        return self.connected

    async def transmit(self, message: Any) -> None:
        self.sent.append(message)

    def reusableFuture(self, message_hash: str) -> Any:  # noqa: N802 - ccxt's name
        future = asyncio.get_running_loop().create_future()
        future.set_result(True)
        return future

    def future(self, message_hash: str) -> Any:
        return self.reusableFuture(message_hash)


def _recorder(tmp_path: Path, exchange_id: str) -> tuple[rxpro.Recorder, Any, dict[str, FakeSocket]]:
    recorder = rxpro.Recorder(exchange_id, ["BTC/USDT"], ("trades",), tmp_path / f"{exchange_id}.jsonl.gz",
                              config=CONFIG)
    # the rxpro exchange with its connections made FakeSockets, and the recorder as their tap
    exchange = type(exchange_id, (rxpro.exchange_class(exchange_id),), {"rx_client_class": FakeSocket})(CONFIG)
    sockets: dict[str, FakeSocket] = {}
    client = exchange.client
    exchange.client = lambda url: sockets.setdefault(url, client(url))
    recorder.exchange = exchange
    exchange.rx_tap(recorder)
    recorder._writer.open()

    def watch(url: str, message_hash: Any, message: Any = None, *rest: Any) -> Any:
        asyncio.ensure_future(exchange.client(url).send(message))
        future = asyncio.get_running_loop().create_future()
        future.set_result(True)
        return future

    exchange.watch = watch
    return recorder, exchange, sockets


STRUCTURE = {"op", "event", "method", "id", "jsonrpc", "channel", "grant_type"}


def _strings(value: Any) -> set[str]:
    """The string values of a frame, but for its structure (``op``, ``method``...)."""
    if isinstance(value, dict):
        inner = [_strings(v) for k, v in value.items() if k not in STRUCTURE]
        return set().union(*inner) if inner else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


async def _close(recorder: rxpro.Recorder) -> bytes:
    recorder._closed = True
    await recorder.exchange.close()
    recorder._writer.close()
    return b"".join(gzip.open(f, "rb").read() for f in recorder._writer.files)


@pytest.mark.parametrize("exchange_id", ["bybit", "okx", "bitfinex", "deribit"])
async def test_ccxt_authentication_frames_leave_no_key_and_no_signature(tmp_path: Path, exchange_id: str) -> None:
    recorder, exchange, sockets = _recorder(tmp_path, exchange_id)
    try:
        authenticate = exchange.authenticate
        if "url" in inspect.signature(authenticate).parameters:
            url = exchange.urls["api"]["ws"]
            while isinstance(url, dict):
                url = url.get("private") or next(iter(url.values()))
            call = authenticate(url)
        else:
            call = authenticate()
        await asyncio.wait_for(asyncio.ensure_future(call), 5)
        await asyncio.sleep(0)
    finally:
        raw = await _close(recorder)
    frames = [m for s in sockets.values() for m in s.sent]
    assert frames, f"{exchange_id}: ccxt sent no authentication frame"
    # every credential-like value ccxt put in the frame: key, passphrase, HMAC, payload
    # (not the times and nonces: digits only, and not secret)
    values = {v for m in frames for v in _strings(m if not isinstance(m, str) else orjson.loads(m))
              if len(v) >= 8 and not v.isdigit()}
    assert raw.count(b'"t":"send"') == len(frames)
    for value in values | {API_KEY, SECRET, PASSWORD}:
        assert value.encode() not in raw, f"{exchange_id}: {value!r} reached the file"


async def test_listen_keys_and_ws_tokens_from_rest_answers_are_blanked_everywhere(tmp_path: Path) -> None:
    recorder, exchange, _ = _recorder(tmp_path, "binance")
    exchange.on_rest_response(200, "OK", "https://api.binance.com/api/v3/userDataStream", "POST", {},
                              orjson.dumps({"listenKey": LISTEN_KEY}).decode(), {}, None)
    exchange.on_rest_response(200, "OK", "https://api.kraken.com/0/private/GetWebSocketsToken", "POST", {},
                              orjson.dumps({"error": [], "result": {"token": WS_TOKEN, "expires": 900}}).decode(),
                              {}, None)
    client = exchange.client(f"wss://stream.binance.com:9443/ws/{LISTEN_KEY}")
    client.on_connected_callback(client)
    await client.send({"method": "subscribe", "params": {"channel": "executions", "token": WS_TOKEN}})
    client.handle_message(WSMessage(WSMsgType.TEXT, orjson.dumps(
        {"e": "listenKeyExpired", "listenKey": LISTEN_KEY}).decode(), None))
    raw = await _close(recorder)
    assert LISTEN_KEY.encode() not in raw and WS_TOKEN.encode() not in raw
    assert WS_TOKEN.replace("/", "\\/").encode() not in raw
    assert b"/ws/REDACTED" in raw


async def test_a_short_credential_is_not_replaced_inside_market_data(tmp_path: Path) -> None:
    recorder, exchange, _ = _recorder(tmp_path, "binance")
    client = exchange.client("wss://stream.binance.com:9443/ws")
    client.on_connected_callback(client)
    trade = orjson.dumps({"e": "trade", "s": "BTCUSDT", "p": "61234.00", "q": "1234", "t": 12345}).decode()
    client.handle_message(WSMessage(WSMsgType.TEXT, trade, None))
    exchange.on_rest_response(200, "OK", "https://api.binance.com/api/v3/depth?symbol=BTCUSDT", "GET", {},
                              '{"lastUpdateId":1234,"bids":[["61234.00","1.234"]],"asks":[]}', {}, None)
    raw = await _close(recorder)
    records = [orjson.loads(line) for line in raw.splitlines()]
    assert [r["data"] for r in records if r["t"] == "recv"] == [trade]
    assert '"61234.00","1.234"' in next(r["body"] for r in records if r["t"] == "http")


def test_scrubbing_of_authentication_frames() -> None:
    bybit = orjson.loads(scrub_sent('{"op":"auth","args":["K","1","deadbeefsig"]}'))
    assert bybit == {"op": "auth", "args": ["REDACTED", "REDACTED", "REDACTED"]}
    bitfinex = scrub_sent('{"event":"auth","apiKey":"K","authSig":"abc","authPayload":"AUTH1","authNonce":1}')
    assert "abc" not in bitfinex and "AUTH1" not in bitfinex and '"K"' not in bitfinex
    assert orjson.loads(bitfinex)["event"] == "auth"
    # a subscription keeps its fields (Bitfinex candles name their channel with "key")
    candles = '{"event":"subscribe","channel":"candles","key":"trade:1m:tBTCUSD"}'
    assert scrub_sent(candles) == candles
