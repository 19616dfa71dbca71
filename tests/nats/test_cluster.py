"""A 3-node JetStream cluster on loopback, stream replicas=3: its stream leader dies mid-burst."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import nats
import nats.errors
import nats.js.errors
import pytest
from reactivex.subject import Subject

import rxpro
import rxpro.nats
from rxpro.nats import LocalCluster, PublishOptions, StreamOptions, StreamSettings
from rxpro.testing import Simulator

from .test_faults import trade

BURST = 20_000


async def _stream_leader(cluster: LocalCluster, name: str) -> str:
    nc = await nats.connect(cluster.urls)
    try:
        info = await nc.jetstream().stream_info(name)
        assert info.cluster is not None and info.cluster.leader
        return info.cluster.leader
    finally:
        await nc.close()


async def _until_lookups_time_out(cluster: LocalCluster, subject: str, within: float = 30.0) -> None:
    """Wait until the surviving node no longer answers a stream lookup (it has noticed it lost quorum):
    the request times out, or JetStream answers 503.

    A node that was the meta leader answers lookups for a few seconds after two others died.
    """
    nc = await nats.connect(cluster.urls)
    try:
        js = nc.jetstream(timeout=0.5)
        deadline = asyncio.get_running_loop().time() + within
        while True:
            try:
                await js.find_stream_name_by_subject(subject)
            except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
                return  # what rxpro's set-up asks again on
            assert asyncio.get_running_loop().time() < deadline, "the cluster still answers without quorum"
            await asyncio.sleep(0.25)
    finally:
        await nc.close()


async def test_killing_the_stream_leader_mid_burst_loses_and_duplicates_nothing(
    burst_sim: Simulator, nats_cluster: LocalCluster, unique: Callable[[], str], collect: Callable[..., Any]
) -> None:
    name = unique()
    options = PublishOptions(prefix=f"rxpro.{name}", ack_timeout=1.0,
                             stream_settings=StreamSettings(name=name.upper(), replicas=3))
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    ex = burst_sim.attach(rxpro.binance())
    async with ex:
        await ex.load_markets()
        local = collect(rxpro.trades(ex, "BTC/USDT"))
        async with rxpro.nats.publish(rxpro.trades(ex, "BTC/USDT"), nats_cluster.url, exchange=ex,
                                      options=options) as publisher:
            live = rxpro.nats.stream(subject, nats_cluster.url, start="all")
            consumed = collect(live)
            leader = nats_cluster.server_named(await _stream_leader(nats_cluster, name.upper()))
            burst_sim.burst_trades("binance", "BTC/USDT", count=BURST, start_id=10**12)
            await consumed.until(lambda: len(consumed.items) >= BURST // 4, timeout=60)
            await leader.stop(kill=True)  # SIGKILL: no leadership hand-over, a real election
            await local.count(BURST, timeout=60)
            await publisher.flush(60)
            await consumed.count(BURST, timeout=60)
            summary = publisher.summary()
            consumed.dispose()
            await live.wait_closed()
        again = rxpro.nats.stream(subject, nats_cluster.url, start="all", live=False)
        stored = collect(again)
        await stored.ended(timeout=60)
        stored.dispose()
        await again.wait_closed()
    expected = [str(10**12 + i) for i in range(BURST)]
    assert not stored.errors and stored.completed, (stored.errors, len(stored.items))
    assert [t["id"] for t in stored.items] == expected  # the stream: each trade once, in order
    assert [t["id"] for t in consumed.items] == expected  # the live consumer resumed on another node
    assert consumed.items == local.items
    assert summary.stored == BURST and summary.reordered == 0



async def test_a_replay_started_while_the_cluster_has_no_quorum_waits_for_it(
    nats_cluster: LocalCluster, unique: Callable[[], str], collect: Callable[..., Any]
) -> None:
    """Subscribed while two of three nodes are down, JetStream's requests time out: the set-up is
    asked again for StreamOptions.setup_timeout and the replay plays once a node is back; one whose
    setup_timeout passes while no node is back fails with NatsUnreachable naming the option."""
    name = unique()
    options = PublishOptions(prefix=f"rxpro.{name}", stream_settings=StreamSettings(name=name.upper(), replicas=3))
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[dict[str, Any]] = Subject()
    async with rxpro.nats.publish(source, nats_cluster.url, exchange="binance", options=options) as publisher:
        for i in range(2_000):
            source.on_next(trade(i))
        await publisher.flush(30)
    leader = nats_cluster.server_named(await _stream_leader(nats_cluster, name.upper()))
    other = next(server for server in nats_cluster.servers if server is not leader)
    await leader.stop(kill=True)
    await other.stop(kill=True)
    replay = rxpro.nats.stream(subject, nats_cluster.url, start="all", live=False,
                               options=StreamOptions(setup_timeout=60.0))
    impatient = rxpro.nats.stream(subject, nats_cluster.url, start="all", live=False,
                                  options=StreamOptions(setup_timeout=1.0))
    got = collect(replay)
    refused = collect(impatient)
    await refused.ended(timeout=30)  # its first request times out (no quorum): past its 1 s, it gives up
    assert refused.items == [] and len(refused.errors) == 1, refused.errors
    assert isinstance(refused.errors[0], rxpro.nats.NatsUnreachable)
    assert "in 1 s (StreamOptions.setup_timeout)" in str(refused.errors[0])
    assert not got.errors and not got.completed and got.items == []  # still asking
    await other.start()
    await got.ended(timeout=60)
    for observable, collector in ((replay, got), (impatient, refused)):
        collector.dispose()
        await observable.wait_closed()
    assert not got.errors and got.completed, (got.errors, len(got.items))
    assert [t["id"] for t in got.items] == [str(i) for i in range(2_000)]


async def test_a_publisher_started_while_the_cluster_has_no_quorum_waits_for_it(
    nats_cluster: LocalCluster, unique: Callable[[], str], collect: Callable[..., Any]
) -> None:
    """Two of three nodes down, JetStream can't look the stream up: a publisher's start() asks again
    for PublishOptions.setup_timeout and publishes once a node is back; one whose setup_timeout
    passes first fails with NatsUnreachable naming the option, and leaves no task or connection."""
    name = unique()
    settings = StreamSettings(name=name.upper(), replicas=3)
    options = PublishOptions(prefix=f"rxpro.{name}", stream_settings=settings)
    subject = rxpro.nats.subject_for("binance", "trades", "BTC/USDT", options.prefix)
    source: Subject[dict[str, Any]] = Subject()
    async with rxpro.nats.publish(source, nats_cluster.url, exchange="binance", options=options) as publisher:
        source.on_next(trade(0))
        await publisher.flush(30)
    leader = nats_cluster.server_named(await _stream_leader(nats_cluster, name.upper()))
    other = next(server for server in nats_cluster.servers if server is not leader)
    await leader.stop(kill=True)
    await other.stop(kill=True)
    await _until_lookups_time_out(nats_cluster, subject)
    tasks_before = asyncio.all_tasks()
    impatient = rxpro.nats.publish(Subject(), nats_cluster.url, exchange="binance",
                                   options=PublishOptions(prefix=options.prefix, stream_settings=settings,
                                                          setup_timeout=1.0))
    with pytest.raises(rxpro.nats.NatsUnreachable, match=r"in 1 s \(PublishOptions\.setup_timeout\)"):
        await impatient.start()
    assert asyncio.all_tasks() == tasks_before  # nothing of the failed start is left running
    patient = rxpro.nats.publish(source, nats_cluster.url, exchange="binance",
                                 options=PublishOptions(prefix=options.prefix, stream_settings=settings,
                                                        setup_timeout=60.0))
    starting = asyncio.ensure_future(patient.start())
    await asyncio.sleep(1.5)
    assert not starting.done()  # still asking
    await other.start()
    await asyncio.wait_for(starting, 60)
    try:
        for i in range(1, 500):
            source.on_next(trade(i))
        source.on_completed()
        summary = await asyncio.wait_for(patient.finished(), 60)
    finally:
        await patient.close()
    assert summary.stored == 499 and summary.stream == name.upper()
    replay = rxpro.nats.stream(subject, nats_cluster.url, start="all", live=False)
    got = collect(replay)
    await got.ended(timeout=60)
    got.dispose()
    await replay.wait_closed()
    assert not got.errors and got.completed, got.errors
    assert [t["id"] for t in got.items] == [str(i) for i in range(500)]
