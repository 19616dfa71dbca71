"""Fixtures for the operator tests."""

from __future__ import annotations

from typing import Any

import pytest

from ops_support import RECORDING_CANDIDATES, load_binance_trades


@pytest.fixture(scope="session")
def binance_trades() -> list[dict[str, Any]]:
    for path in RECORDING_CANDIDATES:
        if path.exists():
            return load_binance_trades(path)
    pytest.skip(f"no recorded Binance trades: looked for {', '.join(map(str, RECORDING_CANDIDATES))}")
