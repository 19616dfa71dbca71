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
