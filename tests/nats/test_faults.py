"""Bad input and failures: each error names what is wrong; a server that goes away costs no value."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any, Callable

import nats
import nats.errors
import orjson
import pytest
from reactivex.subject import Subject

import rxpro
import rxpro.nats
from rxpro.nats import (
    InvalidSubject,
    LocalServer,
    NatsUnreachable,
    NotRxproMessage,
    PublishFailed,
    PublishOptions,
    StreamNotFound,
    StreamOptions,
)


def trade(i: int, symbol: str = "BTC/USDT") -> dict[str, Any]:
    """A ccxt-shaped trade (numbers as ccxt gives them)."""
    return {"info": {"t": i}, "id": str(i), "symbol": symbol, "timestamp": 1_723_161_200_000 + i,
            "datetime": None, "order": None, "type": None, "side": "buy" if i % 2 else "sell",
            "takerOrMaker": None, "price": 60_000.1 + i / 100, "amount": 0.001 * (i % 7 + 1), "cost": None,
            "fee": None, "fees": []}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- bad input -----------------------------------------------------------------------------


async def test_an_unreachable_server_is_named_by_publish_and_by_stream(collect: Callable[..., Any]) -> None:
    url = f"nats://127.0.0.1:{closed_port()}"
    publisher = rxpro.nats.publish(Subject(), url, exchange="binance")
    with pytest.raises(NatsUnreachable, match=url.replace(".", r"\.")):
        await publisher.start()
    bus = rxpro.nats.stream("rxpro.binance.trades.BTC_USDT", url)
    failed = collect(bus)
    await failed.until(lambda: bool(failed.errors))
    failed.dispose()
    await bus.wait_closed()
    assert isinstance(failed.errors[0], NatsUnreachable) and url in str(failed.errors[0])


@pytest.mark.parametrize("subject", ["rxpro.bad subject", "rxpro..x", "rxpro.*.trades", ".rxpro", "rxpro.a>b"])
def test_a_subject_nats_cannot_carry_is_refused_naming_it(subject: str) -> None:
    with pytest.raises(InvalidSubject, match="subject"):
        rxpro.nats.publish(Subject(), "nats://127.0.0.1:4222", subject)
    assert isinstance(InvalidSubject("x"), rxpro.InvalidArgument)


@pytest.mark.parametrize("subject", ["a b.c", "a..b", "a.>.b", "a.b*"])
def test_a_bad_subscription_subject_is_refused_at_once(subject: str) -> None:
    with pytest.raises(InvalidSubject, match="subject"):
        rxpro.nats.stream(subject, "nats://127.0.0.1:4222")


def test_exchange_ids_and_channels_must_be_subject_tokens() -> None:
    with pytest.raises(InvalidSubject, match="'bin.ance'"):
        rxpro.nats.publish(Subject(), "nats://127.0.0.1:4222", exchange="bin.ance")
    with pytest.raises(InvalidSubject, match="'order book'"):
        rxpro.nats.publish(Subject(), "nats://127.0.0.1:4222", exchange="binance", channel="order book")
    with pytest.raises(rxpro.InvalidArgument, match="time zone"):
        from datetime import datetime

        rxpro.nats.stream("rxpro.>", "nats://127.0.0.1:4222", start=datetime(2024, 1, 1))
    with pytest.raises(rxpro.InvalidArgument, match="-3"):
        rxpro.nats.stream("rxpro.>", "nats://127.0.0.1:4222", start=-3)


async def test_a_missing_stream_is_named(nats_server: LocalServer, collect: Callable[..., Any]) -> None:
    for bus, named in ((rxpro.nats.stream("nobody.home", nats_server.url), "'nobody.home'"),
                       (rxpro.nats.stream("rxpro.>", nats_server.url, stream="NOPE"), "'NOPE'")):
        failed = collect(bus)
        await failed.until(lambda: bool(failed.errors))
        failed.dispose()
        await bus.wait_closed()
        assert isinstance(failed.errors[0], StreamNotFound) and named in str(failed.errors[0])
    publisher = rxpro.nats.publish(Subject(), nats_server.url, exchange="binance", stream="NOPE")
    with pytest.raises(StreamNotFound, match="'NOPE'"):
        await publisher.start()


async def test_a_foreign_message_ends_its_stream_naming_it_and_other_streams_go_on(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    source: Subject[dict[str, Any]] = Subject()
    prefix = options.prefix
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        btc = rxpro.nats.stream(f"{prefix}.binance.trades.BTC_USDT", nats_server.url)
        eth = rxpro.nats.stream(f"{prefix}.binance.trades.ETH_USDT", nats_server.url)
        garbage = rxpro.nats.stream(f"{prefix}.binance.trades.XRP_USDT", nats_server.url)
        got_btc, got_eth, got_garbage = collect(btc), collect(eth), collect(garbage)
        await asyncio.sleep(0.3)
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().publish(f"{prefix}.binance.trades.BTC_USDT", b"hello")  # no rxpro headers
            await nc.jetstream().publish(f"{prefix}.binance.trades.XRP_USDT", b"{not json",
                                         headers={"Rxpro-Channel": "trades"})
        finally:
            await nc.close()
        for i in range(10):
            source.on_next(trade(i, "ETH/USDT"))
        await publisher.flush(10)
        await got_btc.until(lambda: bool(got_btc.errors))
        await got_garbage.until(lambda: bool(got_garbage.errors))
        await got_eth.count(10)
        for collector, bus in ((got_btc, btc), (got_eth, eth), (got_garbage, garbage)):
            collector.dispose()
            await bus.wait_closed()
    (no_headers,), (not_json,) = got_btc.errors, got_garbage.errors
    assert isinstance(no_headers, NotRxproMessage) and f"{prefix}.binance.trades.BTC_USDT" in str(no_headers)
    assert "sequence" in str(no_headers) and "Rxpro-Channel" in str(no_headers)
    assert isinstance(not_json, NotRxproMessage) and "not JSON" in str(not_json) and "XRP_USDT" in str(not_json)
    assert [t["id"] for t in got_eth.items] == [str(i) for i in range(10)]


async def test_a_value_without_a_channel_or_symbol_stops_publishing_loudly(
    nats_server: LocalServer, options: PublishOptions
) -> None:
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        source.on_next({"what": "is this"})
        with pytest.raises(InvalidSubject, match="channel"):
            await publisher.finished()
    source = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        source.on_next([1_723_161_200_000, 1.0, 2.0, 0.5, 1.5, 10.0])  # an OHLCV row has no symbol
        with pytest.raises(PublishFailed, match="symbol="):
            await publisher.finished()


async def test_a_value_that_cant_be_encoded_fails_publishing_after_the_values_before_it(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    # review: the 1,000 values queued before it were dropped (stored=0), and the error was a bare TypeError
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[Any] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        for i in range(1_000):
            source.on_next(trade(i))
        source.on_next({**trade(1_000), "info": {1: "an int key"}})
        source.on_next(trade(1_001))  # after it: not taken
        with pytest.raises(rxpro.InvalidArgument, match="can't be published.*Dict key must be str.*'1000'"):
            await publisher.finished()
        assert publisher.summary().stored == 1_000
    got = collect(rxpro.nats.stream(subject, nats_server.url, start="all", live=False))
    await got.ended(timeout=10)
    assert [t["id"] for t in got.items] == [str(i) for i in range(1_000)] and not got.errors


@pytest.mark.parametrize("body_bytes", [1_100_000, 1_048_576 - 40])  # over max_payload; under it, over with headers
async def test_a_value_over_the_servers_max_payload_is_named_and_the_connection_stays(
    body_bytes: int, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    # review: over it, a PublishFailed naming neither subject nor size; just under it with the headers
    # over, the server closed the connection: NatsUnreachable (and a caller's own client was killed too)
    subject = rxpro.nats.subject_for("binance", "orderbook", "BTC/USDT", options.prefix)
    nc = await rxpro.nats.connect(nats_server.url)
    try:
        source: Subject[Any] = Subject()
        async with rxpro.nats.publish(source, nc, exchange="binance", options=options) as publisher:
            small = {"symbol": "BTC/USDT", "bids": [], "asks": [], "timestamp": 1, "datetime": None, "nonce": 1}
            source.on_next(small)
            big = {**small, "nonce": 2, "pad": ""}
            big["pad"] = "x" * (body_bytes - len(orjson.dumps(big)))
            assert len(orjson.dumps(big)) == body_bytes
            source.on_next(big)
            with pytest.raises(rxpro.InvalidArgument, match=rf"{subject} is .* bytes.*max_payload \(1,048,576"):
                await publisher.finished()
        assert nc.is_connected  # the caller's connection goes on
        got = collect(rxpro.nats.stream(subject, nc, start="all", live=False))
        await got.ended(timeout=10)
        assert [book["nonce"] for book in got.items] == [1] and not got.errors
    finally:
        await nc.close()


async def test_a_server_without_jetstream_is_named_as_such_in_seconds(collect: Callable[..., Any]) -> None:
    # review: nats-py gives "no responders" as a bare ServiceUnavailableError, which was asked again as a
    # leader election for the whole setup_timeout (15 s), then said without naming JetStream
    import subprocess
    import time

    from rxpro.nats._server import free_ports, server_path

    port = free_ports(1)[0]
    process = subprocess.Popen([server_path(), "-a", "127.0.0.1", "-p", str(port)],  # no -js
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"nats://127.0.0.1:{port}"
        nc = None
        for _ in range(50):
            try:
                nc = await nats.connect(url, allow_reconnect=False, connect_timeout=0.2)
                break
            except Exception:  # noqa: BLE001 - not up yet
                await asyncio.sleep(0.1)
        assert nc is not None
        await nc.close()
        started = time.monotonic()
        with pytest.raises(NatsUnreachable, match=r"no JetStream.*nats-server -js"):
            async with rxpro.nats.publish(Subject(), url, exchange="binance"):
                pass
        got = collect(rxpro.nats.stream("rxpro.binance.trades.BTC_USDT", url))
        await got.ended(timeout=10)
        [error] = got.errors
        assert isinstance(error, NatsUnreachable) and "no JetStream" in str(error)
        assert time.monotonic() - started < 14  # (two set-ups: 5 s of no answer each, not 15)
    finally:
        process.terminate()
        process.wait()


# -- the server goes away --------------------------------------------------------------------


async def test_publishing_buffers_while_the_server_restarts_and_loses_nothing(
    options: PublishOptions, collect: Callable[..., Any]
) -> None:
    async with LocalServer() as server:
        source: Subject[dict[str, Any]] = Subject()
        options = PublishOptions(prefix=options.prefix, stream_settings=options.stream_settings, ack_timeout=0.5)
        async with rxpro.nats.publish(source, server.url, exchange="binance", options=options) as publisher:
            for i in range(500):
                source.on_next(trade(i))
            await publisher.flush(10)
            await server.stop()  # SIGTERM: a clean restart (file storage keeps the stream)
            for i in range(500, 1_000):
                source.on_next(trade(i))
            await asyncio.sleep(0.5)
            await server.start()
            await publisher.flush(30)
            source.on_completed()
            summary = await publisher.finished()
        bus = rxpro.nats.stream(f"{options.prefix}.binance.trades.BTC_USDT", server.url, start="all", live=False)
        stored = collect(bus)
        await stored.ended()
        stored.dispose()
        await bus.wait_closed()
    assert summary.published == 1_000 and summary.stored + summary.duplicates == 1_000
    assert [t["id"] for t in stored.items] == [str(i) for i in range(1_000)]
    assert stored.items == [trade(i) for i in range(1_000)]


async def test_past_its_bound_the_publisher_fails_loudly_instead_of_dropping(options: PublishOptions) -> None:
    async with LocalServer() as server:
        source: Subject[dict[str, Any]] = Subject()
        options = PublishOptions(prefix=options.prefix, stream_settings=options.stream_settings, max_buffered=1_000)
        async with rxpro.nats.publish(source, server.url, exchange="binance", options=options) as publisher:
            await server.stop(kill=True)
            for i in range(1_500):
                source.on_next(trade(i))
            with pytest.raises(PublishFailed, match="1000 values are waiting.*max_buffered"):
                await publisher.finished()
            assert publisher.summary().published == 1_000  # the 1,001st value was refused, not dropped unseen


async def test_a_durable_consumer_slower_than_the_servers_ack_wait_hands_each_value_on_once(
    nats_server: LocalServer, options: PublishOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # review: a backlog read slower than JetStream's ack wait (30 s; 1 s here) came again, and the
    # values redelivered were handed on a second time (992 of 2,500 with a 16 ms observer)
    import functools
    import time

    from nats.js.api import ConsumerConfig

    from rxpro.nats import _consume

    monkeypatch.setattr(_consume, "ConsumerConfig", functools.partial(ConsumerConfig, ack_wait=1.0))
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[dict[str, Any]] = Subject()
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        for i in range(300):
            source.on_next(trade(i))
        source.on_completed()
        await publisher.finished()
    seen: list[str] = []
    done = asyncio.get_running_loop().create_future()

    def slow(value: dict[str, Any]) -> None:
        time.sleep(0.01)  # 3 s for the backlog, three ack waits
        seen.append(value["id"])
        if len(seen) == 300 and not done.done():
            done.set_result(None)

    bus = rxpro.nats.stream(subject, nats_server.url, start="all", durable="slow", live=True,
                            options=StreamOptions(silence=None))
    subscription = bus.subscribe(slow)
    await asyncio.wait_for(done, 30)
    await asyncio.sleep(2.0)  # redeliveries due by now would have come
    subscription.dispose()
    await bus.wait_closed()
    assert seen == [str(i) for i in range(300)]


async def test_a_durable_consumer_that_acknowledged_nothing_gets_what_came_while_it_was_away(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    source: Subject[dict[str, Any]] = Subject()
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        away = rxpro.nats.stream(subject, nats_server.url, durable="late")  # start='new': from its creation on
        gone = collect(away)
        await asyncio.sleep(0.5)  # the consumer exists
        gone.dispose()
        await away.wait_closed()
        for i in range(100):
            source.on_next(trade(i))
        await publisher.flush(10)
        back = rxpro.nats.stream(subject, nats_server.url, durable="late")
        got = collect(back)
        await got.count(100)
        got.dispose()
        await back.wait_closed()
    assert gone.items == [] and [t["id"] for t in got.items] == [str(i) for i in range(100)]


@pytest.mark.parametrize("before", [0, 50])
async def test_a_durable_consumer_gets_at_once_what_its_dead_predecessor_never_acknowledged(
    before: int, nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """A consumer process that died after values were delivered to it and before it acknowledged
    them: the durable consumer restarted gets them again at once, not after ack_wait (30 s), whether
    it started on an empty stream or past ``before`` values already there."""
    source: Subject[dict[str, Any]] = Subject()
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    stream_name = options.stream_settings.name
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options) as publisher:
        for i in range(before):
            source.on_next(trade(i))
        await publisher.flush(10)
        first = rxpro.nats.stream(subject, nats_server.url, durable="late")  # start='new'
        quiet = collect(first)
        await asyncio.sleep(0.5)  # the consumer exists
        quiet.dispose()
        await first.wait_closed()
        nc = await nats.connect(nats_server.url)
        try:
            info = await nc.jetstream().consumer_info(stream_name, "late")
            dead = await nc.subscribe(info.config.deliver_subject)  # receives, never acknowledges
            for i in range(before, before + 100):
                source.on_next(trade(i))
            await publisher.flush(10)
            for _ in range(100):
                await dead.next_msg(timeout=10)
            await dead.unsubscribe()
            assert (await nc.jetstream().consumer_info(stream_name, "late")).num_ack_pending == 100
        finally:
            await nc.close()
        back = rxpro.nats.stream(subject, nats_server.url, durable="late")
        got = collect(back)
        await got.count(100, timeout=10)
        await asyncio.sleep(0.2)  # nothing more comes
        got.dispose()
        await back.wait_closed()
    assert quiet.items == [] and [t["id"] for t in got.items] == [str(i) for i in range(before, before + 100)]


@pytest.mark.parametrize("name", ["heartbeat", "setup_timeout"])
@pytest.mark.parametrize("seconds", [0, -1.0, "1", True, None, float("nan")])
def test_seconds_that_are_not_a_positive_number_are_refused_naming_them(name: str, seconds: Any) -> None:
    with pytest.raises(rxpro.InvalidArgument, match=re.escape(f"{name} must be") + ".*" + re.escape(f"got {seconds!r}")):
        StreamOptions(**{name: seconds})


@pytest.mark.parametrize(("name", "value", "bound"), [
    ("setup_timeout", 0, "number of seconds > 0"), ("ack_timeout", -1.0, "number of seconds > 0"), ("retry_for", "60", "number of seconds > 0"),
    ("setup_timeout", float("nan"), "number of seconds > 0"), ("linger", -0.1, "number of seconds >= 0"), ("linger", None, "number of seconds >= 0"),
    ("max_buffered", 0, "whole number >= 1"), ("max_in_flight", 2.5, "whole number >= 1"),
    ("max_in_flight", True, "whole number >= 1"),
])
def test_publish_options_out_of_range_are_refused_naming_them(name: str, value: Any, bound: str) -> None:
    with pytest.raises(rxpro.InvalidArgument, match=re.escape(f"{name} must be a {bound}, got {value!r}")):
        PublishOptions(**{name: value})


async def test_a_consumer_without_durable_is_heartbeated_as_asked(
    nats_server: LocalServer, options: PublishOptions, collect: Callable[..., Any]
) -> None:
    """The server's idle heartbeats are what tell nats-py a consumer's node died (two missed: re-created)."""
    source: Subject[dict[str, Any]] = Subject()
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    async with rxpro.nats.publish(source, nats_server.url, exchange="binance", options=options):
        heartbeats = {}
        nc = await nats.connect(nats_server.url)
        try:
            for seconds in (None, 0.5):
                earlier = {c.name for c in await nc.jetstream().consumers_info(options.stream_settings.name)}
                watched = rxpro.nats.stream(subject, nats_server.url, options=None if seconds is None
                                            else StreamOptions(heartbeat=seconds))
                values = collect(watched)
                created: list[Any] = []
                for _ in range(100):  # the consumer is created once the subscription has connected
                    consumers = await nc.jetstream().consumers_info(options.stream_settings.name)
                    created = [c for c in consumers if c.name not in earlier]
                    if created:
                        break
                    await asyncio.sleep(0.05)
                assert len(created) == 1, created
                heartbeats[seconds] = created[0].config.idle_heartbeat
                values.dispose()
                await watched.wait_closed()
                assert values.errors == []
        finally:
            await nc.close()
    assert heartbeats == {None: 1.0, 0.5: 0.5}


async def test_creating_the_stream_during_an_election_is_asked_again() -> None:
    """JetStream answers 503 to add_stream while it elects a meta leader: a transient refusal,
    asked again like a timeout, not a StreamNotFound (found by a review)."""
    import nats.js.errors as js_errors

    from rxpro.nats._jetstream import StreamSettings, again_while_transient, ensure_stream

    class ElectingJetStream:
        added = 0

        async def find_stream_name_by_subject(self, subject: str) -> str:
            raise js_errors.NotFoundError(code=404, description="no stream matches subject")

        async def add_stream(self, config: Any) -> None:
            self.added += 1
            if self.added == 1:
                raise js_errors.ServiceUnavailableError(code=503, err_code=10008,
                                                        description="JetStream system temporarily unavailable")

    js = ElectingJetStream()
    loop = asyncio.get_running_loop()
    name = await again_while_transient(lambda: ensure_stream(js, ["rxpro.>"], StreamSettings()), loop.time() + 15)  # type: ignore[arg-type]
    assert name == "RXPRO" and js.added == 2


async def test_a_set_up_request_still_unanswered_at_the_deadline_is_cut_off_there() -> None:
    """A request that takes nats-py's whole request timeout (5 s) to fail overran setup_timeout by
    up to that much: the deadline now bounds each request too."""
    from rxpro.nats._jetstream import again_while_transient

    async def slow_request() -> None:
        await asyncio.sleep(3)  # nats-py gives up on a request after its own timeout
        raise nats.errors.TimeoutError

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(rxpro.nats.NatsUnreachable, match="set-up: no answer before the deadline"):
        await again_while_transient(slow_request, started + 0.5, "set-up")
    assert loop.time() - started < 1.5


async def test_a_set_up_step_that_starts_at_the_deadline_is_still_asked() -> None:
    """A consumer's second step (its info, for a replay) may start just as setup_timeout runs out:
    it is still asked, with a second of its own, not refused unsent."""
    from rxpro.nats._jetstream import again_while_transient

    asked: list[bool] = []

    async def quick_answer() -> str:
        asked.append(True)
        await asyncio.sleep(0.2)
        return "info"

    loop = asyncio.get_running_loop()
    assert await again_while_transient(quick_answer, loop.time() - 1.0, "set-up") == "info"
    assert asked == [True]
