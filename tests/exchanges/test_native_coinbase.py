"""Coinbase Exchange native handlers (exchanges/_coinbase_native.py) against ccxt.pro's coinbaseexchange.

Recorded frames: the bundled cryptofeed master recording of the Coinbase Pro/Exchange feed
(2021-04-17, ``COINBASE.ws.28.0``: level2 snapshots and 9,719 l2updates, 107 tickers, 97
matches, last_match and subscription answers, 10 products).  The v3 ``COINBASE`` file is
Advanced Trade (ccxt ``coinbase``), another protocol, and is not used.  The recording is thin
for tickers and matches, and its 2021 tickers lack ``best_bid_size``/``best_ask_size``:
hypothesis adds frames in the documented format (ccxt's handler docstrings) — sizes, missing
fields, scientific notation, zeros, times with 1 to 9 fraction digits, unknown products,
updates before their snapshot, a signed (user) connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import ccxt
import ccxt.pro
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rxpro
from rxpro._replay_formats import load_recording
from rxpro.testing import data_path

from ._native_diff import Differential, replay_emissions

pytestmark = pytest.mark.timeout(300)

URL = "wss://ws-feed.pro.coinbase.com"
#: ccxt's parsing steps the natives replace: a call into one means ccxt parsed the frame
FALLBACK_STEPS = ("parse_ws_trade", "parse_ticker", "parse_order_book", "safe_market", "handle_order",
                  "handle_subscription_status", "handle_error_message")
PRODUCTS = ("SKL-USD", "SKL-BTC", "BAND-GBP", "NMR-EUR", "BAND-BTC", "YFI-BTC", "DASH-BTC", "NU-GBP", "CRV-EUR",
            "SKL-GBP")


def markets() -> list[dict[str, Any]]:
    """ccxt's own parse of the recorded products answer (``COINBASE.0``)."""
    parser = ccxt.coinbaseexchange()
    body = orjson.loads(load_recording(data_path("cryptofeed/COINBASE.0")).http[0].body)
    parser.publicGetProducts = lambda params=None: body
    return parser.fetch_markets()  # type: ignore[no-any-return]


def channel_of(message: Any) -> str:
    kind = message.get("type") if isinstance(message, dict) else None
    return {"l2update": "level2", "snapshot": "level2", "match": "matches"}.get(kind, str(kind))


def subscriptions(limit: int | None = None) -> dict[str, Any]:
    """What watch_order_book leaves in the connection's subscriptions for every recorded product."""
    return {f"level2:{product}": {"messageHash": f"level2:{product}", "marketId": product, "limit": limit}
            for product in PRODUCTS}


def close(*exchanges: Any) -> None:
    async def closing() -> None:
        for exchange in exchanges:
            await exchange.close()
    asyncio.run(closing())


def differential(config: dict[str, Any] | None = None, subscribed: dict[str, Any] | None = None) -> Differential:
    reference = ccxt.pro.coinbaseexchange(dict(config or {}))
    native = rxpro.coinbaseexchange(dict(config or {}))
    reference.set_markets(markets())
    native.set_markets(markets())
    return Differential(reference, native, subscriptions() if subscribed is None else subscribed,
                        FALLBACK_STEPS, channel_of)


def recorded_frames() -> Iterator[tuple[str, str]]:
    for frame in load_recording(data_path("cryptofeed/COINBASE.ws.28.0")).frames:
        assert frame.text is not None
        yield URL, frame.text


NATIVE_CHANNELS = {"level2", "ticker", "matches"}


def check_all_native(diff: Differential) -> None:
    fell_back = {channel: n for channel, n in diff.fallbacks.items() if channel in NATIVE_CHANNELS}
    assert fell_back == {}, (fell_back, dict(diff.frames))


@pytest.mark.parametrize("limit", [None, 25])
def test_recorded_frames_parse_as_ccxt_parses_them(limit: int | None) -> None:
    diff = differential(subscribed=subscriptions(limit))
    try:
        diff.feed_all(recorded_frames())
        assert diff.frames["level2"] == 9729 and diff.frames["ticker"] == 107 and diff.frames["matches"] == 97
        check_all_native(diff)
        assert len(diff.native.orderbooks) == 10
    finally:
        close(diff.reference, diff.native)


# -- hypothesis: the documented format, around the edges ------------------------------------------

DECIMALS = st.one_of(
    st.decimals(min_value=0, max_value=10 ** 6, places=8, allow_nan=False).map(str),
    st.sampled_from(["0", "0.00000000", "1e-8", "2.5E3", "9314.78", "0.00001305", "985"]),
)
OPTIONAL = st.one_of(DECIMALS, st.sampled_from(["", None]))
PRODUCT = st.sampled_from([*PRODUCTS, "BTC-USD"])  # BTC-USD was not loaded (the recording's 10 products were)


