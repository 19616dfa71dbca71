"""Readers for the recorded exchange data bundled in ``rxpro/testing/data/``.

Formats (see ``data/README.md``): hftbacktest gzip lines ``<ns> <frame>``;
cryptofeed "master" REST logs ``<url> -> <ts>: <body>`` and websocket logs
``<ts>: <frame>``. No protocol logic lives here.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

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


def iter_hftbacktest_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(local receive ns, raw frame text)`` from an hftbacktest ``.gz`` file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            ns, _, frame = line.partition(" ")
            yield int(ns), frame


def iter_hftbacktest(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(local receive ns, parsed frame)`` from an hftbacktest ``.gz`` file.

    Frames are Binance combined-stream envelopes, e.g.
    ``{"stream":"btcusdt@trade","data":{"e":"trade","t":3735683259,...}}``; one line
    near the start is the bare REST depth snapshot ``{"lastUpdateId":...,"bids":...}``.
    """
    for ns, frame in iter_hftbacktest_lines(path):
        yield ns, orjson.loads(frame)


@dataclass(frozen=True, slots=True)
class RestRecord:
    """One recorded REST response of a cryptofeed master ``EX.0`` log."""

    url: str
    ts: float
    body: str


def read_rest_log(path: str | Path) -> list[RestRecord]:
    """Parse a cryptofeed master REST log (``<url> -> <ts>: <body>`` per line)."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if " -> " not in line or line.startswith("configuration: "):
                continue
            url, rest = line.split(" -> ", 1)
            ts, body = rest.split(": ", 1)
            records.append(RestRecord(url, float(ts), body))
    return records


def iter_ws_log(path: str | Path) -> Iterator[tuple[float, str]]:
    """Yield ``(receive ts seconds, frame text)`` for frames *received* in a master ws log.

    Connect lines (``<url> <-> ts``) and client frames (``<url> <- ts: ...``) are skipped.
    """
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line or line.startswith(("ws://", "wss://")):
                continue
            ts, frame = line.split(": ", 1)
            yield float(ts), frame
