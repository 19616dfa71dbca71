"""``rxpro replay <file>`` plays every bundled cryptofeed recording (cryptofeed names its symbols and streams its own way)."""

from __future__ import annotations

import re

import pytest

from rxpro.testing._data import DATA_DIR

from .conftest import Run, run_all

pytestmark = pytest.mark.timeout(120)

CRYPTOFEED = sorted(DATA_DIR.glob("cryptofeed/*.ws.*")) + sorted(DATA_DIR.glob("*.ws.*"))
TALLY = re.compile(r"^(\w+) (\S+)\s+([\d,]+)  last:", re.MULTILINE)

#: the issue's reproducers: a unified symbol and rxpro's stream name for a cryptofeed recording
CHOSEN = {
    "coinbase orderbook SKL/USD": (["cryptofeed/COINBASE.ws.28.0", "--stream", "orderbook", "--symbol", "SKL/USD"],
                                   "orderbook", "SKL/USD"),
    "bitstamp trades ETH/USD": (["cryptofeed/BITSTAMP.ws.1.0", "--stream", "trades", "--symbol", "ETH/USD"],
                                "trades", "ETH/USD"),
    "okx future by ccxt symbol": (["OKX.ws.1.0", "--stream", "orderbook", "--symbol", "BTC/USD:BTC-220527"],
                                  "orderbook", "BTC/USD:BTC-220527"),
    "gate candles as ohlcv": (["cryptofeed/GATEIO.ws.1.0", "--stream", "ohlcv", "--symbol", "NEO/BTC"],
                              "ohlcv", "NEO/BTC"),
    "kucoin candles (the one ccxt still parses)": (["cryptofeed/KUCOIN.ws.1.0", "--stream", "ohlcv", "--symbol",
                                                    "DAPPT/BTC"], "ohlcv", "DAPPT/BTC"),
    "kucoin BSV-USDT as BSV/USDT": (["cryptofeed/KUCOIN.ws.1.0", "--stream", "orderbook", "--symbol", "BSV/USDT"],
                                    "orderbook", "BSV/USDT"),
}


def _tallies(result: Run) -> dict[tuple[str, str], int]:
    return {(m.group(1), m.group(2)): int(m.group(3).replace(",", "")) for m in TALLY.finditer(result.stdout)}


@pytest.fixture(scope="module")
def replays() -> dict[str, Run]:
    commands = {path.name: ["replay", str(path)] for path in CRYPTOFEED}
    commands |= {name: ["replay", str(DATA_DIR / args[0]), *args[1:]] for name, (args, _, _) in CHOSEN.items()}
    return dict(zip(commands, run_all(list(commands.values()), timeout=110)))


def test_every_bundled_cryptofeed_recording_is_covered() -> None:
    assert {p.name for p in CRYPTOFEED} >= {"OKX.ws.1.0", "COINBASE.ws.28.0", "BITFINEX.ws.11.0", "BITSTAMP.ws.1.0",
                                            "GATEIO.ws.1.0", "KUCOIN.ws.1.0", "DERIBIT.ws.1.0"}


@pytest.mark.parametrize("name", [p.name for p in CRYPTOFEED])
def test_replay_plays_a_bundled_cryptofeed_recording(replays: dict[str, Run], name: str) -> None:
    result = replays[name]
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "error" not in result.stdout, result.stdout
    fed = re.search(r"^frames\s+([\d,]+) fed", result.stdout, re.MULTILINE)
    assert fed and int(fed.group(1).replace(",", "")) > 0, result.stdout
    tallies = _tallies(result)
    # cryptofeed names (ETH-USD, BTC-USD-22K27) became ccxt symbols; l2_book became orderbook
    assert tallies and all("/" in symbol for _, symbol in tallies), result.stdout
    assert "orderbook" in {stream for stream, _ in tallies}, result.stdout
    emitted = {stream for (stream, _), count in tallies.items() if count}
    assert emitted, result.stdout
    if name != "DERIBIT.ws.1.0":  # no trade happened in the 30 s recorded
        assert "trades" in emitted, result.stdout
    else:  # its raw ticker channels need params ccxt has no option for (the protocol's stream_params)
        assert "ticker" in emitted, result.stdout


@pytest.mark.parametrize("name", list(CHOSEN))
def test_replay_takes_ccxt_symbols_and_stream_names_for_a_cryptofeed_recording(replays: dict[str, Run],
                                                                              name: str) -> None:
    result = replays[name]
    _, stream, symbol = CHOSEN[name]
    assert result.returncode == 0, (result.stdout, result.stderr)
    tallies = _tallies(result)
    assert list(tallies) == [(stream, symbol)], result.stdout
    assert tallies[(stream, symbol)] > 0, result.stdout
