"""``rxpro`` as users run it: a subprocess per command, offline on the bundled recordings."""

from __future__ import annotations

import json
import re
import signal
import time

import pytest

from .conftest import Run, run, run_all, start

pytestmark = pytest.mark.timeout(60)

# The recorded price ranges: Binance 2024-08-08/09, OKX 2022-05-13.
PRICE_RANGES = {("binance", "BTC/USDT"): (50_000, 70_000), ("binance", "ETH/USDT"): (2_000, 3_500),
                ("okx", "BTC/USDT"): (25_000, 35_000)}
NUMBER = r"(\d+(?:\.\d+)?)"
PRICE_PATTERNS = {
    "ticker": rf"last {NUMBER}",
    "trades": rf"(?:buy|sell)\s+{NUMBER} x",
    "orderbook": rf"bid {NUMBER} x",
    "ohlcv": rf"  c {NUMBER}",
}
WATCHES = [("binance", "BTC/USDT", stream) for stream in PRICE_PATTERNS] + [
    ("okx", "BTC/USDT", "ticker"),
    ("okx", "BTC/USDT", "ohlcv"),
]


@pytest.fixture(scope="module")
def watches() -> dict[tuple[str, str, str], Run]:
    commands = [["watch", ex, symbol, "--simulator", "--seconds", "2", "--stream", stream, "--speed", "5",
                 "--throttle", "200"] for ex, symbol, stream in WATCHES]
    return dict(zip(WATCHES, run_all(commands)))


@pytest.mark.parametrize("case", WATCHES, ids=["-".join(c) for c in WATCHES])
def test_watch_on_the_simulator_prints_real_prices(watches: dict[tuple[str, str, str], Run],
                                                   case: tuple[str, str, str]) -> None:
    exchange, symbol, stream = case
    result = watches[case]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stdout.splitlines() if symbol in line]
    assert lines, result.stdout
    prices = [float(m.group(1)) for line in lines if (m := re.search(PRICE_PATTERNS[stream], line))]
    assert prices, lines
    low, high = PRICE_RANGES[exchange, symbol]
    assert all(low < price < high for price in prices), prices


def test_watch_json_lines_are_ccxt_structures() -> None:
    result = run("watch", "binance", "BTC/USDT", "--simulator", "--seconds", "1.5", "--json", "-s", "orderbook")
    assert result.returncode == 0, result.stderr
    books = [json.loads(line) for line in result.stdout.splitlines()]
    assert books and all(book["symbol"] == "BTC/USDT" and book["bids"][0][0] < book["asks"][0][0] for book in books)


def test_watch_in_a_terminal_draws_a_live_table() -> None:
    result = run("watch", "okx", "BTC/USDT", "--simulator", "--seconds", "1.5", "-s", "orderbook", "--depth", "3",
                 TTY_COMPATIBLE="1")
    assert result.returncode == 0, result.stderr
    assert "okx BTC/USDT orderbook" in result.stdout
    assert "bid size" in result.stdout and "spread" in result.stdout
    assert re.search(r"3\d{4}\.\d", result.stdout)  # an OKX BTC/USDT price from 2022-05-13


def test_exchanges_lists_binance_and_okx_with_their_streams() -> None:
    table, listing = run_all([["exchanges"], ["exchanges", "--json"]], COLUMNS="200")
    assert table.returncode == 0 and listing.returncode == 0, table.stderr + listing.stderr
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if line.startswith("│")}
    assert {"binance", "okx"} <= set(rows)
    assert "ticker" in rows["binance"] and "orderbook" in rows["binance"]
    by_id = {entry["id"]: entry for entry in json.loads(listing.stdout)}
    assert len(by_id) > 50
    for exchange in ("binance", "okx"):
        assert {"ticker", "trades", "orderbook", "ohlcv", "balance", "orders"} <= set(by_id[exchange]["streams"])


BAD_INPUTS = {
    "exchange id": (["watch", "nosuchexchange", "BTC/USDT", "--simulator"], "nosuchexchange"),
    "exchange id (exchanges)": (["exchanges", "binanse"], "binance"),  # the suggestion
    "symbol": (["watch", "binance", "NOPE/USDT", "--seconds", "1", "--simulator"], "NOPE/USDT"),
    "symbol not in the markets": (["watch", "okx", "BTC/USDX", "--simulator"], "BTC/USDX"),
    "symbol as market id": (["watch", "binance", "BTCUSDT", "--simulator"], "BTCUSDT"),
    "stream": (["watch", "binance", "BTC/USDT", "--stream", "candles", "--simulator"], "candles"),
    "timeframe": (["watch", "binance", "BTC/USDT", "-s", "ohlcv", "--timeframe", "7m", "--simulator"], "7m"),
    "simulator exchange": (["watch", "kraken", "BTC/USD", "--simulator"], "kraken"),
}


@pytest.fixture(scope="module")
def bad_inputs() -> dict[str, Run]:
    return dict(zip(BAD_INPUTS, run_all([command for command, _ in BAD_INPUTS.values()])))


@pytest.mark.parametrize("what", list(BAD_INPUTS))
def test_a_bad_input_is_one_line_on_stderr_and_exit_2(bad_inputs: dict[str, Run], what: str) -> None:
    result = bad_inputs[what]
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "error" in lines[0] and BAD_INPUTS[what][1] in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_ctrl_c_ends_cleanly_with_exit_130() -> None:
    process = start("watch", "binance", "BTC/USDT", "--simulator", "-s", "trades")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the view has printed something
        assert "BTC/USDT" in first
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr
    assert "Unclosed" not in stderr  # the exchange's session and the simulator were closed
