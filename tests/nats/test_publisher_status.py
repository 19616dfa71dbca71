"""A live bus stream is never left silent when its feed is gone: it ends, and says why.

Publishers tell their consumers, on plain NATS (``_rxpro_status.<subject>``), that they are
alive (every ``PublishOptions.heartbeat``) and how they ended, with the stream sequence of
the last value stored. A live ``rxpro.nats.stream`` completes after that last value when
its last publisher completed or was closed, fails with ``PublisherStopped`` (naming the
publisher and its error) when it failed, and with ``PublisherLost`` after
``StreamOptions.silence`` seconds of hearing nothing (a killed feed process). Before these,
each of these consumers waited for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import ccxt
import nats.js.errors
import orjson
import pytest
from nats.js.api import StorageType
from reactivex import operators as ops
from reactivex.subject import Subject

import rxpro
import rxpro.nats
from rxpro.nats import (
    LocalServer,
    PublisherLost,
    PublisherStopped,
    PublishOptions,
    StreamOptions,
)
from rxpro.nats._jetstream import STATUS_STREAM
from rxpro.nats._wire import CHANNEL_HEADER

from .conftest import RXPRO, start

#: a quick silence limit for the tests (the default is 10 s)
QUICK = StreamOptions(silence=1.5)


def _trade(i: int) -> dict[str, Any]:
    return {"id": str(i), "symbol": "BTC/USDT", "timestamp": 1_723_161_200_000 + i, "side": "buy",
            "price": 60_000.5, "amount": 0.25, "info": {}}


def _beating(options: PublishOptions, heartbeat: float = 0.2) -> PublishOptions:
    return PublishOptions(prefix=options.prefix, stream_settings=options.stream_settings, heartbeat=heartbeat)


async def _closed(bus: rxpro.nats.NatsObservable, got: Any) -> None:
    got.dispose()
    await bus.wait_closed()


async def _feed(source: Subject[Any], first: int, count: int) -> None:
    for i in range(first, first + count):
        source.on_next(_trade(i))
        if i % 100 == 99:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("end", ["completed", "closed"])
async def test_a_live_stream_completes_after_the_last_value_of_a_feed_that_ended(
    end: str, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
        got = collect(bus)
        await _feed(source, 0, 2_000)
        if end == "completed":
            source.on_completed()
            await publisher.finished()
        else:
            await publisher.flush(30)
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert not got.errors and got.completed
    assert [t["id"] for t in got.items] == [str(i) for i in range(2_000)]  # every value before the end


async def test_without_a_silence_limit_a_live_stream_waits_as_before(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=StreamOptions(silence=None))
        got = collect(bus)
        await _feed(source, 0, 10)
        source.on_completed()
        await publisher.finished()
        await got.count(10, timeout=10)
    await asyncio.sleep(2.0)
    await _closed(bus, got)
    assert not got.completed and not got.errors


async def test_a_feed_that_failed_ends_its_live_streams_naming_the_publisher_and_its_error(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
        got = collect(bus)
        await _feed(source, 0, 500)
        await publisher.flush(30)
        source.on_error(ccxt.ExchangeNotAvailable("binance is down for maintenance"))
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await publisher.finished()
        started = time.monotonic()
        await got.ended(timeout=10)
        told_after = time.monotonic() - started
    await _closed(bus, got)
    assert [t["id"] for t in got.items] == [str(i) for i in range(500)]
    [error] = got.errors
    assert isinstance(error, PublisherStopped) and isinstance(error, ccxt.NetworkError)
    assert publisher.publisher_id in str(error)
    assert "ExchangeNotAvailable: binance is down for maintenance" in str(error)
    assert told_after < QUICK.silence  # said by the publisher, not guessed from its silence


async def test_while_a_redundant_publisher_goes_on_the_stream_goes_on(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    first_source: Subject[Any] = Subject()
    second_source: Subject[Any] = Subject()
    beating = _beating(options)
    async with rxpro.nats.publish(first_source, nats_server.url, exchange="binance", options=beating) as first, \
            rxpro.nats.publish(second_source, nats_server.url, exchange="binance", options=beating) as second:
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
        got = collect(bus)
        for source in (first_source, second_source):  # the same trades from both: one copy stored
            await _feed(source, 0, 300)
        await got.count(300, timeout=10)
        await asyncio.sleep(0.5)  # both have said they are alive
        first_source.on_error(ccxt.NetworkError("the first feed's exchange went away"))
        with pytest.raises(ccxt.NetworkError):
            await first.finished()
        await asyncio.sleep(2 * QUICK.silence)  # past the silence limit: the second beats
        assert not got.errors and not got.completed
        await _feed(second_source, 300, 200)
        await got.count(500, timeout=10)
        second_source.on_completed()
        await second.finished()
        await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors
    assert [t["id"] for t in got.items] == [str(i) for i in range(500)]


async def test_a_quiet_feed_whose_publisher_is_alive_is_not_lost(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)):
        bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
        got = collect(bus)
        await asyncio.sleep(0.3)
        await _feed(source, 0, 1)
        await got.count(1, timeout=10)
        await asyncio.sleep(3 * QUICK.silence)  # no value, but heartbeats
        assert not got.errors and not got.completed
        await _feed(source, 1, 1)
        await got.count(2, timeout=10)
        await _closed(bus, got)


async def test_a_backlog_is_delivered_whole_before_the_end_whichever_redundant_publisher_ends_last(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """A stored 12,000 trades, B stored none (review: with 50,000, the end of B, the last, completed it at 16,735)."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    first_source: Subject[Any] = Subject()
    beating = _beating(options)
    async with rxpro.nats.publish(Subject(), nats_server.url, subject, options=beating) as second:
        async with rxpro.nats.publish(first_source, nats_server.url, subject, options=beating) as first:
            await _feed(first_source, 0, 12_000)
            await first.flush(60)
            bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
            got = collect(bus.pipe(ops.do_action(lambda _: time.sleep(0.0001))))  # a slow observer
            await got.until(lambda: len(got.items) > 100, timeout=10)
        assert first.summary().stored == 12_000 and len(got.items) < 12_000  # A closed mid-backlog
    assert second.summary().published == 0
    await got.ended(timeout=60)
    await _closed(bus, got)
    assert got.completed and not got.errors
    assert [t["id"] for t in got.items] == [str(i) for i in range(12_000)]


