"""What native parsers emit through Observables (issue 9): ccxt's own new structures, never changed afterwards.

A ticker or best bid/ask a native handler builds is a new dict that ccxt stores and never
changes (the next frame stores another): rxpro emits it as is, as it emits a trade, where a
structure ccxt's own parser made is emitted as a copy. Checked over bundled recordings (and
the shared Bybit one, read in place), natives on and off: the same values in the same order;
every value emitted still equal, at the end, to what it was when it arrived; on, the very
dict ccxt holds; off, a copy of it.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

import rxpro
from rxpro._replay_formats import recorded_symbols
from rxpro._values import _LEAVES
from rxpro.exchanges._native_parse import NotNative
from rxpro.exchanges._okx_native import OkxNative
from rxpro.testing._data import DATA_DIR

CF = DATA_DIR / "cryptofeed"
#: recordings that may not be copied into the project, read in place (skipped when absent)
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

#: recording -> (what a stream emits ccxt's copy of: exchange attribute, rxpro function)
RECORDINGS: dict[str, tuple[Path, tuple[tuple[str, str], ...]]] = {
    "okx": (DATA_DIR / "OKX.ws.1.0", (("tickers", "ticker"),)),
    "coinbaseexchange": (CF / "COINBASE.ws.28.0", (("tickers", "ticker"),)),
    "binanceusdm": (DATA_DIR / "usdm" / "btcusdt_20240808.gz", (("bidsasks", "bids_asks"),)),
    # spot and linear tickers, snapshots then deltas (the recording has no orderbook.1: no bid/ask stream)
    "bybit": (SHARED / "cryptofeed" / "v3" / "sample_data" / "BYBIT.jsonl.zst", (("tickers", "ticker"),)),
}


class _Kept:
    """An observer keeping each value, a deep copy of it taken on arrival, and whether it was ccxt's own dict."""

    def __init__(self, ex: Any, attribute: str) -> None:
        self.ex = ex
        self.attribute = attribute
        self.values: list[Any] = []
        self.at_arrival: list[Any] = []
        self.ccxts_own: list[bool] = []
        self.errors: list[Exception] = []

    def on_next(self, value: Any) -> None:
        self.values.append(value)
        self.at_arrival.append(copy.deepcopy(value))
        self.ccxts_own.append(value is getattr(self.ex, self.attribute).get(value["symbol"]))

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)

    def on_completed(self) -> None:
        pass


async def _replayed(path: Path, streams: tuple[tuple[str, str], ...], native: bool) -> dict[tuple[str, str], _Kept]:
    ex = rxpro.replay([path], autostart=False, config={"rxpro": {"native": native}})
    try:
        await ex.load_markets()
        assert ex.rx_native is native
        kept: dict[tuple[str, str], _Kept] = {}
        symbols, _ = recorded_symbols(ex)
        for symbol in symbols:
            for attribute, function in streams:
                observer = kept[(function, symbol)] = _Kept(ex, attribute)
                if function == "ticker":
                    source = rxpro.ticker(ex, symbol, ex.replay.protocol.stream_params.get("ticker"))
                else:
                    source = rxpro.bids_asks(ex, [symbol])
                source.subscribe(observer)
        await asyncio.sleep(0)
        await ex.replay.run()
        return kept
    finally:
        await ex.close()


@pytest.mark.parametrize("name", sorted(RECORDINGS))
async def test_native_tickers_are_emitted_as_ccxt_holds_them_and_never_change(name: str) -> None:
    path, streams = RECORDINGS[name]
    if not path.is_file():
        if path.is_relative_to(SHARED):
            pytest.skip(f"{name}: {path} (shared, never copied) is absent on this machine")
        pytest.fail(f"{name}: the bundled recording {path} is gone")
    on = await _replayed(path, streams, native=True)
    off = await _replayed(path, streams, native=False)
    assert on.keys() == off.keys()
    for key, native in on.items():
        parsed = off[key]
        assert native.errors == parsed.errors == [], key
        assert native.values, f"{name} {key}: nothing emitted"
        # natives on and off emit equal values, in the same order
        assert native.values == parsed.values, key
        for kept in (native, parsed):
            # nothing emitted changed afterwards (the next frames stored new dicts)
            assert kept.values == kept.at_arrival, key
        # on: the dict ccxt holds (no copy); off: a copy of it
        assert all(native.ccxts_own), key
        assert not any(parsed.ccxts_own), key
        # what the copy would have copied deeper: nothing but ``info``, which is never copied
        for value in native.values:
            assert all(v.__class__ in _LEAVES for k, v in value.items() if k != "info"), value


async def test_what_ccxts_parser_makes_between_native_frames_is_still_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other OKX ticker goes to ccxt's parser: those are copies, the native ones ccxt's own dicts.

    The connection's last native structure is still marked when ccxt's parser resolves its
    own: only the very dict a native handler built goes out uncopied.
    """
    path, streams = RECORDINGS["okx"]
    native_ticker = OkxNative._rx_ticker
    calls: dict[str, int] = {}

    def every_other(self: Any, item: Any) -> dict[str, Any]:
        count = calls[item["instId"]] = calls.get(item["instId"], 0) + 1
        if count % 2 == 0:
            raise NotNative("left to ccxt by this test")
        return native_ticker(self, item)

    monkeypatch.setattr(OkxNative, "_rx_ticker", every_other)
    mixed = await _replayed(path, streams, native=True)
    monkeypatch.undo()
    off = await _replayed(path, streams, native=False)
    assert sum(len(kept.values) for kept in mixed.values()) > 2
    for key, kept in mixed.items():
        assert kept.errors == [] and kept.values, key
        assert kept.values == off[key].values, key
        assert kept.values == kept.at_arrival, key
        # a symbol's tickers alternate: native (ccxt's own dict), ccxt's parser (a copy), ...
        assert kept.ccxts_own == [i % 2 == 0 for i in range(len(kept.values))], (key, kept.ccxts_own)
