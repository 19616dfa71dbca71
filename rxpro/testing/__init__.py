"""Offline exchange simulator and recorded data for tests, benchmarks and notebooks.

``Simulator`` is a local aiohttp server (127.0.0.1) speaking enough of Binance spot
and OKX v5 for unmodified ``ccxt.pro`` clients; ``Simulator.attach(exchange)`` points
one at it; ``Simulator.trade_tape`` produces a venue's trade sequence (a ``Tape``),
live on the WebSocket and in the REST trade history. ``data_path`` /
``iter_hftbacktest`` read the bundled recordings (see ``rxpro/testing/data/README.md``
for sources and licences).
"""

from rxpro.exchanges._okx import okx_checksum

from ._data import data_path, iter_hftbacktest
from ._simulator import Burst, ReceivedFrame, Simulator, SimulatorConfig, Tape, TapeTrade

__all__ = [
    "Burst",
    "ReceivedFrame",
    "Simulator",
    "SimulatorConfig",
    "Tape",
    "TapeTrade",
    "data_path",
    "iter_hftbacktest",
    "okx_checksum",
]
