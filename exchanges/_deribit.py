"""Deribit: what rxpro knows about it.

* the replay protocol (:class:`DeribitProtocol`): JSON-RPC ``public/subscribe``, and a
  placeholder answer to ``public/auth``;
* the ``raw`` channels the 2021 recording holds, reached with ccxt's ``interval``
  options offline and, for tickers, a stream parameter (``stream_params``);
* its markets, derived from the recorded 2021 instruments (:func:`deribit_instruments`,
  kept in ``exchanges/data/stubs/DERIBIT.instruments.0``);
* the login: ``authenticate`` sends ``public/auth`` and awaits the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rxpro._errors import StreamNotRecorded
from rxpro._recorded import Recording, WsFrame
from rxpro._replay_protocols import OWN_SOURCE, ReplayConnection, ReplayProtocol, TopicProtocol, json_object

from ._venue import StubFile, Venue, frozen, recorded_answer

__all__ = ["VENUES", "Deribit", "DeribitProtocol", "deribit_instruments"]


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
    trades and books (tickers take ``params={"interval": "raw"}``; without it a ticker is
    refused with ``StreamNotRecorded`` saying so, see ``unrecorded``), placeholder
    credentials, and answers ``public/auth`` with a placeholder token.  Markets:
    ``stubs/DERIBIT.instruments.0`` (see :func:`deribit_instruments`).
    """

    def __init__(self, venue: Any) -> None:
        super().__init__(venue)
        self._ticker_intervals: set[str] = set()  # of the recorded ``ticker.<instrument>.<interval>`` channels

    @property
    def stream_params(self) -> dict[str, dict[str, Any]]:
        """Tickers at the recorded interval (``raw`` where the recording does not say, or holds it)."""
        interval = "raw" if not self._ticker_intervals or "raw" in self._ticker_intervals \
            else sorted(self._ticker_intervals)[0]
        return {"ticker": {"interval": interval}}

    def prepare(self, exchange: Any, recording: Recording) -> None:
        super().prepare(exchange, recording)
        for _, _, text in recording.sent:
            change = self.subscribed(json_object(text) or {})
            for channel in change[1] if change is not None else ():
                if channel.startswith("ticker."):
                    self._ticker_intervals.add(channel.rsplit(".", 1)[-1])

    def unrecorded(self, exchange: Any, stream: str, arguments: Mapping[str, Any]) -> StreamNotRecorded | None:
        """A ticker at an interval the recording's tickers are not at: ccxt would subscribe a channel
        no recorded frame belongs to (``params={'interval': 'raw'}`` reaches the recorded ones)."""
        if stream != "ticker" or not self._ticker_intervals:
            return None
        params = arguments.get("params")
        interval = params.get("interval", "100ms") if isinstance(params, Mapping) else "100ms"
        if interval in self._ticker_intervals:
            return None
        recorded = sorted(self._ticker_intervals)
        return StreamNotRecorded(
            f"the recording's Deribit tickers are {', '.join(recorded)} (ticker.<instrument>.{recorded[0]}); "
            f"ccxt subscribes ticker.<instrument>.{interval}: pass params={{'interval': '{recorded[0]}'}}",
            stream="ticker", symbol=arguments.get("symbol") if isinstance(arguments.get("symbol"), str) else None,
            recorded=tuple(f"ticker:{interval}" for interval in recorded))

    def subscribed(self, message: dict[str, Any]) -> tuple[bool, list[str]] | None:
        method, params = message.get("method"), message.get("params")
        if method not in ("public/subscribe", "public/unsubscribe") or not isinstance(params, dict):
            return None
        return method == "public/subscribe", [str(c) for c in params.get("channels") or ()]

    def acknowledge(self, message: dict[str, Any]) -> list[str]:
        channels = (message.get("params") or {}).get("channels") or []
        return [orjson.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": channels}).decode()]

    def replies(self, client: ReplayConnection, text: str) -> list[str]:
        message = json_object(text)
        if message is not None and message.get("method") == "public/auth":
            token = {"access_token": "replay", "refresh_token": "replay", "expires_in": 31536000,
                     "scope": "connection", "token_type": "bearer"}
            return [orjson.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": token}).decode()]
        return super().replies(client, text)

    def topic(self, frame: WsFrame, client: ReplayConnection) -> str | None:
        message = json_object(frame.text)
        if message is None:
            return None
        if "result" in message or "error" in message:
            return self.DROP  # answers to cryptofeed's requests; ccxt's are answered by replies()
        params = message.get("params")
        channel = params.get("channel") if isinstance(params, dict) else None
        return channel if isinstance(channel, str) else None


def deribit_instruments(btc: str, eth: str, streamed: set[str]) -> str:
    """``public/get_instruments`` (all currencies) from the recorded 2021-07-22 BTC and ETH responses.

    Only the instruments the ws recording streams are kept.  Deribit's 2021 layout
    has no ``counter_currency`` / ``settlement_currency`` (added with USDC-settled
    products in 2022) and ccxt skips an instrument without ``counter_currency``:
    every 2021 BTC/ETH contract was quoted against USD and settled in its base
    currency, so ``counter_currency = "USD"`` and ``settlement_currency =
    base_currency`` are added; every recorded field is kept as it was.
    """
    body: dict[str, Any] = {}
    instruments: list[dict[str, Any]] = []
    for text in (btc, eth):
        body = orjson.loads(text)
        for instrument in body.get("result") or []:
            if instrument.get("instrument_name") in streamed:
                instrument.setdefault("counter_currency", "USD")
                instrument.setdefault("settlement_currency", instrument["base_currency"])
                instruments.append(instrument)
    return orjson.dumps(dict(body, result=instruments)).decode()


def _streamed(recordings: Path) -> set[str]:
    """Instrument names of the recorded ws subscriptions (``book.BTC-24SEP21-8000-P.raw``)."""
    names: set[str] = set()
    with open(recordings / "cryptofeed/DERIBIT.ws.1.0", encoding="utf-8") as fh:
        for line in fh:
            if " <- " in line:
                request = orjson.loads(line.split(": ", 1)[1])
                names.update(channel.split(".")[1] for channel in request["params"]["channels"])
    return names


def _build_instruments(recordings: Path) -> tuple[float, str]:
    base = "https://www.deribit.com/api/v2/public/get_instruments?currency={}&expired=false"
    ts, btc = recorded_answer(recordings, "cryptofeed/DERIBIT.0", base.format("BTC"))
    _, eth = recorded_answer(recordings, "cryptofeed/DERIBIT.0", base.format("ETH"))
    return ts, deribit_instruments(btc, eth, _streamed(recordings))


@dataclass(frozen=True, eq=False)
class Deribit(Venue):
    """Deribit: its JSON-RPC protocol."""

    def replay_protocol(self, source: str) -> ReplayProtocol:
        if source == OWN_SOURCE:
            return ReplayProtocol(self)  # ccxt's own connection, requests and answers: fed as recorded
        return DeribitProtocol(self)


_RAW = {"interval": "raw"}  # ccxt looks under the caller's name, then the ...ForSymbols one

VENUES: tuple[Venue, ...] = (
    Deribit(
        "deribit",
        offline_options=frozen({"watchTrades": _RAW, "watchTradesForSymbols": _RAW,
                                "watchOrderBook": _RAW, "watchOrderBookForSymbols": _RAW}),
        placeholder_credentials=True,
        cryptofeed_names=("DERIBIT",),
        stub_files=(StubFile("DERIBIT.instruments.0", "https://www.deribit.com/api/v2/public/get_instruments",
                             _build_instruments),),
    ),
)
