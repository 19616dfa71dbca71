"""Requests a recording cannot satisfy are refused up front: one line on stderr, exit 2, nothing played or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxpro.testing._data import DATA_DIR

from .conftest import main_in_process

pytestmark = pytest.mark.timeout(60)

BTC = str(DATA_DIR / "btcusdt_20240808.gz")
GATE = str(DATA_DIR / "cryptofeed" / "GATEIO.ws.1.0")

# name -> (arguments, what the error line must say)
REFUSED = {
    "replay timeframe": (["replay", GATE, "--stream", "ohlcv", "--timeframe", "xx"], "timeframe 'xx'"),
    "replay ohlcv of a file without candles": (["replay", BTC, "--stream", "ohlcv", "--timeframe", "xx"],
                                               "no ohlcv stream"),
    "replay stream not recorded": (["replay", BTC, "--stream", "ticker"], "no ticker stream"),
    "replay symbol not recorded": (["replay", BTC, "--symbol", "ETH/USDT"], "no ETH/USDT"),
    "watch symbol not recorded": (["watch", "binance", "ETH/USDT", "--replay", BTC], "no ETH/USDT"),
    "watch stream not recorded": (["watch", "binance", "BTC/USDT", "--replay", BTC, "-s", "ticker"],
                                  "no ticker stream"),
    "record book limit 0": (["record", "binance", "BTC/USDT", "--simulator", "--streams", "orderbook:0",
                             "-o", "{tmp}/b.jsonl.gz", "--seconds", "2"], "orderbook:0"),
    "record book limit not a number": (["record", "binance", "BTC/USDT", "--simulator", "--streams", "trades,book:x",
                                        "-o", "{tmp}/b.jsonl.gz", "--seconds", "2"], "book:x"),
    "record over a rotated part": (["record", "okx", "BTC/USDT", "--simulator", "-o", "{tmp}/q.jsonl.gz",
                                    "--seconds", "2", "--rotate-minutes", "0.02"], "q.1.jsonl.gz"),
}


@pytest.mark.parametrize("what", list(REFUSED))
def test_refused_up_front_with_exit_2(what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    precious = tmp_path / "q.1.jsonl.gz"
    precious.write_text("precious\n")  # a part left by an earlier recording
    args, needle = REFUSED[what]
    result = main_in_process([arg.replace("{tmp}", str(tmp_path)) for arg in args], capsys, monkeypatch)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rxpro: error: ") and needle in lines[0], result.stderr
    assert "frames" not in result.stdout  # refused before playing, not after
    assert sorted(tmp_path.iterdir()) == [precious] and precious.read_text() == "precious\n"


def test_force_overwrites_rotated_parts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "q.1.jsonl.gz").write_text("precious\n")
    result = main_in_process(["record", "okx", "BTC/USDT", "--simulator", "-o", str(tmp_path / "q.jsonl.gz"), "--seconds", "1",
                    "--rotate-minutes", "5", "--force"], capsys, monkeypatch)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "q.jsonl.gz").is_file()
