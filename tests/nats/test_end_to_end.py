"""Publish rxpro streams to a real JetStream and consume them back: every value once, in order, ``==``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, Callable

import reactivex.operators as ops

import rxpro
import rxpro.nats
from rxpro.nats import LocalServer, PublishOptions
from rxpro.operators import merge_exchanges, ohlcv, throttle
from rxpro.testing import Simulator

BURST = 20_000


async def _drain(observable: Any, collector: Any) -> None:
    collector.dispose()
    await observable.wait_closed()


async def test_a_burst_of_trades_arrives_once_each_in_order_and_equal(
    burst_sim: Simulator, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    ex = burst_sim.attach(rxpro.binance())
    async with ex:
        await ex.load_markets()
        local = collect(rxpro.trades(ex, "BTC/USDT"))
        subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
        async with rxpro.nats.publish(rxpro.trades(ex, "BTC/USDT"), nats_server.url, exchange=ex,
                                      options=options) as publisher:
            bus = rxpro.nats.stream(subject, nats_server.url, start="all")
            remote = collect(bus)
            burst_sim.burst_trades("binance", "BTC/USDT", count=BURST, start_id=10**12)
            await local.count(BURST, timeout=60)
            await remote.count(BURST, timeout=60)
            await publisher.flush(30)
            summary = publisher.summary()
        await _drain(bus, remote)
    assert summary.stored == BURST and summary.duplicates == 0 and summary.reordered == 0
    assert [t["id"] for t in remote.items] == [str(10**12 + i) for i in range(BURST)]
    assert remote.items == local.items  # numbers as numbers, info and all


async def test_books_with_a_limit_and_tickers_arrive_equal_to_the_local_values(
    sim: Simulator, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    ex = sim.attach(rxpro.binance())
    async with ex:
        await ex.load_markets()
        book = rxpro.order_book(ex, "BTC/USDT", 20)
        ticker = rxpro.ticker(ex, "BTC/USDT")
        local_book, local_ticker = collect(book), collect(ticker)
        prefix = options.prefix
        remote_book = rxpro.nats.stream(f"{prefix}.binance.orderbook_20.BTC_USDT", nats_server.url, start="all")
        remote_ticker = rxpro.nats.stream(f"{prefix}.binance.ticker.*", nats_server.url, start="all")
        async with rxpro.nats.publish(book, nats_server.url, exchange=ex, channel="orderbook_20", options=options) as p1, \
                rxpro.nats.publish(ticker, nats_server.url, exchange="binance", options=options) as p2:
            books, tickers = collect(remote_book), collect(remote_ticker)
            await books.count(50)
            await tickers.count(5)
        await _drain(remote_book, books)
        await _drain(remote_ticker, tickers)
    # the remote sequences are the local ones (the publishers subscribed a moment after the local collectors)
    first_book = local_book.items.index(books.items[0])
    assert books.items == local_book.items[first_book:first_book + len(books.items)]
    assert all(len(b["bids"]) <= 20 and len(b["asks"]) <= 20 for b in books.items)
    first_ticker = local_ticker.items.index(tickers.items[0])
    assert tickers.items == local_ticker.items[first_ticker:first_ticker + len(tickers.items)]
    assert p1.summary().duplicates == 0 and p2.summary().stored >= 5


async def test_replay_from_the_bus_by_time_gives_the_run_again_and_the_same_candles(
    burst_sim: Simulator, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    ex = burst_sim.attach(rxpro.binance())
    async with ex:
        await ex.load_markets()
        local = collect(rxpro.trades(ex, "BTC/USDT"))
        local_candles = collect(rxpro.trades(ex, "BTC/USDT").pipe(ohlcv("1m", closed_only=True), ops.to_list()))
        subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
        async with rxpro.nats.publish(rxpro.trades(ex, "BTC/USDT"), nats_server.url, exchange=ex,
                                      options=options) as publisher:
            await asyncio.sleep(0.2)
            started = datetime.now(timezone.utc)
            burst_sim.burst_trades("binance", "BTC/USDT", count=5_000, start_id=10**12)
            await local.count(5_000, timeout=60)
            await publisher.flush(30)
    # ex closed: its streams completed, so the local candles are final
    await local_candles.ended()
    replayed = rxpro.nats.stream(subject, nats_server.url, start=started, live=False)
    again = collect(replayed)
    candles_again = collect(replayed.pipe(ohlcv("1m", closed_only=True), ops.to_list()))
    await again.ended()
    await candles_again.ended()
    await _drain(replayed, again)
    await replayed.wait_closed()
    assert again.completed and again.items == local.items
    assert candles_again.items == local_candles.items and len(candles_again.items[0]) >= 1


async def test_operators_and_merge_exchanges_work_on_bus_streams_of_two_publishers(
    sim: Simulator, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    binance, okx = sim.attach(rxpro.binance()), sim.attach(rxpro.okx())
    async with binance, okx:
        prefix = options.prefix
        async with rxpro.nats.publish(rxpro.ticker(binance, "BTC/USDT"), nats_server.url, exchange=binance,
                                      options=options), \
                rxpro.nats.publish(rxpro.ticker(okx, "BTC/USDT"), nats_server.url, exchange=okx, options=options):
            from_binance = rxpro.nats.stream(f"{prefix}.binance.ticker.BTC_USDT", nats_server.url, start="all")
            from_okx = rxpro.nats.stream(f"{prefix}.okx.ticker.BTC_USDT", nats_server.url, start="all")
            merged = collect(merge_exchanges(("binance", from_binance), ("okx", from_okx)))
            throttled = collect(from_binance.pipe(throttle(50)))
            await merged.until(lambda: {item.venue for item in merged.items} == {"binance", "okx"})
            await throttled.count(1)
            merged.dispose()
            throttled.dispose()
            await from_binance.wait_closed()
            await from_okx.wait_closed()
    assert all(item.value["symbol"] == "BTC/USDT" for item in merged.items)


async def test_two_redundant_publishers_leave_one_copy_of_each_trade(
    burst_sim: Simulator, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    first, second = burst_sim.attach(rxpro.binance()), burst_sim.attach(rxpro.binance())
    async with first, second:
        await first.load_markets()
        await second.load_markets()
        subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
        got_first, got_second = collect(rxpro.trades(first, "BTC/USDT")), collect(rxpro.trades(second, "BTC/USDT"))
        await asyncio.sleep(0.3)  # both subscribed: the burst goes to both connections
        async with rxpro.nats.publish(rxpro.trades(first, "BTC/USDT"), nats_server.url, exchange=first,
                                      options=options) as a, \
                rxpro.nats.publish(rxpro.trades(second, "BTC/USDT"), nats_server.url, exchange=second,
                                   options=options) as b:
            burst_sim.burst_trades("binance", "BTC/USDT", count=5_000, start_id=10**12)
            await got_first.count(5_000, timeout=60)
            await got_second.count(5_000, timeout=60)
            await a.flush(30)
            await b.flush(30)
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", live=False)
        stored = collect(bus)
        await stored.ended()
        await _drain(bus, stored)
    assert a.summary().stored + b.summary().stored == 5_000
    assert a.summary().duplicates + b.summary().duplicates == 5_000
    assert [t["id"] for t in stored.items] == [str(10**12 + i) for i in range(5_000)]


async def test_a_durable_consumer_resumes_where_it_acknowledged(
    burst_sim: Simulator, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    ex = burst_sim.attach(rxpro.binance())
    async with ex:
        await ex.load_markets()
        subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
        async with rxpro.nats.publish(rxpro.trades(ex, "BTC/USDT"), nats_server.url, exchange=ex,
                                      options=options) as publisher:
            await asyncio.sleep(0.2)
            burst_sim.burst_trades("binance", "BTC/USDT", count=3_000, start_id=1)
            await publisher.flush(30)
            while publisher.summary().stored < 3_000:
                await asyncio.sleep(0.05)
    seen: list[str] = []
    for stop_after in (1_000, 1_700, 3_000):
        # every value the observer got counts as consumed: the next subscription starts after the last of them
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", durable="desk")
        part = collect(bus)
        await part.until(lambda: len(seen) + len(part.items) >= stop_after)
        await _drain(bus, part)
        seen.extend(t["id"] for t in part.items)
    assert seen == [str(1 + i) for i in range(3_000)]
