"""Streams over loopback (issue 2, section 8): rxpro vs a ccxt.pro await loop vs the aiohttp floor.

Run: ``python bench/bench_streams.py [--trades 1000000] [--repeats 3] [--quick] [--write-docs]``.

* The simulator (``rxpro.testing.Simulator`` at full speed) runs in its own process
  (``bench/_stream_server.py``); every consumer runs in a fresh client process
  (``bench/_stream_consumers.py``) with its own connections, so the CPU time reported
  (``time.process_time()`` of the client, first subscribe -> last update) is the
  client's alone. The three consumers run side by side, in rotating order, ``--repeats``
  times; the table shows the median run.
* Scenarios: (a) the bundled Binance session (BTC/USDT trades + diff depth + bookTicker,
  every frame the server sends, playback held until all three are subscribed);
  (b) a synthetic burst of ``--trades`` consecutive trade ids.
* Lost = expected - unique delivered, by trade id (trades), book nonce (depth diffs newer
  than the REST snapshot the client got) and bookTicker update id ``u``.
* "ccxt handler": in-process, no network, CPU per frame of ``ccxt.pro.binance``'s
  ``handle_message(client, decoded)`` over the burst's pre-decoded trade frames, against
  the same on an rxpro exchange with one Observable subscriber (resolve hook + emission);
  plus the whole ``Client.handle_message(WSMessage)`` (orjson decode + rxpro's frame hook).

``--quick`` (100k trades, one repeat, no recorded session) finishes in well under 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Streams (issue 2)"
CONSUMERS = ("rxpro", "ccxt", "floor")
BURST_CONSUMERS = (*CONSUMERS, "handler")
LABELS = {
    "rxpro": "rxpro Observable subscriber",
    "ccxt": "ccxt.pro `await watch_*` loop",
    "floor": "floor: aiohttp receive + orjson",
    "handler": "ccxt.pro connection + handler, nobody awaiting",
}
TARGET_RATIO = 1.15


# -- processes ------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class Server:
    """The simulator in a child process, driven by JSON lines on its stdin."""

    def __init__(self, recordings: bool) -> None:
        args = [sys.executable, str(BENCH / "_stream_server.py")] + (["--recordings"] if recordings else [])
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        cwd=ROOT, env=_env())
        self._info: dict[str, Any] | None = None

    @property
    def info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = self._read()
        return self._info

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError("the simulator process exited")
        value: dict[str, Any] = json.loads(line)
        return value

    def call(self, **command: Any) -> dict[str, Any]:
        _ = self.info
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.call(cmd="quit")
            self.process.wait(10)
        except Exception:  # noqa: BLE001
            self.process.kill()
            self.process.wait()


def run_client(spec: dict[str, Any], timeout: float = 900.0) -> dict[str, Any]:
    """One consumer in a fresh process; its ``RESULT`` line."""
    completed = subprocess.run([sys.executable, str(BENCH / "_stream_consumers.py"), json.dumps(spec)],
                               capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=timeout)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            if spec.get("profile"):
                result["profile"] = completed.stderr
            return result
    raise RuntimeError(f"{spec['run']} failed (exit {completed.returncode}):\n{completed.stderr[-4000:]}")


# -- runs -----------------------------------------------------------------------


@dataclass
class Run:
    delivered: int
    expected: int
    lost: int
    cpu_s: float
    wall_s: float
    detail: str = ""

    @property
    def per_second(self) -> float:
        return self.delivered / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.delivered * 1e6 if self.delivered else float("nan")


@dataclass
class Row:
    scenario: str
    consumer: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> Run:
        ordered = sorted(self.runs, key=lambda r: r.cpu_us)
        return ordered[(len(ordered) - 1) // 2]


def burst_run(server: Server, consumer: str, count: int, start: int, timeout: float) -> Run:
    server.call(cmd="reset")
    server.call(cmd="burst", count=count, start=start)
    result = run_client({"run": f"burst/{consumer}", "port": server.info["port"], "ws": server.info["ws"],
                         "count": count, "start": start, "timeout": timeout})
    sent = server.call(cmd="expect")["burst_sent"]
    detail = "" if sent == count else f"server wrote {sent:,} of {count:,}"
    return Run(result["delivered"], count, result["lost"], result["cpu_s"], result["wall_s"], detail)


def session_run(server: Server, consumer: str, timeout: float) -> Run:
    server.call(cmd="reset")
    server.call(cmd="gate", keys=["btcusdt@trade", "btcusdt@depth@100ms", "btcusdt@bookTicker"],
                depth_rest=consumer != "floor")
    result = run_client({"run": f"session/{consumer}", "port": server.info["port"], "ws": server.info["ws"],
                         "timeout": timeout})
    expected = server.call(cmd="expect")
    parts = []
    delivered = lost = total = 0
    for name in ("trade", "depth", "bbo"):
        want, got = set(expected[name]), set(result[name])
        hit = len(want & got)
        delivered += hit
        lost += len(want) - hit
        total += len(want)
        parts.append(f"{name} {hit:,}/{len(want):,}")
    return Run(delivered, total, lost, result["cpu_s"], result["wall_s"], ", ".join(parts))


def handler_run(server: Server, frames: int, repeats: int) -> dict[str, Any]:
    return run_client({"run": "handler", "port": server.info["port"], "frames": frames, "repeats": repeats})


# -- reporting ------------------------------------------------------------------


def _fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def table(rows: Sequence[Row], handler: dict[str, Any] | None) -> str:
    floor_us = {r.scenario: r.median.cpu_us for r in rows if r.consumer == "floor"}
    ccxt_handler = handler["us_per_frame"]["ccxt_handler"] if handler else None
    head = ("| scenario | consumer | expected | delivered | lost | updates/s | CPU µs/update "
            "| × floor | × ccxt handler |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        m = row.median
        losts = sorted({r.lost for r in row.runs})
        lost = _fmt_int(m.lost) if losts == [m.lost] else " / ".join(_fmt_int(r.lost) for r in row.runs)
        vs_floor = f"{m.cpu_us / floor_us[row.scenario]:.2f}" if floor_us.get(row.scenario) else "–"
        vs_handler = (f"{m.cpu_us / ccxt_handler:.2f}" if ccxt_handler and row.scenario.startswith("burst")
                      else "–")
        lines.append(f"| {row.scenario} | {LABELS[row.consumer]} | {_fmt_int(m.expected)} | {_fmt_int(m.delivered)} "
                     f"| {lost} | {_fmt_int(m.per_second)} | {m.cpu_us:.2f} | {vs_floor} | {vs_handler} |")
    return "\n".join(lines)


def handler_table(handler: dict[str, Any]) -> str:
    us = handler["us_per_frame"]
    lines = [
        "| per trade frame, in-process, no network | CPU µs/frame (median) | ratio |",
        "|---|---:|---:|",
        f"| `orjson.loads` of the frame text | {us['decode']:.2f} | |",
        f"| ccxt.pro `binance.handle_message(client, decoded)` — **ccxt handler alone** | {us['ccxt_handler']:.2f} | 1.00 |",
        f"| same on an rxpro exchange, 1 Observable subscriber (resolve hook + emission) | {us['rxpro_handler']:.2f} "
        f"| **{us['rxpro_handler'] / us['ccxt_handler']:.3f}** |",
        f"| ccxt.pro `Client.handle_message(WSMessage)` (decode + handler) | {us['ccxt_frame']:.2f} | 1.00 |",
        f"| same, rxpro-instrumented client (+ frame hook) | {us['rxpro_frame']:.2f} "
        f"| **{us['rxpro_frame'] / us['ccxt_frame']:.3f}** |",
    ]
    return "\n".join(lines)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001
        return "?"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "arch": platform.machine(),
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "ccxt": _version("ccxt"),
        "aiohttp": _version("aiohttp"),
        "orjson": _version("orjson"),
        "rxpro": _version("rxpro"),
    }


def section(rows: Sequence[Row], handler: dict[str, Any] | None, args: argparse.Namespace, elapsed: float) -> str:
    m = machine()
    command = "python bench/bench_streams.py " + " ".join(a for a in sys.argv[1:])
    ratio = (handler["us_per_frame"]["rxpro_handler"] / handler["us_per_frame"]["ccxt_handler"]) if handler else None
    rx_lost = sum(r.median.lost for r in rows if r.consumer == "rxpro")
    out = [
        SECTION,
        "",
        f"{m['date']} · `{m['arch']}` · {m['cpu']} · nproc {m['nproc']} · Python {m['python']} · "
        f"ccxt {m['ccxt']} · aiohttp {m['aiohttp']} · orjson {m['orjson']} · default asyncio loop",
        "",
        f"Command: `{command.strip()}` ({args.repeats} repeat(s), median run shown, {elapsed:.0f} s in all).",
        "",
        "The simulator (`rxpro.testing.Simulator`, full speed) runs in its own process; each consumer runs in a",
        "fresh client process with its own connections (one per stream, as ccxt's binance opens them), and its CPU",
        "is that process's `time.process_time()` from the first subscribe to the last update. Updates/s is",
        "updates delivered over the wall time from the first to the last update. *Lost* = expected − unique",
        "delivered, by trade id, book nonce (diffs newer than the REST snapshot) and bookTicker `u`. "
        "Where runs differed, lost is listed per run.",
        "",
        table(rows, handler),
        "",
    ]
    for row in rows:
        details = "; ".join(f"run {i + 1}: {r.detail}" for i, r in enumerate(row.runs) if r.detail)
        if details:
            out.append(f"- {row.scenario}, {row.consumer}: {details}")
    out.append("")
    if handler:
        out += [
            f"ccxt.pro's own message handler, {handler['frames']:,} burst trade frames × {handler['repeats']} "
            "(interleaved, median):",
            "",
            handler_table(handler),
            "",
        ]
    verdict = []
    verdict.append(f"rxpro lost {rx_lost:,} updates" + (" (target: none) ✔" if rx_lost == 0 else " ✘ (target: none)"))
    if ratio is not None:
        verdict.append(f"in process, its handler cost is {ratio:.2f}× ccxt's handler alone (target ≤ {TARGET_RATIO:.2f}) "
                       + ("✔" if ratio <= TARGET_RATIO else "✘"))
    wire = {r.consumer: r.median.cpu_us for r in rows if r.scenario.startswith("burst")}
    if wire.get("rxpro") and wire.get("handler"):
        wire_ratio = wire["rxpro"] / wire["handler"]
        verdict.append(f"over the wire, its CPU per delivered update is {wire_ratio:.2f}× that of ccxt.pro's connection "
                       f"and handler with nobody awaiting ({wire['rxpro']:.2f} vs {wire['handler']:.2f} µs; target ≤ "
                       f"{TARGET_RATIO:.2f}) " + ("✔" if wire_ratio <= TARGET_RATIO else "✘"))
    out += ["Result: " + "; ".join(verdict) + ".", ""]
    return "\n".join(out)


def write_docs(text: str) -> None:
    if DOCS.exists():
        current = DOCS.read_text()
    else:
        current = "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    block = text.rstrip("\n") + "\n\n"
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + block
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(updated.rstrip("\n") + "\n")


# -- main -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=None, help="synthetic burst size (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per consumer (default 3)")
    parser.add_argument("--handler-frames", type=int, default=None, help="frames for the handler micro-benchmark")
    parser.add_argument("--quick", action="store_true", help="100k trades, 1 repeat, no recorded session (< 30 s)")
    parser.add_argument("--session", action=argparse.BooleanOptionalAction, default=None,
                        help="run the recorded-session scenario (default: on unless --quick)")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite '{SECTION}' in docs/benchmarks.md")
    parser.add_argument("--timeout", type=float, default=600.0, help="per consumer run, seconds")
    args = parser.parse_args(argv)
    args.trades = args.trades or (100_000 if args.quick else 1_000_000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.handler_frames = args.handler_frames or (10_000 if args.quick else 100_000)
    session = (not args.quick) if args.session is None else args.session

    started = time.perf_counter()
    burst_server = Server(recordings=False)
    session_server = Server(recordings=True) if session else None
    rows: list[Row] = []
    handler: dict[str, Any] | None = None
    try:
        _ = burst_server.info
        handler_repeats = 3 if args.quick else max(5, args.repeats * 2)
        handler = handler_run(burst_server, args.handler_frames, handler_repeats)
        print(handler_table(handler), "\n", flush=True)
        burst_name = f"burst {args.trades:,} trades"
        burst_rows = {c: Row(burst_name, c) for c in BURST_CONSUMERS}
        session_rows = {c: Row("recorded session", c) for c in CONSUMERS}
        start = 10**12
        for repeat in range(args.repeats):
            order = CONSUMERS[repeat % 3:] + CONSUMERS[:repeat % 3]
            burst_order = BURST_CONSUMERS[repeat % 4:] + BURST_CONSUMERS[:repeat % 4]
            for consumer in burst_order:
                start += 10**8
                run = burst_run(burst_server, consumer, args.trades, start, args.timeout)
                burst_rows[consumer].runs.append(run)
                print(f"[{repeat + 1}/{args.repeats}] {burst_name:<24} {consumer:<6} delivered {run.delivered:>10,} "
                      f"lost {run.lost:>9,}  {run.per_second:>10,.0f}/s  {run.cpu_us:7.2f} µs/update", flush=True)
            if session_server is not None:
                for consumer in order:
                    run = session_run(session_server, consumer, args.timeout)
                    session_rows[consumer].runs.append(run)
                    print(f"[{repeat + 1}/{args.repeats}] {'recorded session':<24} {consumer:<6} delivered "
                          f"{run.delivered:>10,} lost {run.lost:>9,}  {run.per_second:>10,.0f}/s  "
                          f"{run.cpu_us:7.2f} µs/update  ({run.detail})", flush=True)
        if session_server is not None:
            rows += [session_rows[c] for c in CONSUMERS]
        rows += [burst_rows[c] for c in BURST_CONSUMERS]
    finally:
        burst_server.close()
        if session_server is not None:
            session_server.close()
    elapsed = time.perf_counter() - started
    text = section(rows, handler, args, elapsed)
    print()
    print(text)
    if args.write_docs:
        write_docs(text)
        print(f"wrote {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
