"""Dead or quiet: a stalled connection is noticed, a stream that can't connect or log in says so.

Issue 10 items 5, 9 and 11: with default settings a connection whose server stopped sending
(pings answered or not) delivered nothing and said nothing for over a minute; with no network
a stream was silent for 85 s; a login that never got an answer waited forever.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import ccxt
import pytest

import rxpro
from rxpro.testing import Simulator, SimulatorConfig

from ..core.conftest import Collector

pytestmark = pytest.mark.timeout(90)

FAST = rxpro.HealthPolicy(silence_ms={"orderbook": 1_000.0})


@pytest.mark.parametrize("pongs", [True, False])
async def test_a_book_silent_past_its_cadence_is_stalled_and_reconnected(pongs: bool) -> None:
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": FAST}}))
        try:
            events = Collector(rxpro.connection_events(ex))
            book = Collector(rxpro.order_book(ex, "BTC/USDT", 5))
            await book.count(3)
            sim.stall(3_000, pongs=pongs)  # no data for 3 s; the keepalive answered or not
            stalled_at = time.monotonic()
            await events.until(lambda c: any(e.kind == "stalled" for e in c.items), timeout=10)
            noticed = time.monotonic() - stalled_at
            assert noticed < 2.5  # the cadence (1 s) and a watchdog tick, not ccxt's keepalive (minutes)
            stalled = next(e for e in events.items if e.kind == "stalled")
            assert isinstance(stalled.error, ccxt.RequestTimeout) and "no data" in str(stalled.error)
            await events.until(lambda c: any(e.kind == "resubscribed" for e in c.items), timeout=30)
            before = len(book.items)
            await book.count(before + 3)  # flowing again after the stall
            assert book.errors == []
        finally:
            await ex.close()


@pytest.mark.parametrize("venue", ["binance", "okx"])
async def test_a_connection_that_stays_mute_after_a_stall_is_stalled_again_until_the_stream_says_why(
    venue: str
) -> None:
    """Found by an adversarial review: after one stall and reconnect, a new connection that answered
    pings but sent no data left the stream waiting for its first data, watched by nobody: silent for
    as long as the venue stayed mute. Each new connection is now held to the cadence too, and the
    retry budget ends the stream with the stall's error."""
    health = rxpro.HealthPolicy(silence_ms={"ticker": 1_000.0})
    retry = rxpro.RetryPolicy(max_retries=3, initial_delay_ms=50.0, max_delay_ms=100.0)
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(getattr(rxpro, venue)({"rxpro": {"health": health, "retry": retry}}))
        try:
            events = Collector(rxpro.connection_events(ex))
            ticker = Collector(rxpro.ticker(ex, "BTC/USDT"))
            await ticker.count(1)
            sim.stall(60_000, pongs=True)  # the socket stays up; no data, on this connection or the next
            error = await ticker.error(timeout=30)
            assert isinstance(error, ccxt.RequestTimeout) and "no data for 1 s" in str(error)
            stalls = [e for e in events.items if e.kind == "stalled"]
            assert len(stalls) == 4, [e.kind for e in events.items]  # the first, then one per new connection
            assert sum(e.kind == "connected" for e in events.items) == 4
        finally:
            await ex.close()


async def test_a_stream_whose_first_data_never_comes_is_stalled() -> None:
    health = rxpro.HealthPolicy(silence_ms={"ticker": 1_000.0})
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": health}}))
        try:
            await ex.load_markets()
            events = Collector(rxpro.connection_events(ex))
            sim.stall(2_500, pongs=True)
            ticker = Collector(rxpro.ticker(ex, "BTC/USDT"))
            await events.until(lambda c: any(e.kind == "stalled" for e in c.items), timeout=10)
            assert ticker.items == []  # stalled while waiting for its first ticker
            await ticker.count(3, timeout=30)  # once the venue sends again, the reconnected stream flows
            assert ticker.errors == []
        finally:
            await ex.close()


