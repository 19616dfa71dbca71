"""The recorded exchange data bundled in ``rxpro/testing/data/``, and readers for it.

Formats (see ``data/README.md``): hftbacktest gzip lines ``<ns> <frame>``;
cryptofeed "master" REST logs ``<url> -> <ts>: <body>`` and websocket logs
``<ts>: <frame>``.  The line readers are the core's (``rxpro._recorded``, which the
replay uses too); the venue data offline runs serve (Binance markets, derived REST
answers) lives with the venues in ``exchanges/data/``.  No protocol logic lives here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from rxpro._recorded import RestRecord, iter_hftbacktest_lines, iter_ws_log, read_rest_log

__all__ = ["BINANCE_SPOT_FILES", "DATA_DIR", "RestRecord", "data_path", "iter_hftbacktest", "iter_hftbacktest_lines",
           "iter_ws_log", "read_rest_log"]

DATA_DIR = Path(__file__).parent / "data"

#: Bundled Binance spot recordings (hftbacktest, MIT), both days of one session.
BINANCE_SPOT_FILES: tuple[str, ...] = (
    "btcusdt_20240808.gz",
    "btcusdt_20240809.gz",
    "ethusdt_20240808.gz",
    "ethusdt_20240809.gz",
)


def data_path(name: str) -> Path:
    """Path of a bundled data file, e.g. ``data_path("btcusdt_20240808.gz")``.

    Raises ``FileNotFoundError`` for names that are not bundled.
    """
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no bundled data file {name!r} in {DATA_DIR}")
    return path


def iter_hftbacktest(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(local receive ns, parsed frame)`` from an hftbacktest ``.gz`` file.

    Frames are Binance combined-stream envelopes, e.g.
    ``{"stream":"btcusdt@trade","data":{"e":"trade","t":3735683259,...}}``; one line
    near the start is the bare REST depth snapshot ``{"lastUpdateId":...,"bids":...}``.
    """
    for ns, frame in iter_hftbacktest_lines(path):
        yield ns, orjson.loads(frame)
