"""Every cryptofeed v3 sample in ``../shared/data``: a stream of what it recorded delivers or says why.

The files are AGPL and are read in place, never copied (skipped when absent). For each one, as a
user would: ``rxpro.replay(file)``, ``load_markets``, then one Observable per recorded stream
(trades, order book, ticker, bids/asks) on its first three recorded symbols, played to the end.

- **Replays:** every stream either emitted, or ended with an error saying why. The only ones that
  did neither are the quiet markets listed in ``QUIET``: each has no frame of that kind in the
  recorded window, counted in the files.
- **Refused:** the file is refused at once, with the error named in ``REFUSED``.

Surveys like this found the silent replays of Binance, Bybit, Gate, Kraken Futures, Upbit, Deribit
tickers and Gemini.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import ccxt
import pytest

import rxpro

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

V3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "cryptofeed" / "v3" / "sample_data"

#: file -> (where it stops, error class, words of the message)
REFUSED: dict[str, tuple[str, type[Exception], str]] = {
    "BITFLYER.jsonl.zst": ("replay", rxpro.UnsupportedExchange, "ships only a REST class"),
    "KRAKEN.jsonl.zst": ("replay", rxpro.ReplayFormatError, "WebSocket API v1"),
    "BITGET.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "BITHUMB.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "CRYPTO.COM.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "GATEIO_FUTURES.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "HUOBI.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "HUOBI_SWAP.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "INDEPENDENT_RESERVE.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "PHEMEX.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
    "POLONIEX.jsonl.zst": ("load_markets", rxpro.ReplayMissingResponse, "no recorded response for GET"),
}

#: file -> the (stream, symbol) pairs that neither emit nor fail: markets the recorded window holds
#: no frame of that kind for (counted in the files: no ``aggTrade`` / ``match`` / ``trades`` frame
#: of the market, or only its subscription answer)
QUIET: dict[str, set[tuple[str, str]]] = {
    "BINANCE.jsonl.zst": {("trades", "BLZ/ETH")},
    "BINANCE_DELIVERY.jsonl.zst": {("trades", "LINK/USD:LINK-211231"), ("trades", "TRX/USD:TRX")},
    "BINANCE_FUTURES.jsonl.zst": set(),
    "BINANCE_US.jsonl.zst": {("trades", "CRV/USDT"), ("trades", "COMP/USDT")},
    "BITFINEX.jsonl.zst": set(),
    "BITSTAMP.jsonl.zst": {("trades", "SGB/EUR"), ("orderbook", "SGB/EUR"), ("trades", "XRP/EUR")},
    "BYBIT.jsonl.zst": set(),
    "COINBASE.jsonl.zst": set(),
    "DERIBIT.jsonl.zst": {("trades", "BTC/USD:BTC-210924-8000-P"), ("trades", "BTC/USD:BTC-210730-24000-P"),
                          ("trades", "ETH/USD:ETH-210730-2800-C")},  # no option traded in the 30 s
    "GATEIO.jsonl.zst": {("trades", "INK/USDT"), ("ticker", "INK/USDT"), ("trades", "OMG/USDT")},
    "GEMINI.jsonl.zst": set(),
    "KRAKEN_FUTURES.jsonl.zst": set(),
    "KUCOIN.jsonl.zst": {("trades", "ANKR/BTC"), ("trades", "NRG/BTC")},
    "OKX.jsonl.zst": set(),
    "UPBIT.jsonl.zst": {("trades", "STPT/BTC"), ("orderbook", "STPT/BTC"), ("trades", "AQT/BTC"),
                        ("orderbook", "AQT/BTC")},
}

#: what a Deribit replay needs to subscribe its recorded (raw) tickers
PARAMS: dict[str, dict[str, Any]] = {"DERIBIT.jsonl.zst": {"interval": "raw"}}


def _path(name: str) -> Path:
    path = V3 / name
    if not path.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, not bundled) is not at {V3}")
    pytest.importorskip("zstandard", reason="reading .zst needs the zstandard package (extra 'zst')")
    return path


def test_every_sample_is_surveyed() -> None:
    if not V3.is_dir():
        pytest.skip(f"cryptofeed v3 data (AGPL, not bundled) is not at {V3}")
    assert {p.name for p in V3.glob("*.jsonl.zst")} == set(REFUSED) | set(QUIET)


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_a_sample_that_cannot_be_replayed_says_why(name: str) -> None:
    where, error, words = REFUSED[name]
    path = _path(name)
    if where == "replay":
        with pytest.raises(error, match=words):
            rxpro.replay(path, autostart=False)
        return
    ex = rxpro.replay(path, autostart=False)
    try:
        with pytest.raises(error, match=words):
            await ex.load_markets()
    finally:
        await ex.close()


@pytest.mark.parametrize("name", sorted(QUIET))
async def test_every_recorded_stream_delivers_or_says_why(name: str) -> None:
    ex = rxpro.replay(_path(name), autostart=False)
    try:
        await ex.load_markets()
        streams = [s for s in ex.replay.recorded_streams if s in ("trades", "orderbook", "ticker", "bids_asks")]
        assert streams, ex.replay.recorded_streams
        sinks = {}
        for symbol in ex.replay.recorded_symbols()[:3]:
            for stream in streams:
                if stream == "trades":
                    sinks[(stream, symbol)] = sink(rxpro.trades(ex, symbol))
                elif stream == "orderbook":
                    sinks[(stream, symbol)] = sink(rxpro.order_book(ex, symbol))
                elif stream == "ticker":
                    sinks[(stream, symbol)] = sink(rxpro.ticker(ex, symbol, PARAMS.get(name)))
                else:
                    sinks[(stream, symbol)] = sink(rxpro.bids_asks(ex, [symbol]))
        await asyncio.sleep(0)
        await asyncio.wait_for(ex.replay.run(), 50)
        silent = {key for key, out in sinks.items() if not out.items and not out.errors}
        assert silent == QUIET[name]
        for key, out in sinks.items():
            for error in out.errors:  # a stream that failed says why, as a ccxt error naming it
                assert isinstance(error, ccxt.BaseError) and str(error), (key, error)
    finally:
        await ex.close()
