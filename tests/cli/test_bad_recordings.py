"""A malformed or damaged recording is a one-line error naming the file (and the line) with exit code 2."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rxpro._replay_formats import ReplayFormatError, load_recording

from .conftest import main_in_process

HEADER = b'{"t":"header","format":"rxpro/1","exchange":"binance","streams":["trades"],"symbols":["BTC/USDT"]}\n'


def _gzip(path: Path, data: bytes) -> Path:
    with gzip.open(path, "wb") as fh:
        fh.write(data)
    return path


def _zstd(path: Path, data: bytes) -> Path:
    zstandard = pytest.importorskip("zstandard")
    path.write_bytes(zstandard.ZstdCompressor().compress(data))
    return path


# name -> (file name, how to write it, its content, what the error line must say)
BAD_FILES = {
    "record without its time": ("a.jsonl.gz", _gzip, HEADER + b'{"t":"recv"}\n', "line 2: missing field 'ts_ns'"),
    "a list for a record": ("b.jsonl.gz", _gzip, HEADER + b"[1,2]\n", "line 2: not a record object"),
    "http record without a body": ("c.jsonl.gz", _gzip,
                                   HEADER + b'{"t":"http","ts_ns":1,"url":"https://x"}\n', "line 2: missing field"),
    "unknown exchange": ("d.jsonl.gz", _gzip, HEADER.replace(b'"binance"', b'"nosuch"'), "'nosuch'"),
    "not zstd": ("e.jsonl.zst", lambda p, d: (p.write_bytes(d), p)[1], b"hi\n", "not zstd-compressed"),
    "zstd record without its time": ("f.jsonl.zst", _zstd, b'{"t":"recv","conn":"c"}\n', "line 1: missing field 'ts'"),
    "zstd line not JSON": ("g.jsonl.zst", _zstd, b'{"t":"header"}\nnot json\n', "line 2:"),
    # review: a damaged line dropped the rest of the file without a word (taken for a crash's cut)
    "a damaged line before others": ("h.jsonl.gz", _gzip, HEADER + b'{"t":"recv","ts_ns":1,"co\n'
                                     + b'{"t":"recv","ts_ns":2,"conn":"c","data":{}}\n', "line 2: not JSON"),
}


def test_a_line_cut_at_the_end_by_a_crash_keeps_what_came_before(tmp_path: Path) -> None:
    path = _gzip(tmp_path / "cut.jsonl.gz", HEADER + b'{"t":"recv","ts_ns":2,"conn":"c","data":{}}\n'
                 + b'{"t":"recv","ts_ns":3,"co\n\n')
    assert [frame.ts_ns for frame in load_recording(path).frames] == [2]


@pytest.mark.parametrize("what", list(BAD_FILES))
@pytest.mark.parametrize("command", ["replay", "watch"])
def test_a_malformed_recording_is_one_line_and_exit_2(what: str, command: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    name, write, data, needle = BAD_FILES[what]
    path = write(tmp_path / name, data)
    args = ["replay", str(path)] if command == "replay" else ["watch", "binance", "BTC/USDT", "--replay", str(path)]
    result = main_in_process(args, capsys, monkeypatch)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rxpro: error: ") and str(path) in lines[0] and needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "Error:" not in lines[0]  # no Python exception name


@pytest.mark.parametrize("what", [w for w in BAD_FILES if w != "unknown exchange"])
def test_the_library_raises_replay_format_error(what: str, tmp_path: Path) -> None:
    name, write, data, needle = BAD_FILES[what]
    path = write(tmp_path / name, data)
    with pytest.raises(ReplayFormatError, match=needle.replace("'", ".")):
        load_recording(path)
