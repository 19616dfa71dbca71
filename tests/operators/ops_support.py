"""Helpers for the operator tests: recorded Binance trades, ccxt structure factories."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import ccxt

import rxpro

_RECORDING_NAME = "btcusdt_20240808.gz"
RECORDING_CANDIDATES = [
    Path(rxpro.__file__).parent / "testing" / "data" / "binance" / _RECORDING_NAME,
    Path("/work/shared/data/hftbacktest/examples/spot") / _RECORDING_NAME,
]


def load_binance_trades(path: Path) -> list[dict[str, Any]]:
    """ccxt trades parsed by ``ccxt.binance().parse_trade`` from an hftbacktest recording."""
    exchange = ccxt.binance()
    market = exchange.safe_market_structure(
        {"id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
         "type": "spot", "spot": True, "option": False, "contract": False}
    )
    trades = []
    with gzip.open(path, "rt") as lines:
        for line in lines:
            if '"stream":"btcusdt@trade"' not in line:
                continue
            frame = json.loads(line.split(" ", 1)[1])
            trades.append(exchange.parse_trade(frame["data"], market))
    return trades


def trade(ts: int, price: float, amount: float = 1.0, symbol: str = "BTC/USDT", **extra: Any) -> dict[str, Any]:
    """A minimal ccxt trade."""
    return {"id": str(ts), "timestamp": ts, "datetime": None, "symbol": symbol, "side": "buy",
            "price": price, "amount": amount, "cost": price * amount, **extra}


def ticker(symbol: str, bid: float | None, ask: float | None, bid_volume: float | None = 1.0,
           ask_volume: float | None = 1.0, timestamp: int | None = None) -> dict[str, Any]:
    return {"symbol": symbol, "timestamp": timestamp, "bid": bid, "ask": ask,
            "bidVolume": bid_volume, "askVolume": ask_volume, "last": None}


def book(symbol: str, bids: list[list[float]], asks: list[list[float]], timestamp: int | None = None) -> dict[str, Any]:
    return {"symbol": symbol, "bids": bids, "asks": asks, "timestamp": timestamp,
            "datetime": None, "nonce": None}


def live_timers(scheduler: Any) -> list[Any]:
    """Scheduled, not cancelled items of a TestScheduler (what an operator left behind)."""
    return [item for item, _ in scheduler._queue.items if not item.is_cancelled()]
