"""rxpro.record against the offline simulator, then rxpro.replay of what it wrote."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import ccxt
import orjson
import pytest

import rxpro
from rxpro.testing import Simulator, SimulatorConfig

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

API_KEY = "k3yK3YkeyAPIabcdef0123456789"
SECRET = "s3cr3tS3CR3Tsecretxyz9876543210"


def lines(path: str | Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


async def _record(tmp_path: Path, **kwargs: Any) -> rxpro.RecordSummary:
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        return await rxpro.record(
            "binance", ["BTC/USDT"], ("trades", "orderbook", "ticker"), tmp_path / "session.jsonl.gz",
            config={"apiKey": API_KEY, "secret": SECRET}, prepare=sim.attach, **kwargs)


async def test_record_then_replay_gives_the_recorded_values(tmp_path: Path) -> None:
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        recorder = rxpro.Recorder("binance", ["BTC/USDT"], ("trades", "orderbook:10"), tmp_path / "s.jsonl.gz",
                                  config={"apiKey": API_KEY, "secret": SECRET}, prepare=sim.attach)
        async with recorder:
            live_trades = sink(rxpro.trades(recorder.exchange, "BTC/USDT"))
            live_book = sink(rxpro.order_book(recorder.exchange, "BTC/USDT", 10))
            while len(live_trades.items) < 200 or len(live_book.items) < 20:
                await asyncio.sleep(0.05)
        summary = recorder.summary()
    assert summary.messages > 200 and summary.http >= 2 and summary.sent >= 2
    assert summary.span_seconds > 0 and summary.bytes > 0 and summary.errors == ()
    records = lines(summary.files[0])
    assert records[0]["t"] == "header" and records[0]["format"] == "rxpro/1" and records[0]["exchange"] == "binance"
    assert {r["t"] for r in records} == {"header", "http", "connect", "send", "recv"}

    ex = rxpro.replay(summary.files)
    try:
        replayed_trades = sink(rxpro.trades(ex, "BTC/USDT"))
        replayed_book = sink(rxpro.order_book(ex, "BTC/USDT", 10))
        await ex.replay.run()
    finally:
        await ex.close()
    assert replayed_trades.errors == replayed_book.errors == []
    # the recorder stopped a little after the live subscribers saw their last value
    n = len(live_trades.items)
    assert replayed_trades.items[:n] == live_trades.items
    m = len(live_book.items)
    assert replayed_book.items[:m] == live_book.items


async def test_no_credentials_reach_the_file(tmp_path: Path) -> None:
    summary = await _record(tmp_path, duration=0.5)
    raw = b"".join(gzip.open(f, "rb").read() for f in summary.files)
    assert API_KEY.encode() not in raw and SECRET.encode() not in raw
    assert b"signature" not in raw.lower().replace(b'\\"signature\\"', b"")


def test_scrubbing() -> None:
    from rxpro._scrub import scrub_sent, scrub_url

    assert scrub_url("https://x.io/api/v3/account?timestamp=1&recvWindow=5&signature=abc&symbol=BTCUSDT") == \
        "https://x.io/api/v3/account?symbol=BTCUSDT"
    assert scrub_url("wss://ws.kucoin.com/endpoint?token=SECRET&connectId=1") == "wss://ws.kucoin.com/endpoint?connectId=1"
    sent = scrub_sent('{"op":"login","args":[{"apiKey":"K","passphrase":"P","timestamp":"1","sign":"S"}]}')
    assert '"K"' not in sent and '"P"' not in sent and '"sign":"REDACTED"' in sent


async def _record_parts(path: Path, parts: int, **rotation: Any) -> rxpro.RecordSummary:
    """Record until the file has rotated into ``parts`` parts (bounded wait, not a fixed duration)."""
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        recorder = rxpro.Recorder("binance", ["BTC/USDT"], ("trades", "orderbook", "ticker"), path,
                                  prepare=sim.attach, **rotation)
        async with recorder:
            async with asyncio.timeout(30):
                while len(recorder.summary().files) < parts:
                    await asyncio.sleep(0.05)
    return recorder.summary()


async def test_rotation_by_size_and_time_and_replay_of_all_parts(tmp_path: Path) -> None:
    summary = await _record_parts(tmp_path / "session.jsonl.gz", 2, rotate_bytes=20_000)
    assert len(summary.files) >= 2
    assert Path(summary.files[1]).name == "session.1.jsonl.gz"
    for path in summary.files[:-1]:  # each finished part reached the size before it rotated
        assert Path(path).stat().st_size >= 20_000
    for path in summary.files:
        first = lines(path)
        assert first[0]["t"] == "header"
        assert any(r["t"] == "http" for r in first)  # markets repeated: every part replays alone
    ex = rxpro.replay(summary.files)
    try:
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        await ex.replay.run()
        assert trades.items and trades.errors == []
    finally:
        await ex.close()
    started = time.monotonic()
    timed = await _record_parts(tmp_path / "timed" / "session.jsonl.gz", 2, rotate_seconds=1.0)
    assert len(timed.files) >= 2 and time.monotonic() - started >= 1.0
    first_part = lines(timed.files[0])
    recv = [r for r in first_part if r["t"] == "recv"]
    assert recv and max(r["ts_ns"] for r in recv) - min(r["ts_ns"] for r in recv) <= 1.5e9  # about a second each


async def test_a_crash_loses_at_most_the_last_second(tmp_path: Path) -> None:
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        recorder = rxpro.Recorder("binance", ["BTC/USDT"], ("trades",), tmp_path / "crash.jsonl.gz", prepare=sim.attach)
        await recorder.start()
        async with asyncio.timeout(30):
            while not recorder.messages:
                await asyncio.sleep(0.01)
        await asyncio.sleep(1.2)  # a flush (every second) happened since the first message
        # copy the file as a crash would leave it: no gzip trailer, only what was flushed
        shutil.copyfile(recorder.path, tmp_path / "copy.jsonl.gz")
        written = recorder.messages
        await recorder.close()
    ex = rxpro.replay(tmp_path / "copy.jsonl.gz")
    try:
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        await ex.replay.run()
    finally:
        await ex.close()
    assert written > 0
    assert ex.replay.recording.frames, "flushed frames must be readable from a file without a gzip trailer"


async def test_bad_stream_name_is_rejected_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(rxpro.InvalidArgument, match="unknown stream 'candles'"):
        rxpro.Recorder("binance", ["BTC/USDT"], ("candles",), tmp_path / "x.jsonl.gz")


@pytest.mark.parametrize("name", ["orderbook:0", "book:00", "orderbook:-5", "orderbook:ten"])
def test_a_bad_order_book_limit_is_rejected_naming_it(name: str) -> None:
    from rxpro._errors import InvalidArgument
    from rxpro._record import check_streams

    with pytest.raises(InvalidArgument, match=f"{name!r}.*>= 1"):
        check_streams([name])
    check_streams(["orderbook:1", "orderbook"])


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_record_without_a_network_fails_with_the_connection_error_and_leaves_no_file(tmp_path: Path) -> None:
    # issue 10 item 4: it used to return RecordSummary(messages=0, errors=()) and leave a header-only file
    port = _closed_port()
    async with Simulator() as sim:
        venue = sim.venues["binance"]

    def nowhere(exchange: Any) -> None:
        venue.attach(exchange, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")

    path = tmp_path / "offline.jsonl.gz"
    with pytest.raises(ccxt.NetworkError):
        await asyncio.wait_for(rxpro.record("binance", ["BTC/USDT"], ("trades",), path, duration=2, prepare=nowhere),
                               30)
    assert list(tmp_path.iterdir()) == []


async def test_record_whose_websocket_never_connects_fails_and_leaves_no_file(tmp_path: Path) -> None:
    # REST answers (the markets load), the WebSocket endpoint refuses every connection
    port = _closed_port()
    path = tmp_path / "no-ws.jsonl.gz"
    async with Simulator() as sim:
        def rest_only(exchange: Any) -> None:
            sim.venues["binance"].attach(exchange, sim.url, f"ws://127.0.0.1:{port}")

        recorder = rxpro.Recorder("binance", ["BTC/USDT"], ("trades",), path, prepare=rest_only)
        with pytest.raises(ccxt.NetworkError):
            async with recorder:
                await asyncio.sleep(2)
    assert list(tmp_path.iterdir()) == []
    summary = recorder.summary()
    assert summary.messages == 0 and summary.files == ()
    assert summary.errors and summary.errors[-1].startswith("connection: ")


@pytest.mark.parametrize(("channel", "event"), [("ticker", "24hrTicker"), ("miniTicker", "24hrMiniTicker")])
async def test_a_replay_subscribes_the_ticker_channel_that_was_recorded(channel: str, event: str,
                                                                        tmp_path: Path) -> None:
    # ccxt's default Binance channel is miniTicker; a recording of the other must replay to a plain watch_ticker
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        summary = await rxpro.record("binance", ["BTC/USDT"], ("ticker",), tmp_path / f"{channel}.jsonl.gz",
                                     config={"options": {"watchTickers": {"name": channel}}}, duration=1.5,
                                     prepare=sim.attach)
    ex = rxpro.replay(summary.files)
    try:
        ticker = await asyncio.wait_for(ex.watch_ticker("BTC/USDT"), 10)
        assert ticker["info"]["e"] == event
        assert (ticker["bid"] is not None) == (channel == "ticker")
    finally:
        await ex.close()


#: venues whose replay of other programs' recordings routes by topic: bundled file, streams
OWN_OF_TOPIC_VENUES = {
    "bitstamp": ("cryptofeed/BITSTAMP.ws.1.0", ("trades", "orderbook")),
    "bitfinex": ("cryptofeed/BITFINEX.ws.11.0", ("trades", "ticker", "orderbook")),
    "deribit": ("cryptofeed/DERIBIT.ws.1.0", ("orderbook",)),
    "kucoin": ("cryptofeed/KUCOIN.ws.1.0", ("ticker",)),
}


async def _played(ex: Any, symbols: list[str], streams: tuple[str, ...]) -> dict[tuple[str, str], list[Any]]:
    makers = {"trades": rxpro.trades, "orderbook": rxpro.order_book, "ticker": rxpro.ticker}
    sinks = {(stream, symbol): sink(makers[stream](ex, symbol)) for symbol in symbols for stream in streams}
    await asyncio.sleep(0)
    await asyncio.wait_for(ex.replay.run(), 30)
    assert all(s.errors == [] for s in sinks.values()), {k: s.errors for k, s in sinks.items() if s.errors}
    return {key: s.items for key, s in sinks.items()}


@pytest.mark.parametrize("exchange_id", sorted(OWN_OF_TOPIC_VENUES))
async def test_our_recording_of_a_topic_routed_venue_replays_what_was_recorded(exchange_id: str,
                                                                                tmp_path: Path) -> None:
    """Bitstamp, Bitfinex, Deribit and KuCoin replays fed a connection only the topics the protocol
    saw it subscribe, and for rxpro's own recordings it never saw them (the recorded answers are
    fed instead of its own): every frame was skipped, every stream silent.  Recorded here from a
    replay of the bundled file (with the options that replay ran with); replayed, each stream gives
    what the first replay gave."""
    from rxpro._replay_protocols import merge_under  # plain dicts, as ccxt reads its options
    from rxpro.exchanges._table import venue_for
    from rxpro.testing import data_path

    name, streams = OWN_OF_TOPIC_VENUES[exchange_id]
    source = str(data_path(name))
    first = rxpro.replay(source, autostart=False)
    try:
        await first.load_markets()
        symbols = first.replay.recorded_symbols()[:2]
        expected = await _played(first, symbols, streams)
    finally:
        await first.close()
    summary = await rxpro.record(exchange_id, symbols, streams=streams, path=tmp_path / "own.jsonl.gz", duration=2,
                                 config={"replay": source})
    offline = venue_for(exchange_id).offline_options or {}
    options = {"has": {"fetchCurrencies": False}, "options": merge_under({}, offline)}
    again = rxpro.replay(summary.files, autostart=False, config=options)
    try:
        assert again.replay.recording.source == "rxpro/1"
        got = await _played(again, symbols, streams)
    finally:
        await again.close()
    assert any(expected.values())
    for key, values in expected.items():
        assert [_comparable(v) for v in got[key]] == [_comparable(v) for v in values], key


def _comparable(value: Any) -> Any:
    """A value as the exchange sent it: books as their levels and nonce, others as they are."""
    if isinstance(value, dict) and "bids" in value:
        return (value["nonce"], [list(level) for level in value["bids"]], [list(level) for level in value["asks"]])
    return value


@pytest.mark.parametrize("venue, books", [("binance", ("orderbook:5",)), ("binance", ("orderbook:5", "orderbook:20")),
                                          ("okx", ("orderbook:5", "orderbook:400"))])
async def test_a_book_recorded_with_a_limit_refuses_a_deeper_one_on_subscribe(venue: str, books: tuple[str, ...],
                                                                              tmp_path: Path) -> None:
    # review: the whole book was asked of a file holding a 5-level snapshot: ReplayMissingResponse once
    # the replay ran, instead of StreamNotRecorded on subscribe; with 5 and 20 recorded (one Binance
    # depth stream, one snapshot: limit 5's), 10 or 20 passed and failed late; on OKX the header names
    # orderbook:400 (channel books) that rxpro refused beside books5: the whole book passed, got nothing
    async with Simulator(SimulatorConfig(speed=20.0)) as sim:
        recorder = rxpro.Recorder(venue, ["BTC/USDT"], ("trades", *books), tmp_path / "b.jsonl.gz",
                                  prepare=sim.attach)
        await recorder.start()
        await asyncio.sleep(1.5)
        await recorder.close()
    ex = rxpro.replay(tmp_path / "b.jsonl.gz")
    try:
        assert ex.replay.recorded_book_limit() == 5
        whole, deeper = sink(rxpro.order_book(ex, "BTC/USDT")), sink(rxpro.order_book(ex, "BTC/USDT", 10))
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        while not (whole.errors and deeper.errors):
            await asyncio.sleep(0.01)  # refused (the books of OKX's other channel gone before books5 asks)
        books = sink(rxpro.order_book(ex, "BTC/USDT", 5))
        await ex.replay.run()
    finally:
        await ex.close()
    for refused in (whole, deeper):
        [error] = refused.errors
        assert isinstance(error, rxpro.StreamNotRecorded) and "orderbook:5" in str(error) and not refused.items
    assert books.items and not books.errors and all(len(book["bids"]) <= 5 for book in books.items)
    assert trades.items and not trades.errors
