"""What a newcomer hit on the command line (issue 10, "smaller things"): the ticker channel, market ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import main_in_process

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
