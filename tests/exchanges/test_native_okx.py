"""OKX native handlers (exchanges/_okx_native.py) against ccxt.pro's okx, frame for frame.

Recorded frames: the bundled cryptofeed master recording (2022, ``OKX.ws.1.0``: trades,
books without seqId, tickers, subscribe answers), the frames the simulator derives from it
(``rxpro.testing._okx``: books with a seqId chain, books5, bbo-tbt, candles of 7 intervals),
and the cryptofeed v3 conversion read in place from ../shared/data (AGPL, skipped when
absent).  The recording is thin for tickers (28 frames) and trades (74), and holds no
sequence gap: hypothesis adds frames in OKX's documented format (ccxt's handler
docstrings) around the edges — contracts and inverse contracts, scientific notation,
zeros, empty strings, several entries per frame, unknown instruments, seqId gaps, books
nobody watches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rxpro
from rxpro._recorded import read_rest_log
from rxpro._replay_formats import load_recording
from rxpro.exchanges import _native
from rxpro.testing import data_path
from rxpro.testing._okx import load_okx_recording

from ._native_diff import Differential, replay_emissions

pytestmark = pytest.mark.timeout(300)

V3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "cryptofeed" / "v3" / "sample_data"
URL = "wss://ws.okx.com:8443/ws/v5/public"
#: ccxt's parsing steps the natives replace: a call into one means ccxt parsed the frame
FALLBACK_STEPS = ("handle_error_message", "parse_trade", "parse_ticker", "parse_ws_bid_ask",
                  "handle_order_book_message", "parse_order_book", "parse_ohlcv")
BOOK_CHANNELS = ("books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt")
#: the recorded instruments (cryptofeed recorded BTC-USD-220527 and UNI-USD-SWAP as BTC-USD-22K27 / UNI-USD-PERP
#: in its own configuration; the frames carry OKX's ids)
INSTRUMENTS = {"BTC-USDT": "BTC/USDT", "UNI-USD-SWAP": "UNI/USD:UNI", "BTC-USD-220527": "BTC/USD:BTC-220527"}


def markets() -> list[dict[str, Any]]:
    """ccxt's own parse of the recorded instruments answers (``OKX.0``: spot, swap, futures)."""
    parser = ccxt.okx()
    parsed: list[dict[str, Any]] = []
    for record in read_rest_log(data_path("OKX.0")):
        parsed += parser.parse_markets(orjson.loads(record.body)["data"])
    return parsed


def channel_of(message: Any) -> str:
    if not isinstance(message, dict):
        return "text"
    arg = message.get("arg") if isinstance(message.get("arg"), dict) else {}
    channel = str(arg.get("channel"))
    if "event" in message:
        return f"{channel}(event)"
    if channel.startswith("candle"):
        return "candles"
    return channel


def subscriptions() -> dict[str, Any]:
    """What watch_order_book leaves in the connection's subscriptions for every recorded book channel."""
    return {f"{channel}:{symbol}": True for channel in BOOK_CHANNELS for symbol in INSTRUMENTS.values()}


def exchanges(config: dict[str, Any] | None = None) -> tuple[Any, Any]:
    reference = ccxt.pro.okx(dict(config or {}))
    native = rxpro.okx(dict(config or {}))
    reference.set_markets(markets())
    native.set_markets(markets())
    return reference, native


def close(*exchanges: Any) -> None:
    async def closing() -> None:
        for exchange in exchanges:
            await exchange.close()
    asyncio.run(closing())


def differential(config: dict[str, Any] | None = None, subscribed: dict[str, Any] | None = None) -> Differential:
    reference, native = exchanges(config)
    return Differential(reference, native, subscriptions() if subscribed is None else subscribed,
                        FALLBACK_STEPS, channel_of)


def recorded_frames() -> Iterator[tuple[str, str]]:
    """The master recording's received frames, as recorded."""
    recording = load_recording(data_path("OKX.ws.1.0"))
    for frame in recording.frames:
        assert frame.text is not None
        yield URL, frame.text


def derived_frames() -> Iterator[tuple[str, str]]:
    """The simulator's frames from the same recording: seqId chains, books5, bbo-tbt, candles."""
    for frame in load_okx_recording().frames:
        yield URL, frame.text


NATIVE_CHANNELS = {"trades", "tickers", "books", "books5", "bbo-tbt", "candles"}


def check_all_native(diff: Differential) -> None:
    """Every frame of a native channel was taken by the native handler (none went to ccxt's parser)."""
    fell_back = {channel: n for channel, n in diff.fallbacks.items() if channel in NATIVE_CHANNELS}
    assert fell_back == {}, (fell_back, dict(diff.frames))


