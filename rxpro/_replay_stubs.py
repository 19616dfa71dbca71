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

__all__ = ["STUB_FILES", "StubFile", "bitfinex_conf", "bitstamp_markets", "build_stub", "write_stubs"]


@dataclass(frozen=True)
class StubFile:
    """One stub file: where it goes, the recorded response it is built from, and how."""

    name: str  # under rxpro/testing/data/stubs/
    source: str  # recorded REST log under rxpro/testing/data/
    source_url: str  # the recorded request
    url: str  # the request ccxt makes
    build: Callable[[str], str]


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


STUB_FILES: tuple[StubFile, ...] = (
    StubFile("BITSTAMP.markets.0", "cryptofeed/BITSTAMP.0",
             "https://www.bitstamp.net/api/v2/trading-pairs-info/",
             "https://www.bitstamp.net/api/v2/markets/", bitstamp_markets),
    StubFile("BITFINEX.conf.0", "cryptofeed/BITFINEX.0",
             "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange",
             "https://api-pub.bitfinex.com/v2/conf/pub:info:pair,pub:info:pair:futures,"
             "pub:list:pair:securities,pub:list:pair:margin", bitfinex_conf),
)


def build_stub(stub: StubFile, data_dir: Path) -> str:
    """The stub file's text, built from the recorded response in ``data_dir``."""
    from .testing._data import read_rest_log

    for record in read_rest_log(data_dir / stub.source):
        if record.url == stub.source_url:
            return f"{stub.url} -> {record.ts!r}: {stub.build(record.body)}\n"
    raise LookupError(f"{stub.source} has no recorded response of {stub.source_url}")


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
