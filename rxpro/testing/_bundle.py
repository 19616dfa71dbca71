"""Rebuild the bundled data: ``rxpro/testing/data/`` from the shared recordings, and the venue
data derived from it (``exchanges/data/``).

``python -m rxpro.testing._bundle /work/shared/data`` regenerates everything: the
hftbacktest files and ``OKX.ws.1.0`` are copied byte for byte; the OKX REST log and
the Binance exchangeInfo (``exchanges/data/BINANCE.0``) are trimmed (see the READMEs);
then the derived REST stubs are rebuilt.  ``python -m rxpro.testing._bundle --stubs``
rebuilds only the stubs (``exchanges/data/stubs/``) from the bundled recordings: each
venue declares its stub files and how they are derived (``Venue.stub_files``).
Nothing here runs at import time of ``rxpro.testing``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import orjson

from rxpro.exchanges._table import StubFile, stub_files
from rxpro.exchanges._venue import VENUE_DATA

from ._data import DATA_DIR

#: every derived REST answer kept in ``exchanges/data/stubs/``
STUB_FILES: tuple[StubFile, ...] = stub_files()

#: Binance spot symbols kept from the 2021 exchangeInfo (recorded + common pairs).
BINANCE_KEEP = (
    "BTCUSDT", "ETHUSDT", "ETHBTC", "BNBUSDT", "BNBBTC", "BNBETH", "LTCBTC", "LTCUSDT",
    "XRPUSDT", "XRPBTC", "ADAUSDT", "SOLUSDT", "DOGEUSDT", "DOTUSDT", "LINKUSDT",
    "TRXUSDT", "MATICUSDT", "AVAXUSDT", "UNIUSDT", "ATOMUSDT", "BTCBUSD", "ETHBUSD",
    "BUSDUSDT", "USDCUSDT", "BTCEUR", "ETHEUR", "NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR",
)
#: OKX instruments kept per instType from the last recorded instruments batch.
OKX_KEEP = {
    "SPOT": ("BTC-USDT", "ETH-USDT", "ETH-BTC", "OKB-USDT", "LTC-USDT", "XRP-USDT",
             "SOL-USDT", "DOGE-USDT", "UNI-USDT", "BTC-USDC", "ETH-USDC", "DOT-USDT"),
    "SWAP": ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "BTC-USD-SWAP", "ETH-USD-SWAP",
             "UNI-USD-SWAP", "UNI-USDT-SWAP"),
    "FUTURES": ("BTC-USD-220527", "ETH-USD-220527", "BTC-USDT-220527"),
}


def _split_rest_line(line: str) -> tuple[str, str, str]:
    url, rest = line.split(" -> ", 1)
    ts, body = rest.split(": ", 1)
    return url, ts, body


def build(shared: Path) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    spot = shared / "hftbacktest" / "examples" / "spot"
    for name in ("btcusdt_20240808.gz", "btcusdt_20240809.gz",
                 "ethusdt_20240808.gz", "ethusdt_20240809.gz"):
        shutil.copyfile(spot / name, DATA_DIR / name)
    shutil.copyfile(shared / "hftbacktest" / "LICENSE", DATA_DIR / "LICENSE.hftbacktest")
    master = shared / "cryptofeed" / "master"
    shutil.copyfile(master / "LICENSE", DATA_DIR / "LICENSE.cryptofeed")
    shutil.copyfile(master / "LICENSE", VENUE_DATA / "LICENSE.cryptofeed")  # BINANCE.0 is cryptofeed's too
    shutil.copyfile(master / "sample_data" / "OKX.ws.1.0", DATA_DIR / "OKX.ws.1.0")

    # Binance exchangeInfo: first line of BINANCE.0, symbols trimmed.
    with open(master / "sample_data" / "BINANCE.0", encoding="utf-8") as fh:
        url, ts, body = _split_rest_line(fh.readline().rstrip("\n"))
    info = orjson.loads(body)
    info["symbols"] = [s for s in info["symbols"] if s["symbol"] in BINANCE_KEEP]
    (VENUE_DATA / "BINANCE.0").write_bytes(
        f"{url} -> {ts}: ".encode() + orjson.dumps(info) + b"\n")

    # OKX instruments: keep the last SPOT/SWAP/FUTURES response, trimmed.
    last: dict[str, tuple[str, str, str]] = {}
    config_line = ""
    with open(master / "sample_data" / "OKX.0", encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("configuration: "):
                config_line = line
            elif " -> " in line:
                url, ts, body = _split_rest_line(line)
                for inst_type in OKX_KEEP:
                    if url.endswith(f"instType={inst_type}"):
                        last[inst_type] = (url, ts, body)
    out = []
    for inst_type, keep in OKX_KEEP.items():
        url, ts, body = last[inst_type]
        response = orjson.loads(body)
        response["data"] = [d for d in response["data"] if d["instId"] in keep]
        out.append(f"{url} -> {ts}: ".encode() + orjson.dumps(response))
    out.append(config_line.encode())
    (DATA_DIR / "OKX.0").write_bytes(b"\n".join(out) + b"\n")
    write_stubs(DATA_DIR)


def build_stub(stub: StubFile, recordings: Path) -> str:
    """The stub file's text, built from the recorded responses under ``recordings``."""
    ts, body = stub.build(recordings)
    return f"{stub.url} -> {ts!r}: {body}\n"


def write_stubs(recordings: Path = DATA_DIR) -> list[Path]:
    """(Re)write every stub file (``exchanges/data/stubs/``) from the bundled recordings."""
    written = []
    for stub in STUB_FILES:
        stub.path.parent.mkdir(exist_ok=True)
        stub.path.write_text(build_stub(stub, recordings), encoding="utf-8")
        written.append(stub.path)
    return written


if __name__ == "__main__":
    if sys.argv[1:] == ["--stubs"]:
        for written_path in write_stubs():
            print(written_path)
    else:
        build(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"))
