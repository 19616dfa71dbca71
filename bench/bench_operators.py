"""Per-item cost of rxpro's market-data operators.

Run: ``python bench/bench_operators.py [--trades N] [--books N] [--only TEXT]``.

Each operator is driven directly through the observer its source hands it
(no Subject, no scheduler loop in between) into a no-op sink, so the time is
the operator plus reactivex's own observer dispatch; the "pass-through" row
is that dispatch alone. Timers run on a TestScheduler that is never advanced
(throttle's and book_snapshots' hot path is then the value being held).
``ohlcv`` is compared with the await-loop way: append each trade to ccxt's
1000-trade ArrayCache and call ``build_ohlcvc`` on it after every update.

Side by side: ``--baseline DIR`` loads another copy of the operators package
(e.g. ``git archive <commit> operators | tar -x -C /tmp/base`` gives
``/tmp/base/operators``) and runs every row alternately with it and with the
current package, best of ``--runs`` each, adding its ns/item and the ratio
current / baseline (below 1.00 is faster).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import ccxt
from ccxt.async_support.base.ws.cache import ArrayCache
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import TestScheduler

import rxpro.operators

Operator = Callable[[Observable[Any]], Observable[Any]]


def make_trades(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    ts, price, trades = 1_723_161_255_342, 60_000.0, []
    for i in range(n):
        ts += rng.choice((0, 0, 1, 2, 5, 20))
        price = round(price + rng.choice((-0.01, 0.0, 0.01)) * rng.randint(1, 50), 2)
        amount = round(rng.expovariate(20.0), 5) or 0.00001
        trades.append({"id": str(i), "timestamp": ts, "datetime": None, "symbol": "BTC/USDT",
                       "side": "buy" if i % 2 else "sell", "price": price, "amount": amount,
                       "cost": price * amount})
    return trades


def make_books(n: int, depth: int = 20, seed: int = 2) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    books, mid = [], 60_000.0
    for i in range(n):
        mid += rng.choice((-0.5, 0.0, 0.5))
        bids = [[mid - 0.5 - k, rng.random()] for k in range(depth)]
        asks = [[mid + 0.5 + k, rng.random()] for k in range(depth)]
        books.append({"symbol": "BTC/USDT", "bids": bids, "asks": asks, "timestamp": 1_723_161_255_342 + i,
                      "datetime": None, "nonce": i})
    return books


def make_tickers(books: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"symbol": b["symbol"], "timestamp": b["timestamp"], "bid": b["bids"][0][0], "ask": b["asks"][0][0],
             "bidVolume": b["bids"][0][1], "askVolume": b["asks"][0][1], "last": None} for b in books]


def venued(ops: ModuleType, values: Sequence[Any], venues: Sequence[str] = ("binance", "okx", "bybit")) -> list[Any]:
    """``values`` tagged round-robin with ``ops.Venued`` (each package checks for its own class)."""
    return [ops.Venued(venues[i % len(venues)], v) for i, v in enumerate(values)]


def drive(operator: Operator | None, items: Sequence[Any]) -> float:
    """Seconds to push ``items`` through ``operator`` into a no-op sink."""
    observers: list[abc.ObserverBase[Any]] = []

    def capture(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        observers.append(observer)
        return Disposable()

    source: Observable[Any] = Observable(capture)
    stream = source.pipe(operator) if operator is not None else source
    stream.subscribe(lambda _: None, scheduler=TestScheduler())
    push = observers[0].on_next
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for item in items:
            push(item)
        return time.perf_counter() - start
    finally:
        gc.enable()


def drive_merge(ops: ModuleType, items: Sequence[Any], venues: int = 3) -> float:
    observers: list[abc.ObserverBase[Any]] = []

    def capture(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        observers.append(observer)
        return Disposable()

    ops.merge_exchanges(*((f"venue{i}", Observable(capture)) for i in range(venues))).subscribe(lambda _: None)
    pushes = [o.on_next for o in observers]
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for i, item in enumerate(items):
            pushes[i % venues](item)
        return time.perf_counter() - start
    finally:
        gc.enable()


def await_loop_build_ohlcvc(trades: Sequence[dict[str, Any]], timeframe: str) -> float:
    """The way without rxpro: ccxt's trade cache, build_ohlcvc after every update."""
    exchange = ccxt.Exchange()
    cache = ArrayCache(1000)
    start = time.perf_counter()
    for t in trades:
        cache.append(t)
        exchange.build_ohlcvc(cache, timeframe)
    return time.perf_counter() - start


def best_of(runs: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(runs))


def load_baseline(directory: Path) -> ModuleType:
    """Another copy of the operators package, imported beside ``rxpro.operators``.

    It is named as a subpackage of ``rxpro`` so its ``from .._scheduling``
    import finds the core it was written for.
    """
    name = "rxpro._baseline_operators"
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline: no operators package in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: (row name, item kind, timer for one run with the given operators package)
Case = tuple[str, str, int, Callable[[ModuleType], float]]


