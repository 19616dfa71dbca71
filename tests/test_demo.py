"""The README's main job: ``python -m rxpro demo`` works offline and prints real prices."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.timeout(60)
def test_demo_prints_a_throttled_ticker_and_the_top_of_the_book() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rxpro", "demo", "--seconds", "5"], capture_output=True, text=True, timeout=50
    )
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if "BTC/USDT" in l and "last" in l]
    assert len(lines) >= 3
    prices = [float(m.group(1)) for l in lines if (m := re.search(r"last\s+([\d.]+)", l))]
    assert all(50_000 < p < 70_000 for p in prices)  # the recorded 2024-08-08 BTC/USDT range
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(60)
def test_every_demo_line_shows_the_best_bid_and_ask() -> None:
    # issue 10: ccxt's default Binance ticker (miniTicker) has no bid/ask, and the book arrives
    # after the first ticker: the first line used to read "book bid None x None"
    result = subprocess.run(
        [sys.executable, "-m", "rxpro", "demo", "--seconds", "3"], capture_output=True, text=True, timeout=50
    )
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if "BTC/USDT" in l and "last" in l]
    assert lines and not any("None" in l for l in lines), lines[:3]
    for line in lines:
        quote = re.search(r"bid\s+([\d.]+)\s+ask\s+([\d.]+)", line)
        assert quote is not None, line
        bid, ask = map(float, quote.groups())
        assert 50_000 < bid <= ask < 70_000, line
