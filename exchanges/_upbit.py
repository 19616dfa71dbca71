"""Upbit: what rxpro knows about it.

Its private streams await no WebSocket login answer (the token is in the subscribe frame).
cryptofeed names its recordings ``UPBIT`` and subscribes in Upbit's ``SIMPLE`` format, whose
fields are abbreviated (``{"ty":"trade","cd":"BTC-XRP","tp":...}``); ccxt reads the
``DEFAULT`` format (``{"type":"trade","code":"BTC-XRP","trade_price":...}``) and passes
over frames without a ``type``: every stream stayed silent.  Once such a recording is
loaded (:meth:`Upbit.loaded`), its frames carry the ``DEFAULT`` field names, as Upbit
documents both formats, with the values as recorded; each book is marked a ``SNAPSHOT`` (see
``_in_default_names``).
"""

from __future__ import annotations

from typing import Any

import orjson

from rxpro._recorded import Recording, WsFrame
from rxpro._replay_protocols import THIRD_PARTY_SOURCES, json_object

from ._venue import Venue

__all__ = ["VENUES", "Upbit"]

#: ``SIMPLE`` field -> ``DEFAULT`` field, per frame type (Upbit's WebSocket reference)
_DEFAULT_NAMES: dict[str, dict[str, str]] = {
    "trade": {
        "ty": "type", "cd": "code", "tp": "trade_price", "tv": "trade_volume", "ab": "ask_bid",
        "pcp": "prev_closing_price", "c": "change", "cp": "change_price", "td": "trade_date",
        "ttm": "trade_time", "ttms": "trade_timestamp", "tms": "timestamp", "sid": "sequential_id",
        "st": "stream_type",
    },
    "orderbook": {
        "ty": "type", "cd": "code", "tas": "total_ask_size", "tbs": "total_bid_size", "obu": "orderbook_units",
        "tms": "timestamp", "st": "stream_type", "lv": "level",
    },
    "ticker": {
        "ty": "type", "cd": "code", "op": "opening_price", "hp": "high_price", "lp": "low_price",
        "tp": "trade_price", "pcp": "prev_closing_price", "c": "change", "cp": "change_price",
        "scp": "signed_change_price", "cr": "change_rate", "scr": "signed_change_rate", "tv": "trade_volume",
        "atv": "acc_trade_volume", "atv24h": "acc_trade_volume_24h", "atp": "acc_trade_price",
        "atp24h": "acc_trade_price_24h", "tdt": "trade_date", "ttm": "trade_time", "ttms": "trade_timestamp",
        "ab": "ask_bid", "aav": "acc_ask_volume", "abv": "acc_bid_volume", "h52wp": "highest_52_week_price",
        "h52wdt": "highest_52_week_date", "l52wp": "lowest_52_week_price", "l52wdt": "lowest_52_week_date",
        "ts": "trade_status", "ms": "market_state", "msfi": "market_state_for_ios", "its": "is_trading_suspended",
        "dd": "delisting_date", "mw": "market_warning", "tms": "timestamp", "st": "stream_type",
    },
}
#: an ``orderbook_units`` entry's fields
_UNIT_NAMES = {"ap": "ask_price", "bp": "bid_price", "as": "ask_size", "bs": "bid_size"}


class Upbit(Venue):
    """Upbit: cryptofeed's ``SIMPLE``-format recordings made to read in the ``DEFAULT`` format (see the module)."""

    def loaded(self, recording: Recording) -> None:
        if recording.source not in THIRD_PARTY_SOURCES or not _asked_simple(recording):
            return
        recording.frames = [_in_default_names(frame) for frame in recording.frames]


def _asked_simple(recording: Recording) -> bool:
    """Whether a recorded subscription asked for the ``SIMPLE`` format (``[..., {"format": "SIMPLE"}, ...]``)."""
    for _, _, text in recording.sent:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(request, list) and any(isinstance(part, dict) and part.get("format") == "SIMPLE"
                                             for part in request):
            return True
    return False


def _in_default_names(frame: WsFrame) -> WsFrame:
    """``frame`` with its ``SIMPLE`` field names spelled out; any other frame as it is.

    cryptofeed subscribed ``isOnlyRealtime``: no book came as a ``SNAPSHOT``, and ccxt starts a
    market's book only from one.  Each Upbit book frame is the whole top of the book (ccxt resets
    the book with every frame), so every recorded book is marked ``SNAPSHOT``: a subscription
    that joins the replay late starts from the next book, as a live one starts from the
    snapshot Upbit sends it first.
    """
    raw = frame.text if frame.text is not None else (frame.binary or b"").decode("utf-8", "replace")
    message = json_object(raw)
    kind = message.get("ty") if message is not None else None
    names = _DEFAULT_NAMES.get(kind) if isinstance(kind, str) else None
    if message is None or names is None:
        return frame
    spelled: dict[str, Any] = {names.get(key, key): value for key, value in message.items()}
    units = spelled.get("orderbook_units")
    if spelled.get("type") == "orderbook":
        spelled["stream_type"] = "SNAPSHOT"
    if isinstance(units, list):
        spelled["orderbook_units"] = [{_UNIT_NAMES.get(k, k): v for k, v in unit.items()} if isinstance(unit, dict)
                                      else unit for unit in units]
    data = orjson.dumps(spelled)
    if frame.text is not None:
        return WsFrame(frame.ts_ns, frame.conn, data.decode())
    return WsFrame(frame.ts_ns, frame.conn, None, data)


VENUES: tuple[Venue, ...] = (
    Upbit("upbit", login_methods=(), cryptofeed_names=("UPBIT",)),
)
