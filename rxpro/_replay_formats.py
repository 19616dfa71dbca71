"""Readers that turn recording files into one :class:`Recording` for ``rxpro.replay``.

Formats (see ``/work/shared/data/INDEX.md`` for the third-party ones):

* ``rxpro/1`` — our own gzip JSON lines, written by ``rxpro.record``;
* hftbacktest — gzip lines ``<ns> <frame>`` (Binance combined-stream envelopes and
  one bare REST depth snapshot; Binance markets come from the bundled exchangeInfo);
* cryptofeed master — plain text ``EX.0`` (REST log), ``EX.http.0.0`` (REST during
  streaming), ``EX.ws.N.0`` (one websocket connection);
* cryptofeed v3 — zstd JSON lines (``*.jsonl.zst``), read in place, never copied.

Only parsing lives here: no exchange protocol and no event loop.  The record types
and the line readers are ``rxpro._recorded``'s (re-exported here); which ccxt id a
recorder's exchange name means (``BINANCE_FUTURES``, an hftbacktest ``usdm`` folder)
is asked of the venue table (``rxpro.exchanges._table``).
"""

from __future__ import annotations

import base64
import gzip
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from rxpro.exchanges._table import (
    cryptofeed_id,
    hftbacktest_exchange_id,
    hftbacktest_urls,
    venue_for,
)

from ._errors import ReplayFormatError
from ._recorded import (
    HttpRecord,
    Recording,
    WsFrame,
    iter_hftbacktest_lines,
    seconds_ns,
)
from ._replay_protocols import OWN_SOURCE

__all__ = [
    "FORMAT",
    "HttpRecord",
    "Recording",
    "ReplayFormatError",
    "WsFrame",
    "load_recording",
    "recorded_symbols",
    "unified_symbol",
]

#: The ``format`` field of our own header line.
FORMAT = OWN_SOURCE


def _merge(recording: Recording, other: Recording) -> None:
    if other.exchange_id and recording.exchange_id and other.exchange_id != recording.exchange_id:
        raise ReplayFormatError(
            f"{other.paths[0]} is a {other.exchange_id} recording, {recording.paths[0]} one of {recording.exchange_id}")
    recording.merge(other)


# -- detection -------------------------------------------------------------------------

_MASTER_WS = re.compile(r"^(?P<ex>[A-Z0-9_.]+)\.ws\.(?P<n>\d+)\.\d+$")
_MASTER_HTTP = re.compile(r"^(?P<ex>[A-Z0-9_.]+)\.http\.\d+\.\d+$")
_MASTER_REST = re.compile(r"^(?P<ex>[A-Z0-9_.]+)\.0$")


def _first_bytes(path: Path, n: int = 64) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(n)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as gz:
            return gz.read(n)
    return head


