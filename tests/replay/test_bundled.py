"""Every bundled recording replays through its rxpro exchange, and every value passes ccxt's validators.

``REPLAYS`` is the registry: name -> (exchange id, recording files, streams that must emit).
A registered recording that is gone, or that no longer emits, fails; every other bundled data
file must be explained (``NOT_RECORDINGS``, ``NOT_REPLAYING``, stubs, REST companions).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade

import rxpro
from rxpro._replay_formats import recorded_symbols
from rxpro.testing._bundle import STUB_FILES, build_stub
from rxpro.testing._data import DATA_DIR

from .conftest import Sink, sink

pytestmark = pytest.mark.timeout(120)  # KuCoin validates 2,300 books of ~500 levels (BSV/USDT)

CF = DATA_DIR / "cryptofeed"
#: name -> (exchange id, the files replayed together, streams that must emit). A ``*_20240809`` file
#: continues its ``*_20240808`` predecessor (one session, the depth snapshot is in the first): played together.
REPLAYS: dict[str, tuple[str, tuple[Path, ...], tuple[str, ...]]] = {
    "binance BTCUSDT": ("binance", (DATA_DIR / "btcusdt_20240808.gz", DATA_DIR / "btcusdt_20240809.gz"),
                        ("trades", "book")),
    "binance ETHUSDT": ("binance", (DATA_DIR / "ethusdt_20240808.gz", DATA_DIR / "ethusdt_20240809.gz"),
                        ("trades", "book")),
    "binanceusdm": ("binanceusdm", (DATA_DIR / "usdm" / "btcusdt_20240808.gz",), ("trades", "book")),
    "okx": ("okx", (DATA_DIR / "OKX.ws.1.0",), ("trades", "book", "ticker")),
    "coinbaseexchange": ("coinbaseexchange", (CF / "COINBASE.ws.28.0",), ("trades", "book", "ticker")),
    "gate": ("gate", (CF / "GATEIO.ws.1.0",), ("trades", "ticker")),  # order book: see data/README.md
    "kucoin": ("kucoin", (CF / "KUCOIN.ws.1.0",), ("trades", "book", "ticker")),
    "bitfinex": ("bitfinex", (CF / "BITFINEX.ws.11.0",), ("trades", "book", "ticker")),
    "bitstamp": ("bitstamp", (CF / "BITSTAMP.ws.1.0",), ("trades", "book")),  # no ticker channel was recorded
    "deribit": ("deribit", (CF / "DERIBIT.ws.1.0",), ("book", "ticker")),  # no trade happened in the 30 s recorded
}
#: the ``*_20240809`` halves start at 2024-08-09 00:00 UTC: the joined replays must emit from them too
REACHES_MS: dict[str, int] = {"binance BTCUSDT": 1_723_161_600_000, "binance ETHUSDT": 1_723_161_600_000}
#: ccxt refuses a depth of 10 here; None is also the depth that was recorded
BOOK_LIMITS: dict[str, int | None] = {"kucoin": None, "bitfinex": None}
SKIPPED: dict[str, Any] = {}
UNTIMED = {"timestamp": True, "datetime": True}
#: Recorded values that break a validator's cross-check as the exchange sent them (not a parser fault).
#: Bitfinex MANA/BTC 2021-04-17: DAILY_CHANGE 4.74e-6 on last 2.516e-5 is +23 %, DAILY_CHANGE_RELATIVE says 4.74 %.
EXCHANGE_DATA_QUIRKS: dict[tuple[str, str], dict[str, Any]] = {("bitfinex", "MANA/BTC"): {"comparePercentage": True}}


@pytest.mark.parametrize("name", sorted(REPLAYS))
async def test_bundled_recording_replays_and_validates(name: str) -> None:
    exchange_id, paths, kinds = REPLAYS[name]
    for path in paths:
        assert path.is_file(), f"{name} lost its bundled recording {path}"
    ex = rxpro.replay(list(paths), autostart=False)
    assert ex.id == exchange_id
    assert {Path(p) for p in ex.replay.recording.paths} >= set(paths)
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
                sinks[("ticker", symbol)] = sink(rxpro.ticker(ex, symbol, ex.replay.protocol.stream_params.get("ticker")))
        await asyncio.sleep(0)
        summary = await ex.replay.run()
        assert summary.frames > 0
        now = ex.milliseconds() + 1
        for kind in kinds:
            emitted = sum(len(s.items) for (k, _), s in sinks.items() if k == kind)
            assert emitted > 0, f"{exchange_id}: no {kind} emitted"
        if name in REACHES_MS:  # the second file was played, not only the first
            last_trade = max(v["timestamp"] for (k, _), s in sinks.items() if k == "trades" for v in s.items)
            assert last_trade >= REACHES_MS[name], f"{name}: trades stopped at {last_trade}, before the second file"
            first_file = f"hftbacktest:{paths[0].name}"
            depth = [f.text for f in ex.replay.recording.frames if f.conn == first_file and "@depth" in (f.text or "")]
            last_nonce = max(v["nonce"] for (k, _), s in sinks.items() if k == "book" for v in s.items)
            assert last_nonce > orjson.loads(depth[-1])["data"]["u"], f"{name}: the book stopped in the first file"
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
#: Bundled files that are not recordings of their own, and what reads them.
NOT_RECORDINGS: dict[str, str] = {
    "README.md": "documentation",
    "LICENSE.cryptofeed": "licence",
    "LICENSE.hftbacktest": "licence",
}  # the Binance markets (BINANCE.0, BINANCE_FUTURES.0) are venue data: tests/exchanges/test_venues.py


def _companions(path: Path) -> list[Path]:
    """The REST logs ``rxpro.replay`` reads with a cryptofeed ``EX.ws.N.0`` file."""
    if ".ws." not in path.name:
        return []
    exchange = path.name.split(".ws.", 1)[0]
    return [p for p in (path.with_name(f"{exchange}.0"), path.with_name(f"{exchange}.http.0.0")) if p.is_file()]


def test_every_bundled_file_is_replayed_or_explained() -> None:
    """A new data file must be registered in REPLAYS, or listed with the reason it does not replay."""
    covered = {path for _, paths, _ in REPLAYS.values() for path in paths}
    covered |= {companion for path in set(covered) for companion in _companions(path)}
    covered |= {DATA_DIR / name for name in list(NOT_RECORDINGS) + list(NOT_REPLAYING)}
    bundled = {path for path in DATA_DIR.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    unexplained = sorted(str(path.relative_to(DATA_DIR)) for path in bundled - covered)
    assert unexplained == [], f"bundled files neither replayed nor explained: {unexplained}"
    registered = {DATA_DIR / name for name in list(NOT_RECORDINGS) + list(NOT_REPLAYING)}
    assert registered <= bundled, f"explained but not bundled: {sorted(map(str, registered - bundled))}"


def test_stub_files_are_derived_from_the_recorded_data() -> None:
    """``exchanges/data/stubs/`` holds exactly what each venue's stub builder derives from the bundled recordings."""
    for stub in STUB_FILES:
        path = stub.path
        assert path.is_file(), f"missing {path}: run python -m rxpro.testing._bundle --stubs"
        assert path.read_text(encoding="utf-8") == build_stub(stub, DATA_DIR), f"{path} differs from a rebuild"
