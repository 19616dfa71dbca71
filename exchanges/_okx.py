"""OKX v5: what rxpro knows about it.

* offline options: markets of the recorded types only (spot, swap, future; the
  bundled recordings hold no option instruments);
* the order-book checksum (:func:`okx_checksum`), which the simulator recomputes for
  the 2022 recording and a native book parser would check;
* cryptofeed names its recordings ``OKX``.

``myokx`` and ``okxus`` (ccxt subclasses of ``okx``) log in as ``okx`` does
(``authenticate``, the default); nothing else is declared for them.
"""

from __future__ import annotations

import zlib

from ._venue import Venue, frozen

__all__ = ["VENUES", "okx_checksum"]


def okx_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX order-book checksum: signed crc32 of ``bid:size:ask:size:...`` over the top 25.

    Levels are interleaved bid, ask, bid, ask...; when one side runs out the other
    side's remaining levels follow. Prices and sizes are the strings as sent.
    """
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= (1 << 31) else crc


VENUES: tuple[Venue, ...] = (
    Venue("okx", offline_options=frozen({"fetchMarkets": {"types": ["spot", "swap", "future"]}}),
          cryptofeed_names=("OKX",), generates_client_order_id=True,  # clOrdId: up to 32 letters and digits
          trade_ids=True,
          # books/tickers push every 100 ms while something changes; a quiet instrument may not
          silence_ms=frozen({"orderbook": 30_000.0, "ticker": 120_000.0, "ohlcv": 120_000.0, "trades": None})),
)
