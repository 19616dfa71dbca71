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
from rxpro._replay_formats import recorded_symbols
from rxpro._replay_stubs import STUB_FILES, build_stub
from rxpro.testing._data import DATA_DIR

from .conftest import Sink, sink

pytestmark = pytest.mark.timeout(120)  # KuCoin validates 2,300 books of ~500 levels (BSV/USDT)

CF = DATA_DIR / "cryptofeed"
REPLAYS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "binance": (DATA_DIR / "btcusdt_20240808.gz", ("trades", "book")),
    "binanceusdm": (DATA_DIR / "usdm" / "btcusdt_20240808.gz", ("trades", "book")),
    "okx": (DATA_DIR / "OKX.ws.1.0", ("trades", "book", "ticker")),
    "coinbaseexchange": (CF / "COINBASE.ws.28.0", ("trades", "book", "ticker")),
    "gate": (CF / "GATEIO.ws.1.0", ("trades", "ticker")),  # order book: see data/README.md
    "kucoin": (CF / "KUCOIN.ws.1.0", ("trades", "book", "ticker")),
    "bitfinex": (CF / "BITFINEX.ws.11.0", ("trades", "book", "ticker")),
    "bitstamp": (CF / "BITSTAMP.ws.1.0", ("trades", "book")),  # no ticker channel was recorded
    "deribit": (CF / "DERIBIT.ws.1.0", ("book", "ticker")),  # no trade happened in the 30 s recorded
}
#: the recorded Deribit channels are the authenticated ``raw`` ones (see data/README.md)
TICKER_PARAMS: dict[str, dict[str, Any]] = {"deribit": {"interval": "raw"}}
#: ccxt refuses a depth of 10 here; None is also the depth that was recorded
BOOK_LIMITS: dict[str, int | None] = {"kucoin": None, "bitfinex": None}
SKIPPED: dict[str, Any] = {}
UNTIMED = {"timestamp": True, "datetime": True}
#: Recorded values that break a validator's cross-check as the exchange sent them (not a parser fault).
#: Bitfinex MANA/BTC 2021-04-17: DAILY_CHANGE 4.74e-6 on last 2.516e-5 is +23 %, DAILY_CHANGE_RELATIVE says 4.74 %.
EXCHANGE_DATA_QUIRKS: dict[tuple[str, str], dict[str, Any]] = {("bitfinex", "MANA/BTC"): {"comparePercentage": True}}


@pytest.mark.parametrize("exchange_id", sorted(REPLAYS))
async def test_bundled_recording_replays_and_validates(exchange_id: str) -> None:
    path, kinds = REPLAYS[exchange_id]
    assert path.is_file(), f"{exchange_id} lost its bundled recording {path}"
    ex = rxpro.replay(path, autostart=False)
    assert ex.id == exchange_id
    try:
        await ex.load_markets()
        symbols, unmatched = recorded_symbols(ex)
        assert symbols and not unmatched, f"recorded symbols not in the recorded markets: {unmatched}"
        sinks: dict[tuple[str, str], Sink] = {}
        for symbol in symbols:
            if "trades" in kinds:
                sinks[("trades", symbol)] = sink(rxpro.trades(ex, symbol))
            if "book" in kinds:
                sinks[("book", symbol)] = sink(rxpro.order_book(ex, symbol, BOOK_LIMITS.get(exchange_id, 10)))
            if "ticker" in kinds:
                sinks[("ticker", symbol)] = sink(rxpro.ticker(ex, symbol, TICKER_PARAMS.get(exchange_id)))
        await asyncio.sleep(0)
        summary = await ex.replay.run()
        assert summary.frames > 0
        now = ex.milliseconds() + 1
        for kind in kinds:
            emitted = sum(len(s.items) for (k, _), s in sinks.items() if k == kind)
            assert emitted > 0, f"{exchange_id}: no {kind} emitted"
        for (kind, symbol), values in sinks.items():
            assert values.errors == [], f"{exchange_id} {kind} {symbol}: {values.errors}"
            for value in values.items:
                if kind == "trades":
                    ccxt_test_trade(ex, SKIPPED, "watchTrades", value, symbol, now, True)
                elif kind == "book":
                    skipped = UNTIMED if value["timestamp"] is None else SKIPPED
                    ccxt_test_order_book(ex, skipped, "watchOrderBook", value, symbol)
                else:
                    quirks = EXCHANGE_DATA_QUIRKS.get((exchange_id, symbol), SKIPPED)
                    ccxt_test_ticker(ex, quirks, "watchTicker", value, symbol)
    finally:
        await ex.close()


#: Bundled recordings that do not replay, with the reason (rxpro/testing/data/README.md says more).
NOT_REPLAYING: dict[str, str] = {}


def test_every_bundled_ws_recording_is_registered_or_explained() -> None:
    """A new recording must be registered here, or listed with the reason it does not replay."""
    registered = {p.name for p, _ in REPLAYS.values()}
    for path in sorted(CF.glob("*.ws.*")):
        exchange = path.name.split(".ws.", 1)[0]
        assert path.name in registered or exchange in NOT_REPLAYING, f"{path.name} is neither registered nor explained"


def test_stub_files_are_derived_from_the_recorded_data() -> None:
    """``data/stubs/`` holds exactly what ``rxpro._replay_stubs`` builds from the bundled recordings."""
    for stub in STUB_FILES:
        path = DATA_DIR / "stubs" / stub.name
        assert path.is_file(), f"missing {path}: run python -m rxpro._replay_stubs"
        assert path.read_text(encoding="utf-8") == build_stub(stub, DATA_DIR), f"{path} differs from a rebuild"
