"""``rxpro publish`` and ``rxpro watch --nats`` as real processes: feeds, redundancy, restarts, bad input."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from typing import Any, Callable

import orjson
import pytest
from reactivex.subject import Subject
from rxpro.operators import Venued, merge_exchanges

import rxpro
import rxpro.nats
from rxpro.nats import LocalServer, PublishOptions, StreamSettings

from .conftest import RXPRO, start


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RXPRO, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


async def _stored(subject: str, url: str) -> list[Any]:
    bus = rxpro.nats.stream(subject, url, start="all", live=False)
    values: list[Any] = []
    done = asyncio.Event()
    errors: list[Exception] = []
    subscription = bus.subscribe(values.append, lambda e: (errors.append(e), done.set()), done.set)
    await asyncio.wait_for(done.wait(), 60)
    subscription.dispose()
    await bus.wait_closed()
    assert not errors, errors
    return values


async def test_feed_processes_publish_trades_books_and_tickers_that_watch_shows_and_merge_exchanges_joins(
    nats_server: LocalServer, unique: Callable[[], str], collect: Callable[..., Any]
) -> None:
    prefix = f"rxpro.{unique()}"
    name = prefix.split(".")[1].upper()
    # the stream first, so that a live merge of both venues can start before the feeds
    async with rxpro.nats.publish(Subject(), nats_server.url, exchange="binance",
                                  options=PublishOptions(prefix=prefix, stream_settings=StreamSettings(name=name))):
        pass
    tickers = {venue: rxpro.nats.stream(f"{prefix}.{venue}.ticker.BTC_USDT", nats_server.url) for venue in
               ("binance", "okx")}
    merged = collect(merge_exchanges(*tickers.items()))
    binance, okx = await asyncio.gather(
        asyncio.to_thread(run, "publish", "binance", "BTC/USDT", "ETH/USDT", "--streams", "trades,orderbook:20,ticker",
                          "--nats", nats_server.url, "--simulator", "--speed", "20", "--seconds", "3", "--prefix",
                          prefix, "--stream-name", name),
        asyncio.to_thread(run, "publish", "okx", "BTC/USDT", "--streams", "ticker", "--nats", nats_server.url,
                          "--simulator", "--speed", "20", "--seconds", "3", "--prefix", prefix, "--stream-name", name),
    )
    assert binance.returncode == 0, binance.stderr
    assert okx.returncode == 0, okx.stderr
    await merged.until(lambda: {item.venue for item in merged.items} == {"binance", "okx"})
    merged.dispose()
    for bus in tickers.values():
        await bus.wait_closed()
    values = [item for item in merged.items if isinstance(item, Venued)]  # (and VenueEnded as a feed ends)
    assert values and all(item.value["symbol"] == "BTC/USDT" for item in values)  # two processes, one merged stream
    reported = binance.stdout.splitlines()
    assert len(reported) == 6 and all(" stored, 0 duplicates" in line for line in reported), reported
    trades = await _stored(f"{prefix}.binance.trades.BTC_USDT", nats_server.url)
    books = await _stored(f"{prefix}.binance.orderbook_20.*", nats_server.url)
    assert trades and all(t["symbol"] == "BTC/USDT" for t in trades)
    assert {b["symbol"] for b in books} == {"BTC/USDT", "ETH/USDT"} and all(len(b["bids"]) <= 20 for b in books)
    shown = await asyncio.to_thread(run, "watch", "--nats", nats_server.url, f"{prefix}.binance.trades.BTC_USDT",
                                    "--start", "all", "--json", "--seconds", "2")
    assert shown.returncode == 0, shown.stderr
    assert [orjson.loads(line) for line in shown.stdout.splitlines()] == trades


async def test_two_redundant_feed_processes_one_killed_leave_every_trade_once(
    nats_server: LocalServer, unique: Callable[[], str], processes: list[subprocess.Popen[str]]
) -> None:
    prefix = f"rxpro.{unique()}"
    feed = ["publish", "binance", "BTC/USDT", "--nats", nats_server.url, "--simulator", "--speed", "10",
            "--prefix", prefix, "--stream-name", prefix.split(".")[1].upper()]
    first = start(*feed)
    processes.append(first)
    await asyncio.sleep(1.0)
    second = start(*feed, "--seconds", "7")
    processes.append(second)
    await asyncio.sleep(3.5)
    first.kill()  # SIGKILL: no goodbye, whatever it had in flight is gone with it
    _, second_err = await asyncio.to_thread(second.communicate, timeout=60)
    assert second.returncode == 0, second_err
    ids = [int(t["id"]) for t in await _stored(f"{prefix}.binance.trades.BTC_USDT", nats_server.url)]
    assert len(ids) > 100
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # Binance trade ids count up by one: no gap, no repeat


async def test_a_durable_watch_process_restarted_sees_every_value_once(
    nats_server: LocalServer, options: PublishOptions, processes: list[subprocess.Popen[str]]
) -> None:
    source: Subject[dict[str, Any]] = Subject()
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    watch = ["watch", "--nats", nats_server.url, subject, "--start", "all", "--durable", "desk", "--json",
             "--throttle", "0"]
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        async def feed() -> None:
            for i in range(4_000):
                source.on_next({"id": str(i), "symbol": "BTC/USDT", "timestamp": 1_723_161_200_000 + i,
                                "side": "buy", "price": 60_000.5, "amount": 0.25, "info": {}})
                if i % 100 == 99:
                    await asyncio.sleep(0.05)

        feeding = asyncio.create_task(feed())
        first = start(*watch)
        processes.append(first)
        await asyncio.sleep(3.0)
        first.send_signal(signal.SIGTERM)  # the watch closes: acknowledges what it showed, then exits 143
        first_out, first_err = await asyncio.to_thread(first.communicate, timeout=30)
        assert first.returncode == 143, first_err
        await feeding
        await publisher.flush(30)
        second = start(*watch, "--seconds", "4")
        processes.append(second)
        second_out, second_err = await asyncio.to_thread(second.communicate, timeout=60)
        assert second.returncode == 0, second_err
    first_ids = [orjson.loads(line)["id"] for line in first_out.splitlines()]
    second_ids = [orjson.loads(line)["id"] for line in second_out.splitlines()]
    assert 0 < len(first_ids) < 4_000  # it really stopped mid-way
    assert first_ids + second_ids == [str(i) for i in range(4_000)]


@pytest.mark.parametrize("args, message", [
    (["publish", "binance", "BTC/USDT", "--nats", "{closed}", "--simulator"], "can't reach NATS at nats://127.0.0.1:"),
    (["publish", "binance", "BTC/USDT", "--nats", "{url}", "--streams", "orderbook"], "orderbook needs a limit"),
    (["publish", "binance", "BTC/USDT", "--nats", "{url}", "--streams", "orderbook:0"], "limit must be"),
    (["publish", "binance", "BTC/USDT", "--nats", "{url}", "--streams", "candles"], "can't publish stream 'candles'"),
    (["publish", "binance", "BTC/USDT", "--nats", "{url}", "--shard", "3/2"], "--shard takes K/N"),
    (["publish", "binance", "BTC/USDT", "--nats", "{url}", "--shard", "2/2", "--simulator"], "shard 2/2 has no symbol"),
    (["publish", "binance", "BTC/USDT", "--nats", "{url}", "--prefix", "a b"], "'a b' can't be a subject token"),
    (["publish", "binance", "NOPE/USDT", "--nats", "{url}", "--simulator"], "NOPE/USDT"),
    (["watch", "--nats", "{url}", "rxpro.bad subject"], "has whitespace"),
    (["watch", "--nats", "{url}", "nobody.home.x.y", "--seconds", "5"], "no JetStream stream stores subject 'nobody.home.x.y'"),
    (["watch", "--nats", "{closed}", "rxpro.>", "--seconds", "5"], "can't reach NATS"),
    (["watch", "--nats", "{url}", "rxpro.>", "--start", "yesterday"], "--start takes"),
    (["watch", "--nats", "{url}", "rxpro.a.b.c", "extra"], "give one SUBJECT"),
    (["watch", "--nats", "{url}", "rxpro.a.b.c", "--simulator"], "--simulator and --replay don't go with it"),
    (["watch", "binance", "BTC/USDT", "--durable", "desk"], "--start and --durable go with --nats"),
])
def test_bad_input_exits_2_with_one_line_naming_it(nats_server: LocalServer, args: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from rxpro.cli import main

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"nats://127.0.0.1:{sock.getsockname()[1]}"
    code = main([arg.format(url=nats_server.url, closed=closed) for arg in args])  # in process: no start-up cost
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], stderr


def test_ctrl_c_stops_a_feed_process_with_130_and_its_report(nats_server: LocalServer, unique: Callable[[], str]) -> None:
    prefix = f"rxpro.{unique()}"
    process = subprocess.Popen([*RXPRO, "publish", "binance", "BTC/USDT", "--nats", nats_server.url, "--simulator",
                                "--prefix", prefix, "--stream-name", prefix.split(".")[1].upper()],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while "publishing" not in process.stderr.readline():
            assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err and f"{prefix}.binance.trades.BTC_USDT:" in out
    assert os.name == "posix"
