"""REST responses ccxt needs that no recorder kept, derived from responses that were recorded.

Each builder takes the body of a recorded response and returns the body of the
response ccxt asks for today, in the layout the exchange serves now.  The results
are kept in ``rxpro/testing/data/stubs/`` (cryptofeed REST-log layout,
``<url> -> <ts>: <body>``, ``ts`` = the recorded response they come from) so a
reader can see exactly what the replay answers; ``python -m rxpro._replay_stubs``
rebuilds them and ``tests/replay`` checks that the files equal a rebuild.

What is derived, and what is not, is listed in ``rxpro/testing/data/README.md``.
Nothing here fetches anything: the inputs are the bundled recordings.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["STUB_FILES", "StubFile", "bitfinex_conf", "bitstamp_markets", "build_stub", "deribit_instruments",
           "write_stubs"]


@dataclass(frozen=True)
class StubFile:
    """One stub file: where it goes, the request ccxt makes, and how its answer is built."""

    name: str  # under rxpro/testing/data/stubs/
    url: str  # the request ccxt makes
    build: Callable[[Path], tuple[float, str]]  # data_dir -> (ts of the recorded source, body)


def _recorded(data_dir: Path, source: str, url: str) -> tuple[float, str]:
    from .testing._data import read_rest_log

    for record in read_rest_log(data_dir / source):
        if record.url == url:
            return record.ts, record.body
    raise LookupError(f"{source} has no recorded response of {url}")


def bitstamp_markets(trading_pairs_info: str) -> str:
    """``/api/v2/markets/`` from the recorded ``/api/v2/trading-pairs-info/`` (2022-01).

    Per pair: ``market_symbol = url_symbol``; ``base_currency`` / ``counter_currency``
    from ``name`` (``"BTC/USD"``); ``minimum_order_value`` is the number of
    ``minimum_order`` (``"20.0 USD"`` -> ``"20.0"``); ``market_type = "SPOT"`` (Bitstamp
    had no other market type then); ``base_decimals``, ``counter_decimals``,
    ``trading``, ``instant_and_market_orders``, ``description`` are copied.  Fields
    the old layout lacks (``instant_order_counter_decimals``, order-amount limits)
    are left out rather than invented.
    """
    markets = []
    for pair in orjson.loads(trading_pairs_info):
        base, _, counter = str(pair["name"]).partition("/")
        market: dict[str, Any] = {
            "name": pair["name"],
            "market_symbol": pair["url_symbol"],
            "base_currency": base,
            "base_decimals": pair["base_decimals"],
            "counter_currency": counter,
            "counter_decimals": pair["counter_decimals"],
            "minimum_order_value": str(pair.get("minimum_order", "")).split(" ", 1)[0] or None,
            "trading": pair["trading"],
            "instant_and_market_orders": pair["instant_and_market_orders"],
            "description": pair["description"],
            "market_type": "SPOT",
        }
        markets.append(market)
    return orjson.dumps(markets).decode()


def bitfinex_conf(list_pair_exchange: str) -> str:
    """``conf/pub:info:pair,pub:info:pair:futures,pub:list:pair:securities,pub:list:pair:margin``.

    From the recorded ``conf/pub:list:pair:exchange`` (2021-04): ``pub:info:pair`` has one
    entry ``[pair, [null × 12]]`` per recorded pair — the per-pair order-size limits
    were not recorded, so they stay ``null``; futures, securities and margin lists are
    empty (cryptofeed recorded the futures pair list but this recording streams spot
    pairs only; securities and margin were not recorded).
    """
    pairs = orjson.loads(list_pair_exchange)[0]
    info = [[pair, [None] * 12] for pair in pairs]
    return orjson.dumps([info, [], [], []]).decode()


def deribit_instruments(btc: str, eth: str, streamed: set[str]) -> str:
    """``public/get_instruments`` (all currencies) from the recorded 2021-07-22 BTC and ETH responses.

    Only the instruments the ws recording streams are kept.  Deribit's 2021 layout
    has no ``counter_currency`` / ``settlement_currency`` (added with USDC-settled
    products in 2022) and ccxt skips an instrument without ``counter_currency``:
    every 2021 BTC/ETH contract was quoted against USD and settled in its base
    currency, so ``counter_currency = "USD"`` and ``settlement_currency =
    base_currency`` are added; every recorded field is kept as it was.
    """
    body: dict[str, Any] = {}
    instruments: list[dict[str, Any]] = []
    for text in (btc, eth):
        body = orjson.loads(text)
        for instrument in body.get("result") or []:
            if instrument.get("instrument_name") in streamed:
                instrument.setdefault("counter_currency", "USD")
                instrument.setdefault("settlement_currency", instrument["base_currency"])
                instruments.append(instrument)
    return orjson.dumps(dict(body, result=instruments)).decode()


def _deribit_streamed(data_dir: Path) -> set[str]:
    """Instrument names of the recorded ws subscriptions (``book.BTC-24SEP21-8000-P.raw``)."""
    names: set[str] = set()
    with open(data_dir / "cryptofeed/DERIBIT.ws.1.0", encoding="utf-8") as fh:
        for line in fh:
            if " <- " in line:
                request = orjson.loads(line.split(": ", 1)[1])
                names.update(channel.split(".")[1] for channel in request["params"]["channels"])
    return names


def _build_deribit(data_dir: Path) -> tuple[float, str]:
    base = "https://www.deribit.com/api/v2/public/get_instruments?currency={}&expired=false"
    ts, btc = _recorded(data_dir, "cryptofeed/DERIBIT.0", base.format("BTC"))
    _, eth = _recorded(data_dir, "cryptofeed/DERIBIT.0", base.format("ETH"))
    return ts, deribit_instruments(btc, eth, _deribit_streamed(data_dir))


def _build_bitstamp(data_dir: Path) -> tuple[float, str]:
    ts, body = _recorded(data_dir, "cryptofeed/BITSTAMP.0", "https://www.bitstamp.net/api/v2/trading-pairs-info/")
    return ts, bitstamp_markets(body)


def _build_bitfinex(data_dir: Path) -> tuple[float, str]:
    ts, body = _recorded(data_dir, "cryptofeed/BITFINEX.0", "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange")
    return ts, bitfinex_conf(body)


STUB_FILES: tuple[StubFile, ...] = (
    StubFile("BITSTAMP.markets.0", "https://www.bitstamp.net/api/v2/markets/", _build_bitstamp),
    StubFile("BITFINEX.conf.0", "https://api-pub.bitfinex.com/v2/conf/pub:info:pair,pub:info:pair:futures,"
             "pub:list:pair:securities,pub:list:pair:margin", _build_bitfinex),
    StubFile("DERIBIT.instruments.0", "https://www.deribit.com/api/v2/public/get_instruments", _build_deribit),
)


def build_stub(stub: StubFile, data_dir: Path) -> str:
    """The stub file's text, built from the recorded responses in ``data_dir``."""
    ts, body = stub.build(data_dir)
    return f"{stub.url} -> {ts!r}: {body}\n"


def write_stubs(data_dir: Path) -> list[Path]:
    """(Re)write every stub file under ``data_dir / "stubs"``."""
    (data_dir / "stubs").mkdir(exist_ok=True)
    written = []
    for stub in STUB_FILES:
        path = data_dir / "stubs" / stub.name
        path.write_text(build_stub(stub, data_dir), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m rxpro._replay_stubs [data_dir]
    from .testing._data import DATA_DIR

    for written_path in write_stubs(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR):
        print(written_path)
