"""Every bundled recording replays through its rxpro exchange, and every value passes ccxt's validators.

``REPLAYS`` is the registry: exchange id -> (recording, streams that must emit).
A registered exchange whose recording is gone, or that no longer emits, fails.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade

import rxpro
from rxpro.testing._data import DATA_DIR

from .conftest import Sink, sink

pytestmark = pytest.mark.timeout(60)

CF = DATA_DIR / "cryptofeed"
REPLAYS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "binance": (DATA_DIR / "btcusdt_20240808.gz", ("trades", "book")),
    "binanceusdm": (DATA_DIR / "usdm" / "btcusdt_20240808.gz", ("trades", "book")),
    "okx": (DATA_DIR / "OKX.ws.1.0", ("trades", "book", "ticker")),
    "coinbaseexchange": (CF / "COINBASE.ws.28.0", ("trades", "book", "ticker")),
    "gate": (CF / "GATEIO.ws.1.0", ("trades", "ticker")),  # order book: see data/README.md
}
SKIPPED: dict[str, Any] = {}
UNTIMED = {"timestamp": True, "datetime": True}


def _unified(ex: Any, recorded: str) -> str | None:
    for candidate in (recorded, recorded.replace("-", "_"), recorded.replace("-", "").lower(), recorded.replace("-", "")):
        markets = ex.markets_by_id.get(candidate)
        if markets:
            return str(markets[0]["symbol"])
    return None


@pytest.mark.parametrize("exchange_id", sorted(REPLAYS))
async def test_bundled_recording_replays_and_validates(exchange_id: str) -> None:
    path, kinds = REPLAYS[exchange_id]
    assert path.is_file(), f"{exchange_id} lost its bundled recording {path}"
    ex = rxpro.replay(path, autostart=False)
    assert ex.id == exchange_id
    try:
        await ex.load_markets()
        recorded = ex.replay.recording.symbols
        symbols = [s for s in (_unified(ex, r) for r in recorded) if s]
        assert symbols, f"no recorded symbol of {recorded} is in the recorded markets"
        sinks: dict[tuple[str, str], Sink] = {}
        for symbol in symbols:
            if "trades" in kinds:
                sinks[("trades", symbol)] = sink(rxpro.trades(ex, symbol))
            if "book" in kinds:
                sinks[("book", symbol)] = sink(rxpro.order_book(ex, symbol, 10))
            if "ticker" in kinds:
                sinks[("ticker", symbol)] = sink(rxpro.ticker(ex, symbol))
        await asyncio.sleep(0)
        summary = await ex.replay.run()
        assert summary.frames > 0
        now = ex.milliseconds() + 1
        for kind in kinds:
            emitted = sum(len(s.items) for (k, _), s in sinks.items() if k == kind)
            assert emitted > 0, f"{exchange_id}: no {kind} emitted"
        for (kind, symbol), values in sinks.items():
            assert values.errors == [], f"{exchange_id} {kind} {symbol}: {values.errors}"
            step = max(1, len(values.items) // 300)  # keep the suite fast on long recordings
            for index, value in enumerate(values.items[::step]):
                if kind == "trades":
                    ccxt_test_trade(ex, SKIPPED, "watchTrades", value, symbol, now, True)
                elif kind == "book":
                    skipped = UNTIMED if value["timestamp"] is None else SKIPPED
                    ccxt_test_order_book(ex, skipped, "watchOrderBook", value, symbol)
                else:
                    ccxt_test_ticker(ex, SKIPPED, "watchTicker", value, symbol)
    finally:
        await ex.close()


def test_every_bundled_ws_recording_is_registered_or_explained() -> None:
    """A new recording must be registered here, or listed with the reason it does not replay."""
    not_replaying = {"BITFINEX", "BITSTAMP", "DERIBIT", "KUCOIN"}  # see rxpro/testing/data/README.md
    registered = {p.name for p, _ in REPLAYS.values()}
    for path in sorted(CF.glob("*.ws.*")):
        exchange = path.name.split(".ws.", 1)[0]
        assert path.name in registered or exchange in not_replaying, f"{path.name} is neither registered nor explained"