@st.composite
def times(draw: st.DrawFn) -> str:
    milliseconds = draw(st.integers(1_500_000_000_000, 1_900_000_000_000))
    fraction = str(draw(st.integers(0, 999_999_999))).zfill(9)[:draw(st.integers(1, 9))]
    return str(ccxt.Exchange.iso8601(milliseconds))[:19] + "." + fraction + "Z"


@st.composite
def matches(draw: st.DrawFn) -> dict[str, Any]:
    frame = {"type": "match", "trade_id": draw(st.integers(1, 10 ** 9)), "side": draw(st.sampled_from(["buy", "sell"])),
             "size": draw(DECIMALS), "price": draw(DECIMALS), "product_id": draw(PRODUCT),
             "sequence": draw(st.integers(1, 10 ** 11)), "time": draw(times())}
    if draw(st.booleans()):
        frame.update(maker_order_id="0f358725-2134-435e-be11-753912a326e0",
                     taker_order_id="252b7002-87a3-425c-ac73-f5b9e23f3caf")
    if draw(st.integers(0, 9)) == 0:
        frame["taker_fee_rate"] = "0.005"  # a user's fill: ccxt's parser
    return frame


@st.composite
def tickers(draw: st.DrawFn) -> dict[str, Any]:
    fields = {name: OPTIONAL for name in ("price", "open_24h", "volume_24h", "low_24h", "high_24h", "volume_30d",
                                          "best_bid", "best_bid_size", "best_ask", "best_ask_size", "last_size")}
    frame = draw(st.fixed_dictionaries({"type": st.just("ticker"), "sequence": st.integers(1, 10 ** 11),
                                        "product_id": PRODUCT}, optional={**fields, "time": times()}))
    return {key: value for key, value in frame.items() if value is not None}


LEVEL = st.tuples(DECIMALS, DECIMALS).map(list)


@st.composite
def books(draw: st.DrawFn) -> list[dict[str, Any]]:
    product = draw(PRODUCT)
    frames: list[dict[str, Any]] = []
    if draw(st.integers(0, 5)) > 0:
        frames.append({"type": "snapshot", "product_id": product, "bids": draw(st.lists(LEVEL, max_size=8)),
                       "asks": draw(st.lists(LEVEL, max_size=8))})
    for _ in range(draw(st.integers(0, 4))):
        changes = draw(st.lists(st.tuples(st.sampled_from(["buy", "sell"]), DECIMALS, DECIMALS).map(list),
                                min_size=1, max_size=3))
        frames.append({"type": "l2update", "product_id": product, "time": draw(times()), "changes": changes})
    return frames


FRAMES = st.one_of(matches(), tickers(), books())


@pytest.fixture(scope="module")
def shared() -> Iterator[Differential]:
    """One pair of exchanges for all examples (ccxt's constructor is slow): caches reset per example."""
    diff = differential()
    yield diff
    close(diff.reference, diff.native)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(FRAMES, min_size=1, max_size=6), limit=st.sampled_from([None, 3]),
       signed=st.integers(0, 9))
def test_generated_frames_parse_as_ccxt_parses_them(shared: Differential, frames: list[Any], limit: int | None,
                                                    signed: int) -> None:
    for exchange in (shared.reference, shared.native):
        exchange.trades = {}
        exchange.orderbooks = {}
        exchange.tickers = {}
    shared.clients.clear()
    shared.subscriptions = subscriptions(limit)
    url = URL + "?" if signed == 0 else URL  # a match on the signed connection is the user's own: ccxt's
    for frame in frames:
        for message in frame if isinstance(frame, list) else [frame]:
            shared.feed(orjson.dumps(message), url)
    shared.compare_caches()


def test_an_update_before_its_snapshot_fails_as_in_ccxt() -> None:
    diff = differential()
    try:
        update = {"type": "l2update", "product_id": "SKL-USD", "time": "2021-04-17T16:43:37.075687Z",
                  "changes": [["sell", "0.5", "1"]]}
        diff.feed(orjson.dumps(update), URL)  # both raise ccxt's KeyError
        assert diff.fallbacks["level2"] == 1
    finally:
        close(diff.reference, diff.native)


def test_natives_off_by_config() -> None:
    ex = rxpro.coinbaseexchange({"rxpro": {"native": False}})
    assert not ex.rx_native
    close(ex)


async def test_observables_emit_the_same_with_the_natives_on_and_off() -> None:
    # the whole path (replayed socket, ccxt's client, handler, hub, Observable) over the bundled recording
    symbols = {market["id"]: market["symbol"] for market in markets()}
    streams = [(kind, symbols[product], argument) for product in PRODUCTS
               for kind, argument in (("trades", None), ("book", 10), ("ticker", None))]
    path = data_path("cryptofeed/COINBASE.ws.28.0")
    on = await replay_emissions(path, True, streams)
    off = await replay_emissions(path, False, streams)
    assert on == off
    assert sum(len(items) for items in on.values()) > 9000