# -- recorded frames -----------------------------------------------------------------------------


def test_recorded_frames_parse_as_ccxt_parses_them() -> None:
    diff = differential()
    try:
        diff.feed_all(recorded_frames())
        assert diff.frames["trades"] == 74 and diff.frames["tickers"] == 28 and diff.frames["books"] == 290
        check_all_native(diff)
        assert diff.native.orderbooks["BTC/USDT"]["bids"], "the recorded books were built"
    finally:
        close(diff.reference, diff.native)


@pytest.mark.parametrize("channels", [("books",), ("books5",), ("bbo-tbt",), ("trades", "tickers", "candles")])
def test_derived_frames_parse_as_ccxt_parses_them(channels: tuple[str, ...]) -> None:
    # one channel family at a time: ccxt keeps one book per symbol, which books5/bbo-tbt would reset
    diff = differential()
    try:
        diff.feed_all((url, text) for url, text in derived_frames() if channel_of(orjson.loads(text)) in channels)
        check_all_native(diff)
        assert diff.outcomes["reject"] == 0
        if channels == ("books",):
            assert diff.frames["books"] == 290
            assert diff.native.orderbooks["BTC/USDT"]["nonce"] is not None, "the seqId chain was followed"
        elif channels == ("trades", "tickers", "candles"):
            assert diff.frames["candles"] == 531  # every trade, in 7 intervals, and the closes
        else:
            assert diff.frames[channels[0]] == 290
    finally:
        close(diff.reference, diff.native)


def test_derived_frames_interleaved() -> None:
    # all channels as the simulator sends them: books5/bbo-tbt reset the book books keeps, and the
    # next books update finds a nonce gap (ccxt's one book per symbol): rejected alike
    diff = differential()
    try:
        diff.feed_all(derived_frames())
        check_all_native(diff)
        assert diff.outcomes["reject"] > 0
    finally:
        close(diff.reference, diff.native)


def test_derived_frames_when_nobody_watches_the_books() -> None:
    # books5 / bbo-tbt reset a book only for watch_order_book's subscription; a snapshot nobody
    # watches is parsed and dropped, an update without a book is ignored
    diff = differential(subscribed={})
    try:
        diff.feed_all(derived_frames())
        check_all_native(diff)
    finally:
        close(diff.reference, diff.native)


def test_cryptofeed_v3_recording_parses_as_ccxt_parses_it() -> None:
    path = V3 / "OKX.jsonl.zst"
    if not path.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, read in place, never copied) is not at {V3}")
    recording = load_recording(path)
    diff = differential()
    try:
        diff.feed_all((recording.connections.get(frame.conn, URL), frame.text) for frame in recording.frames
                      if frame.text is not None)
        assert diff.frames["books"] == 290 and diff.frames["trades"] == 74
        check_all_native(diff)
    finally:
        close(diff.reference, diff.native)


# -- hypothesis: OKX's documented format, around the edges ----------------------------------------

DECIMALS = st.one_of(
    st.decimals(min_value=0, max_value=10 ** 7, places=8, allow_nan=False).map(str),
    st.integers(0, 10 ** 9).map(str),
    st.sampled_from(["0", "0.0", "1e-8", "2.5E3", "1e5", "0.00000001", "31684.5", "100"]),
)
OPTIONAL_DECIMALS = st.one_of(DECIMALS, st.sampled_from(["", None]))
TIMES = st.integers(1_500_000_000_000, 1_900_000_000_000).map(str)
#: spot, linear and inverse swaps and futures (contract sizes 0.01 to 100)
#: and one instrument that is not loaded (ccxt's parser takes it)
INSTRUMENT = st.sampled_from(sorted(INSTRUMENTS) + ["BTC-USDT-SWAP", "ETH-USD-SWAP", "BTC-USDT-220527",
                                                    "UNI-USDT-SWAP", "NOPE-USDT"])


@st.composite
def trades_frames(draw: st.DrawFn) -> dict[str, Any]:
    inst_id = draw(INSTRUMENT)
    trades = draw(st.lists(st.fixed_dictionaries({
        "instId": st.just(inst_id), "tradeId": st.integers(1, 10 ** 12).map(str), "px": DECIMALS,
        "sz": DECIMALS, "side": st.sampled_from(["buy", "sell"]), "ts": TIMES,
    }, optional={"source": st.just("0"), "count": st.just("3")}), min_size=1, max_size=4))
    return {"arg": {"channel": draw(st.sampled_from(["trades", "trades-all"])), "instId": inst_id}, "data": trades}