async def test_a_subscription_that_has_not_heard_a_redundant_publisher_yet_outlives_the_others_end(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Subscribed 0.3 s before A closed, while B was alive but had not beaten to it yet (review: it completed)."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    second_source: Subject[Any] = Subject()
    every_second = _beating(options, heartbeat=1.0)
    async with rxpro.nats.publish(second_source, nats_server.url, subject, options=every_second):
        async with rxpro.nats.publish(Subject(), nats_server.url, subject, options=every_second):
            await asyncio.sleep(1.2)
            bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
            got = collect(bus)
            await asyncio.sleep(0.3)
        await asyncio.sleep(3.0)  # past the end's 2.5 heartbeats
        await _feed(second_source, 0, 5)
        await got.count(5, timeout=10)
        assert not got.completed
        second_source.on_completed()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors and [t["id"] for t in got.items] == ["0", "1", "2", "3", "4"]


async def test_a_rolling_restart_of_a_feed_keeps_its_live_streams_going(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """The new feed publishes, the old one closes at once (review: the stream completed with 15 of 23)."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    old_source: Subject[Any] = Subject()
    new_source: Subject[Any] = Subject()
    every_second = _beating(options, heartbeat=1.0)
    async with rxpro.nats.publish(new_source, nats_server.url, exchange="binance", options=every_second):
        async with rxpro.nats.publish(old_source, nats_server.url, exchange="binance", options=every_second):
            bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
            got = collect(bus)
            await asyncio.sleep(0.3)
            await _feed(old_source, 0, 10)
            await got.count(10, timeout=10)
            await _feed(new_source, 10, 5)  # its first value on the subject: it beats at once
        for i in range(15, 25):
            await _feed(new_source, i, 1)
            await asyncio.sleep(0.3)
        await got.count(25, timeout=10)
        assert not got.completed and not got.errors
        new_source.on_completed()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and [t["id"] for t in got.items] == [str(i) for i in range(25)]


async def _purge_kept_statuses(url: str, subject: str) -> None:
    """Forget what the server keeps of ``subject``'s publisher statuses (as a server that never kept them)."""
    nc = await rxpro.nats.connect(url)
    js = nc.jetstream()
    try:
        for _ in range(100):  # the end stored first (the server stores what passes a moment later)
            kept = await js.get_last_msg(STATUS_STREAM, rxpro.nats.status_subject(subject))
            if b'"state":"live"' not in (kept.data or b""):
                break
            await asyncio.sleep(0.02)
        await js.purge_stream(STATUS_STREAM, subject=rxpro.nats.status_subject(subject))
    finally:
        await nc.close()


@pytest.mark.parametrize(("end", "start"), [("completed", "all"), ("closed", "all"), ("failed", "all"),
                                            ("completed", "new")])
async def test_a_subscription_started_after_its_feed_ended_delivers_then_hears_how_it_ended(
    end: str, start: str, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """The server keeps each subject's newest status (stream RXPRO_STATUS); before, this subscription waited for ever."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        await _feed(source, 0, 10)
        await publisher.flush(10)
        if end == "completed":
            source.on_completed()
        elif end == "failed":
            source.on_error(ccxt.ExchangeNotAvailable("binance is down for maintenance"))
    await asyncio.sleep(0.5)  # the feed long gone: more than 2.5 of its heartbeats
    bus = rxpro.nats.stream(subject, nats_server.url, start=start, options=QUICK)  # type: ignore[arg-type]
    got = collect(bus)
    subscribed = time.monotonic()
    await got.ended(timeout=10)
    told_after = time.monotonic() - subscribed
    await _closed(bus, got)
    assert [t["id"] for t in got.items] == ([str(i) for i in range(10)] if start == "all" else [])
    if end == "failed":
        [error] = got.errors
        assert isinstance(error, PublisherStopped) and publisher.publisher_id in str(error)
        assert "ExchangeNotAvailable: binance is down for maintenance" in str(error)
    else:
        assert got.completed and not got.errors
    # told by the kept end a silence limit after subscribing (the time the feed's next run gets to start)
    assert QUICK.silence < told_after < QUICK.silence + 5


async def test_a_subscription_started_between_two_runs_of_a_feed_goes_on_with_the_next(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: the first run's kept end completed it 2.5 heartbeats after it started, before the next run's
    first value; an end from before a subscription leaves the next run the silence limit to show up."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)):
        await _feed(source, 0, 3)
    bus = rxpro.nats.stream(subject, nats_server.url, options=StreamOptions(silence=4.0))  # start='new'
    got = collect(bus)
    await asyncio.sleep(1.0)
    source = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as nxt:
        await asyncio.sleep(1.0)  # its first value 2 s after the subscription (its first beat with it)
        await _feed(source, 3, 2)
        await got.count(2, timeout=10)
        await asyncio.sleep(3.0)  # past the 4 s the next run had to show up
        assert not got.completed and not got.errors
        source.on_completed()
        await nxt.finished()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors and [t["id"] for t in got.items] == ["3", "4"]


class _Relay:
    """A TCP relay to the server for one client: ``cut()`` drops its connections and stops listening until ``mend()``."""

    def __init__(self, url: str) -> None:
        self.target = int(url.rsplit(":", 1)[1])
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []  # of the connections relayed now
        self.every_writer: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> str:
        await self.mend()
        return f"nats://127.0.0.1:{self.port}"

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cut()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in self.every_writer:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.every_writer.append(writer)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.every_writer.append(up_writer)
        self.writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    async def cut(self) -> None:
        self.server.close()  # connecting is refused meanwhile
        for writer in self.writers:
            writer.transport.abort()
            writer.close()
        self.writers = []
        await self.server.wait_closed()

    async def mend(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]


async def test_an_end_said_while_the_subscriptions_connection_was_down_is_read_back_after_it_reconnects(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Before, the end was lost with the connection, and the stream said PublisherLost a silence limit later."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    relay = _Relay(nats_server.url)
    async with relay as relayed:
        async with rxpro.nats.publish(source, nats_server.url, exchange="binance",
                                      options=_beating(options)) as publisher:
            bus = rxpro.nats.stream(subject, relayed, start="all", options=QUICK)
            got = collect(bus)
            await _feed(source, 0, 5)
            await got.count(5, timeout=10)
            await relay.cut()
            await _feed(source, 5, 5)
            source.on_completed()
            await publisher.finished()
        await asyncio.sleep(0.5)
        await relay.mend()
        await got.ended(timeout=15)
        await _closed(bus, got)
    assert got.completed and not got.errors, (got.errors, len(got.items))
    assert [t["id"] for t in got.items] == [str(i) for i in range(10)]


async def test_a_shard_that_fails_while_the_others_go_on_is_told_after_its_last_stored_value(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """The failed shard's last value, stored but not delivered when its end is taken, is delivered before the failure.

    The ETH shard's end is said by hand, naming the sequence its last value will have, and that
    value is stored 1.2 s later: past the end's grace (2.5 × 0.2 s), as a value still on its way
    to a slow subscription would be. Before, the failure was told at once, that value lost.
    """
    eth = rxpro.nats.subject_for("binance", "trades", "ETH/USDT", options.prefix)
    btc: Subject[Any] = Subject()
    async with rxpro.nats.publish(btc, nats_server.url, exchange="binance", symbol="BTC/USDT",
                                  channel="trades", options=_beating(options)) as publisher:
        await _feed(btc, 0, 3)
        await publisher.flush(10)
        bus = rxpro.nats.stream(f"{options.prefix}.binance.trades.>", nats_server.url, start="all", options=QUICK)
        got = collect(bus)
        await got.count(3, timeout=10)
        nc = await rxpro.nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(await js.find_stream_name_by_subject(eth))).state.last_seq
            await nc.publish(rxpro.nats.status_subject(eth), orjson.dumps(
                {"publisher": "eth-feed", "state": "failed", "error": "BadSymbol: ETH/USDT delisted", "every": 0.2,
                 "seq": last + 1}))
            await nc.flush()
            await asyncio.sleep(1.2)
            assert not got.errors  # waiting for ETH's last value
            ack = await js.publish(eth, orjson.dumps({**_trade(99), "symbol": "ETH/USDT"}),
                                   headers={CHANNEL_HEADER: "trades"})
            assert ack.seq == last + 1
        finally:
            await nc.close()
        await got.ended(timeout=10)
        btc.on_completed()
    await _closed(bus, got)
    assert [(t["symbol"], t["id"]) for t in got.items] == [("BTC/USDT", "0"), ("BTC/USDT", "1"), ("BTC/USDT", "2"),
                                                           ("ETH/USDT", "99")]
    [error] = got.errors
    assert isinstance(error, PublisherStopped) and "eth-feed" in str(error) and "delisted" in str(error)


async def test_a_wildcard_subscription_started_after_one_shard_failed_goes_on_with_the_others(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """A shard's failure kept from before the subscription does not cut the shards that go on; it is told at the end."""
    eth: Subject[Any] = Subject()
    async with rxpro.nats.publish(eth, nats_server.url, exchange="binance", options=_beating(options)) as failed:
        eth.on_next({**_trade(0), "symbol": "ETH/USDT"})
        await failed.flush(10)
        eth.on_error(ccxt.ExchangeNotAvailable("ETH/USDT delisted"))
    btc: Subject[Any] = Subject()
    async with rxpro.nats.publish(btc, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        await _feed(btc, 0, 1)
        await publisher.flush(10)
        bus = rxpro.nats.stream(f"{options.prefix}.binance.trades.>", nats_server.url, options=QUICK)
        got = collect(bus)
        for i in range(1, 9):  # 2 s of values: past the silence limit and the end's grace
            await asyncio.sleep(0.25)
            await _feed(btc, i, 1)
        await got.count(8, timeout=10)
        assert not got.errors and not got.completed
        await _feed(btc, 9, 3_000)  # a tail still on its way when BTC ends: delivered before the old failure
        btc.on_completed()
        await publisher.finished()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert [t["id"] for t in got.items] == [str(i) for i in range(1, 3_009)]
    [error] = got.errors
    assert isinstance(error, PublisherStopped) and failed.publisher_id in str(error) and "delisted" in str(error)


async def test_the_status_stream_is_made_only_by_publishers_that_make_their_own_and_a_wrong_one_is_told(
    nats_server: LocalServer, options: PublishOptions, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: a publisher given create_stream=False (streams managed elsewhere) made RXPRO_STATUS anyway."""
    nc = await rxpro.nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(STATUS_STREAM)
        await js.add_stream(name=options.stream_settings.name, subjects=[f"{options.prefix}.>"])
        source: Subject[Any] = Subject()
        managed = PublishOptions(prefix=options.prefix, heartbeat=0.2, create_stream=False)
        async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=managed) as publisher:
            await _feed(source, 0, 1)
            await publisher.flush(10)
        with pytest.raises(nats.js.errors.NotFoundError):
            await js.stream_info(STATUS_STREAM)
        # one of that name that keeps more than the newest status: used as it is, and told
        await js.add_stream(name=STATUS_STREAM, subjects=["_rxpro_status.>"], max_msgs_per_subject=5,
                            storage="memory")
        async with rxpro.nats.publish(Subject(), nats_server.url, exchange="binance", options=_beating(options)):
            pass
        assert "keeping 5 message(s) per subject, not on ['_rxpro_status.>'] keeping 1" in caplog.text
    finally:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(STATUS_STREAM)
        await nc.close()


async def test_a_durable_subscription_resumed_after_its_feed_ended_gets_the_rest_then_completes(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", durable="desk", options=QUICK)
        got = collect(bus)
        await _feed(source, 0, 5)
        await got.count(5, timeout=10)
        await _closed(bus, got)  # acknowledged at dispose
        await _feed(source, 5, 5)
        source.on_completed()
        await publisher.finished()
    bus = rxpro.nats.stream(subject, nats_server.url, start="all", durable="desk", options=QUICK)
    got = collect(bus)
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors
    assert [t["id"] for t in got.items] == [str(i) for i in range(5, 10)]


async def test_values_from_the_past_with_no_feed_running_and_no_status_kept_wait_for_a_feed(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """start='all' on a stream whose feed has long stopped, no status of it kept: the values, then waiting for
    a feed (review: lost); a feed that starts again goes on with it."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)):
        await _feed(source, 0, 10)
    await _purge_kept_statuses(nats_server.url, subject)
    bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
    got = collect(bus)
    await got.count(10, timeout=10)
    await asyncio.sleep(2 * QUICK.silence)
    assert not got.errors and not got.completed
    source = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)):
        await _feed(source, 10, 1)  # a feed starts again: the stream goes on with it
        await got.count(11, timeout=10)
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors


async def test_a_server_that_keeps_no_statuses_is_logged_and_live_streams_still_hear_the_end(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any], caplog: pytest.LogCaptureFixture,
) -> None:
    """Another stream already stores the status subjects: RXPRO_STATUS can't be made; publishing goes on."""
    nc = await rxpro.nats.connect(nats_server.url)
    js = nc.jetstream()
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(STATUS_STREAM)
        await js.add_stream(name="THEIRS", subjects=[rxpro.nats.status_subject(subject)], storage="memory")
        source: Subject[Any] = Subject()
        async with rxpro.nats.publish(source, nats_server.url, exchange="binance",
                                      options=_beating(options)) as publisher:
            bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
            got = collect(bus)
            await _feed(source, 0, 10)
            await got.count(10, timeout=10)  # subscribed: it hears the end as it is said
            source.on_completed()
            await publisher.finished()
        await got.ended(timeout=10)
        await _closed(bus, got)
    finally:
        await js.delete_stream("THEIRS")
        await nc.close()
    assert got.completed and not got.errors and len(got.items) == 10
    assert "the server keeps no publisher statuses" in caplog.text and "overlap" in caplog.text


async def test_a_publisher_closed_right_after_its_source_failed_tells_the_failure(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: close() before the sender settled the error reported 'completed' (and finished() a summary)."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
        got = collect(bus)
        await asyncio.sleep(0.3)
        await _feed(source, 0, 1)
        await got.count(1, timeout=10)
        source.on_error(ccxt.ExchangeNotAvailable("gone"))
    with pytest.raises(ccxt.ExchangeNotAvailable, match="gone"):
        await publisher.finished()
    await got.ended(timeout=10)
    await _closed(bus, got)
    [error] = got.errors
    assert isinstance(error, PublisherStopped) and "ExchangeNotAvailable: gone" in str(error)


async def test_a_subscription_started_after_the_feeds_last_value_completes_at_its_end_not_its_silence(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    slow_to_give_up = StreamOptions(silence=5.0)
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as publisher:
        await _feed(source, 0, 100)
        await publisher.flush(10)
        bus = rxpro.nats.stream(subject, nats_server.url, options=slow_to_give_up)  # start='new'
        got = collect(bus)
        await asyncio.sleep(0.5)
        source.on_completed()
        await publisher.finished()
    ended = time.monotonic()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and got.items == [] and time.monotonic() - ended < 2.5


@pytest.mark.parametrize("junk", [b"not json", b'{"publisher": {"a": 1}, "state": "closed"}',
                                  b'{"publisher": "p", "state": "gone"}', b'{"publisher": "p"}',
                                  b'{"publisher": "p", "state": "live", "every": -1}'])
async def test_a_status_that_is_not_rxpros_is_ignored_and_the_stream_goes_on(
    junk: bytes, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)):
        bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
        got = collect(bus)
        await asyncio.sleep(0.3)
        nc = await rxpro.nats.connect(nats_server.url)
        try:
            await nc.publish(rxpro.nats.status_subject(subject), junk)
            await nc.flush()
        finally:
            await nc.close()
        await asyncio.sleep(0.5)
        await _feed(source, 0, 3)
        await got.count(3, timeout=10)
        assert not got.errors and not got.completed
        source.on_completed()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors
    assert "a status that is not rxpro's, ignored" in caplog.text


async def test_a_server_down_longer_than_the_silence_limit_cuts_no_backlog(
    options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: down mid-backlog after the feed ended, the stream completed with 15,973 of 20,000 values."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    async with LocalServer() as server:
        source: Subject[Any] = Subject()
        async with rxpro.nats.publish(source, server.url, exchange="binance", options=_beating(options)) as publisher:
            padding = "x" * 8_000  # big values: the end's status is read while much of the backlog is still stored
            for i in range(4_000):
                source.on_next({**_trade(i), "info": {"padding": padding}})
                if i % 100 == 99:
                    await asyncio.sleep(0.01)
            await publisher.flush(30)
            bus = rxpro.nats.stream(subject, server.url, start="all", options=QUICK)
            slow = collect(bus.pipe(ops.do_action(lambda _: time.sleep(0.002))))
            await slow.until(lambda: len(slow.items) > 100, timeout=30)
            source.on_completed()
            await publisher.finished()
        await asyncio.sleep(1.5)  # the end heard, 2.5 heartbeats waited
        await server.stop()
        await asyncio.sleep(6.0)  # past what the connection had buffered, and past the silence limit
        assert not slow.completed and not slow.errors and len(slow.items) < 4_000
        await server.start()
        await slow.ended(timeout=60)
        await _closed(bus, slow)
    assert slow.completed and not slow.errors and [t["id"] for t in slow.items] == [str(i) for i in range(4_000)]


async def test_a_server_restart_longer_than_the_silence_limit_leaves_live_streams_going(
    options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: a live stream failed with PublisherLost while nats-py was still reconnecting."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    async with LocalServer() as server:
        source: Subject[Any] = Subject()
        async with rxpro.nats.publish(source, server.url, exchange="binance", options=_beating(options)):
            bus = rxpro.nats.stream(subject, server.url, options=QUICK)
            live = collect(bus)
            await asyncio.sleep(0.5)
            await _feed(source, 0, 1)
            await live.count(1, timeout=10)
            await server.stop()
            await asyncio.sleep(2 * QUICK.silence)
            await server.start()
            await asyncio.sleep(2 * QUICK.silence)
            await _feed(source, 1, 1)
            await live.count(2, timeout=20)
            assert not live.errors and not live.completed
            # the restart lost the statuses kept in memory: the publisher made their stream again
            nc = await rxpro.nats.connect(server.url)
            try:
                js = nc.jetstream()
                kept = await js.get_last_msg(STATUS_STREAM, rxpro.nats.status_subject(subject))
                info = await js.stream_info(STATUS_STREAM)
            finally:
                await nc.close()
            assert b'"state":"live"' in (kept.data or b"")
            assert info.config.storage == StorageType.MEMORY and info.config.max_msgs_per_subject == 1
            source.on_completed()
        await live.ended(timeout=10)
        await _closed(bus, live)
    assert live.completed and not live.errors and [t["id"] for t in live.items] == ["0", "1"]


async def test_a_feed_that_ends_right_after_a_server_restart_still_has_its_end_kept(
    options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: the restart lost the status stream (in memory), and the end came before the heartbeat that would
    make it again: a subscription started afterwards found nothing kept and waited."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    slow_beats = _beating(options, heartbeat=5.0)
    async with LocalServer() as server:
        source: Subject[Any] = Subject()
        async with rxpro.nats.publish(source, server.url, exchange="binance", options=slow_beats) as publisher:
            await _feed(source, 0, 1)
            await publisher.flush(10)
            await server.stop()
            await server.start()
            await _feed(source, 1, 1)
            await publisher.flush(30)  # stored: reconnected
            source.on_completed()
            await publisher.finished()
        bus = rxpro.nats.stream(subject, server.url, start="all", options=QUICK)
        got = collect(bus)
        await got.ended(timeout=15)
        await _closed(bus, got)
    assert got.completed and not got.errors and [t["id"] for t in got.items] == ["0", "1"]


async def test_a_publisher_that_beats_slower_than_the_silence_limit_is_not_lost(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: heartbeat 3 s against a 1.5 s silence gave PublisherLost: 2.5 of its heartbeats count."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, subject, options=_beating(options, heartbeat=3.0)):
        bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
        got = collect(bus)
        await asyncio.sleep(0.3)
        await _feed(source, 0, 1)
        await got.count(1, timeout=10)
        await asyncio.sleep(5.0)
        assert not got.errors and not got.completed
        await _feed(source, 1, 1)
        await got.count(2, timeout=10)
        await _closed(bus, got)


async def test_a_feed_that_ends_before_its_first_value_still_ends_its_streams(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: given exchange, channel and symbol, a publisher that published nothing said nothing."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", channel="trades", symbol="BTC/USDT",
                                  options=_beating(options)) as publisher:
        got = collect(bus)
        await asyncio.sleep(0.5)
        source.on_completed()
        await publisher.finished()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and got.items == [] and not got.errors


async def test_the_feeds_last_values_are_waited_for_while_a_lost_consumer_is_re_created(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: the consumer gone on the server (its node died), the feed's last 5 values stored and the feed
    ended: the stream completed with 10 of 15 in 2 runs of 8, before nats-py re-created its consumer."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    stream_name = options.stream_settings.name
    source: Subject[Any] = Subject()
    nc = await rxpro.nats.connect(nats_server.url)
    try:
        async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as pub:
            bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
            got = collect(bus)
            await asyncio.sleep(0.3)
            await _feed(source, 0, 10)
            await got.count(10, timeout=10)
            js = nc.jetstream()
            for consumer in await js.consumers_info(stream_name):
                await js.delete_consumer(stream_name, consumer.name)
            await _feed(source, 10, 5)
            source.on_completed()
            await pub.finished()
        await got.ended(timeout=20)
        await _closed(bus, got)
    finally:
        await nc.close()
    assert got.completed and not got.errors and [t["id"] for t in got.items] == [str(i) for i in range(15)]


async def test_a_backlog_whose_tail_was_purged_still_ends(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: behind a backlog whose tail was purged, no value came to say it was caught up: it hung."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    nc = await rxpro.nats.connect(nats_server.url)
    try:
        async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)) as pub:
            padding = "x" * 4_000  # big values: the server holds most of the backlog back (flow control)
            for i in range(6_000):
                source.on_next({**_trade(i), "info": {"padding": padding}})
                if i % 100 == 99:
                    await asyncio.sleep(0.01)
            await pub.flush(60)
            bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
            slow = collect(bus.pipe(ops.do_action(lambda _: time.sleep(0.0005))))
            await slow.until(lambda: len(slow.items) > 100, timeout=30)
            source.on_completed()
            await pub.finished()
        await nc.jetstream().purge_stream(options.stream_settings.name)
        await slow.ended(timeout=60)
        await _closed(bus, slow)
    finally:
        await nc.close()
    assert slow.completed and not slow.errors and 0 < len(slow.items) < 6_000


async def test_a_stall_of_the_subscribing_process_longer_than_the_silence_limit_is_not_a_lost_feed(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """Review: an observer that blocked 3 s (silence 1.5 s) got PublisherLost though the publisher beat throughout."""
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()

    def block_on_the_first(value: Any) -> None:
        if value["id"] == "0":
            time.sleep(3.0)

    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=_beating(options)):
        bus = rxpro.nats.stream(subject, nats_server.url, options=QUICK)
        got = collect(bus.pipe(ops.do_action(block_on_the_first)))
        await asyncio.sleep(0.5)
        await _feed(source, 0, 1)
        await got.count(1, timeout=10)
        await asyncio.sleep(2.0)
        assert not got.errors and not got.completed
        await _feed(source, 1, 1)
        await got.count(2, timeout=10)
        source.on_completed()
    await got.ended(timeout=10)
    await _closed(bus, got)
    assert got.completed and not got.errors


async def test_a_killed_feed_process_is_told_after_the_silence_limit(
    nats_server: LocalServer, unique: Callable[[], str], collect: Callable[..., Any],
    processes: list[subprocess.Popen[str]],
) -> None:
    prefix = f"rxpro.{unique()}"
    process = start("publish", "binance", "BTC/USDT", "--streams", "trades", "--nats", nats_server.url, "--simulator",
                     "--speed", "10", "--prefix", prefix, "--stream-name", prefix.split(".")[1].upper())
    processes.append(process)
    subject = f"{prefix}.binance.trades.BTC_USDT"
    deadline = time.monotonic() + 60
    while True:  # the feed process makes the stream: consume once it is there
        bus = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
        got = collect(bus)
        await got.until(lambda got=got: bool(got.items or got.errors), timeout=60)
        if got.items or time.monotonic() > deadline:
            break
        assert isinstance(got.errors[0], rxpro.nats.StreamNotFound), got.errors
        await _closed(bus, got)
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.5)  # its heartbeat (1 s) heard
    assert not got.errors
    process.kill()  # SIGKILL: no goodbye
    killed = time.monotonic()
    await got.ended(timeout=30)
    told_after = time.monotonic() - killed
    await _closed(bus, got)
    [error] = got.errors
    assert isinstance(error, PublisherLost) and isinstance(error, ccxt.NetworkError)
    # the feed process beats every second (the default): 2.5 of them, longer than the 1.5 s asked
    assert re.search(rf"nothing from the publishers of '{re.escape(subject)}' \(no heartbeat, no end\) for 2\.5 s "
                     rf"\(StreamOptions\.silence, or 2\.5 of their heartbeats if longer\); the last one heard was "
                     rf"\S+:{process.pid}:", str(error)), str(error)
    assert 1.0 < told_after < 2.5 + 5  # 2.5 s from its last beat, up to 1 s before the kill
    # subscribed after the kill: what the feed stored, then the same verdict, from its last beat kept on the server
    late = rxpro.nats.stream(subject, nats_server.url, start="all", options=QUICK)
    got_late = collect(late)
    subscribed = time.monotonic()
    await got_late.ended(timeout=30)
    told_after = time.monotonic() - subscribed
    await _closed(late, got_late)
    assert len(got_late.items) >= len(got.items) and not got_late.completed
    [error] = got_late.errors
    assert isinstance(error, PublisherLost) and re.search(rf"the last one heard was \S+:{process.pid}:", str(error))
    assert 2.0 < told_after < 2.5 + 5  # the silence counts from the subscription's start


@pytest.mark.parametrize("silence", [0, -1.0, "10", True, float("nan")])
def test_a_silence_limit_that_is_not_a_positive_number_is_refused_naming_it(silence: Any) -> None:
    with pytest.raises(rxpro.InvalidArgument, match=re.escape(f"silence must be a number of seconds > 0, got {silence!r}")):
        StreamOptions(silence=silence)


@pytest.mark.parametrize("heartbeat", [0, -1.0, "1", None])
def test_a_publisher_heartbeat_that_is_not_a_positive_number_is_refused_naming_it(heartbeat: Any) -> None:
    with pytest.raises(rxpro.InvalidArgument,
                       match=re.escape(f"heartbeat must be a number of seconds > 0, got {heartbeat!r}")):
        PublishOptions(heartbeat=heartbeat)


async def test_a_watch_process_ends_by_itself_when_the_feed_process_it_shows_stops(
    nats_server: LocalServer, unique: Callable[[], str], processes: list[subprocess.Popen[str]],
) -> None:
    """``rxpro watch --nats`` (no ``--seconds``) exits 0 after the feed's last trade, which it showed."""
    prefix = f"rxpro.{unique()}"
    name = prefix.split(".")[1].upper()
    # the stream first, so that the watch can start before the feed
    async with rxpro.nats.publish(Subject(), nats_server.url, exchange="binance",
                                  options=PublishOptions(prefix=prefix,
                                                         stream_settings=rxpro.nats.StreamSettings(name=name))):
        pass
    subject = f"{prefix}.binance.trades.BTC_USDT"
    watch = start("watch", "--nats", nats_server.url, subject, "--json")
    processes.append(watch)
    await asyncio.sleep(1.5)
    feed = await asyncio.to_thread(
        subprocess.run, [*RXPRO, "publish", "binance", "BTC/USDT", "--streams", "trades", "--nats",
                         nats_server.url, "--simulator", "--speed", "10", "--seconds", "3", "--prefix", prefix,
                         "--stream-name", name], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert feed.returncode == 0, feed.stderr
    out, err = await asyncio.to_thread(watch.communicate, timeout=30)
    assert watch.returncode == 0, err
    shown = [line for line in out.splitlines() if line.startswith("{")]
    published = int(re.search(r"([\d,]+) published", feed.stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert published > 0 and len(shown) == published


@pytest.mark.parametrize("silence", [1.5, None])
async def test_a_stream_whose_connection_nats_py_gave_up_on_fails_naming_it(
    silence: float | None, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """The server is gone for good: past nats-py's reconnect attempts the stream says so (it used to wait for ever)."""
    quick = StreamOptions(silence=silence, connect=rxpro.nats.ConnectOptions(max_reconnect_attempts=2,
                                                                            reconnect_time_wait=0.2))
    async with LocalServer() as server:
        source: Subject[Any] = Subject()
        subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
        async with rxpro.nats.publish(source, server.url, exchange="binance", options=_beating(options)) as publisher:
            await _feed(source, 0, 3)
            await publisher.flush(10)
            bus = rxpro.nats.stream(subject, server.url, start=1, options=quick)
            got = collect(bus)
            await got.count(3, timeout=10)
            await server.stop(kill=True)
            stopped = time.monotonic()
            await got.ended(timeout=30)
            told_after = time.monotonic() - stopped
            source.on_completed()
        await _closed(bus, got)
    [error] = got.errors
    assert isinstance(error, rxpro.nats.NatsUnreachable)
    assert re.search(rf"the NATS connection of '{re.escape(subject)}' closed: ", str(error)), str(error)
    assert told_after < 10