@pytest.mark.parametrize("symbols", [("BTC/USDT", "ETH/USDT"), ("BTCUSDT", "ETHUSDT")])  # (review: market ids)
async def test_books_waiting_for_their_rate_limited_snapshots_are_slow_not_stalled(symbols: tuple[str, str]) -> None:
    """A Binance book delivers nothing until ccxt's REST snapshot is in, and each depth-1000 snapshot
    waits 0.5 s in ccxt's rate limiter: four snapshots queued first, then two books with a 1 s cadence
    wait ~2.5-3 s for theirs. Their diffs arrive meanwhile, so the connection is not mute and nothing is
    stalled (a review's scaled model of 21+ books subscribed at once vs Binance's 10 s)."""
    health = rxpro.HealthPolicy(silence_ms={"orderbook": 1_000.0})
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": health}}))
        try:
            await ex.load_markets()
            await asyncio.sleep(1.5)  # the rate limiter's tokens back after load_markets
            queued = [asyncio.ensure_future(ex.fetch_order_book("BTC/USDT", 1000)) for _ in range(4)]
            events = Collector(rxpro.connection_events(ex))
            started = time.monotonic()
            books = [Collector(rxpro.order_book(ex, symbol)) for symbol in symbols]
            for book in books:
                await book.count(5, timeout=30)
            assert time.monotonic() - started > 2.0  # they did wait past their cadence for a first book
            await asyncio.gather(*queued)
            assert {e.kind for e in events.items} == {"connected"} and all(b.errors == [] for b in books)
        finally:
            await ex.close()


async def test_a_stream_the_venue_acknowledged_and_never_feeds_is_stalled_though_its_connection_is_busy() -> None:
    """OKX acknowledges a ticker of ETH/USDT the recording never feeds, on the connection of a flowing
    trades stream. Review: the trades' frames counted as the ticker's activity while it waited for its
    first data, so it stayed silent for ever (alone on its connection it was stalled)."""
    health = rxpro.HealthPolicy(silence_ms={"ticker": 1_500.0})
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.okx({"rxpro": {"health": health}}))
        try:
            events = Collector(rxpro.connection_events(ex))
            trades = Collector(rxpro.trades(ex, "BTC/USDT"))
            await trades.count(1, timeout=20)
            ticker = Collector(rxpro.ticker(ex, "ETH/USDT"))
            await events.until(lambda c: any(e.kind == "stalled" and "ETH/USDT" in str(e.stream) for e in c.items),
                               timeout=10)
            assert ticker.items == [] and trades.errors == []
        finally:
            await ex.close()


async def test_quiet_trades_are_not_stalled() -> None:
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": FAST}}))
        try:
            events = Collector(rxpro.connection_events(ex))
            trades = Collector(rxpro.trades(ex, "BTC/USDT"))
            await trades.count(1)
            sim.stall(2_500, pongs=True)
            await asyncio.sleep(2.5)
            assert not [e for e in events.items if e.kind in ("stalled", "disconnected")]
        finally:
            await ex.close()


async def test_a_stream_that_never_connects_errors_within_the_first_attempts() -> None:
    async with Simulator() as sim:
        ex = sim.attach(rxpro.binance())
    # the simulator is gone: its port refuses every connection (REST and WebSocket)
    try:
        started = time.monotonic()
        error = await Collector(rxpro.trades(ex, "BTC/USDT")).error(timeout=30)
        elapsed = time.monotonic() - started
        assert isinstance(error, ccxt.ExchangeNotAvailable) and "3 attempts" in str(error)
        assert elapsed < 5, elapsed  # was the whole retry budget: 85 s
    finally:
        await ex.close()


async def test_a_host_that_never_connects_fails_fast_while_another_host_flows() -> None:
    """Counted per host, not per exchange: spot flowing must not make a dead host's stream wait out
    the whole retry budget (85 s) in silence."""
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        try:
            btc = Collector(rxpro.trades(ex, "BTC/USDT"))
            await btc.count(1)
            ex.urls["api"]["ws"]["spot"] = "ws://127.0.0.1:1/ws"  # a host nothing listens on
            started = time.monotonic()
            error = await Collector(rxpro.trades(ex, "ETH/USDT")).error(timeout=30)
            elapsed = time.monotonic() - started
            assert isinstance(error, ccxt.ExchangeNotAvailable), error
            assert "could not connect to 127.0.0.1:1 (3 attempts)" in str(error)
            assert elapsed < 5, elapsed
            flowing = len(btc.items)
            await btc.count(flowing + 1)  # the host that did connect goes on
            assert btc.errors == []
        finally:
            await ex.close()