def cases(trades: list[Any], books: list[Any], tickers: list[Any]) -> list[Case]:
    tagged: dict[tuple[str, int], list[Any]] = {}

    def venued_once(ops: ModuleType, values: list[Any]) -> list[Any]:
        key = (ops.__name__, id(values))
        if key not in tagged:
            tagged[key] = venued(ops, values)
        return tagged[key]

    def one(name: str, what: str, items: Sequence[Any], build: Callable[[ModuleType], Operator | None]) -> Case:
        return name, what, len(items), lambda ops: drive(build(ops), items)

    def one_venued(name: str, what: str, items: list[Any], build: Callable[[ModuleType], Operator]) -> Case:
        return name, what, len(items), lambda ops: drive(build(ops), venued_once(ops, items))

    return [
        one("pass-through (reactivex dispatch only)", "trades", trades, lambda ops: None),
        one("ohlcv('1m')  every trade", "trades", trades, lambda ops: ops.ohlcv("1m")),
        one("ohlcv('1m', closed_only=True)", "trades", trades, lambda ops: ops.ohlcv("1m", closed_only=True)),
        one("ohlcv('1s', closed_only=True)", "trades", trades, lambda ops: ops.ohlcv("1s", closed_only=True)),
        one("ohlcv('1m', close_on_time=True)", "trades", trades, lambda ops: ops.ohlcv("1m", close_on_time=True)),
        one("bars(volume=10)", "trades", trades, lambda ops: ops.bars(volume=10)),
        one("bars(ticks=100)", "trades", trades, lambda ops: ops.bars(ticks=100)),
        one("vwap(60_000)", "trades", trades, lambda ops: ops.vwap(60_000)),
        one("throttle(100)", "trades", trades, lambda ops: ops.throttle(100)),
        one("throttle(100, key='symbol')", "trades", trades, lambda ops: ops.throttle(100, key="symbol")),
        one("mid_price()", "tickers", tickers, lambda ops: ops.mid_price()),
        one_venued("best_bid_offer()  3 venues", "tickers", tickers, lambda ops: ops.best_bid_offer()),
        one_venued("spread('binance', 'okx')", "tickers", tickers, lambda ops: ops.spread("binance", "okx")),
        one("mid_price()", "books", books, lambda ops: ops.mid_price()),
        one("imbalance(10)", "books", books, lambda ops: ops.imbalance(10)),
        one("book_snapshots(100, 10)", "books", books, lambda ops: ops.book_snapshots(100, 10)),
        one_venued("consolidated_book(10)  3 venues", "books", books, lambda ops: ops.consolidated_book(10)),
        ("merge_exchanges(3 venues)", "tickers", len(tickers), lambda ops: drive_merge(ops, tickers)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--await-loop-trades", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="run only the rows whose name contains this text")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a copy of the operators package to run side by side with the current one")
    args = parser.parse_args()

    current = rxpro.operators
    baseline = load_baseline(args.baseline) if args.baseline is not None else None
    trades = make_trades(args.trades)
    books = make_books(args.books)
    tickers = make_tickers(make_books(args.trades // 10, depth=1, seed=3))
    rows: list[tuple[str, str, int, float, float | None]] = []
    ohlcv_s: float | None = None

    for name, what, count, timed in cases(trades, books, tickers):
        if args.only not in name:
            continue
        if baseline is None:
            seconds, base_seconds = best_of(args.runs, lambda: timed(current)), None
        else:  # alternate, so load on the shared machine hits both alike
            times: dict[str, list[float]] = {"current": [], "baseline": []}
            for _ in range(args.runs):
                times["baseline"].append(timed(baseline))
                times["current"].append(timed(current))
            seconds, base_seconds = min(times["current"]), min(times["baseline"])
        rows.append((name, what, count, seconds, base_seconds))
        if name.startswith("ohlcv('1m')  every"):
            ohlcv_s = seconds

    await_s = None
    if not args.only:
        n_await = min(args.await_loop_trades, len(trades))
        await_s = await_loop_build_ohlcvc(trades[:n_await], "1m")
        rows.append(("await loop: ArrayCache(1000) + build_ohlcvc", "trades", n_await, await_s, None))

    header = f"{'operator':46} {'items':>8} {'count':>9} {'ns/item':>9} {'items/s':>12}"
    print(header + (f" {'base ns':>9} {'ratio':>6}" if baseline is not None else ""))
    for name, what, count, seconds, base_seconds in rows:
        per = seconds / count
        line = f"{name:46} {what:>8} {count:>9} {per * 1e9:9.0f} {1 / per:12,.0f}"
        if base_seconds is not None:
            line += f" {base_seconds / count * 1e9:9.0f} {seconds / base_seconds:6.3f}"
        print(line)
    if ohlcv_s is not None and await_s is not None:
        ohlcv_per = ohlcv_s / len(trades)
        await_per = await_s / n_await
        print(f"\nohlcv('1m') vs await loop: {ohlcv_per * 1e9:.0f} ns vs {await_per * 1e9:,.0f} ns per trade "
              f"-> {await_per / ohlcv_per:,.0f}x faster; ohlcv: {1 / ohlcv_per:,.0f} trades/s")


if __name__ == "__main__":
    main()
