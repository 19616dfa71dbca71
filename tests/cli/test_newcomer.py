"""What a newcomer hit on the command line (issue 10, "smaller things"): the ticker channel, market ids,
``rxpro replay``'s help and its Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

from rxpro.testing._data import DATA_DIR

from .conftest import main_in_process, reap, start

pytestmark = pytest.mark.timeout(90)


def _json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_watch_shows_a_binance_ticker_with_its_best_bid_and_ask(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # ccxt's default Binance channel (miniTicker) has no bid/ask: the view used to show none
    result = main_in_process(["watch", "binance", "BTC/USDT", "--simulator", "--seconds", "3", "--speed", "5",
                              "--json"], capsys, monkeypatch)
    assert result.returncode == 0, result.stderr
    tickers = _json_lines(result.stdout)
    assert tickers and all(t["bid"] is not None and t["ask"] is not None for t in tickers)
    assert {t["info"]["e"] for t in tickers} == {"24hrTicker"}  # type: ignore[index]


def test_the_ticker_channel_is_the_users_choice(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    result = main_in_process(["watch", "binance", "BTC/USDT", "--simulator", "--seconds", "3", "--speed", "5",
                              "--json", "--ticker-channel", "miniTicker"], capsys, monkeypatch)
    assert result.returncode == 0, result.stderr
    tickers = _json_lines(result.stdout)
    assert tickers and {t["info"]["e"] for t in tickers} == {"24hrMiniTicker"}  # type: ignore[index]
    assert all(t["bid"] is None for t in tickers)


@pytest.mark.parametrize(("args", "needle"), [
    (["watch", "binance", "BTC/USDT", "--simulator", "--ticker-channel", "bookTicker"],
     "binance has no ticker channel 'bookTicker'; it has ticker, miniTicker"),
    (["watch", "okx", "BTC/USDT", "--simulator", "--ticker-channel", "ticker"], "ccxt has one ticker channel on okx"),
    (["watch", "binance", "BTC/USDT", "--replay", "x.gz", "--ticker-channel", "ticker"], "exclude each other"),
])
def test_a_ticker_channel_the_venue_lacks_is_refused(args: list[str], needle: str,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    result = main_in_process(args, capsys, monkeypatch)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


@pytest.mark.parametrize(("exchange", "market_id"), [("binance", "BTCUSDT"), ("okx", "BTC-USDT")])
def test_watch_takes_the_market_id_as_the_python_api_does(exchange: str, market_id: str,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    result = main_in_process(["watch", exchange, market_id, "--simulator", "--seconds", "2", "--speed", "5",
                              "-s", "trades", "--json"], capsys, monkeypatch)
    assert result.returncode == 0, result.stderr
    trades = _json_lines(result.stdout)
    assert trades and {t["symbol"] for t in trades} == {"BTC/USDT"}


def test_a_recorded_ticker_channel_is_the_one_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tickers.jsonl.gz"
    recorded = main_in_process(["record", "binance", "BTC/USDT", "--simulator", "--speed", "5", "--streams", "ticker",
                                "--seconds", "3", "-o", str(path)], capsys, monkeypatch)
    assert recorded.returncode == 0, recorded.stderr
    replayed = main_in_process(["replay", str(path), "--json", "--throttle", "0"], capsys, monkeypatch)
    assert replayed.returncode == 0, replayed.stderr
    tickers = _json_lines(replayed.stdout)
    assert tickers and all(t["bid"] is not None for t in tickers)


def test_ctrl_c_during_a_replay_prints_what_was_played_so_far() -> None:
    # rxpro record prints its summary when stopped; rxpro replay printed nothing
    process = start("replay", str(DATA_DIR / "btcusdt_20240808.gz"), "--speed", "1")
    try:
        assert process.stderr is not None
        announced = ""
        for line in process.stderr:
            if "replaying" in line:
                announced = line
                break
        assert "`rxpro watch binance BTC/USDT --replay" in announced  # where the live view is
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        reap(process)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr
    assert re.search(r"^stopped\s+at \d+\.\d% of the recording$", stdout, re.MULTILINE), stdout
    played = re.search(r"^trades BTC/USDT\s+([\d,]+)", stdout, re.MULTILINE)
    assert played and int(played.group(1).replace(",", "")) > 0, stdout


def test_replay_help_points_at_the_live_view(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    result = main_in_process(["replay", "--help"], capsys, monkeypatch)
    assert result.returncode == 0
    assert "rxpro watch EXCHANGE SYMBOL --replay FILE" in " ".join(result.stdout.split())