async def test_a_url_that_is_no_url_fails_fast_too() -> None:
    """urlsplit refuses an unclosed IPv6 bracket: the host is then the URL itself, and the stream
    still ends saying why (the error escaped the hub and left the stream starting for ever)."""
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        try:
            ex.urls["api"]["ws"]["spot"] = "ws://[::1/ws"
            error = await Collector(rxpro.trades(ex, "BTC/USDT")).error(timeout=30)
            assert isinstance(error, ccxt.ExchangeNotAvailable) and "could not connect to ws://[::1/ws" in str(error)
        finally:
            await ex.close()


async def test_a_login_that_gets_no_answer_ends_the_private_stream() -> None:
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.okx({"rxpro": {"health": rxpro.HealthPolicy(login_timeout_ms=500)}}))
        try:
            await ex.load_markets()  # public markets; the simulated private endpoint never answers a login
            ex.apiKey, ex.secret, ex.password = "k", "s", "p"
            error = await Collector(rxpro.balance(ex)).error(timeout=20)
            assert isinstance(error, ccxt.AuthenticationError) and "no answer within 0.5 s" in str(error)
            assert any(isinstance(f.data, dict) and f.data.get("op") == "login" for f in sim.received)
            public = Collector(rxpro.trades(ex, "BTC/USDT"))  # the rest of the exchange goes on
            await public.count(1)
        finally:
            await ex.close()



async def _a_ticker_behind_a_slow_handshake(
    sim: Simulator, ex: Any, delay_ms: float, *, timeout: float
) -> tuple[Collector, Collector, Collector]:
    """BTC/USDT's ticker flows (the watchdog looks every 0.25 s from then on); then ETH/USDT's, a new
    subscription and so a new Binance connection, whose handshake is answered ``delay_ms`` late,
    delivers twice. Returns the connection events and both tickers."""
    events = Collector(rxpro.connection_events(ex))
    btc = Collector(rxpro.ticker(ex, "BTC/USDT"))
    await btc.count(1)
    sim.delay_handshakes(delay_ms)
    eth = Collector(rxpro.ticker(ex, "ETH/USDT"))
    await eth.count(2, timeout=timeout)
    return events, btc, eth


def _only_connection(ex: Any) -> Any:
    """The one connection every stream of ``ex`` is on."""
    (client,) = {c for s in ex._rx_hub.subscriptions.values() for c, _ in s.registrations}
    return client


async def test_a_new_stream_on_a_new_connection_is_held_to_its_cadence_from_its_start() -> None:
    """Found in CI (a subscribe/dispose interleaving under load): a subscription's silence clock
    started at zero, so the watchdog's first look at a stream whose fresh connection had received
    nothing yet (still opening, on a loaded machine) declared it stalled at once and reconnected
    it. A stream is now allowed its cadence counted from its own start."""
    health = rxpro.HealthPolicy(silence_ms={"ticker": 4_000.0})
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": health}}))
        try:
            # the next connection opens 1 s after the stream's start
            events, btc, eth = await _a_ticker_behind_a_slow_handshake(sim, ex, 1_000, timeout=10)
            assert sim.open_connections == 2
            assert [e.kind for e in events.items] == ["connected", "connected"], events.items
            assert btc.errors == [] and eth.errors == []
        finally:
            await ex.close()


