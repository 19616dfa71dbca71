"""OKX v5: what rxpro knows about it.

* offline options: markets of the recorded types only (spot, swap, future; the
  bundled recordings hold no option instruments);
* the order-book checksum (:func:`okx_checksum`), which the simulator recomputes for
  the 2022 recording (ccxt 4.5.90 does not check it, so neither do the native handlers);
* the native handlers of its public channels (``_okx_native.OkxNative``: trades, books,
  tickers, candles);
* cryptofeed names its recordings ``OKX``.

``myokx`` and ``okxus`` (ccxt subclasses of ``okx``) log in as ``okx`` does
(``authenticate``, the default); nothing else is declared for them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from typing import Any

from ._okx_native import OkxNative
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


#: pages of 100 trades a reconnect gap is filled with at most (a longer gap is filled in part)
_HISTORY_PAGES = 200


async def trade_history(exchange: Any, symbol: str, after_id: int, before_id: int | None) -> list[dict[str, Any]]:
    """The trades of ``symbol`` with ``after_id < tradeId < before_id``, oldest first, from OKX's REST history.

    ``GET /api/v5/market/history-trades`` paginated by trade id (``type=1``: ``after`` = older than),
    newest first, 100 a page, read by ccxt's own ``fetch_trades`` (``method:
    publicGetMarketHistoryTrades``).
    """
    trades: dict[int, dict[str, Any]] = {}
    cursor = before_id
    for _ in range(_HISTORY_PAGES):
        # newer than the last delivered, older than the cursor (ccxt's paginate steps by one here)
        params: dict[str, Any] = {"method": "publicGetMarketHistoryTrades", "type": "1", "before": str(after_id)}
        if cursor is not None:
            params["after"] = str(cursor)
        page = await exchange.fetch_trades(symbol, None, 100, params)
        if not page:
            break
        ids = [int(t["id"]) for t in page]
        trades.update((i, t) for t, i in zip(page, ids) if after_id < i and (before_id is None or i < before_id))
        if min(ids) <= after_id + 1 or len(page) < 100:
            break
        cursor = min(ids)
    return [trades[i] for i in sorted(trades)]


#: what an OKX error event names of the request it refuses: ``channel:tickers,instId:NOPE-USDT``
#: (60018 "Wrong URL or channel:...,instId:... doesn't exist"; the event carries no ``arg`` or ``id``)
_NAMED = re.compile(r"channel:([^,\s\\\"]+)((?:,[A-Za-z]+:[^,\s\\\"]+)*)")


def names_request(text: str, request: Any) -> bool:
    """Whether the error ``text`` names one of the ``args`` of the subscribe ``request`` (all the keys it names)."""
    args = request.get("args") if isinstance(request, dict) else None
    if not isinstance(args, list):
        return False
    for channel, rest in _NAMED.findall(text):
        named = dict(pair.split(":", 1) for pair in rest.split(",") if pair)
        for arg in args:
            if (isinstance(arg, dict) and arg.get("channel") == channel
                    and all(str(arg.get(key)) == value for key, value in named.items())):
                return True
    return False


def book_channel(exchange: Any, symbol: str, limit: int | None, params: Mapping[str, Any]) -> str:
    """The channel ccxt okx's ``watch_order_book`` subscribes: ``books`` (or the ``depth`` option or
    param), ``bbo-tbt`` for limit 1, ``books5`` for 2..5, ``books50-l2-tbt`` for 50, ``books`` for 400."""
    depth = exchange.handle_option_string_and_params(dict(params), "watchOrderBook", "depth", "books")[0]
    if limit is not None:
        if limit == 1:
            return "bbo-tbt"
        if 1 < limit <= 5:
            return "books5"
        if limit == 50:
            return "books50-l2-tbt"
        if limit == 400:
            return "books"
    return str(depth)


VENUES: tuple[Venue, ...] = (
    Venue("okx", names_request=names_request, book_channel=book_channel, offline_options=frozen({"fetchMarkets": {"types": ["spot", "swap", "future"]}}),
          cryptofeed_names=("OKX",), generates_client_order_id=True,  # clOrdId: up to 32 letters and digits
          client_order_id_params=("clOrdId", "clientOrderId"),  # ccxt's create_order_request reads either
          trade_ids=True, trade_history=trade_history, native=(OkxNative,),
          # books/tickers push every 100 ms while something changes; a quiet instrument may not
          silence_ms=frozen({"orderbook": 30_000.0, "ticker": 120_000.0, "ohlcv": 120_000.0, "trades": None})),
)
