"""What a recording holds, and the line readers of the file layouts rxpro's bundled data uses.

* :class:`WsFrame`, :class:`HttpRecord`, :class:`Recording` — one replay's frames and
  REST answers, merged from one or more files;
* :func:`read_rest_log` — a cryptofeed "master" REST log (``<url> -> <ts>: <body>``);
* :func:`iter_ws_log` — the received frames of a cryptofeed master websocket log;
* :func:`iter_hftbacktest_lines` — an hftbacktest ``.gz`` file (``<ns> <frame>``).

A leaf: it imports nothing of rxpro, so the venue modules in ``exchanges/`` (whose
replay protocols build these records) and ``rxpro._replay_formats`` (which reads
whole recordings) both stand on it.  Telling formats apart, and which exchange a
file belongs to, is ``rxpro._replay_formats``'s work, not this module's.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HttpRecord",
    "Recording",
    "RestRecord",
    "WsFrame",
    "iter_hftbacktest_lines",
    "iter_ws_log",
    "read_rest_log",
    "seconds_ns",
]


@dataclass(frozen=True, slots=True)
class WsFrame:
    """One received websocket frame: ``text`` for text frames, ``binary`` otherwise."""

    ts_ns: int
    conn: str
    text: str | None
    binary: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpRecord:
    """One recorded REST response (``body`` exactly as received)."""

    ts_ns: int
    method: str
    url: str
    body: str


@dataclass(slots=True)
class Recording:
    """Everything one replay needs, merged from one or more files."""

    exchange_id: str | None = None
    source: str = ""
    connections: dict[str, str] = field(default_factory=dict)  # conn -> wss url
    frames: list[WsFrame] = field(default_factory=list)
    http: list[HttpRecord] = field(default_factory=list)
    sent: list[tuple[int, str, str]] = field(default_factory=list)  # (ts_ns, conn, text)
    symbols: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def merge(self, other: Recording) -> None:
        """Add ``other``'s records (the caller has checked both are of one exchange)."""
        self.exchange_id = self.exchange_id or other.exchange_id
        self.source = self.source or other.source
        for conn, url in other.connections.items():
            self.connections.setdefault(conn, url)
        self.frames.extend(other.frames)
        self.http.extend(other.http)
        self.sent.extend(other.sent)
        self.symbols.extend(s for s in other.symbols if s not in self.symbols)
        self.streams.extend(s for s in other.streams if s not in self.streams)
        self.paths.extend(other.paths)

    def finish(self) -> Recording:
        """Sort by time (stable: file order breaks ties) and drop duplicate REST records."""
        self.frames.sort(key=lambda f: f.ts_ns)
        seen: set[tuple[int, str, str]] = set()
        unique = []
        for record in self.http:
            key = (record.ts_ns, record.method, record.url)
            if key not in seen:
                seen.add(key)
                unique.append(record)
        unique.sort(key=lambda r: r.ts_ns)
        self.http = unique
        self.sent.sort(key=lambda s: s[0])
        return self

    @property
    def start_ns(self) -> int:
        stamps = [f.ts_ns for f in self.frames[:1]] + [r.ts_ns for r in self.http[:1]]
        return min(stamps) if stamps else 0

    @property
    def end_ns(self) -> int:
        return self.frames[-1].ts_ns if self.frames else self.start_ns


def seconds_ns(seconds: str | float) -> int:
    """A recorded time in seconds (``"1626946046.0155"``) as integer nanoseconds."""
    return int(round(float(seconds) * 1e9))


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


def iter_hftbacktest_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(local receive ns, raw frame text)`` from an hftbacktest ``.gz`` file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            ns, _, frame = line.partition(" ")
            yield int(ns), frame