async def test_a_connection_still_opening_is_not_stalled_and_never_left_open() -> None:
    """A watchdog look at a stream whose connection was still opening (a slow handshake) called it
    stalled: ccxt's ``on_error`` closes only an open connection, so that one opened afterwards,
    out of ccxt's hands, and stayed open past ``close()``. Opening is timed by ccxt's connect
    timeout; the stream's cadence counts once its connection is open."""
    health = rxpro.HealthPolicy(silence_ms={"ticker": 2_500.0})
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance({"rxpro": {"health": health}}))
        try:
            # the next connection opens past the ticker's 2.5 s cadence
            events, _, _ = await _a_ticker_behind_a_slow_handshake(sim, ex, 3_500, timeout=15)
            assert [e.kind for e in events.items] == ["connected", "connected"], events.items
            assert sim.open_connections == 2
        finally:
            await ex.close()
        deadline = asyncio.get_running_loop().time() + 3
        while sim.open_connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert sim.open_connections == 0  # close() closed every connection it opened


async def test_streams_sharing_a_connection_that_ccxt_closes_after_a_failed_book_snapshot_resume() -> None:
    """ccxt's ``load_order_book`` (KuCoin, Gate, Bitstamp, MEXC, XT, Backpack) ends a book whose REST
    snapshot failed by rejecting that book, setting the connection's error, cancelling every other
    future and closing the connection: ccxt rejects nothing else, so the other streams on it were
    never told. A trades stream (no cadence: no watchdog) was silent for ever. They now hear of the
    loss ("disconnected", "retrying") and flow again on a new connection. ccxt's own teardown is run
    here, on the connection OKX's trades and ticker share."""
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.okx())
        try:
            events = Collector(rxpro.connection_events(ex))
            trades = Collector(rxpro.trades(ex, "BTC/USDT"))
            ticker = Collector(rxpro.ticker(ex, "BTC/USDT"))
            await trades.count(2)
            await ticker.count(2)
            client = _only_connection(ex)

            async def no_snapshot(*args: Any, **kwargs: Any) -> Any:
                raise ccxt.ExchangeNotAvailable("the snapshot request failed")

            ex.fetch_rest_order_book_safe = no_snapshot
            ex.orderbooks["ETH/USDT"] = ex.order_book()
            await ex.load_order_book(client, "orderbook:ETH/USDT", "ETH/USDT", None, {})  # ccxt's teardown
            seen = len(trades.items), len(ticker.items)
            await events.until(lambda c: sum(e.kind == "resubscribed" for e in c.items) == 2, timeout=20)
            await trades.count(seen[0] + 2, timeout=30)
            await ticker.count(seen[1] + 2, timeout=30)
            kinds = [e.kind for e in events.items]
            assert kinds.count("disconnected") == 1 and kinds.count("retrying") == 2, kinds
            lost = next(e for e in events.items if e.kind == "disconnected")
            assert isinstance(lost.error, ccxt.NetworkError) and "snapshot request failed" in str(lost.error)
            assert trades.errors == [] and ticker.errors == []
        finally:
            await ex.close()


class _FailsOnce:
    """A WebSocket whose next ``receive()`` raises (everything else is the real one's)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._failed = False

    async def receive(self, *args: Any) -> Any:
        if not self._failed:
            self._failed = True
            raise RuntimeError("receive failed")
        return await self._ws.receive(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


async def test_a_connection_whose_receive_raises_is_closed_and_its_streams_resume() -> None:
    """When ccxt's receive task raises (not a close frame), ccxt only rejects the pending futures:
    the connection stayed open and in ``ex.clients`` with its receive loop stopped, and a trades
    stream (no cadence) that subscribed again on it waited for ever. It is now closed and told."""
    async with Simulator(SimulatorConfig(speed=1.0, loop=True)) as sim:
        ex = sim.attach(rxpro.binance())
        try:
            events = Collector(rxpro.connection_events(ex))
            trades = Collector(rxpro.trades(ex, "BTC/USDT"))
            await trades.count(2)
            client = _only_connection(ex)
            client.connection = _FailsOnce(client.connection)  # the receive after the next message
            await events.until(lambda c: any(e.kind == "resubscribed" for e in c.items), timeout=20)
            seen = len(trades.items)
            await trades.count(seen + 3, timeout=20)
            lost = next(e for e in events.items if e.kind == "disconnected")
            assert isinstance(lost.error, ccxt.NetworkError) and "receive failed" in str(lost.error)
            assert trades.errors == []
            assert client.closed() and ex.clients.get(client.url) is not client
        finally:
            await ex.close()
