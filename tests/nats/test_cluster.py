"""A 3-node JetStream cluster on loopback, stream replicas=3: its stream leader dies mid-burst."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import nats

import rxpro
import rxpro.nats
from rxpro.nats import LocalCluster, PublishOptions, StreamSettings
from rxpro.testing import Simulator

BURST = 20_000


async def _stream_leader(cluster: LocalCluster, name: str) -> str:
    nc = await nats.connect(cluster.urls)
    try:
        info = await nc.jetstream().stream_info(name)
        assert info.cluster is not None and info.cluster.leader
        return info.cluster.leader
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
