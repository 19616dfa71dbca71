"""The venue table: every bundled recording's exchange is declared there, login methods match ccxt's source,
venue data is explained, and no core module names a venue.

References we did not write: ccxt's own source (the login methods are read from it with ``ast``) and the
recorders' names of the previous hard-coded table (kept below as it was, before the venues declared their own).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest

import rxpro
from rxpro._replay_formats import load_recording
from rxpro._replay_protocols import RecordedMarketsProtocol, ReplayProtocol
from rxpro.exchanges._binance import Binance, parse_request, stream_key
from rxpro.exchanges._table import VENUES, cryptofeed_id, hftbacktest_exchange_id, hftbacktest_urls, stub_files, venue_for
from rxpro.exchanges._venue import DEFAULT_LOGIN_METHODS, VENUE_DATA, Venue
from rxpro.testing._data import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]

#: every bundled recording (hftbacktest days, cryptofeed ws logs), as rxpro.replay takes them
RECORDINGS = sorted(DATA_DIR.glob("*.gz")) + sorted(DATA_DIR.glob("usdm/*.gz")) + sorted(DATA_DIR.glob("*.ws.*")) \
    + sorted(DATA_DIR.glob("cryptofeed/*.ws.*"))


def test_there_are_recordings_to_check() -> None:
    assert len(RECORDINGS) >= 11


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: str(p.relative_to(DATA_DIR)))
def test_the_table_declares_every_bundled_recordings_exchange(path: Path) -> None:
    recording = load_recording(path)
    assert recording.exchange_id is not None, f"{path.name}: no exchange"
    assert recording.exchange_id in VENUES, f"{recording.exchange_id} ({path.name}) has no venue in the table"
    assert recording.exchange_id in ccxt.pro.exchanges
    protocol = venue_for(recording.exchange_id).replay_protocol(recording.source)
    # a third-party recording kept the markets request only: its venue's protocol must say what ccxt may ask
    assert isinstance(protocol, ReplayProtocol)
    if recording.source != "hftbacktest":
        assert isinstance(protocol, RecordedMarketsProtocol) or type(protocol).__module__.startswith("rxpro.exchanges")


#: cryptofeed names -> ccxt ids as rxpro/_replay_formats.py held them before the venues declared their own
OLD_CRYPTOFEED_IDS = {
    "BINANCE": "binance", "BINANCE_FUTURES": "binanceusdm", "BINANCE_DELIVERY": "binancecoinm",
    "BINANCE_US": "binanceus", "BITFINEX": "bitfinex", "BITFLYER": "bitflyer", "BITGET": "bitget",
    "BITHUMB": "bithumb", "BITSTAMP": "bitstamp", "BYBIT": "bybit", "COINBASE": "coinbaseexchange",
    "CRYPTO.COM": "cryptocom", "DERIBIT": "deribit", "GATEIO": "gate", "GATEIO_FUTURES": "gate", "GEMINI": "gemini",
    "HUOBI": "htx", "HUOBI_SWAP": "htx", "INDEPENDENT_RESERVE": "independentreserve", "KRAKEN": "kraken",
    "KUCOIN": "kucoin", "OKX": "okx",
}


def test_the_recorders_names_are_the_venues_own() -> None:
    assert {name: cryptofeed_id(name) for name in OLD_CRYPTOFEED_IDS} == OLD_CRYPTOFEED_IDS
    assert cryptofeed_id("COINBASE", v3=True) == "coinbase"  # a v3 header: Advanced Trade
    assert cryptofeed_id("BINANCE", v3=True) == "binance"
    assert cryptofeed_id("NOSUCH") is None
    assert {folder: hftbacktest_exchange_id(folder, None) for folder in ("spot", "usdm", "cm")} == {
        "spot": "binance", "usdm": "binanceusdm", "cm": "binancecoinm"}
    assert hftbacktest_exchange_id("elsewhere", '{"stream":"btcusd_perp@depth@0ms","data":{}}') == "binancecoinm"
    assert hftbacktest_exchange_id("elsewhere", '{"stream":"btcusdt@depth@0ms","data":{"pu":1}}') == "binanceusdm"
    assert hftbacktest_urls("binanceusdm") == ("wss://fstream.binance.com/stream", "https://fapi.binance.com/fapi/v1/depth")
    assert hftbacktest_urls("kraken") == ("wss://stream.binance.com:9443/stream", None)


def test_every_venue_is_a_ccxt_exchange_and_an_unknown_id_gets_the_defaults() -> None:
    for exchange_id, venue in VENUES.items():
        assert venue.id == exchange_id
        assert exchange_id in ccxt.exchanges, exchange_id
    default = venue_for("nosuchex")
    assert type(default) is Venue and default.id == "nosuchex"
    assert default.login_methods == DEFAULT_LOGIN_METHODS and default.offline_options is None
    assert type(default.replay_protocol("rxpro/1")) is ReplayProtocol
    assert type(default.replay_protocol("cryptofeed-master")) is RecordedMarketsProtocol


def test_a_replay_gets_copies_of_the_venue_facts_and_the_users_settings_win() -> None:
    protocol = venue_for("kucoin").replay_protocol("cryptofeed-master")
    config = protocol.configure({"apiKey": "mine", "options": {"watchTicker": {"spotMethod": "/market/snapshot"}}})
    assert config["apiKey"] == "mine" and config["secret"]  # placeholders fill only what the user left out
    assert config["options"]["watchTicker"] == {"spotMethod": "/market/snapshot"}
    assert config["options"]["fetchMarkets"]["types"] == ["spot"] and config["has"] == {"fetchCurrencies": False}
    config["options"]["fetchMarkets"]["types"].append("swap")  # ccxt owns its config: the venue's facts stay
    assert venue_for("kucoin").offline_options["fetchMarkets"]["types"] == ["spot"]  # type: ignore[index]
    assert protocol.stream_params == {} and venue_for("deribit").replay_protocol("").stream_params == {
        "ticker": {"interval": "raw"}}
    assert type(venue_for("deribit").replay_protocol("").stream_params["ticker"]) is dict  # ccxt wants a dict


def test_binance_streams_are_one_key_at_any_update_speed() -> None:
    assert stream_key("btcusdt@depth@100ms") == stream_key("btcusdt@depth") == stream_key("BTCUSDT@depth@0ms")
    assert stream_key("btcusdt@kline_1m") == "btcusdt@kline_1m"
    request = parse_request('{"method":"SUBSCRIBE","params":["btcusdt@trade",7],"id":3}')
    assert request is not None and request.method == "SUBSCRIBE" and request.streams == ("btcusdt@trade",)
    assert request.id == 3 and request.has_id
    assert parse_request("[1]") is None and parse_request("not json") is None


def test_venue_data_is_every_file_a_venue_serves() -> None:
    """``exchanges/data/``: each file is served by a venue (stub files, Binance markets) or documents them."""
    served = {stub.path for stub in stub_files()}
    served |= {VENUE_DATA / v.markets_file for v in VENUES.values() if isinstance(v, Binance) and v.markets_file}
    documents = {VENUE_DATA / "README.md", VENUE_DATA / "LICENSE.cryptofeed"}
    bundled = {p for p in VENUE_DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert bundled == served | documents
    readme = (VENUE_DATA / "README.md").read_text(encoding="utf-8")
    for path in served:
        assert path.name in readme, f"{path.name} is not described in exchanges/data/README.md"


# -- login methods: checked against ccxt's own source ------------------------------------------------

_AUTH_NAMED = re.compile(r"auth|login|listen_?key|listen_?token|token", re.IGNORECASE)


@lru_cache(maxsize=None)
def _methods(exchange_id: str) -> dict[str, set[str]]:
    """Every method of the ccxt.pro class (its ccxt.pro bases too) -> the ``self.<name>`` it calls."""
    table: dict[str, set[str]] = {}
    for klass in reversed(getattr(ccxt.pro, exchange_id).__mro__):
        if not klass.__module__.startswith("ccxt.pro."):
            continue
        tree = ast.parse(inspect.getsource(klass))
        for node in tree.body[0].body:  # type: ignore[attr-defined]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                table[node.name] = {call.func.attr for call in ast.walk(node) if isinstance(call, ast.Call)
                                    and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
                                    and call.func.value.id == "self"}
    return table


def _awaits_watch(exchange_id: str, method: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``method`` calls ``watch`` (or ``watch_multiple``), itself or through methods of its class."""
    calls = _methods(exchange_id).get(method)
    if calls is None or method in seen:
        return False
    return bool(calls & {"watch", "watch_multiple"}) or any(
        _awaits_watch(exchange_id, callee, seen | {method}) for callee in calls if callee in _methods(exchange_id))


