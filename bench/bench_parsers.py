"""Parsers side by side (issue 9): per channel and venue, CPU per frame of five ways to handle a frame.

Run (in an environment with cryptofeed 2.4.1 for its column; without it the column is empty):
``python bench/bench_parsers.py [--rounds 7] [--venue okx] [--quick] [--session/--no-session]
[--burst 1000000] [--profile]``.

* Cases: ``CASES`` of every ``bench/_cases_<venue>.py`` (``bench/_cases.py`` says what a case
  is); a module without data gives none.
* Per case, in this process, rounds interleaved in a rotating order (median of ``--rounds``):
  the orjson floor (decode only); cryptofeed 2.4.1 fed the same texts through its own
  ``message_handler``; ccxt.pro's handler (plain ccxt.pro class, orjson decode included);
  rxpro with native parsers on and off (``config['rxpro']['native']``), each with one
  Observable per watched stream subscribed as users do, so the hub's routing and emission
  are in the figure; and rxpro native *unrouted*: the same exchange with no Observable, ccxt's
  plain caches, its connection resolving as ccxt's own client does.  Each variant keeps one
  exchange (or feed) over the rounds; a round feeds the case's frames enough times for about
  3,000 updates.  CPU is
  ``time.process_time()`` (this 2-core machine is shared: ratios from interleaved rounds,
  not absolute figures, are what to read).
* ``hub`` = rxpro native-off − ccxt handler, the median of the per-round differences: rxpro's
  own cost per frame (routing, emission, the client's frame count) on top of ccxt's parse.
  ``hub, natives on`` = rxpro native − unrouted, paired alike: rxpro's own cost per frame on
  top of the native parse (router, cache recorders, delivery, emission).  Books: the router
  trims a ``limit=20`` book that nobody unrouted trims, so there it is negative.
* ``--session``: the recorded Binance BTC/USDT session (trade, diff depth, bookTicker:
  every recorded frame in order) through ccxt's handler and rxpro native on/off with
  trades, full order book and bids/asks Observables; and its depth diffs alone, full book
  and ``limit=20``, through rxpro (ccxt's book trimmed by the Router when every subscriber
  sees at most its depth).
* ``--burst N``: N synthetic trades over loopback from the simulator (``rxpro.testing.Simulator``
  in its own process, as ``bench/bench_streams.py`` runs it) into an rxpro Observable,
  natives on and off, and into ccxt.pro's connection and handler with nobody awaiting.
* ``--profile``: cProfile's top entries of rxpro-native for the rows above cryptofeed's.

``--quick``: 3 rounds, about 500 updates per round, the first 20,000 session frames, no burst.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from _cases import Case  # noqa: E402
from _native_cases import Watch, emitted, feeder, watched  # noqa: E402

VARIANTS = ("floor", "cryptofeed", "ccxt", "native", "off", "unrouted")
LABELS = {"floor": "orjson floor", "cryptofeed": "cryptofeed 2.4.1", "ccxt": "ccxt.pro handler",
          "native": "rxpro native", "off": "rxpro native off", "unrouted": "rxpro native, unrouted"}
HUB_TARGET_US = 1.5
DEPTH_TARGETS_US = {"full book": 104.0, "limit 20": 40.0}
#: the rows whose frames are trades: where the hub target applies
TRADE_CHANNELS = ("trade", "trades", "matches", "publicTrade")
#: the rows where the hub with natives on is held to that target: trades and best bid/offer frames
#: (OKX bbo-tbt is watched as a depth-1 order book: its figure includes the book's snapshot)
NATIVE_HUB_CHANNELS = (*TRADE_CHANNELS, "aggTrade", "bookTicker", "bbo-tbt")


# -- cases --------------------------------------------------------------------------------------


def collect_cases(venue: str | None, channels: Sequence[str] | None) -> list[Case]:
    """``CASES`` of every ``bench/_cases_<venue>.py``, in file order (those of ``venue`` and ``channels``)."""
    cases: list[Case] = []
    for path in sorted(BENCH.glob("_cases_*.py")):
        module = importlib.import_module(path.stem)
        cases += [case for case in module.CASES if (venue is None or case.venue.startswith(venue))
                  and chosen(case.channel, channels)]
    return cases


def chosen(channel: str, channels: Sequence[str] | None) -> bool:
    """Whether a row's channel is one of ``channels`` (its first word; all when None)."""
    return channels is None or channel.split(" ", 1)[0].rstrip(",") in channels


