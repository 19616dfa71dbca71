"""cryptofeed v3 (*.jsonl.zst, AGPL) files are read in place from ../shared/data, never copied."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import rxpro

from .conftest import sink

pytestmark = pytest.mark.timeout(60)

V3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "cryptofeed" / "v3" / "sample_data"


async def test_okx_v3_file_replays_in_place() -> None:
    path = V3 / "OKX.jsonl.zst"
    if not path.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, not bundled) is not at {V3}")
    pytest.importorskip("zstandard", reason="reading .zst needs the zstandard package (extra 'zst')")
    ex = rxpro.replay(path, autostart=False, config={"options": {"fetchMarkets": {"types": ["spot", "swap", "future"]}}})
    try:
        assert ex.id == "okx"
        trades = sink(rxpro.trades(ex, "BTC/USDT"))
        await asyncio.sleep(0)
        await ex.replay.run()
        assert trades.items and trades.errors == []
    finally:
        await ex.close()


def _v3(name: str) -> Path:
    path = V3 / name
    if not path.is_file():
        pytest.skip(f"cryptofeed v3 data (AGPL, not bundled) is not at {V3}")
    pytest.importorskip("zstandard", reason="reading .zst needs the zstandard package (extra 'zst')")
    return path


def _recorded(path: Path, stream: str) -> list[dict[str, object]]:
    """The ``data`` of every recorded frame of the combined stream ``stream``, read straight from the file."""
    import io

    import orjson
    import zstandard

    out = []
    with open(path, "rb") as raw:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
            record = orjson.loads(line)
            if record.get("t") == "recv":
                message = orjson.loads(record["data"])
                if message.get("stream") == stream:
                    out.append(message["data"])
    return out


async def test_binance_v3_streams_are_read_off_the_recorded_channels() -> None:
    """cryptofeed connects ``/stream?streams=sushiusdt@aggTrade/...``: its ``ticker`` is ``bookTicker``, trades ``aggTrade``.

    The replay names what the file holds (``bids_asks``, not ``ticker``: a ticker stream is
    refused, not left silent), and ccxt subscribes aggTrade: every recorded aggregate trade
    of the market comes out, in order.
    """
    path = _v3("BINANCE_FUTURES.jsonl.zst")
    ex = rxpro.replay(path, autostart=False)
    try:
        await ex.load_markets()
        assert ex.replay.recorded_streams == ("bids_asks", "trades", "orderbook", "ohlcv")
        assert ex.replay.recorded_timeframes() == ("1m",)
        trades = sink(rxpro.trades(ex, "SUSHI/USDT:USDT"))
        quotes = sink(rxpro.bids_asks(ex, ["SUSHI/USDT:USDT"]))
        ticker = sink(rxpro.ticker(ex, "SUSHI/USDT:USDT"))
        await asyncio.sleep(0)
        await ex.replay.run()
        assert [t["id"] for t in trades.items] == [str(d["a"]) for d in _recorded(path, "sushiusdt@aggTrade")]
        assert trades.errors == [] and quotes.errors == [] and quotes.items
        assert [type(e) for e in ticker.errors] == [rxpro.StreamNotRecorded] and "bids_asks" in str(ticker.errors[0])
    finally:
        await ex.close()


def test_binance_v3_streams_are_named_when_the_file_is_loaded() -> None:
    """Every reader of the recording sees the Binance names, not only a replay built from it."""
    from rxpro._replay_formats import load_recording

    recording = load_recording(_v3("BINANCE_FUTURES.jsonl.zst"))
    assert recording.exchange_id == "binanceusdm"
    assert sorted(recording.streams) == ["bids_asks", "ohlcv:1m", "orderbook", "trades"]


async def test_binance_us_v3_books_are_synced_from_the_recorded_snapshot() -> None:
    # binanceus is Binance's protocol: subscriptions acknowledged, so ccxt fetches the recorded snapshot and syncs
    path = _v3("BINANCE_US.jsonl.zst")
    ex = rxpro.replay(path, autostart=False)
    try:
        await ex.load_markets()
        books = sink(rxpro.order_book(ex, "COMP/USDT"))
        await asyncio.sleep(0)
        await ex.replay.run()
        diffs = _recorded(path, "compusdt@depth@100ms")
        snapshot_id = 113129219  # the recorded /api/v3/depth?symbol=COMPUSDT answer's lastUpdateId
        applied = [d for d in diffs if int(d["u"]) > snapshot_id]  # type: ignore[call-overload]
        assert books.errors == [] and len(applied) > 50
        # the snapshot's book once it is in (ccxt resolves it), then one book per later diff
        assert [b["nonce"] for b in books.items] == [snapshot_id] + [d["u"] for d in applied]
    finally:
        await ex.close()


def test_a_kraken_v1_recording_is_refused_saying_why() -> None:
    # ccxt reads Kraken's public streams over v2 only: the v1 frames would reach no stream
    path = _v3("KRAKEN.jsonl.zst")
    with pytest.raises(rxpro.ReplayFormatError, match=r"wss://ws\.kraken\.com, Kraken's WebSocket API v1.*/v2"):
        rxpro.replay(path)


def _recorded_messages(path: Path, product_id: str) -> list[dict[str, object]]:
    """Every recorded frame naming ``product_id`` (Kraken Futures' ``product_id``), read straight from the file."""
    import io

    import orjson
    import zstandard

    out = []
    with open(path, "rb") as raw:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
            record = orjson.loads(line)
            if record.get("t") == "recv":
                message = orjson.loads(record["data"])
                if isinstance(message, dict) and message.get("product_id") == product_id:
                    out.append(message)
    return out


async def test_kraken_futures_v3_trades_and_books_are_the_recorded_ones() -> None:
    """The 2021 instruments answer names its markets in lower case (``pi_xrpusd``), the frames in upper
    case: every frame was a frame_error and the streams never delivered.  cryptofeed's ``ticker`` is the
    ``ticker_lite`` feed, ccxt's best bid/ask: a ticker stream is refused naming it."""
    path = _v3("KRAKEN_FUTURES.jsonl.zst")
    ex = rxpro.replay(path, autostart=False)
    try:
        assert ex.id == "krakenfutures"
        await ex.load_markets()
        assert ex.replay.recorded_streams == ("bids_asks", "trades", "orderbook")
        events = sink(rxpro.connection_events(ex))
        trades = sink(rxpro.trades(ex, "XRP/USD:XRP"))
        books = sink(rxpro.order_book(ex, "XRP/USD:XRP"))
        quotes = sink(rxpro.bids_asks(ex, ["XRP/USD:XRP"]))
        ticker = sink(rxpro.ticker(ex, "XRP/USD:XRP"))
        await asyncio.sleep(0)
        await ex.replay.run()
        recorded = _recorded_messages(path, "PI_XRPUSD")
        # trades: the snapshot's, oldest first (it lists the newest first), then each live one
        expected: list[object] = []
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        for message in recorded:
            if message["feed"] == "trade_snapshot":
                expected += [t["uid"] for t in reversed(message["trades"])]  # type: ignore[attr-defined]
            elif message["feed"] == "trade":
                expected.append(message["uid"])
            elif message["feed"] == "book_snapshot":
                bids = {level["price"]: level["qty"] for level in message["bids"]}  # type: ignore[attr-defined]
                asks = {level["price"]: level["qty"] for level in message["asks"]}  # type: ignore[attr-defined]
            elif message["feed"] == "book":
                side = bids if message["side"] == "buy" else asks
                if message["qty"]:
                    side[message["price"]] = message["qty"]  # type: ignore[index]
                else:
                    side.pop(message["price"], None)  # type: ignore[arg-type]
        assert [t["id"] for t in trades.items] == expected and trades.errors == []
        last = books.items[-1]
        assert [list(level) for level in last["bids"]] == [[p, q] for p, q in sorted(bids.items(), reverse=True)]
        assert [list(level) for level in last["asks"]] == [[p, q] for p, q in sorted(asks.items())]
        assert quotes.items and quotes.errors == []
        assert [type(e) for e in ticker.errors] == [rxpro.StreamNotRecorded] and "bids_asks" in str(ticker.errors[0])
        assert not [e for e in events.items if e.kind == "frame_error"]
    finally:
        await ex.close()


def _recorded_upbit(path: Path, kind: str, code: str) -> list[dict[str, object]]:
    """Every recorded SIMPLE-format frame of ``kind`` (``ty``) for ``code`` (``cd``), read straight from the file."""
    import base64
    import io

    import orjson
    import zstandard

    out = []
    with open(path, "rb") as raw:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
            record = orjson.loads(line)
            if record.get("t") != "recv":
                continue
            message = orjson.loads(base64.b64decode(record["b64"]) if "b64" in record else record["data"])
            if isinstance(message, dict) and message.get("ty") == kind and message.get("cd") == code:
                out.append(message)
    return out


async def test_upbit_v3_simple_format_frames_reach_trades_and_books() -> None:
    """cryptofeed subscribed Upbit's SIMPLE format (``ty``, ``cd``, ``tp``...) and ``isOnlyRealtime``:
    ccxt passed over every frame, and every stream stayed silent.  Each recorded trade and book of
    KRW-LAMB now comes out, in order, with the recorded values."""
    path = _v3("UPBIT.jsonl.zst")
    ex = rxpro.replay(path, autostart=False)
    try:
        assert ex.id == "upbit"
        await ex.load_markets()
        events = sink(rxpro.connection_events(ex))
        trades = sink(rxpro.trades(ex, "LAMB/KRW"))
        books = sink(rxpro.order_book(ex, "LAMB/KRW"))
        await asyncio.sleep(0)
        await ex.replay.run()
        recorded_trades = _recorded_upbit(path, "trade", "KRW-LAMB")
        recorded_books = _recorded_upbit(path, "orderbook", "KRW-LAMB")
        assert len(recorded_trades) > 100 and len(recorded_books) > 50
        assert [(t["price"], t["amount"], t["side"], t["timestamp"]) for t in trades.items] == [
            (r["tp"], r["tv"], "buy" if r["ab"] == "BID" else "sell", r["tms"]) for r in recorded_trades]
        assert [([list(level) for level in b["bids"]], [list(level) for level in b["asks"]]) for b in books.items] == [
            (sorted(([u["bp"], u["bs"]] for u in r["obu"]), reverse=True),  # type: ignore[attr-defined]
             sorted([u["ap"], u["as"]] for u in r["obu"]))  # type: ignore[attr-defined]
            for r in recorded_books]
        assert trades.errors == [] and books.errors == []
        assert not [e for e in events.items if e.kind == "frame_error"]
    finally:
        await ex.close()


async def test_gemini_v3_perpetuals_are_the_recorded_symbols() -> None:
    """cryptofeed's header names the perpetuals it subscribed (``BTCUSDCPERP``) ``BTC-USDC``: the
    spot BTC/USDC passed for recorded and stayed silent, the perpetual was refused.  The symbols
    are now the subscribed market ids; the perpetual's book is the recorded one."""
    import io

    import orjson
    import zstandard

    path = _v3("GEMINI.jsonl.zst")
    ex = rxpro.replay(path, autostart=False)
    try:
        await ex.load_markets()
        symbols = ex.replay.recorded_symbols()
        assert "BTC/USDC:USDC" in symbols and "BTC/USDC" not in symbols
        perp = sink(rxpro.order_book(ex, "BTC/USDC:USDC"))
        spot = sink(rxpro.order_book(ex, "BTC/USDC"))
        await asyncio.sleep(0)
        await ex.replay.run()
        book: dict[str, dict[float, float]] = {"buy": {}, "sell": {}}
        with open(path, "rb") as raw:
            for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
                record = orjson.loads(line)
                message = orjson.loads(record["data"]) if record.get("t") == "recv" else None
                if isinstance(message, dict) and message.get("symbol") == "BTCUSDCPERP":
                    for side, price, size in message.get("changes", ()):
                        if float(size):
                            book[side][float(price)] = float(size)
                        else:
                            book[side].pop(float(price), None)
        last = perp.items[-1]
        assert [list(level) for level in last["bids"]] == [[p, q] for p, q in sorted(book["buy"].items(), reverse=True)]
        assert [list(level) for level in last["asks"]] == [[p, q] for p, q in sorted(book["sell"].items())]
        assert perp.errors == [] and [type(e) for e in spot.errors] == [rxpro.StreamNotRecorded]
    finally:
        await ex.close()


@pytest.mark.parametrize("name, exchange_id, asked", [
    ("PHEMEX.jsonl.zst", "phemex", "/public/products"),
    ("POLONIEX.jsonl.zst", "poloniex", "/v3/market/allInstruments"),
])
async def test_a_v3_sample_whose_answers_ccxt_no_longer_asks_for_says_which(name: str, exchange_id: str,
                                                                              asked: str) -> None:
    """These were 'the exchange is not recorded; pass exchange_id', which passing did not help."""
    ex = rxpro.replay(_v3(name), autostart=False)
    try:
        assert ex.id == exchange_id
        with pytest.raises(rxpro.ReplayMissingResponse, match=f"no recorded response for GET .*{asked}"):
            await ex.load_markets()
    finally:
        await ex.close()


async def test_an_upbit_book_subscribed_while_the_replay_plays_starts_from_the_next_book() -> None:
    """ccxt starts an Upbit book only from a SNAPSHOT; with only each market's first recorded book
    marked so, a book subscribed after that one had played (a paced replay passes over frames
    nobody subscribed) got a frame_error for every later frame and stayed silent."""
    ex = rxpro.replay(_v3("UPBIT.jsonl.zst"), speed=8.0, autostart=False)
    try:
        await ex.load_markets()
        events = sink(rxpro.connection_events(ex))
        playing = asyncio.ensure_future(ex.replay.run())
        await asyncio.sleep(1.0)  # past LAMB/KRW's first books (the recording spans 31 s: ~4 s at 8x)
        assert not playing.done()
        books = sink(rxpro.order_book(ex, "LAMB/KRW"))
        await asyncio.wait_for(playing, 30)
        assert books.items and books.errors == []
        assert not [e for e in events.items if e.kind == "frame_error"]
    finally:
        await ex.close()