def load_recording(paths: str | Path | Sequence[str | Path], exchange_id: str | None = None) -> Recording:
    """Read and merge recording files of one exchange (any supported format).

    A cryptofeed master ``EX.ws.N.0`` file brings its ``EX.0`` and ``EX.http.0.0``
    REST logs from the same folder along when they exist.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise ReplayFormatError("no recording files given")
    files = [Path(p) for p in paths]
    # companions of cryptofeed master ws logs
    expanded: list[Path] = []
    for path in files:
        if not path.is_file():
            raise ReplayFormatError(f"{path}: no such recording file")
        match = _MASTER_WS.match(path.name)
        if match:
            for companion in (path.with_name(f"{match['ex']}.0"), path.with_name(f"{match['ex']}.http.0.0")):
                if companion.is_file() and companion not in files and companion not in expanded:
                    expanded.append(companion)
        if path not in expanded:
            expanded.append(path)
    recording = Recording()
    for path in expanded:
        _merge(recording, _load_one(path, exchange_id))
    if exchange_id:
        recording.exchange_id = exchange_id
    recording.finish()
    if recording.exchange_id:
        venue_for(recording.exchange_id).loaded(recording)
    return recording


def _load_one(path: Path, exchange_id: str | None) -> Recording:
    name = path.name
    if name.endswith(".zst"):
        return _read_cryptofeed_v3(path)
    if _MASTER_WS.match(name) or _MASTER_HTTP.match(name) or _MASTER_REST.match(name):
        return _read_cryptofeed_master(path)
    head = _first_bytes(path)
    if head.startswith(b"{") and b'"t"' in head:
        return _read_rxpro(path)
    if re.match(rb"^\d{16,20} [{\[]", head):
        return _read_hftbacktest(path, exchange_id)
    raise ReplayFormatError(
        f"{path}: not a recording rxpro can read (rxpro .jsonl[.gz], hftbacktest .gz, "
        "cryptofeed master EX.0/EX.http.0.0/EX.ws.N.0 or cryptofeed v3 .jsonl.zst)")


# -- rxpro/1 ---------------------------------------------------------------------------

def _open_text(path: Path) -> Iterator[bytes]:
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        yield from fh


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _bad_line(path: Path, number: int, error: Exception) -> ReplayFormatError:
    """A line that parsed as JSON but is not a record: name the file, the line and what is wrong."""
    if isinstance(error, KeyError):
        what = f"missing field {error.args[0]!r}"
    elif isinstance(error, (AttributeError, TypeError)):
        what = "not a record object"
    else:
        what = " ".join(str(error).split()) or type(error).__name__
    return ReplayFormatError(f"{path}: line {number}: {what}")


def _read_rxpro(path: Path) -> Recording:
    recording = Recording(source=FORMAT, paths=[str(path)])
    number = 0
    cut: tuple[int, str] | None = None  # (line, error): a line that is not JSON, the last one if a crash cut it
    try:
        lines: Iterable[bytes] = _open_text(path)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if cut is not None:  # records after it: damaged, not cut by a crash
                raise ReplayFormatError(f"{path}: line {cut[0]}: not JSON ({cut[1]}), and records follow it: "
                                        "the file is damaged (a crash cuts only the last line)")
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                cut = (number, str(error))  # a crash mid-line, if nothing follows: everything before it is good
                continue
            try:
                _rxpro_record(path, record, recording)
            except ReplayFormatError:
                raise
            except (KeyError, AttributeError, TypeError, ValueError) as error:
                raise _bad_line(path, number, error) from None
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        # a file cut by a crash: keep what was flushed before the cut
        if not recording.frames and not recording.http:
            raise ReplayFormatError(f"{path}: unreadable ({error})") from error
    return recording


def _rxpro_record(path: Path, record: Any, recording: Recording) -> None:
    kind = record.get("t")
    if kind == "recv":
        binary = base64.b64decode(record["b64"]) if "b64" in record else None
        recording.frames.append(WsFrame(int(record["ts_ns"]), str(record["conn"]), record.get("data"), binary))
    elif kind == "http":
        recording.http.append(
            HttpRecord(int(record["ts_ns"]), record.get("method", "GET"), str(record["url"]), str(record["body"])))
    elif kind == "connect":
        recording.connections.setdefault(str(record["conn"]), str(record["url"]))
    elif kind == "send":
        recording.sent.append((int(record["ts_ns"]), str(record["conn"]), record.get("data", "")))
    elif kind == "header":
        if record.get("format") != FORMAT:
            raise ReplayFormatError(f"{path}: unknown format {record.get('format')!r}")
        exchange = record.get("exchange")
        if exchange is not None and not isinstance(exchange, str):
            raise TypeError("exchange")
        recording.exchange_id = exchange
        recording.symbols = [str(s) for s in record.get("symbols") or []]
        recording.streams = [str(s) for s in record.get("streams") or []]


# -- hftbacktest -----------------------------------------------------------------------

def _read_hftbacktest(path: Path, exchange_id: str | None) -> Recording:
    conn = f"hftbacktest:{path.name}"
    recording = Recording(source="hftbacktest", paths=[str(path)])
    snapshots: list[tuple[int, str]] = []
    depth_frame: str | None = None  # the first depth-stream frame tells the market, when the folder does not
    market_id = path.name.split("_", 1)[0].upper()
    if market_id.endswith("USD") and "_perp" in path.name.lower():
        market_id = path.name.upper().split("_20", 1)[0]  # btcusd_perp_20240808.gz -> BTCUSD_PERP
    channels: set[str] = set()  # the combined-stream (or channel) names of the frames: what the recording holds
    first_frame: str | None = None
    for ns, text in iter_hftbacktest_lines(path):
        if text.startswith('{"lastUpdateId"'):
            snapshots.append((ns, text))
            continue
        if first_frame is None:
            first_frame = text
        if text.startswith('{"stream":"'):
            channels.add(text[11:text.find('"', 11)])
        elif text.startswith('{"channel":"'):  # Hyperliquid's ``{"channel":"l2Book","data":...}``
            channels.add(text[12:text.find('"', 12)])
        if depth_frame is None and '@depth' in text[:60]:
            depth_frame = text
        recording.frames.append(WsFrame(ns, conn, text))
    exchange_id = exchange_id or hftbacktest_exchange_id(path.parent.name, depth_frame, first_frame)
    recording.exchange_id = exchange_id
    recording.streams = venue_for(exchange_id).streams_of(sorted(channels))
    stream_url, depth_url = hftbacktest_urls(exchange_id)
    recording.connections[conn] = stream_url
    for ns, text in snapshots:
        if depth_url is not None:
            recording.http.append(HttpRecord(ns, "GET", f"{depth_url}?symbol={market_id}&limit=1000", text))
    recording.symbols = [market_id]
    return recording


# -- cryptofeed master -------------------------------------------------------------------

def _read_rest_lines(path: Path, recording: Recording) -> None:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("configuration: "):
                try:
                    config = orjson.loads(line[len("configuration: "):])
                except orjson.JSONDecodeError:
                    continue
                _config_into(config, recording)
                continue
            if " -> " not in line:
                continue
            url, rest = line.split(" -> ", 1)
            ts, body = rest.split(": ", 1)
            recording.http.append(HttpRecord(seconds_ns(ts), "GET", url, body))


def _config_into(config: Any, recording: Recording) -> None:
    if isinstance(config, dict):
        for channel, symbols in config.items():
            if channel not in recording.streams:
                recording.streams.append(channel)
            for symbol in symbols if isinstance(symbols, list) else ():
                if symbol not in recording.symbols:
                    recording.symbols.append(symbol)


def _read_cryptofeed_master(path: Path) -> Recording:
    name = path.name
    match = _MASTER_WS.match(name) or _MASTER_HTTP.match(name) or _MASTER_REST.match(name)
    assert match is not None
    exchange = match["ex"]
    recording = Recording(exchange_id=cryptofeed_id(exchange), source="cryptofeed-master", paths=[str(path)])
    if not _MASTER_WS.match(name):
        _read_rest_lines(path, recording)
        return recording
    conn = f"{exchange}.ws.{match['n']}"
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith(("ws://", "wss://")):
                if " <-> " in line:
                    url, _ = line.split(" <-> ", 1)
                    recording.connections.setdefault(conn, url)
                elif " <- " in line:
                    url, rest = line.split(" <- ", 1)
                    ts, data = rest.split(": ", 1)
                    recording.sent.append((seconds_ns(ts), conn, data))
                continue
            ts, frame = line.split(": ", 1)
            recording.frames.append(WsFrame(seconds_ns(ts), conn, frame))
    return recording


# -- cryptofeed v3 (AGPL: read in place only) -----------------------------------------

def _read_cryptofeed_v3(path: Path) -> Recording:
    try:
        import zstandard
    except ImportError as error:  # pragma: no cover - optional dependency
        raise ReplayFormatError(f"{path}: reading .zst needs the 'zstandard' package") from error
    import io

    recording = Recording(source="cryptofeed-v3", paths=[str(path)])
    number = 0
    try:
        with open(path, "rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw)
            for number, line in enumerate(io.TextIOWrapper(reader, encoding="utf-8"), 1):
                if not line.strip():
                    continue
                try:
                    _v3_record(orjson.loads(line), recording)
                except (KeyError, AttributeError, TypeError, ValueError) as error:  # JSONDecodeError too
                    raise _bad_line(path, number, error) from None
    except zstandard.ZstdError as error:
        raise ReplayFormatError(f"{path}: not zstd-compressed or damaged ({error})") from None
    except UnicodeDecodeError:
        raise ReplayFormatError(f"{path}: line {number + 1}: not UTF-8 text") from None
    return recording


def _v3_record(record: Any, recording: Recording) -> None:
    kind = record.get("t")
    if kind == "header":
        recording.exchange_id = cryptofeed_id(record.get("exchange", ""), v3=True)
        _config_into(record.get("config"), recording)
    elif kind == "http":
        recording.http.append(HttpRecord(seconds_ns(record["ts"]), "GET", str(record["url"]), str(record["data"])))
    elif kind == "connect":
        recording.connections.setdefault(str(record["conn"]), str(record["addr"]))
    elif kind == "send":
        recording.sent.append((seconds_ns(record["ts"]), str(record["conn"]), record.get("data", "")))
    elif kind == "recv":
        binary = base64.b64decode(record["b64"]) if "b64" in record else None
        recording.frames.append(WsFrame(seconds_ns(record["ts"]), str(record["conn"]), record.get("data"), binary))


# -- recorded names -> ccxt symbols ------------------------------------------------------

#: cryptofeed's expiry codes: ``22K27`` = 2022-05-27 (futures month letters F..Z).
_CF_MONTHS = "FGHJKMNQUVXZ"
_CF_EXPIRY = re.compile(r"^(?P<y>\d\d)(?P<m>[FGHJKMNQUVXZ])(?P<d>\d\d)$")


def _cf_expiry(code: str) -> str | None:
    """``'22K27'`` -> ``'220527'`` (ccxt's expiry in symbols), else None."""
    match = _CF_EXPIRY.match(code)
    if match is None:
        return None
    return f"{match['y']}{_CF_MONTHS.index(match['m']) + 1:02d}{match['d']}"


def _by_structure(markets: dict[str, Any], recorded: str) -> str | None:
    """A cryptofeed name (``BSV-USDT``, ``UNI-USD-PERP``, ``BTC-USD-22K27``, ``BTC-8000-21U24-put``)
    matched against the fields of ccxt's markets (unified currency codes, type, expiry, strike)."""
    parts = recorded.split("-")
    expiry = _cf_expiry(parts[2]) if len(parts) > 2 else None
    strike: float | None = None
    if len(parts) == 2:
        wanted = {"base": parts[0], "quote": parts[1], "type": "spot"}
    elif len(parts) == 3 and parts[2] == "PERP":
        wanted = {"base": parts[0], "quote": parts[1], "type": "swap"}
    elif len(parts) == 3 and expiry:
        wanted = {"base": parts[0], "quote": parts[1], "type": "future"}
    elif len(parts) == 4 and expiry and parts[3].lower() in ("call", "put") and parts[1].isdigit():
        wanted = {"base": parts[0], "type": "option", "optionType": parts[3].lower()}
        strike = float(parts[1])
    else:
        return None
    found = []
    for symbol, market in markets.items():
        if any(market.get(key) != value for key, value in wanted.items()):
            continue
        if expiry is not None and symbol.partition(":")[2].split("-")[1:2] != [expiry]:  # BTC/USD:BTC-220527
            continue
        if strike is not None and market.get("strike") != strike:
            continue
        found.append(symbol)
    return found[0] if len(found) == 1 else None


def unified_symbol(exchange: Any, recorded: str) -> str | None:
    """The ccxt symbol of a symbol as a recording names it, or None if no loaded market matches.

    Recordings name markets their own way: rxpro's by ccxt symbol (``BTC/USDT``),
    hftbacktest by exchange id (``BTCUSDT``), cryptofeed by its normalized names
    (``ETH-USD``, ``UNI-USD-PERP``, ``BTC-USD-22K27``, ``BTC-8000-21U24-put``,
    ``MNA-BTC`` for Bitfinex's ``tMNABTC``). ``exchange`` must have loaded its markets.
    """
    markets: dict[str, Any] = getattr(exchange, "markets", None) or {}
    if recorded in markets:
        return recorded
    by_id: dict[str, Any] = getattr(exchange, "markets_by_id", None) or {}
    joined = recorded.replace("-", "")
    candidates = (recorded, recorded.replace("-", "_"), joined.lower(), joined, joined.upper(),
                  "t" + joined, "t" + recorded.replace("-", ":"))  # bitfinex: tBFTUSD, tTESTBTC:TESTUSD
    for candidate in candidates:
        found = by_id.get(candidate)
        if found:
            return str(found[0]["symbol"])
    return _by_structure(markets, recorded)


def recorded_symbols(exchange: Any) -> tuple[list[str], list[str]]:
    """The ccxt symbols of what ``exchange``'s replay recorded, and the recorded names no market matches.

    ``exchange`` is a replay exchange (``rxpro.replay(...)``) that has loaded its markets.
    """
    symbols: list[str] = []
    unmatched: list[str] = []
    for name in exchange.replay.recording.symbols:
        symbol = unified_symbol(exchange, name)
        if symbol is None:
            unmatched.append(name)
        elif symbol not in symbols:
            symbols.append(symbol)
    return symbols, unmatched
