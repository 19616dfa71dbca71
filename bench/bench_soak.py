"""Soak (issue 10): millions of recorded messages and thousands of subscribe/dispose cycles, memory sampled.

Run: ``python bench/bench_soak.py [--messages 5000000] [--cycles 10000] [--quick]``.

1. The bundled Binance session (BTC/USDT trades, diff depth, bookTicker — real recorded
   frames), looped by the offline simulator at full speed, streams into three rxpro
   Observables: trades, a ``limit=20`` order book and the ticker, until the exchange has
   handled ``--messages`` frames. The process's RSS is sampled every 500,000 frames.
2. ``--cycles`` subscribe/dispose cycles: every one subscribes a trades Observable and
   disposes it after its first trade (the shared subscription stays up: a second, long-lived
   subscriber holds it); every 100th on a stream nobody else holds, which goes all the way
   through watch, the un-watch grace and the un-watch. RSS sampled every 1,000 cycles.

Reports: RSS after warm-up (the first sample past 1,000,000 frames / 1,000 cycles) and at
the end, the growth between them (target: under 5%), the asyncio tasks alive at the end
besides the benchmark's own (target: none left behind), and frames per second.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rxpro  # noqa: E402
from rxpro.testing import Simulator, SimulatorConfig  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """The resident set size now, MB (from /proc; the peak from getrusage where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


async def soak_messages(messages: int, sample_every: int = 500_000) -> dict[str, Any]:
    async with Simulator(SimulatorConfig(speed=None, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        counts = {"trades": 0, "book": 0, "ticker": 0}

        def counter(name: str) -> Any:
            def on_next(_: Any) -> None:
                counts[name] += 1
            return on_next

        subscriptions = [
            rxpro.trades(ex, "BTC/USDT").subscribe(counter("trades")),
            rxpro.order_book(ex, "BTC/USDT", 20).subscribe(counter("book")),
            rxpro.ticker(ex, "BTC/USDT").subscribe(counter("ticker")),
        ]
        frames = ex._rx_hub.frames  # the exchange's frame count (every frame ccxt handled)
        samples: list[tuple[int, float]] = []
        next_sample = sample_every
        started = time.monotonic()
        while frames.number < messages:
            await asyncio.sleep(0.2)
            if frames.number >= next_sample:
                gc.collect()
                samples.append((frames.number, rss_mb()))
                next_sample += sample_every
        elapsed = time.monotonic() - started
        for s in subscriptions:
            s.dispose()
        await ex.close()
    return {"frames": frames.number, "seconds": elapsed, "samples": samples, "counts": counts}


async def soak_cycles(cycles: int, sample_every: int = 1_000) -> dict[str, Any]:
    async with Simulator(SimulatorConfig(speed=None, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        keeper = rxpro.trades(ex, "BTC/USDT").subscribe(lambda _: None)
        samples: list[tuple[int, float]] = []
        started = time.monotonic()
        for cycle in range(1, cycles + 1):
            got: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def first(_: Any, got: asyncio.Future[None] = got) -> None:
                if not got.done():
                    got.set_result(None)

            source = rxpro.trades(ex, "ETH/USDT") if cycle % 100 == 0 else rxpro.trades(ex, "BTC/USDT")
            subscription = source.subscribe(first)
            await asyncio.wait_for(got, 30)
            subscription.dispose()
            if cycle % 100 == 0:
                while len(ex._rx_hub.subscriptions) > 1:  # the keeper's, and the lone stream's until un-watched
                    await asyncio.sleep(0.01)
            if cycle % sample_every == 0:
                gc.collect()
                samples.append((cycle, rss_mb()))
        elapsed = time.monotonic() - started
        keeper.dispose()
        await ex.close()
    return {"cycles": cycles, "seconds": elapsed, "samples": samples}


def growth(samples: list[tuple[int, float]], warm: int) -> tuple[float, float, float]:
    after_warmup = next((mb for n, mb in samples if n >= warm), samples[0][1])
    end = samples[-1][1]
    return after_warmup, end, (end - after_warmup) / after_warmup * 100


async def main(args: argparse.Namespace) -> None:
    own = asyncio.current_task()
    flow = await soak_messages(args.messages, min(500_000, args.messages // 5))
    cycles = await soak_cycles(args.cycles, min(1_000, args.cycles // 5))
    await asyncio.sleep(0.2)
    left = [t for t in asyncio.all_tasks() if t is not own and not t.done()]
    flow_warm, flow_end, flow_growth = growth(flow["samples"], min(1_000_000, args.messages // 2))
    cyc_warm, cyc_end, cyc_growth = growth(cycles["samples"], min(1_000, args.cycles // 2))
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()} · nproc {os.cpu_count()} · "
          f"Python {platform.python_version()}")
    print()
    print("| soak | amount | seconds | rate | RSS after warm-up MB | RSS at end MB | growth | tasks left |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| recorded Binance session looped: trades + book(20) + ticker | {flow['frames']:,} frames | "
          f"{flow['seconds']:.0f} | {flow['frames'] / flow['seconds']:,.0f} frames/s | {flow_warm:.1f} | {flow_end:.1f} | "
          f"{flow_growth:+.1f}% | – |")
    print(f"| subscribe/dispose (1 in 100 through un-watch) | {cycles['cycles']:,} cycles | {cycles['seconds']:.0f} | "
          f"{cycles['cycles'] / cycles['seconds']:,.0f} cycles/s | {cyc_warm:.1f} | {cyc_end:.1f} | {cyc_growth:+.1f}% | "
          f"{len(left)} |")
    print()
    print("RSS samples (frames → MB):", ", ".join(f"{n / 1e6:.1f}M {mb:.1f}" for n, mb in flow["samples"]))
    print("RSS samples (cycles → MB):", ", ".join(f"{n:,} {mb:.1f}" for n, mb in cycles["samples"]))
    print("delivered:", ", ".join(f"{k} {v:,}" for k, v in flow["counts"].items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="600,000 messages and 2,000 cycles")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.messages, arguments.cycles = 600_000, 2_000
    asyncio.run(main(arguments))
