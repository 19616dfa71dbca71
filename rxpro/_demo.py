"""``python -m rxpro demo``: the offline main job.

Starts the simulator on the bundled, recorded Binance BTCUSDT session and prints
a throttled live ticker and the top of the book for a few seconds — the same
pipeline a user would run live, minus ``sim.attach``.

The ticker is Binance's ``ticker`` channel (ccxt's ``params={'name': 'ticker'}``):
24-hour statistics *with* the best bid/ask.  ccxt's default, ``miniTicker``, has no
bid/ask.  The simulator derives both channels from the recorded trades and
bookTicker (see ``rxpro/testing/data/README.md``: its "24 h" is "since the start of
the recording").
"""

from __future__ import annotations

import asyncio
from typing import Any, TextIO

import reactivex.operators as ops

import rxpro
from rxpro.operators import throttle
from rxpro.testing import Simulator, SimulatorConfig

__all__ = ["TICKER_WITH_BID_ASK", "demo", "run_demo"]


#: Binance's ticker channel with the best bid/ask (ccxt's default, miniTicker, has none)
TICKER_WITH_BID_ASK: dict[str, Any] = {"name": "ticker"}


def _line(ticker: dict[str, Any], book: dict[str, Any] | None) -> str:
    if book and book["bids"] and book["asks"]:
        (bid, bid_size), (ask, ask_size) = book["bids"][0][:2], book["asks"][0][:2]
        top = f"book {bid} x {bid_size} / {ask} x {ask_size}"
    else:
        top = "book: waiting for its first snapshot"
    return (
        f"{ticker['datetime']}  {ticker['symbol']}  last {ticker['last']:>10.2f}"
        f"  bid {ticker['bid']:.2f}  ask {ticker['ask']:.2f}  |  {top}"
    )


async def demo(seconds: float = 5.0, symbol: str = "BTC/USDT", speed: float = 20.0, out: TextIO | None = None) -> int:
    """Replay the recording at ``speed`` x real time and print the throttled ticker and book.

    Returns the number of lines printed.
    """
    printed = 0

    def write(text: str) -> None:
        nonlocal printed
        print(text, file=out, flush=True)
        printed += 1

    async with Simulator(SimulatorConfig(speed=speed, loop=True)) as sim:
        exchange = sim.attach(rxpro.binance())
        async with exchange:
            latest_book: dict[str, Any] | None = None

            def keep_book(book: dict[str, Any]) -> None:
                nonlocal latest_book
                latest_book = book

            def format_line(ticker: Any) -> str:
                return _line(ticker, latest_book)

            write(f"rxpro demo: recorded Binance {symbol} from {sim.url}, {speed:g}x real time, ticker throttled to 250 ms")
            book_subscription = rxpro.order_book(exchange, symbol, limit=5).subscribe(keep_book)
            ticker_subscription = (
                rxpro.ticker(exchange, symbol, TICKER_WITH_BID_ASK)
                .pipe(throttle(250), ops.map(format_line))
                .subscribe(write, lambda e: write(f"error: {e!r}"))
            )
            await asyncio.sleep(seconds)
            ticker_subscription.dispose()
            book_subscription.dispose()
    return printed


def run_demo(seconds: float = 5.0) -> int:
    return asyncio.run(demo(seconds))
