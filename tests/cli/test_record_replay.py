"""``rxpro record`` then ``rxpro replay``: a round trip through the simulator, and clean stops."""

from __future__ import annotations

import gzip
import json
import re
import signal
from pathlib import Path

import pytest

from .conftest import Run, run, run_all, start

pytestmark = pytest.mark.timeout(60)

NUMBER = r"(\d+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The files of a two-second recording, rotated every 10 KB on disk."""
    path = tmp_path_factory.mktemp("record") / "session.jsonl.gz"
    result = run("record", "okx", "BTC/USDT", "--simulator", "--speed", "5", "--seconds", "2",
                 "--streams", "ticker,trades,orderbook,ohlcv:1m", "--rotate-mb", "0.01", "-o", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    received = re.search(r"messages\s+([\d,]+) received", result.stdout)
    assert received and int(received.group(1).replace(",", "")) > 0, result.stdout
    files = re.search(r"^files\s+(.+)$", result.stdout, re.MULTILINE)
    assert files, result.stdout
    names = files.group(1).split(", ")
    assert names[0] == str(path) and len(names) > 1  # rotated
    assert sorted(names) == sorted(str(p) for p in path.parent.iterdir())
    return names


def test_record_writes_closed_gzips_of_json_lines(session: list[str]) -> None:
    kinds = set()
    for name in session:
        with gzip.open(name, "rt") as fh:  # a missing gzip trailer would raise EOFError
            records = [json.loads(line) for line in fh]
        assert records[0]["t"] == "header" and records[0]["exchange"] == "okx"
        kinds |= {record["t"] for record in records}
    assert {"http", "recv"} <= kinds


@pytest.fixture(scope="module")
def played(session: list[str]) -> dict[str, Run]:
    """Every command that reads the recording, run at once."""
    commands = {
        "replay": ["replay", *session, "--speed", "10"],
        "json": ["replay", *session, "--stream", "trades", "--json"],
        "watch": ["watch", "okx", "BTC/USDT", "--replay", session[0], "--speed", "20", "-s", "trades"],
        "wrong exchange": ["watch", "binance", "BTC/USDT", "--replay", session[0]],
    }
    return dict(zip(commands, run_all(list(commands.values()))))


def test_replay_plays_the_recording_and_summarizes_it(played: dict[str, Run]) -> None:
    result = played["replay"]
    assert result.returncode == 0, result.stderr
    counts = {m.group(1): int(m.group(2).replace(",", ""))
              for m in re.finditer(r"^(\w+) BTC/USDT\s+([\d,]+)", result.stdout, re.MULTILINE)}
    assert counts.keys() == {"ticker", "trades", "orderbook", "ohlcv"}, result.stdout
    assert counts["trades"] > 0 and counts["orderbook"] > 0
    prices = [float(p) for p in re.findall(rf"(?:buy|sell)\s+{NUMBER} x", result.stdout)]
    assert prices and all(25_000 < p < 35_000 for p in prices)  # OKX BTC/USDT on 2022-05-13


def test_replay_prints_json_lines_of_the_chosen_stream(played: dict[str, Run]) -> None:
    result = played["json"]
    assert result.returncode == 0, result.stderr
    trades = [json.loads(line) for line in result.stdout.splitlines()]
    assert trades and all(t["symbol"] == "BTC/USDT" and 25_000 < t["price"] < 35_000 for t in trades)
    assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)


def test_watch_replays_a_recording_and_ends_with_it(played: dict[str, Run]) -> None:
    result = played["watch"]
    assert result.returncode == 0, result.stderr
    prices = [float(p) for p in re.findall(rf"(?:buy|sell)\s+{NUMBER} x", result.stdout)]
    assert prices and all(25_000 < p < 35_000 for p in prices)


def test_watch_refuses_another_exchanges_recording(session: list[str], played: dict[str, Run]) -> None:
    result = played["wrong exchange"]
    assert result.returncode == 2
    assert result.stderr.strip() == f"rxpro: error: {session[0]} was recorded on okx, not binance"


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_recording_closes_its_file(tmp_path: Path, sent: signal.Signals, code: int) -> None:
    path = tmp_path / "stopped.jsonl.gz"
    process = start("record", "okx", "BTC/USDT", "--simulator", "-o", str(path))
    try:
        assert process.stderr is not None
        assert "recording okx" in process.stderr.readline()  # it has started
        process.send_signal(sent)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, stderr
    assert "Traceback" not in stdout + stderr
    assert "messages" in stdout  # the summary is printed on the way out
    with gzip.open(path, "rt") as fh:
        assert json.loads(fh.readline())["exchange"] == "okx"
        fh.read()


def test_a_book_recorded_with_a_limit_replays_with_it_and_a_deeper_one_is_refused(tmp_path: Path) -> None:
    # review: `rxpro replay` asked the whole book (a depth snapshot the file did not hold): 0 values and
    # ReplayMissingResponse, exit 0; the library said so only after the replay had started
    path = tmp_path / "book5.jsonl.gz"
    recorded = run("record", "binance", "BTC/USDT", "--simulator", "--speed", "20", "--seconds", "2",
                   "--streams", "trades,orderbook:5", "-o", str(path))
    assert recorded.returncode == 0, recorded.stderr
    replayed = run("replay", str(path))
    assert replayed.returncode == 0, replayed.stderr
    books = re.search(r"^orderbook BTC/USDT\s+([\d,]+)", replayed.stdout, re.MULTILINE)
    assert books and int(books.group(1).replace(",", "")) > 0, replayed.stdout
    assert "ReplayMissingResponse" not in replayed.stdout + replayed.stderr
    deeper = run("watch", "binance", "BTC/USDT", "--replay", str(path), "-s", "orderbook", "--depth", "10")
    assert deeper.returncode == 0 and "ReplayMissingResponse" not in deeper.stdout + deeper.stderr, deeper.stdout