@st.composite
def tickers_frames(draw: st.DrawFn) -> dict[str, Any]:
    inst_id = draw(INSTRUMENT)
    inst_type = "SWAP" if inst_id.endswith("-SWAP") else "FUTURES" if inst_id[-1].isdigit() else "SPOT"
    fields = {name: OPTIONAL_DECIMALS for name in ("last", "lastSz", "askPx", "askSz", "bidPx", "bidSz", "open24h",
                                                   "high24h", "low24h", "sodUtc0", "sodUtc8", "volCcy24h", "vol24h")}
    entry = draw(st.fixed_dictionaries({"instType": st.just(inst_type), "instId": st.just(inst_id), "ts": TIMES},
                                       optional=fields))
    return {"arg": {"channel": "tickers", "instId": inst_id}, "data": [entry]}


LEVEL = st.tuples(DECIMALS, DECIMALS, st.just("0"), st.integers(0, 40).map(str)).map(list)


@st.composite
def book_frames(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A snapshot and updates of one book channel, seqIds chained — or not."""
    inst_id = draw(INSTRUMENT)
    channel = draw(st.sampled_from(["books", "books-l2-tbt", "books50-l2-tbt"]))
    seq = draw(st.integers(1, 10 ** 9))
    frames = [{"arg": {"channel": channel, "instId": inst_id}, "action": "snapshot", "data": [{
        "asks": draw(st.lists(LEVEL, max_size=8)), "bids": draw(st.lists(LEVEL, max_size=8)),
        "ts": draw(TIMES), "checksum": 0, "prevSeqId": -1, "seqId": seq}]}]
    for _ in range(draw(st.integers(0, 5))):
        prev = draw(st.sampled_from([seq, seq, seq, seq - 1, -1]))
        seq += draw(st.integers(0, 3))
        entry: dict[str, Any] = {"asks": draw(st.lists(LEVEL, max_size=4)), "bids": draw(st.lists(LEVEL, max_size=4)),
                                 "ts": draw(TIMES), "checksum": 0, "prevSeqId": prev, "seqId": seq}
        if draw(st.booleans()):
            del entry["prevSeqId"], entry["seqId"]  # as OKX sent books in 2022
        frames.append({"arg": {"channel": channel, "instId": inst_id}, "action": "update", "data": [entry]})
    return frames


@st.composite
def top_frames(draw: st.DrawFn) -> dict[str, Any]:
    inst_id = draw(INSTRUMENT)
    channel = draw(st.sampled_from(["books5", "bbo-tbt"]))
    depth = 5 if channel == "books5" else 1
    return {"arg": {"channel": channel, "instId": inst_id}, "data": [{
        "asks": draw(st.lists(LEVEL, max_size=depth)), "bids": draw(st.lists(LEVEL, max_size=depth)),
        "instId": inst_id, "ts": draw(TIMES)}]}


@st.composite
def candle_frames(draw: st.DrawFn) -> dict[str, Any]:
    inst_id = draw(INSTRUMENT)
    interval = draw(st.sampled_from(["1m", "3m", "1H", "1Dutc", "7m"]))  # 7m is no ccxt timeframe
    row = [draw(TIMES), draw(DECIMALS), draw(DECIMALS), draw(DECIMALS), draw(DECIMALS), draw(DECIMALS),
           draw(DECIMALS), draw(DECIMALS), draw(st.sampled_from(["0", "1"]))]
    return {"arg": {"channel": f"candle{interval}", "instId": inst_id}, "data": [row]}


FRAMES = st.one_of(trades_frames(), tickers_frames(), book_frames(), top_frames(), candle_frames())


@pytest.fixture(scope="module")
def shared() -> Iterator[Differential]:
    """One pair of exchanges for all hypothesis examples (ccxt's constructor is slow): caches reset per example."""
    diff = differential()
    yield diff
    close(diff.reference, diff.native)


def reset(diff: Differential) -> None:
    for exchange in (diff.reference, diff.native):
        exchange.trades = {}
        exchange.orderbooks = {}
        exchange.tickers = {}
        exchange.bidsasks = {}
        exchange.ohlcvs = {}
    diff.clients.clear()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(FRAMES, min_size=1, max_size=6), watched=st.booleans())
def test_generated_frames_parse_as_ccxt_parses_them(shared: Differential, frames: list[Any], watched: bool) -> None:
    reset(shared)
    shared.subscriptions = subscriptions() if watched else {}
    for frame in frames:
        for message in frame if isinstance(frame, list) else [frame]:
            shared.feed(orjson.dumps(message), URL)
    shared.compare_caches()


def test_an_unknown_instrument_goes_to_ccxt() -> None:
    diff = differential()
    try:
        frame = {"arg": {"channel": "trades", "instId": "NOPE-USDT"}, "data": [
            {"instId": "NOPE-USDT", "tradeId": "1", "px": "0.1", "sz": "5", "side": "buy", "ts": "1652459225464"}]}
        diff.feed(orjson.dumps(frame), URL)
        assert diff.fallbacks["trades"] == 1
    finally:
        close(diff.reference, diff.native)


def test_a_private_fill_goes_to_ccxt() -> None:
    diff = differential()
    try:
        frame = {"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [
            {"instId": "BTC-USDT", "tradeId": "1", "fillPx": "30000", "fillSz": "0.1", "side": "buy",
             "ts": "1652459225464", "fee": "-0.01", "feeCcy": "USDT", "execType": "M"}]}
        diff.feed(orjson.dumps(frame), URL)
        assert diff.fallbacks["trades"] == 1
    finally:
        close(diff.reference, diff.native)


