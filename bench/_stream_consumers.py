"""Client processes for ``bench/bench_streams.py``: one consumer (or the handler micro-benchmark) per process.

``python bench/_stream_consumers.py '<json spec>'`` runs one of

* ``rxpro``  — Observable subscribers (``rxpro.trades`` / ``order_book`` / ``bids_asks``; the burst's
  with native parsers on, or off when the spec says ``"native": false``),
* ``ccxt``   — plain ``ccxt.pro.binance`` ``await watch_*`` loops, one task per stream,
* ``floor``  — bare ``aiohttp`` WebSocket receive + ``orjson.loads``, one connection per
  stream (ccxt's binance opens one per subscription too),
* ``handler`` — in-process, no network: CPU per frame of ccxt.pro's message handler
  with and without rxpro's hooks,

against the simulator of ``_stream_server.py``, and prints ``RESULT <json>`` on stdout.
CPU is ``time.process_time()`` of this process only, from just before the first
subscribe to the last update received (the simulator is another process).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

TRADE_KEY = "btcusdt@trade"
DEPTH_KEY = "btcusdt@depth@100ms"
BBO_KEY = "btcusdt@bookTicker"
SYMBOL = "BTC/USDT"


def attach(exchange: Any, port: int) -> Any:
    """Point a ccxt binance instance at a simulator running in another process.

    ``Simulator.attach`` only rewrites URLs and options; it needs the port, not the server.
    """
    from rxpro.testing import Simulator, SimulatorConfig

    remote = Simulator(SimulatorConfig(port=port, load_recordings=False))
    remote._port = port  # noqa: SLF001 - the server runs elsewhere; attach() only reads the port
    return remote.attach(exchange)


class Progress:
    """Counts updates; ``watch()`` returns when they stop coming (or ``finished()`` says so)."""

    def __init__(self) -> None:
        self.n = 0
        self.cpu0 = 0.0
        self.t_first = 0.0
        self.t_last = 0.0
        self.cpu_last = 0.0

    def start(self) -> None:
        gc.collect()
        self.cpu0 = time.process_time()

    async def watch(self, finished: Callable[[], bool], idle: float, timeout: float) -> None:
        seen = 0
        last_change = time.perf_counter()
        deadline = last_change + timeout
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            if self.n != seen:
                if seen == 0:
                    self.t_first = now
                seen = self.n
                last_change = now
                self.t_last = now
                self.cpu_last = time.process_time()
                if finished():
                    return
            elif seen and now - last_change > idle:
                return
            if now > deadline:
                return

    def report(self) -> dict[str, Any]:
        return {
            "cpu_s": self.cpu_last - self.cpu0,
            "wall_s": max(self.t_last - self.t_first, 1e-9),
            "updates": self.n,
        }


# -- synthetic burst ------------------------------------------------------------


async def burst_rxpro(spec: dict[str, Any]) -> dict[str, Any]:
    import rxpro

    count, start = spec["count"], spec["start"]
    seen = bytearray(count)
    progress = Progress()
    ex = attach(rxpro.binance({"rxpro": {"native": spec.get("native", True)}}), spec["port"])
    await ex.load_markets()

    def on_next(trade: dict[str, Any]) -> None:
        i = int(trade["id"]) - start
        if 0 <= i < count:
            seen[i] = 1
        progress.n += 1

    progress.start()
    disposable = rxpro.trades(ex, SYMBOL).subscribe(on_next)
    await progress.watch(lambda: seen[-1] == 1, idle=3.0, timeout=spec["timeout"])
    disposable.dispose()
    await ex.close()
    return {**progress.report(), "delivered": sum(seen), "lost": count - sum(seen)}


async def burst_ccxt(spec: dict[str, Any]) -> dict[str, Any]:
    import ccxt.pro

    count, start = spec["count"], spec["start"]
    seen = bytearray(count)
    progress = Progress()
    ex = attach(ccxt.pro.binance(), spec["port"])
    await ex.load_markets()

    async def loop() -> None:
        while True:
            trades = await ex.watch_trades(SYMBOL)
            for trade in trades:
                i = int(trade["id"]) - start
                if 0 <= i < count:
                    seen[i] = 1
                progress.n += 1

    progress.start()
    task = asyncio.ensure_future(loop())
    await progress.watch(lambda: seen[-1] == 1, idle=3.0, timeout=spec["timeout"])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await ex.close()
    return {**progress.report(), "delivered": sum(seen), "lost": count - sum(seen)}


async def burst_handler(spec: dict[str, Any]) -> dict[str, Any]:
    """ccxt.pro's connection and message handler over the wire, nobody awaiting: its cost floor.

    One ``watch_trades`` subscribes; afterwards frames go through aiohttp, decode and
    ``binance.handle_trade`` (parse, cache, resolve with no future) as for any ccxt.pro
    user, and a counter wrapped around ``handle_trade`` reads each trade id.
    """
    import ccxt.pro

    count, start = spec["count"], spec["start"]
    seen = bytearray(count)
    progress = Progress()
    ex = attach(ccxt.pro.binance(), spec["port"])
    await ex.load_markets()
    handle_trade = ex.handle_trade

    def counted(client: Any, message: dict[str, Any]) -> None:
        handle_trade(client, message)
        i = message["t"] - start
        if 0 <= i < count:
            seen[i] = 1
        progress.n += 1

    ex.handle_trade = counted
    progress.start()
    task = asyncio.ensure_future(ex.watch_trades(SYMBOL))  # subscribes; its one result is not awaited again
    await progress.watch(lambda: seen[-1] == 1, idle=3.0, timeout=spec["timeout"])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await ex.close()
    return {**progress.report(), "delivered": sum(seen), "lost": count - sum(seen)}


async def _floor_connection(url: str, key: str, on_data: Callable[[dict[str, Any]], None]) -> None:
    import aiohttp
    from aiohttp import WSMsgType

    loads = orjson.loads
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, autoping=False, autoclose=False, max_msg_size=0) as ws:
            await ws.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": [key], "id": 1}).decode())
            while True:
                msg = await ws.receive()
                if msg.type is not WSMsgType.TEXT:
                    return
                on_data(loads(msg.data))


async def burst_floor(spec: dict[str, Any]) -> dict[str, Any]:
    count, start = spec["count"], spec["start"]
    seen = bytearray(count)
    progress = Progress()

    def on_data(data: dict[str, Any]) -> None:
        t = data.get("t")
        if t is not None:
            i = t - start
            if 0 <= i < count:
                seen[i] = 1
            progress.n += 1

    progress.start()
    task = asyncio.ensure_future(_floor_connection(f"{spec['ws']}/stream/ws/0", TRADE_KEY, on_data))
    await progress.watch(lambda: seen[-1] == 1, idle=3.0, timeout=spec["timeout"])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return {**progress.report(), "delivered": sum(seen), "lost": count - sum(seen)}


# -- recorded session -----------------------------------------------------------


def _session_result(progress: Progress, trades: list[Any], depth: list[int], bbo: list[int]) -> dict[str, Any]:
    return {**progress.report(), "trade": [int(t) for t in trades], "depth": depth, "bbo": bbo}


async def session_rxpro(spec: dict[str, Any]) -> dict[str, Any]:
    import rxpro

    progress = Progress()
    ex = attach(rxpro.binance(), spec["port"])
    await ex.load_markets()
    trades: list[str] = []
    depth: list[int] = []
    bbo: list[int] = []

    def on_trade(trade: dict[str, Any]) -> None:
        trades.append(trade["id"])
        progress.n += 1

    def on_book(book: dict[str, Any]) -> None:
        depth.append(book["nonce"])
        progress.n += 1

    def on_bbo(ticker: dict[str, Any]) -> None:
        bbo.append(ticker["info"]["u"])
        progress.n += 1

    progress.start()
    disposables = [
        rxpro.trades(ex, SYMBOL).subscribe(on_trade),
        rxpro.order_book(ex, SYMBOL).subscribe(on_book),
        rxpro.bids_asks(ex, [SYMBOL]).subscribe(on_bbo),
    ]
    await progress.watch(lambda: False, idle=1.0, timeout=spec["timeout"])
    for disposable in disposables:
        disposable.dispose()
    await ex.close()
    return _session_result(progress, trades, depth, bbo)


async def session_ccxt(spec: dict[str, Any]) -> dict[str, Any]:
    import ccxt.pro

    progress = Progress()
    ex = attach(ccxt.pro.binance(), spec["port"])
    await ex.load_markets()
    trades: list[str] = []
    depth: list[int] = []
    bbo: list[int] = []

    async def trade_loop() -> None:
        while True:
            for trade in await ex.watch_trades(SYMBOL):
                trades.append(trade["id"])
                progress.n += 1

    async def book_loop() -> None:
        while True:
            book = await ex.watch_order_book(SYMBOL)
            depth.append(book["nonce"])
            progress.n += 1

    async def bbo_loop() -> None:
        while True:
            tickers = await ex.watch_bids_asks([SYMBOL])
            for ticker in tickers.values():
                bbo.append(ticker["info"]["u"])
                progress.n += 1

    progress.start()
    tasks = [asyncio.ensure_future(f()) for f in (trade_loop, book_loop, bbo_loop)]
    await progress.watch(lambda: False, idle=1.0, timeout=spec["timeout"])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await ex.close()
    return _session_result(progress, trades, depth, bbo)


async def session_floor(spec: dict[str, Any]) -> dict[str, Any]:
    progress = Progress()
    trades: list[int] = []
    depth: list[int] = []
    bbo: list[int] = []

    def on_trade(data: dict[str, Any]) -> None:
        if "t" in data:
            trades.append(data["t"])
            progress.n += 1

    def on_depth(data: dict[str, Any]) -> None:
        if "U" in data:
            depth.append(data["u"])
            progress.n += 1

    def on_bbo(data: dict[str, Any]) -> None:
        if "b" in data:
            bbo.append(data["u"])
            progress.n += 1

    progress.start()
    base = f"{spec['ws']}/stream/ws"
    tasks = [
        asyncio.ensure_future(_floor_connection(f"{base}/{i}", key, handler))
        for i, (key, handler) in enumerate(((TRADE_KEY, on_trade), (DEPTH_KEY, on_depth), (BBO_KEY, on_bbo)))
    ]
    await progress.watch(lambda: False, idle=1.0, timeout=spec["timeout"])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return _session_result(progress, trades, depth, bbo)


# -- handler micro-benchmark ----------------------------------------------------


def _stub_connect(client: Any) -> None:
    """Make ``watch()`` register its future and subscription without opening a socket."""
    loop = asyncio.get_running_loop()
    client.connect = lambda *args, **kwargs: loop.create_future()


async def _subscribed_client(ex: Any, subscribe: Callable[[], Any]) -> Any:
    """The ccxt client of ``ex`` for BTC/USDT trades, with ``subscribe()`` registered, no network."""
    original_client = ex.client

    def client(url: str) -> Any:
        made = url not in ex.clients
        c = original_client(url)
        if made:
            _stub_connect(c)
        return c

    ex.client = client
    subscribe()
    for _ in range(20):
        await asyncio.sleep(0)
        if ex.clients:
            break
    ex.client = original_client
    (url,) = list(ex.clients)
    return ex.clients[url]


def _timed(run: Callable[[], None], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        run()
        times.append(time.process_time() - t0)
    return times


async def _timed_async(run: Callable[[], None], repeats: int) -> list[float]:
    """Like ``_timed``, but also runs what the handler left on the event loop (future callbacks)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        run()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        times.append(time.process_time() - t0)
    return times


