"""Per-item cost of rxpro's market-data operators.

Run: ``python bench/bench_operators.py [--trades N] [--books N]``.

Each operator is driven directly through the observer its source hands it
(no Subject, no scheduler loop in between) into a no-op sink, so the time is
the operator plus reactivex's own observer dispatch; the "pass-through" row
is that dispatch alone. Timers run on a TestScheduler that is never advanced
(throttle's and book_snapshots' hot path is then the value being held).
``ohlcv`` is compared with the await-loop way: append each trade to ccxt's
1000-trade ArrayCache and call ``build_ohlcvc`` on it after every update.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import ccxt
from ccxt.async_support.base.ws.cache import ArrayCache
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import TestScheduler

from rxpro.operators import (
    Venued,
    bars,
    best_bid_offer,
    book_snapshots,
    consolidated_book,
    imbalance,
    merge_exchanges,
    mid_price,
    ohlcv,
    spread,
    throttle,
    vwap,
)

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


def venued(values: Sequence[Any], venues: Sequence[str] = ("binance", "okx", "bybit")) -> list[Venued[Any]]:
    return [Venued(venues[i % len(venues)], v) for i, v in enumerate(values)]


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


def drive_merge(items: Sequence[Any], venues: int = 3) -> float:
    observers: list[abc.ObserverBase[Any]] = []

    def capture(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        observers.append(observer)
        return Disposable()

    merge_exchanges(*((f"venue{i}", Observable(capture)) for i in range(venues))).subscribe(lambda _: None)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--await-loop-trades", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    trades = make_trades(args.trades)
    books = make_books(args.books)
    tickers = make_tickers(make_books(args.trades // 10, depth=1, seed=3))
    rows: list[tuple[str, str, int, float]] = []

    def bench(name: str, what: str, items: Sequence[Any], operator: Operator | None) -> float:
        seconds = best_of(args.runs, lambda: drive(operator, items))
        rows.append((name, what, len(items), seconds))
        return seconds

    bench("pass-through (reactivex dispatch only)", "trades", trades, None)
    ohlcv_s = bench("ohlcv('1m')  every trade", "trades", trades, ohlcv("1m"))
    bench("ohlcv('1m', closed_only=True)", "trades", trades, ohlcv("1m", closed_only=True))
    bench("ohlcv('1s', closed_only=True)", "trades", trades, ohlcv("1s", closed_only=True))
    bench("ohlcv('1m', close_on_time=True)", "trades", trades, ohlcv("1m", close_on_time=True))
    bench("bars(volume=10)", "trades", trades, bars(volume=10))
    bench("bars(ticks=100)", "trades", trades, bars(ticks=100))
    bench("vwap(60_000)", "trades", trades, vwap(60_000))
    bench("throttle(100)", "trades", trades, throttle(100))
    bench("throttle(100, key='symbol')", "trades", trades, throttle(100, key="symbol"))
    bench("mid_price()", "tickers", tickers, mid_price())
    bench("best_bid_offer()  3 venues", "tickers", venued(tickers), best_bid_offer())
    bench("spread('binance', 'okx')", "tickers", venued(tickers), spread("binance", "okx"))
    bench("mid_price()", "books", books, mid_price())
    bench("imbalance(10)", "books", books, imbalance(10))
    bench("book_snapshots(100, 10)", "books", books, book_snapshots(100, 10))
    bench("consolidated_book(10)  3 venues", "books", venued(books), consolidated_book(10))
    merge_s = best_of(args.runs, lambda: drive_merge(tickers))
    rows.append(("merge_exchanges(3 venues)", "tickers", len(tickers), merge_s))

    n_await = min(args.await_loop_trades, len(trades))
    await_s = await_loop_build_ohlcvc(trades[:n_await], "1m")
    rows.append(("await loop: ArrayCache(1000) + build_ohlcvc", "trades", n_await, await_s))

    print(f"{'operator':46} {'items':>8} {'count':>9} {'ns/item':>9} {'items/s':>12}")
    for name, what, count, seconds in rows:
        per = seconds / count
        print(f"{name:46} {what:>8} {count:>9} {per * 1e9:9.0f} {1 / per:12,.0f}")
    ohlcv_per = ohlcv_s / len(trades)
    await_per = await_s / n_await
    print(f"\nohlcv('1m') vs await loop: {ohlcv_per * 1e9:.0f} ns vs {await_per * 1e9:,.0f} ns per trade "
          f"-> {await_per / ohlcv_per:,.0f}x faster; ohlcv: {1 / ohlcv_per:,.0f} trades/s")


if __name__ == "__main__":
    main()