@pytest.mark.parametrize("exchange_id", ccxt.pro.exchanges)
def test_the_declared_login_methods_are_ccxts(exchange_id: str) -> None:
    declared = venue_for(exchange_id).login_methods
    cls = getattr(ccxt.pro, exchange_id)
    for method in declared:
        assert callable(getattr(cls, method, None)), f"ccxt.pro.{exchange_id} has no method {method}"
        assert _awaits_watch(exchange_id, method), f"ccxt.pro.{exchange_id}.{method} awaits no watch()"
    # every method named for a login that awaits a watch() is declared (handlers are not callers)
    named = {m for m in _methods(exchange_id) if _AUTH_NAMED.search(m) and not m.startswith("handle_")
             and _awaits_watch(exchange_id, m)}
    assert named <= set(declared), f"{exchange_id}: undeclared login methods {sorted(named - set(declared))}"


# -- no core module names a venue ---------------------------------------------------------------------

#: venue ids: every ccxt id, the manual's, and the recorders' names for them
VENUE_IDS = {i.lower() for i in (*ccxt.exchanges, *rxpro.manual_exchange_ids(), *OLD_CRYPTOFEED_IDS)}
#: where venue ids may be written: the simulator's venue objects (the venue table is in exchanges/)
ALLOWED = {ROOT / "rxpro" / "testing" / "_sim_binance.py", ROOT / "rxpro" / "testing" / "_sim_okx.py"}
CORE = [p for folder in ("rxpro", "operators") for p in sorted((ROOT / folder).rglob("*.py"))
        if "__pycache__" not in p.parts and p not in ALLOWED]