def cryptofeed_version() -> str | None:
    try:
        from importlib.metadata import version

        import cryptofeed  # noqa: F401

        return version("cryptofeed")
    except Exception:  # noqa: BLE001 - an optional comparison
        return None


# -- timing -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One case's figures: CPU µs per frame (per update frame where a case says how many are updates) of each variant, one entry per round."""

    venue: str
    channel: str
    frames: int
    updates_per_round: int
    us: dict[str, list[float]] = field(default_factory=dict)
    emitted: dict[str, int] = field(default_factory=dict)

    def median(self, variant: str) -> float | None:
        values = self.us.get(variant)
        return statistics.median(values) if values else None

    def hub(self) -> float | None:
        """rxpro's own cost per frame: the median over rounds of (native off − ccxt) within the round.

        Paired by round, so that a slow round (the machine is shared) slows both alike.
        """
        return self._paired("off", "ccxt")

    def hub_native(self) -> float | None:
        """rxpro's own cost per frame with natives on: native − unrouted, the median of the per-round differences.

        *unrouted* is the same rxpro class with its natives, ccxt's plain caches, its connection
        resolving as ccxt's own client does, no stream: what is left is the router, the cache
        recorders, the stream's delivery and emission.
        """
        return self._paired("native", "unrouted")

    def _paired(self, a: str, b: str) -> float | None:
        first, second = self.us.get(a), self.us.get(b)
        if not first or not second:
            return None
        return statistics.median(x - y for x, y in zip(first, second))


def _exchange_run(case: Case, exchange: Any, passes: int) -> Callable[[], None]:
    texts, feed, loads = case.texts, case.feed, orjson.loads

    def run() -> None:
        for _ in range(passes):
            for text in texts:
                feed(exchange, loads(text))

    return run


def _floor_run(case: Case, passes: int) -> Callable[[], None]:
    texts, loads = case.texts, orjson.loads

    def run() -> None:
        for _ in range(passes):
            for text in texts:
                loads(text)

    return run


def _cryptofeed_run(parse: Callable[[str], Any], case: Case, passes: int) -> Callable[[], None]:
    texts = case.texts

    def run() -> None:
        for _ in range(passes):
            for text in texts:
                parse(text)

    return run


async def _timed(run: Callable[[], None]) -> float:
    """CPU seconds of ``run`` and of what it left on the event loop."""
    gc.collect()
    started = time.process_time()
    run()
    await asyncio.sleep(0)
    return time.process_time() - started


