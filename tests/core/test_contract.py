"""The Observable contract (issue 2, section 4), each point on the offline simulator."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import ccxt
import pytest

import rxpro
from rxpro import RetryPolicy
from rxpro.testing import Simulator

from .conftest import Collector, subscribe_frames

pytestmark = pytest.mark.timeout(60)


# -- a. lazy and shared ---------------------------------------------------------


async def test_nothing_connects_before_the_first_subscription(sim: Simulator, binance: Any) -> None:
    source = rxpro.trades(binance, "BTC/USDT")
    await asyncio.sleep(0.2)
    assert sim.connections == 0
    assert binance.clients == {}
    collector = Collector(source)
    await collector.count(5)
    assert sim.connections == 1
    collector.dispose()


async def test_subscribers_share_one_subscription_and_the_last_dispose_unwatches(
    sim: Simulator, binance: Any, collect: Any
) -> None:
    first = collect(rxpro.trades(binance, "BTC/USDT"))
    second = collect(binance.rx.watch_trades("BTC/USDT"))  # same stream, other spelling
    await first.count(20)
    await second.count(20)
    assert len(subscribe_frames(sim, needle="btcusdt@trade")) == 1
    assert sim.connections == 1

    first.dispose()
    await asyncio.sleep(0.1)
    assert subscribe_frames(sim, "UNSUBSCRIBE") == []  # one subscriber is left
    n = len(second.items)
    await second.count(n + 10)

    second.dispose()
    frame = await sim.wait_for_received(
        lambda f: isinstance(f.data, dict) and f.data.get("method") == "UNSUBSCRIBE", timeout=5
    )
    assert any("btcusdt@trade" in p for p in frame.data["params"])
    assert binance._rx_hub.streams == {}
    seen = len(second.items)
    await asyncio.sleep(0.2)
    assert len(second.items) == seen  # delivery stopped

    # subscribing again afterwards works, and subscribes again
    again = collect(rxpro.trades(binance, "BTC/USDT"))
    await again.count(10)
    assert len(subscribe_frames(sim, needle="btcusdt@trade")) == 2


async def test_disposing_one_of_two_streams_on_one_exchange_subscription_does_not_unwatch_it(
    sim: Simulator, binance: Any, collect: Any
) -> None:
    # different rx streams (limits, single vs multi-symbol) that ccxt serves from one subscription
    top5 = collect(rxpro.order_book(binance, "BTC/USDT", limit=5))
    top10 = collect(rxpro.order_book(binance, "BTC/USDT", limit=10))
    single = collect(rxpro.trades(binance, "BTC/USDT"))
    multi = collect(rxpro.trades_for_symbols(binance, ["BTC/USDT"]))
    for c in (top5, top10, single, multi):
        await c.count(3, timeout=20)
    top5.dispose()
    single.dispose()
    await asyncio.sleep(0.2)
    assert subscribe_frames(sim, "UNSUBSCRIBE") == []
    n10, nm = len(top10.items), len(multi.items)
    await top10.count(n10 + 3, timeout=20)
    await multi.count(nm + 3, timeout=20)
    assert len(top10.items[-1]["bids"]) == 10
    top10.dispose()
    multi.dispose()  # the last users leave: now ccxt is told
    await sim.wait_for_received(lambda f: isinstance(f.data, dict) and f.data.get("method") == "UNSUBSCRIBE")


async def test_without_un_watch_delivery_stops_and_the_stream_is_forgotten(
    sim: Simulator, binance: Any, collect: Any
) -> None:
    binance.has = dict(binance.has, unWatchTrades=False)  # an instance copy; the class keeps its own
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    await trades.count(10)
    trades.dispose()
    await asyncio.sleep(0.2)
    assert subscribe_frames(sim, "UNSUBSCRIBE") == []
    assert binance._rx_hub.streams == {}
    n = len(trades.items)
    await asyncio.sleep(0.2)
    assert len(trades.items) == n
    again = collect(rxpro.trades(binance, "BTC/USDT"))
    await again.count(5)


# -- b. lossless and ordered ----------------------------------------------------


async def test_a_burst_of_100k_trades_arrives_complete_and_in_order(sim: Simulator, binance: Any) -> None:
    count = 100_000
    await binance.load_markets()
    ids: list[str] = []
    done = asyncio.Event()

    def on_next(trade: dict[str, Any]) -> None:
        if int(trade["id"]) >= 10**12:  # burst ids; recorded ids are far smaller
            ids.append(trade["id"])
            if len(ids) == count:
                done.set()

    sim.burst_trades("binance", "BTC/USDT", count=count, start_id=10**12)
    disposable = rxpro.trades(binance, "BTC/USDT").subscribe(on_next)
    await asyncio.wait_for(done.wait(), 45)
    disposable.dispose()
    assert ids == [str(10**12 + i) for i in range(count)]


async def test_list_streams_emit_one_item_per_entry_and_dict_streams_the_structure(binance: Any, collect: Any) -> None:
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    book = collect(rxpro.order_book(binance, "BTC/USDT", limit=10))
    await trades.count(50)
    await book.count(3)
    assert all(isinstance(t, dict) and t["symbol"] == "BTC/USDT" for t in trades.items)
    assert len({t["id"] for t in trades.items}) == len(trades.items)  # exactly once each
    snapshot = book.items[-1]
    assert set(snapshot) == {"symbol", "bids", "asks", "timestamp", "datetime", "nonce"}
    assert len(snapshot["bids"]) == 10 and len(snapshot["asks"]) == 10
    assert snapshot["bids"][0][0] < snapshot["asks"][0][0]


# -- c. immutable values --------------------------------------------------------


async def test_emitted_values_never_change_afterwards(binance: Any, collect: Any) -> None:
    book = collect(rxpro.order_book(binance, "BTC/USDT"))
    ticker = collect(rxpro.ticker(binance, "BTC/USDT"))
    ohlcv = collect(rxpro.ohlcv(binance, "BTC/USDT", "1m"))
    await book.count(5)
    await ticker.count(3)
    await ohlcv.count(3)
    kept = copy.deepcopy((book.items[:5], ticker.items[:3], ohlcv.items[:3]))
    await book.count(60)
    await ticker.count(20)
    await ohlcv.count(30)
    assert (book.items[:5], ticker.items[:3], ohlcv.items[:3]) == kept
    # the books really did move on, so the check above is not vacuous
    assert book.items[-1]["nonce"] != book.items[0]["nonce"]


# -- d. errors ------------------------------------------------------------------


async def test_a_permanent_error_ends_the_stream_at_once(binance: Any, collect: Any) -> None:
    bad = collect(rxpro.trades(binance, "NOPE/USDT"))
    error = await bad.error(timeout=5)
    assert isinstance(error, ccxt.BadSymbol)
    assert "NOPE/USDT" in str(error)


async def test_a_dropped_connection_reconnects_and_resubscribes(sim: Simulator, binance: Any, collect: Any) -> None:
    binance.rx.retry_policy = RetryPolicy(initial_delay_ms=20, max_delay_ms=200)
    events = collect(rxpro.connection_events(binance))
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    await trades.count(20)
    await sim.drop_connections()
    await events.until(lambda c: any(e.kind == "resubscribed" for e in c.items))
    n = len(trades.items)
    await trades.count(n + 20)
    kinds = [e.kind for e in events.items]
    assert kinds.index("disconnected") < kinds.index("retrying") < kinds.index("resubscribed")
    assert kinds.count("connected") == 2
    assert trades.errors == [] and not trades.completed
    assert sim.connections == 2
    assert len(subscribe_frames(sim, needle="btcusdt@trade")) == 2


async def test_after_the_retry_budget_the_last_error_goes_to_on_error(sim: Simulator, binance: Any, collect: Any) -> None:
    binance.rx.retry_policy = RetryPolicy(max_retries=2, initial_delay_ms=10, max_delay_ms=20)
    events = collect(rxpro.connection_events(binance))
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    await trades.count(5)
    await sim.close()  # the server is gone: every reconnect is refused
    error = await trades.error(timeout=20)
    assert isinstance(error, ccxt.NetworkError)
    assert [e.kind for e in events.items].count("retrying") == 2


async def test_a_sequence_gap_resynchronises_the_book_without_ending_the_stream(
    sim: Simulator, binance: Any, collect: Any
) -> None:
    binance.rx.retry_policy = RetryPolicy(initial_delay_ms=10, max_delay_ms=100)
    events = collect(rxpro.connection_events(binance))
    book = collect(rxpro.order_book(binance, "BTC/USDT", limit=5))
    await book.count(5, timeout=20)
    sim.inject_sequence_gap("binance", "BTC/USDT")
    await events.until(lambda c: any(e.kind == "resubscribed" for e in c.items), timeout=20)
    retry = next(e for e in events.items if e.kind == "retrying")
    assert isinstance(retry.error, (ccxt.InvalidNonce, ccxt.ChecksumError))
    n = len(book.items)
    await book.count(n + 5, timeout=20)
    assert book.errors == [] and not book.completed
    assert all(isinstance(b, dict) and b["bids"][0][0] < b["asks"][0][0] for b in book.items)
    # the resync fetched a fresh snapshot: ccxt un-watched and re-subscribed the depth stream
    assert len(subscribe_frames(sim, needle="btcusdt@depth")) >= 2


async def test_a_healthy_book_never_resynchronises(sim: Simulator, binance: Any, collect: Any) -> None:
    events = collect(rxpro.connection_events(binance))
    book = collect(rxpro.order_book(binance, "BTC/USDT"))
    await book.count(300, timeout=30)
    assert [e.kind for e in events.items] == ["connected"]
    nonces = [b["nonce"] for b in book.items]
    assert nonces == sorted(nonces)


async def test_a_stalled_connection_times_out_and_reconnects(sim: Simulator, collect: Any) -> None:
    # ccxt's keep-alive declares the connection dead after keepAlive * maxPingPongMisses without a pong
    ex = sim.attach(rxpro.binance({"streaming": {"keepAlive": 200}}))
    try:
        ex.rx.retry_policy = RetryPolicy(initial_delay_ms=10, max_delay_ms=100)
        events = collect(rxpro.connection_events(ex))
        trades = collect(rxpro.trades(ex, "BTC/USDT"))
        await trades.count(5)
        sim.stall(1500)
        await events.until(lambda c: any(e.kind == "resubscribed" for e in c.items), timeout=20)
        disconnected = next(e for e in events.items if e.kind == "disconnected")
        assert isinstance(disconnected.error, ccxt.RequestTimeout)
        n = len(trades.items)
        await trades.count(n + 5, timeout=20)
        assert trades.errors == []
    finally:
        await ex.close()


# -- e. bad input disturbs nothing else -------------------------------------------


async def test_bad_input_errors_on_subscribe_and_other_streams_keep_flowing(binance: Any, collect: Any) -> None:
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    await trades.count(10)
    cases = [
        (rxpro.trades(binance, "NOPE/USDT"), ccxt.BadSymbol, "NOPE/USDT"),
        (rxpro.ohlcv(binance, "BTC/USDT", "7m"), ccxt.BadRequest, "7m"),
        (binance.rx.watch_no_such_thing("BTC/USDT"), ccxt.NotSupported, "watch_no_such_thing"),
        (rxpro.trades(binance, 123), rxpro.InvalidArgument, "123"),  # type: ignore[arg-type]
        (rxpro.order_book(binance, "BTC/USDT", limit="10"), rxpro.InvalidArgument, "'10'"),  # type: ignore[arg-type]
        (binance.rx.observe("watch_trades", "BTC/USDT", None, None, None, "extra"), rxpro.InvalidArgument, "argument"),
        (rxpro.ticker(binance, "BTC/USDT", []), rxpro.InvalidArgument, "params must be a dict, got []"),  # type: ignore[arg-type]
        # an empty list of symbols: ccxt's IndexError (tickers, bids/asks) or "Future.race() called with empty futures"
        (rxpro.tickers(binance, []), rxpro.InvalidArgument, "symbols must be a non-empty list"),
        (rxpro.bids_asks(binance, []), rxpro.InvalidArgument, "symbols must be a non-empty list"),
        (rxpro.order_book_for_symbols(binance, []), rxpro.InvalidArgument, "symbols must be a non-empty list"),
        (binance.rx.watch_ohlcv_for_symbols([]), rxpro.InvalidArgument, "symbolsAndTimeframes must be a non-empty"),
    ]
    for source, cls, needle in cases:
        error = await collect(source).error(timeout=5)
        assert isinstance(error, cls), (error, cls)
        assert needle in str(error)
    n = len(trades.items)
    await trades.count(n + 20)
    assert trades.errors == []


async def test_a_subscription_the_exchange_rejects_without_an_id_ends_only_itself(okx: Any, collect: Any) -> None:
    # OKX answers a bad subscribe with an error event that names no request; ccxt rejects
    # every pending future of the connection with it. Streams already flowing go on.
    trades = collect(rxpro.trades(okx, "BTC/USDT"))
    book = collect(rxpro.order_book(okx, "BTC/USDT", 5))
    events = collect(rxpro.connection_events(okx))
    await trades.count(10)
    await book.count(10)
    bad = collect(rxpro.ticker(okx, "BTC/USDT", {"instId": "NOPE-USDT"}))
    error = await bad.error(timeout=10)
    assert isinstance(error, ccxt.BadRequest) and "NOPE-USDT" in str(error)
    n_trades, n_book = len(trades.items), len(book.items)
    await trades.count(n_trades + 20)
    await book.count(n_book + 5)
    assert trades.errors == [] and book.errors == []
    assert any(e.kind == "frame_error" and e.error is error for e in events.items)


async def test_a_symbol_given_as_a_market_id_streams_like_its_unified_symbol(binance: Any, collect: Any) -> None:
    # ccxt's watch_* take 'BTCUSDT' for 'BTC/USDT' and emit the unified symbol
    awaited = await binance.watch_trades("BTCUSDT")
    assert awaited[-1]["symbol"] == "BTC/USDT"
    for source in (rxpro.trades(binance, "BTCUSDT"), rxpro.ticker(binance, "BTCUSDT")):
        c = collect(source)
        await c.count(3)
        assert c.errors == [] and {item["symbol"] for item in c.items} == {"BTC/USDT"}


async def test_since_drops_entries_older_than_it_as_ccxt_does(binance: Any, collect: Any) -> None:
    first = (await binance.watch_trades("BTC/USDT"))[-1]
    since = first["timestamp"] + 60_000  # the looped recording spans both sides of this
    trades = collect(binance.rx.watch_trades("BTC/USDT", since))
    everything = collect(binance.rx.watch_trades("BTC/USDT"))
    await trades.count(50)
    assert trades.errors == []
    assert all(t["timestamp"] >= since for t in trades.items)
    await everything.until(lambda c: any(t["timestamp"] < since for t in c.items))  # so there was something to drop


async def test_since_on_ohlcv_for_symbols_filters_candles_by_their_time(binance: Any, collect: Any) -> None:
    # its items are [symbol, timeframe, candle]: since applies to the candle's time
    plain = collect(binance.rx.watch_ohlcv_for_symbols([["BTC/USDT", "1m"]]))
    await plain.count(5)
    since = plain.items[-1][2][0]
    later = collect(binance.rx.watch_ohlcv_for_symbols([["BTC/USDT", "1m"]], since))
    events = collect(rxpro.connection_events(binance))
    await later.count(5)
    assert later.errors == [] and plain.errors == []
    assert all(item[2][0] >= since for item in later.items)
    assert not [e for e in events.items if e.kind == "frame_error"]


async def test_a_subscriber_that_raises_gets_on_error_and_others_keep_flowing(binance: Any, collect: Any) -> None:
    def boom(_: Any) -> None:
        raise ValueError("subscriber bug")

    errors: list[BaseException] = []
    rxpro.trades(binance, "BTC/USDT").subscribe(boom, errors.append)
    good = collect(rxpro.trades(binance, "BTC/USDT"))
    await good.count(30)
    assert len(errors) == 1 and isinstance(errors[0], ValueError)


async def test_a_malformed_frame_is_reported_and_the_connection_goes_on(
    sim: Simulator, binance: Any, collect: Any
) -> None:
    events = collect(rxpro.connection_events(binance))
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    await trades.count(10)
    sim.inject_malformed("binance")
    await events.until(lambda c: any(e.kind == "frame_error" for e in c.items))
    n = len(trades.items)
    await trades.count(n + 20)
    assert trades.errors == []
    assert sim.connections == 1


# -- f. async model ---------------------------------------------------------------


async def test_close_completes_every_stream_and_releases_connections(sim: Simulator, sim_binance_factory: Any) -> None:
    ex = sim_binance_factory()
    events = Collector(rxpro.connection_events(ex))
    raw = Collector(ex.rx.messages())
    trades = Collector(rxpro.trades(ex, "BTC/USDT"))
    book = Collector(rxpro.order_book(ex, "BTC/USDT"))
    await trades.count(5)
    await book.count(1)
    await ex.close()
    assert trades.completed and book.completed
    assert events.completed and events.items[-1].kind == "closed" and raw.completed
    assert ex.clients == {} or all(c.closed() for c in ex.clients.values())
    await asyncio.sleep(0.05)
    assert sim.open_connections == 0
    await ex.close()  # idempotent


async def test_emissions_happen_on_the_exchange_loop(binance: Any) -> None:
    loop = asyncio.get_running_loop()
    seen: list[Any] = []
    done = asyncio.Event()

    def on_next(_: Any) -> None:
        seen.append(asyncio.get_running_loop())
        done.set()

    d = rxpro.trades(binance, "BTC/USDT").subscribe(on_next)
    await asyncio.wait_for(done.wait(), 10)
    d.dispose()
    assert seen[0] is loop and binance.asyncio_loop is loop


async def test_time_operators_default_to_a_scheduler_on_the_exchange_loop(binance: Any) -> None:
    from rxpro.operators import throttle

    loop = asyncio.get_running_loop()
    stamps: list[float] = []
    done = asyncio.Event()

    def on_next(_: Any) -> None:
        assert asyncio.get_running_loop() is loop  # timers fire on the exchange's loop
        stamps.append(loop.time())
        if len(stamps) == 6:
            done.set()

    d = rxpro.trades(binance, "BTC/USDT").pipe(throttle(100)).subscribe(on_next)  # no scheduler passed
    await asyncio.wait_for(done.wait(), 10)
    d.dispose()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert all(gap >= 0.095 for gap in gaps), gaps  # the trades arrive far faster than this


async def test_reactivex_time_operators_piped_on_a_stream_run_on_the_exchange_loop(binance: Any) -> None:
    import reactivex.operators as ops

    loop = asyncio.get_running_loop()
    seen: list[Any] = []
    done = asyncio.Event()

    def on_next(_: Any) -> None:
        try:
            seen.append(asyncio.get_running_loop())
        except RuntimeError:  # a TimeoutScheduler thread
            seen.append(None)
        if len(seen) == 4:
            done.set()

    source = rxpro.trades(binance, "BTC/USDT")
    d = source.pipe(ops.buffer_with_time(0.05), ops.filter(bool), ops.sample(0.1)).subscribe(on_next)
    await asyncio.wait_for(done.wait(), 10)
    d.dispose()
    assert seen and all(s is loop for s in seen), seen
    # a scheduler given at subscribe still wins
    from reactivex.scheduler import TimeoutScheduler

    off_loop: list[bool] = []

    def on_sample(_: Any) -> None:
        try:
            asyncio.get_running_loop()
            off_loop.append(False)
        except RuntimeError:
            off_loop.append(True)

    d = source.pipe(ops.sample(0.05)).subscribe(on_sample, scheduler=TimeoutScheduler.singleton())
    for _ in range(100):
        if off_loop:
            break
        await asyncio.sleep(0.05)
    d.dispose()
    assert off_loop and all(off_loop)


# -- g. custom handlers and raw frames -------------------------------------------


async def test_handle_message_by_inheritance_still_works(sim: Simulator, collect: Any) -> None:
    seen: list[Any] = []

    class MyBinance(rxpro.exchanges.binance):  # type: ignore[name-defined,misc]
        def handle_message(self, client: Any, message: Any) -> None:
            seen.append(message)
            super().handle_message(client, message)

    ex = sim.attach(MyBinance())
    try:
        trades = collect(rxpro.trades(ex, "BTC/USDT"))
        await trades.count(10)
        assert any(isinstance(m, dict) and m.get("e") == "trade" for m in seen)
    finally:
        await ex.close()


async def test_handle_message_by_replacement_still_works_and_raw_frames_are_observable(
    binance: Any, collect: Any
) -> None:
    seen: list[Any] = []
    original = binance.handle_message

    def handler(client: Any, message: Any) -> None:
        seen.append(message)
        original(client, message)

    binance.handle_message = handler
    raw = collect(binance.rx.messages())
    trades = collect(rxpro.trades(binance, "BTC/USDT"))
    await trades.count(10)
    await raw.count(10)
    assert seen
    ids = {t["id"] for t in trades.items}
    assert any(isinstance(m, dict) and str(m.get("t")) in ids for m in raw.items)