async def handler_bench(spec: dict[str, Any]) -> dict[str, Any]:
    import ccxt.pro
    from aiohttp import WSMessage, WSMsgType

    import rxpro
    from rxpro.testing._simulator import _binance_trade_burst

    frames, repeats = spec["frames"], spec["repeats"]
    texts = list(_binance_trade_burst("BTCUSDT", [TRADE_KEY], False, frames, 1))
    decoded = [orjson.loads(t) for t in texts]
    messages = [WSMessage(WSMsgType.TEXT, t, None) for t in texts]

    plain = attach(ccxt.pro.binance(), spec["port"])
    await plain.load_markets()
    pending: list[asyncio.Future[Any]] = []
    plain_client = await _subscribed_client(plain, lambda: pending.append(asyncio.ensure_future(plain.watch_trades(SYMBOL))))

    rx = attach(rxpro.binance(), spec["port"])
    rx.markets = plain.markets  # same parsed markets, no second exchangeInfo
    rx.markets_by_id = plain.markets_by_id
    rx.symbols = plain.symbols
    rx.currencies = plain.currencies
    received = [0]

    def on_next(trade: dict[str, Any]) -> None:
        received[0] += 1

    disposable = None

    def subscribe() -> None:
        nonlocal disposable
        disposable = rxpro.trades(rx, SYMBOL).subscribe(on_next)

    rx_client = await _subscribed_client(rx, subscribe)
    await asyncio.sleep(0)

    loads = orjson.loads
    plain_handle, rx_handle = plain.handle_message, rx.handle_message
    plain_frame, rx_frame = plain_client.handle_message, rx_client.handle_message

    def decode() -> None:
        for t in texts:
            loads(t)

    def run_plain() -> None:
        for d in decoded:
            plain_handle(plain_client, d)

    def run_rx() -> None:
        for d in decoded:
            rx_handle(rx_client, d)

    def run_plain_frame() -> None:
        for m in messages:
            plain_frame(m)

    def run_rx_frame() -> None:
        for m in messages:
            rx_frame(m)

    # warm up both paths (caches born, recorders installed, markets looked up)
    run_plain()
    run_rx()
    await asyncio.sleep(0)
    received[0] = 0
    # the frame corpus is held for the whole benchmark but belongs to neither workload: keep
    # the cyclic GC from re-scanning it (it would tax whichever variant allocates more)
    gc.collect()
    gc.freeze()
    results: dict[str, list[float]] = {}
    # interleave the variants so drift in the machine hits each alike
    for _ in range(repeats):
        for name, fn in (("decode", decode), ("ccxt_handler", run_plain), ("rxpro_handler", run_rx),
                         ("ccxt_frame", run_plain_frame), ("rxpro_frame", run_rx_frame)):
            results.setdefault(name, []).extend(await _timed_async(fn, 1))
    emitted = received[0]
    gc.unfreeze()
    if disposable is not None:
        disposable.dispose()
    for ex in (plain, rx):
        try:
            await asyncio.wait_for(ex.close(), 2)
        except Exception:  # noqa: BLE001 - never connected
            pass
    per_frame = {k: [v / frames * 1e6 for v in vs] for k, vs in results.items()}
    return {
        "frames": frames,
        "repeats": repeats,
        "us_per_frame": {k: statistics.median(v) for k, v in per_frame.items()},
        "us_per_frame_min": {k: min(v) for k, v in per_frame.items()},
        "rx_emitted_per_frame": emitted / (frames * repeats * 2),
    }


RUNNERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "burst/rxpro": burst_rxpro,
    "burst/ccxt": burst_ccxt,
    "burst/floor": burst_floor,
    "burst/handler": burst_handler,
    "session/rxpro": session_rxpro,
    "session/ccxt": session_ccxt,
    "session/floor": session_floor,
    "handler": handler_bench,
}


def main() -> None:
    spec: dict[str, Any] = orjson.loads(sys.argv[1])
    runner = RUNNERS[spec["run"]]
    if spec.get("profile"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, runner(spec))
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats(spec.get("profile_sort", "tottime")).print_stats(int(spec.get("profile_lines", 35)))
    else:
        result = asyncio.run(runner(spec))
    sys.stdout.write("RESULT " + orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
