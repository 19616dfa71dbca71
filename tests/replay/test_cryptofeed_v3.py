"""cryptofeed v3 (*.jsonl.zst, AGPL) files are read in place from ../shared/data, never copied."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import rxpro

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

V3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "cryptofeed" / "v3" / "sample_data"


async def test_okx_v3_file_replays_in_place() -> None:
    path = V3 / "OKX.jsonl.zst"
    if not path.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, not bundled) is not at {V3}")
    pytest.importorskip("zstandard", reason="reading .zst needs the zstandard package (extra 'zst')")
    ex = rxpro.replay(path, autostart=False, config={"options": {"fetchMarkets": {"types": ["spot", "swap", "future"]}}})
    try:
        assert ex.id == "okx"
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        await asyncio.sleep(0)
        await ex.replay.run()
        assert trades.items and trades.errors == []
    finally:
        await ex.close()