async def measure(case: Case, rounds: int, updates: int, with_cryptofeed: bool) -> tuple[Row, dict[str, Any]]:
    """Interleaved rounds of every variant over ``case``; also the exchanges (to profile and close)."""
    passes = max(1, -(-updates // len(case.texts)))
    per_round = (case.updates or len(case.texts)) * passes
    exchanges = {"ccxt": case.ccxt_exchange(), "native": case.rxpro_exchange(True), "off": case.rxpro_exchange(False),
                 "unrouted": case.rxpro_exchange(True, routed=False)}
    runs: dict[str, Callable[[], None]] = {"floor": _floor_run(case, passes)}
    if with_cryptofeed and case.cryptofeed is not None:
        runs["cryptofeed"] = _cryptofeed_run(case.cryptofeed(), case, passes)
    for name, exchange in exchanges.items():
        runs[name] = _exchange_run(case, exchange, passes)
    names = [name for name in VARIANTS if name in runs]
    for name in names:  # warm up: caches born, markets looked up, books built
        runs[name]()
    await asyncio.sleep(0)
    before = {name: emitted(exchanges[name]) for name in ("native", "off")}
    row = Row(case.venue, case.channel, len(case.texts), per_round)
    gc.collect()
    gc.freeze()  # the frames belong to no variant: keep the collector from re-scanning them for each
    try:
        for index in range(rounds):
            for name in names[index % len(names):] + names[:index % len(names)]:
                row.us.setdefault(name, []).append(await _timed(runs[name]) / per_round * 1e6)
    finally:
        gc.unfreeze()
    row.emitted = {name: emitted(exchanges[name]) - before[name] for name in ("native", "off")}
    return row, {"exchanges": exchanges, "run": runs["native"]}


async def close(exchanges: Sequence[Any]) -> None:
    for exchange in exchanges:
        try:
            await asyncio.wait_for(exchange.close(), 2)
        except Exception:  # noqa: BLE001 - never connected
            pass


def profile(run: Callable[[], None], lines: int = 14) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(run)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    text = out.getvalue()
    return text[text.find("   ncalls"):].rstrip()


# -- the recorded Binance session ---------------------------------------------------------------

SESSION_URL = "wss://stream.binance.com:9443/stream"
SESSION_KEYS = ("btcusdt@trade", "btcusdt@depth", "btcusdt@bookticker")
SYMBOL = "BTC/USDT"


def _binance_markets() -> list[dict[str, Any]]:
    import ccxt

    from rxpro.exchanges._table import venue_for

    info = orjson.loads(venue_for("binance").markets())
    parser = ccxt.binance()
    parser.options["crossMarginPairsData"] = []  # what fetch_markets would have loaded from margin endpoints
    parser.options["isolatedMarginPairsData"] = []
    return parser.parse_markets([s for s in info["symbols"] if s["symbol"] in ("BTCUSDT", "ETHUSDT")])  # type: ignore[no-any-return]


def _session_texts(keys: Sequence[str], limit: int | None) -> tuple[list[str], str]:
    from rxpro.testing._binance import default_binance_paths, load_binance_recording

    recording = load_binance_recording(default_binance_paths())
    texts = [frame.envelope for frame in recording.frames if frame.key in keys]
    # the REST answer watch_order_book gets at the start (ccxt asks for the subscription's limit, 1000 by default)
    snapshot = recording.depth_snapshot_text("BTCUSDT", 0, limit or 1000)
    return texts, snapshot


def _seed_book(exchange: Any, snapshot: str, limit: int | None) -> None:
    """What ccxt's watch_order_book leaves after its REST snapshot (handle_order_book_subscription + snapshot)."""
    body = orjson.loads(snapshot)
    book = exchange.order_book({}, limit)
    exchange.orderbooks[SYMBOL] = book
    parsed = exchange.parse_order_book(body, SYMBOL)
    parsed["nonce"] = body["lastUpdateId"]
    book.reset(parsed)


def session_case(label: str, keys: Sequence[str], limit: int | None, frames: int | None) -> Case:
    """The recorded session's frames of ``keys`` as a case: every exchange fresh per round (books move on)."""
    import ccxt.pro

    import rxpro

    texts, snapshot = _session_texts(keys, limit)
    texts = texts[:frames] if frames else texts
    markets = _binance_markets()
    watches: list[Watch] = []
    if "btcusdt@trade" in keys:
        watches.append(("watch_trades", (SYMBOL,), ("trade::" + SYMBOL,)))
    if "btcusdt@depth" in keys:
        watches.append(("watch_order_book", (SYMBOL, limit) if limit else (SYMBOL,), ("orderbook::" + SYMBOL,)))
    if "btcusdt@bookticker" in keys:
        watches.append(("watch_bids_asks", ([SYMBOL],), ("bidask:bookTicker@" + SYMBOL,)))

    def ready(exchange: Any) -> Any:
        exchange.set_markets(markets)
        _seed_book(exchange, snapshot, limit)
        return watched(exchange, SESSION_URL, watches)

    return Case("binance", label, texts, lambda: ready(ccxt.pro.binance()),
                lambda native: ready(rxpro.binance({"rxpro": {"native": native}})), feeder(SESSION_URL))


async def measure_session(case: Case, rounds: int) -> Row:
    """Rounds of one pass over the session each, a fresh exchange per variant and round (made outside the timing)."""
    makers = {"floor": None, "ccxt": case.ccxt_exchange, "native": lambda: case.rxpro_exchange(True),
              "off": lambda: case.rxpro_exchange(False)}
    names = list(makers)
    row = Row(case.venue, case.channel, len(case.texts), len(case.texts))
    for index in range(rounds):
        for name in names[index % len(names):] + names[:index % len(names)]:
            maker = makers[name]
            exchange = maker() if maker is not None else None
            run = _floor_run(case, 1) if exchange is None else _exchange_run(case, exchange, 1)
            gc.collect()
            gc.freeze()
            try:
                row.us.setdefault(name, []).append(await _timed(run) / len(case.texts) * 1e6)
            finally:
                gc.unfreeze()
            if exchange is not None:
                if name != "ccxt":
                    row.emitted[name] = emitted(exchange)
                await close([exchange])
    return row


# -- the loopback burst -------------------------------------------------------------------------

BURST_CONSUMERS = {"native": "burst/rxpro", "off": "burst/rxpro", "ccxt": "burst/handler"}
BURST_LABELS = {"native": "rxpro Observable, natives on", "off": "rxpro Observable, natives off",
                "ccxt": "ccxt.pro connection + handler, nobody awaiting"}


def run_burst(count: int, timeout: float) -> dict[str, dict[str, float]]:
    from bench_streams import Server, run_client

    server = Server(recordings=False)
    results: dict[str, dict[str, float]] = {}
    try:
        start = 10**12
        for name, consumer in BURST_CONSUMERS.items():
            start += 10**8
            server.call(cmd="reset")
            server.call(cmd="burst", count=count, start=start)
            result = run_client({"run": consumer, "port": server.info["port"], "ws": server.info["ws"],
                                 "count": count, "start": start, "timeout": timeout, "native": name == "native"})
            results[name] = {"delivered": result["delivered"], "lost": result["lost"],
                             "per_second": result["delivered"] / result["wall_s"],
                             "cpu_us": result["cpu_s"] / max(result["delivered"], 1) * 1e6}
            print(f"burst {count:,} {BURST_LABELS[name]:<48} {results[name]['per_second']:>10,.0f}/s "
                  f"{results[name]['cpu_us']:7.2f} µs/update, lost {result['lost']:,}", flush=True)
    finally:
        server.close()
    return results


# -- reporting ----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "–"


def table(rows: Sequence[Row]) -> str:
    lines = ["| venue | channel | frames | " + " | ".join(f"{LABELS[v]} µs/frame" for v in VARIANTS)
             + " | native / cryptofeed | native / ccxt | hub (off − ccxt, paired) | hub, natives on (native − unrouted, paired) |",
             "|---|---|---:|" + "---:|" * (len(VARIANTS) + 4)]
    for row in rows:
        m = {v: row.median(v) for v in VARIANTS}
        hub, hub_native = row.hub(), row.hub_native()
        native_vs_cf = _ratio(m["native"], m["cryptofeed"])
        if m["native"] is not None and m["cryptofeed"] is not None:
            native_vs_cf = f"**{native_vs_cf}**" if m["native"] <= m["cryptofeed"] else native_vs_cf
        lines.append(f"| {row.venue} | {row.channel} | {row.frames:,} | " + " | ".join(_fmt(m[v]) for v in VARIANTS)
                     + f" | {native_vs_cf} | {_ratio(m['native'], m['ccxt'])} | {_fmt(hub) if hub is not None else '–'}"
                     f" | {_fmt(hub_native) if hub_native is not None else '–'} |")
    return "\n".join(lines)


def verdicts(rows: Sequence[Row], session_rows: Sequence[Row]) -> list[str]:
    """The issue's targets, row by row: ✔ met, ✘ not."""
    lines = []
    for row in rows:
        native, cryptofeed = row.median("native"), row.median("cryptofeed")
        if native is not None and cryptofeed is not None:
            mark = "✔" if native <= cryptofeed else "✘"
            lines.append(f"{mark} {row.venue} {row.channel}: rxpro native {_fmt(native)} µs vs cryptofeed {_fmt(cryptofeed)} µs")
    for row in (*rows, *session_rows):
        hub = row.hub()
        if row.channel.split(" ", 1)[0] in TRADE_CHANNELS and hub is not None:
            mark = "✔" if hub <= HUB_TARGET_US else "✘"
            lines.append(f"{mark} hub, {row.venue} {row.channel}: {hub:.2f} µs per frame (target ≤ {HUB_TARGET_US})")
        hub_native = row.hub_native()
        if row.channel.split(" ", 1)[0] in NATIVE_HUB_CHANNELS and hub_native is not None:
            mark = "✔" if hub_native <= HUB_TARGET_US else "✘"
            lines.append(f"{mark} hub with natives on, {row.venue} {row.channel}: {hub_native:.2f} µs per frame"
                         f" (target ≤ {HUB_TARGET_US})")
    for row in session_rows:
        for name, target in DEPTH_TARGETS_US.items():
            native = row.median("native")
            if row.channel.endswith(name) and native is not None:
                mark = "✔" if native <= target else "✘"
                lines.append(f"{mark} binance depth diff, {name}: rxpro native {_fmt(native)} µs (target ≤ {target:.0f})")
    return lines


def burst_table(count: int, results: dict[str, dict[str, float]]) -> str:
    lines = [f"| loopback burst, {count:,} trades | delivered | lost | updates/s | CPU µs/update |",
             "|---|---:|---:|---:|---:|"]
    for name, result in results.items():
        lines.append(f"| {BURST_LABELS[name]} | {result['delivered']:,.0f} | {result['lost']:,.0f} "
                     f"| {result['per_second']:,.0f} | {result['cpu_us']:.2f} |")
    return "\n".join(lines)


def machine_line() -> str:
    import platform

    from bench_streams import machine

    m = machine()
    return (f"{m['date']} · `{m['arch']}` · {m['cpu']} · nproc {m['nproc']} · Python {platform.python_version()} · "
            f"ccxt {m['ccxt']} · orjson {m['orjson']} · cryptofeed {cryptofeed_version() or 'not installed'}")


# -- main ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    with_cryptofeed = cryptofeed_version() is not None
    if not with_cryptofeed:
        print("cryptofeed is not installed: its column stays empty", file=sys.stderr)
    print(machine_line(), flush=True)
    rows: list[Row] = []
    profiles: list[tuple[Row, str]] = []
    for case in collect_cases(args.venue, args.channels):
        row, made = await measure(case, args.rounds, args.updates, with_cryptofeed)
        rows.append(row)
        m = {v: row.median(v) for v in VARIANTS}
        print(f"{row.venue:<17} {row.channel:<30} " + "  ".join(f"{v} {_fmt(m[v]):>6}" for v in VARIANTS)
              + f"  emitted/round native {row.emitted['native'] // max(args.rounds, 1):,}"
              f" off {row.emitted['off'] // max(args.rounds, 1):,}", flush=True)
        if args.profile and m["native"] is not None and m["cryptofeed"] is not None and m["native"] > m["cryptofeed"]:
            profiles.append((row, profile(made["run"])))
        await close(list(made["exchanges"].values()))
    print("\n" + table(rows) + "\n", flush=True)

    session_rows: list[Row] = []
    if args.session:
        quick = 20_000 if args.quick else None
        for label, keys, limit, frames in (
                ("recorded session BTC/USDT: trade + depth + bookTicker", SESSION_KEYS, None, quick),
                ("trade (recorded)", ("btcusdt@trade",), None, None),
                ("bookTicker (recorded, first 20,000)", ("btcusdt@bookticker",), None, 20_000),
                ("depth diff, full book", ("btcusdt@depth",), None, quick),
                ("depth diff, limit 20", ("btcusdt@depth",), 20, quick)):
            if not chosen(label, args.channels):
                continue
            case = session_case(label, keys, limit, frames)
            row = await measure_session(case, args.rounds)
            session_rows.append(row)
            m = {v: row.median(v) for v in VARIANTS}
            print(f"{label:<56} " + "  ".join(f"{v} {_fmt(m[v]):>6}" for v in ("floor", "ccxt", "native", "off"))
                  + f"  emitted/round native {row.emitted.get('native', 0):,}", flush=True)
            target = next((us for name, us in DEPTH_TARGETS_US.items() if label.endswith(name)), None)
            if args.profile and target is not None and (m["native"] or 0) > target:
                exchange = case.rxpro_exchange(True)
                profiles.append((row, profile(_exchange_run(case, exchange, 1))))
                await close([exchange])
        print("\n" + table(session_rows) + "\n", flush=True)
    if args.burst:
        results = run_burst(args.burst, args.timeout)
        print("\n" + burst_table(args.burst, results) + "\n", flush=True)
    print("\n".join(verdicts(rows, session_rows)), flush=True)
    for row, text in profiles:
        print(f"\n### profile: {row.venue} {row.channel}, rxpro native, one round ({row.updates_per_round:,} updates)\n")
        print(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per case (default 7; quick 3)")
    parser.add_argument("--venue", default=None, help="only the cases of venues whose id starts with this")
    parser.add_argument("--channel", dest="channels", action="append", default=None,
                        help="only rows of this channel (first word of the label: trades, matches, trade, ...); repeatable")
    parser.add_argument("--quick", action="store_true", help="3 rounds, ~500 updates a round, a short session")
    parser.add_argument("--updates", type=int, default=None, help="updates per round and variant (default 3,000)")
    parser.add_argument("--session", action=argparse.BooleanOptionalAction, default=None,
                        help="the recorded Binance session and its depth diffs (default: on unless --venue)")
    parser.add_argument("--burst", type=int, default=0, help="trades of the loopback burst (default: none)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per burst consumer, seconds")
    parser.add_argument("--profile", action="store_true", help="cProfile rxpro-native where it is above cryptofeed")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.updates = args.updates or (500 if args.quick else 3_000)
    if args.session is None:
        args.session = args.venue is None
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