def test_a_sequence_gap_rejects_and_drops_the_book_as_ccxt_does() -> None:
    diff = differential()
    try:
        snapshot = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot", "data": [
            {"asks": [["30001", "1", "0", "1"]], "bids": [["30000", "2", "0", "1"]], "ts": "1652459225464",
             "checksum": 0, "prevSeqId": -1, "seqId": 10}]}
        gap = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [
            {"asks": [], "bids": [["29999", "1", "0", "1"]], "ts": "1652459225564", "checksum": 0,
             "prevSeqId": 9, "seqId": 11}]}
        diff.feed(orjson.dumps(snapshot), URL)
        events = diff.feed(orjson.dumps(gap), URL)
        assert [event[0] for event in events] == ["reject"]
        assert events[0][2][1] == "InvalidNonce"
        assert "BTC/USDT" not in diff.native.orderbooks
        assert diff.clients[URL][1].subscriptions["books:BTC/USDT"] == "resync"
        assert diff.fallbacks == {}
    finally:
        close(diff.reference, diff.native)


# -- when the natives run --------------------------------------------------------------------------


def test_natives_run_only_on_the_checked_ccxt(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    assert ccxt.__version__ in _native.CHECKED_CCXT
    on = rxpro.okx({})
    assert on.rx_native and on.rx_native_plain
    monkeypatch.setattr(ccxt, "__version__", "0.0.1")
    monkeypatch.setattr(_native, "_told", False)
    with caplog.at_level(logging.WARNING, logger="rxpro"):
        off = rxpro.okx({})
        again = rxpro.okx({})
    assert not off.rx_native and not again.rx_native
    assert len([r for r in caplog.records if "native parsers were checked against" in r.getMessage()]) == 1
    off.set_markets(markets())
    counted: list[str] = []
    off.parse_trade = lambda trade, market=None: counted.append("ccxt") or ccxt.pro.okx.parse_trade(off, trade, market)
    frame = {"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [
        {"instId": "BTC-USDT", "tradeId": "1", "px": "30000", "sz": "0.1", "side": "buy", "ts": "1652459225464"}]}
    from ._native_diff import RecordingClient
    off.handle_message(RecordingClient(URL), frame)
    assert counted == ["ccxt"], "with natives off, ccxt's parser parses"
    close(on, off, again)


def test_natives_off_by_config() -> None:
    ex = rxpro.okx({"rxpro": {"native": False}})
    assert not ex.rx_native
    close(ex)


def test_a_user_override_of_a_ccxt_step_turns_the_natives_off_for_that_class() -> None:
    class MyOkx(rxpro.exchange_class("okx")):  # type: ignore[misc]
        def parse_trade(self, trade: Any, market: Any = None) -> Any:
            parsed = super().parse_trade(trade, market)
            parsed["mine"] = True
            return parsed

    ex = MyOkx({})
    try:
        assert not ex.rx_native_plain
        ex.set_markets(markets())
        from ._native_diff import RecordingClient
        client = RecordingClient(URL)
        ex.handle_message(client, {"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [
            {"instId": "BTC-USDT", "tradeId": "1", "px": "30000", "sz": "0.1", "side": "buy", "ts": "1652459225464"}]})
        assert ex.trades["BTC/USDT"][-1]["mine"] is True
    finally:
        close(ex)


async def test_observables_emit_the_same_with_the_natives_on_and_off() -> None:
    # the whole path (replayed socket, ccxt's client, handler, hub, Observable) over the bundled recording
    streams = [(kind, symbol, argument) for symbol in INSTRUMENTS.values()
               for kind, argument in (("trades", None), ("book", 10), ("ticker", None))]
    on = await replay_emissions(data_path("OKX.ws.1.0"), True, streams)
    off = await replay_emissions(data_path("OKX.ws.1.0"), False, streams)
    assert on == off
    assert all(on[key] for key in on), {key: len(items) for key, items in on.items()}