def _venue_literals(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: 'id'`` for every string constant in ``path`` that is a venue id (any case).

    The names in ``__all__`` are Python names, not data (``BINANCE = BinanceVenue.id`` is exported by name).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exported = {id(node) for assign in ast.walk(tree) if isinstance(assign, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in assign.targets)
                for node in ast.walk(assign.value)}
    return [f"{path.relative_to(root)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in VENUE_IDS
            and id(node) not in exported]


def test_the_literal_finder_finds_venue_ids(tmp_path: Path) -> None:
    module = tmp_path / "branchy.py"
    module.write_text('__all__ = ["OKX"]\n\ndef f(ex):\n    """Binance or not."""\n    return ex.id == "binance" or ex.id in ("OKX",)\n')
    assert [line.split(": ", 1)[1] for line in _venue_literals(module, tmp_path)] == ["'binance'", "'OKX'"]


def test_no_core_module_names_a_venue() -> None:
    """Venue facts live in exchanges/ and are asked of its table; core code never branches on an exchange id."""
    assert CORE and all(p.is_file() for p in ALLOWED)
    found = [line for path in CORE for line in _venue_literals(path)]
    assert found == [], "venue ids outside exchanges/ (move the fact to exchanges/_<venue>.py):\n" + "\n".join(found)


def test_every_venue_module_is_in_the_table() -> None:
    # the native handler modules (_native.py, _<venue>_native.py, _native_parse.py) hold parsers, not venues
    modules = {p.stem for p in (ROOT / "exchanges").glob("_*.py") if "_native" not in p.stem} \
        - {"__init__", "_venue", "_table", "_retired"}
    declared = {type(v).__module__.rsplit(".", 1)[-1] for v in VENUES.values()}
    for name in modules:
        module = importlib.import_module(f"rxpro.exchanges.{name}")
        assert all(venue.id in VENUES and VENUES[venue.id] is venue for venue in module.VENUES), name
    assert declared <= modules | {"_venue"}


_SPOT_BTC_USDT = {"id": "BTC-USDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "baseId": "BTC",
                  "quoteId": "USDT", "type": "spot", "spot": True, "margin": False, "swap": False, "future": False,
                  "option": False, "contract": False, "active": True, "precision": {}, "limits": {}}


@pytest.mark.parametrize("exchange_id, market_id, limits", [
    ("okx", "BTC-USDT", (None, 1, 2, 5, 6, 20, 400, 1000)),
    ("bybit", "BTCUSDT", (None, 1, 50, 200, 1000)),
])
async def test_a_venues_book_channel_is_the_one_ccxt_subscribes(exchange_id: str, market_id: str,
                                                                limits: tuple[int | None, ...]) -> None:
    """``Venue.book_channel`` against the subscribe request ccxt's own ``watch_order_book`` makes (no connection)."""
    book_channel = venue_for(exchange_id).book_channel
    assert book_channel is not None
    exchange = getattr(ccxt.pro, exchange_id)()
    exchange.set_markets([{**_SPOT_BTC_USDT, "id": market_id}])
    subscribed: list[str] = []

    async def okx_watch(url: str, hashes: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        subscribed.append(request["args"][0]["channel"])
        return exchange.order_book()

    async def bybit_watch(url: str, hashes: Any, topics: Any, *args: Any, **kwargs: Any) -> Any:
        subscribed.append(topics[0].rsplit(".", 1)[0])  # orderbook.<depth>.<id>
        return exchange.order_book()

    exchange.watch_multiple = okx_watch
    exchange.watch_topics = bybit_watch
    try:
        for limit in limits:
            await exchange.watch_order_book("BTC/USDT", limit)
            assert book_channel(exchange, "BTC/USDT", limit, {}) == subscribed[-1], limit
        assert len(set(subscribed)) > 2  # the limit picks the channel
    finally:
        await exchange.close()
