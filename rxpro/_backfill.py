"""Gapless trades across reconnects: the trades a reconnect missed, fetched over REST.

A trades stream that reconnects (after a lost connection, a stall, a re-subscribe)
misses the trades the exchange made meanwhile.  Where the venue's REST history
carries the same trade ids as its stream (``exchanges/``: the venue table's
``trade_history``; Binance spot/USDⓈ-M/COIN-M and OKX), a :class:`GapFiller` holds
the stream's live trades from the first one after the reconnect, fetches the trades
between the last one delivered and the first live one (paged), emits the missing
ones in order and exactly once (by trade id: only ids above the last delivered per
symbol pass), releases the held live trades, and says so: a ``backfilled`` connection
event with how many and from where.  Where the venue can't, or the fetch fails, the
gap is announced instead: a ``gap`` event with its time span.  Never silent.

Memory is bounded: at most ``HELD_LIMIT`` live trades are held while fetching; past
that the fill gives up (a ``gap`` event) and the held trades go out.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["GapFiller", "TradeHistory"]

log = logging.getLogger("rxpro")

#: live trades held at most while a gap is fetched
HELD_LIMIT = 200_000
#: the end of a held run of live trades: the connection was lost again after them
_RECONNECTED = object()


class TradeHistory(Protocol):
    """A venue's REST trade history, as the venue table declares it."""

    def __call__(self, exchange: Any, symbol: str, after_id: int, before_id: int | None) -> Awaitable[list[dict[str, Any]]]:
        """The trades of ``symbol`` with ``after_id < id < before_id`` (all after it, if None), oldest first."""
        ...


def _id(trade: Any) -> int | None:
    try:
        return int(trade["id"])
    except (KeyError, TypeError, ValueError):
        return None


class GapFiller:
    """Fills, or announces, the gaps reconnects leave in one trades stream."""

    def __init__(
        self,
        emit: Callable[[Any], None],
        history: TradeHistory | None,
        exchange: Any,
        publish: Callable[..., None],
        spawn: Callable[[Any], asyncio.Task[Any]],
        description: str,
    ) -> None:
        # the stream's emit, weakly: the stream holds this filler, and a cycle would keep both
        # alive after ccxt and the hub let go of them (no cyclic garbage: issue 10 #10)
        self._emit_ref = weakref.WeakMethod(emit)  # type: ignore[arg-type]
        self._history = history
        self._exchange = exchange
        self._publish = publish
        self._spawn = spawn
        self._description = description
        #: per symbol, the last trade delivered (the stream writes it as it emits)
        self.last: dict[Any, Any] = {}
        self.held: list[Any] | None = None  # live trades waiting for the fill (and _RECONNECTED marks)
        # symbols whose first new trade since a reconnect has not come: their live trades are
        # compared with the last delivered (a venue resending recent trades on subscribe, a
        # fill that reached past the live trades) and announced where not filled
        self.window: set[Any] = set()
        self._task: asyncio.Task[Any] | None = None

    @property
    def holding(self) -> bool:
        return self.held is not None

    def _emit(self, trade: Any) -> None:
        emit = self._emit_ref()
        if emit is not None:
            emit(trade)

    def delivered(self, trade: Any) -> None:
        """``trade`` went out (live or filled): remember it as the symbol's last."""
        self.last[trade.get("symbol")] = trade

    def reconnected(self) -> None:
        """The stream's first data after a reconnect is about to come."""
        if not self.last:
            return  # nothing delivered yet: no gap to speak of
        self.window = set(self.last)
        if self._history is None:
            return  # the first new trade of each symbol will tell the gap
        if self.held is None:
            self.held = []
            self._task = self._spawn(self._fill())
        else:
            self.held.append(_RECONNECTED)  # lost again while filling: one more gap, after these

    def hold(self, trades: list[Any]) -> bool:
        """Keep live ``trades`` back while filling (True), or let them through (False).

        Right after a reconnect, a symbol's trades already delivered are dropped (some
        venues resend recent ones on subscribe): ``trades`` is then filtered in place.
        """
        if self.window:
            trades[:] = [t for t in trades if self._new_after_reconnect(t)]
        held = self.held
        if held is None:
            return False
        held.extend(trades)
        if len(held) > HELD_LIMIT:
            self._give_up(f"more than {HELD_LIMIT} live trades came while filling")
        return True

    def _new_after_reconnect(self, trade: Any) -> bool:
        symbol = trade.get("symbol")
        if symbol not in self.window:
            return True
        last_id = self.last[symbol].get("id")
        new, last = _id(trade), _id(self.last[symbol])
        if new is not None and last is not None:
            if new <= last:
                return False  # delivered already
        elif trade.get("id") == last_id:
            return False
        self.window.discard(symbol)
        if self._history is None and (new is None or last is None or new != last + 1):
            self._tell_gap(trade, "no REST history of the stream's trade ids to fill it from")
        return True

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.held = None

    # -- filling ---------------------------------------------------------------------

    async def _fill(self) -> None:
        filled = 0
        try:
            while self.held is not None:
                filled += await self._fill_one_gap()
                if not self._release_run():
                    break
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a failed fetch is a gap told, not a dead stream
            log.debug("rxpro: %s: backfill failed: %r", self._description, error)
            held = self.held or []
            first = next((t for t in held if t is not _RECONNECTED), None)
            self._tell_gap(first, f"the REST history could not be fetched: {error!r}")
            self._release_all()
            return
        if filled:
            self._publish("backfilled", stream=self._description, count=filled,
                          source=f"REST trade history of {self._exchange.id}")

    async def _fill_one_gap(self) -> int:
        """Fetch and emit, per symbol, the trades between the last delivered and the first held."""
        assert self.held is not None and self._history is not None
        count = 0
        for symbol, last_trade in list(self.last.items()):
            after = _id(last_trade)
            if after is None or symbol is None:
                continue
            first_live = next((t for t in self.held if t is not _RECONNECTED and t.get("symbol") == symbol), None)
            before = _id(first_live) if first_live is not None else None
            if before is not None and before <= after + 1:
                continue  # no gap in this symbol
            missed = await self._history(self._exchange, symbol, after, before)
            for trade in missed:
                trade_id = _id(trade)
                last = _id(self.last.get(symbol))
                if trade_id is None or (last is not None and trade_id <= last) or (before is not None and trade_id >= before):
                    continue
                self._emit(trade)
                self.delivered(trade)
                count += 1
        return count

    def _release_run(self) -> bool:
        """Emit the held live trades up to the next reconnect mark; True if another gap follows."""
        held = self.held or []
        index = next((i for i, t in enumerate(held) if t is _RECONNECTED), None)
        run, rest = (held, []) if index is None else (held[:index], held[index + 1:])
        self._emit_new(run)
        if index is None:
            self.held = None  # caught up: live trades flow straight through again
            return False
        self.held = rest
        return True

    def _release_all(self) -> None:
        held, self.held = self.held or [], None
        self._emit_new([t for t in held if t is not _RECONNECTED])

    def _emit_new(self, trades: list[Any]) -> None:
        for trade in trades:
            symbol = trade.get("symbol")
            last = _id(self.last.get(symbol))
            trade_id = _id(trade)
            if last is not None and trade_id is not None and trade_id <= last:
                continue  # filled already: exactly once
            self._emit(trade)
            self.delivered(trade)

    def _give_up(self, why: str) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        held = self.held or []
        first = next((t for t in held if t is not _RECONNECTED), None)
        self._tell_gap(first, why)
        self._release_all()

    def _tell_gap(self, first_live: Any, why: str) -> None:
        symbol = first_live.get("symbol") if isinstance(first_live, dict) else None
        last_ts = self.last[symbol].get("timestamp") if symbol in self.last else max(
            (t.get("timestamp") for t in self.last.values() if t.get("timestamp") is not None), default=None)
        self._publish("gap", stream=self._description, gap=(last_ts, first_live.get("timestamp")
                                                            if isinstance(first_live, dict) else None),
                      error=RuntimeError(f"{self._description}: trades between the last delivered and the "
                                         f"first after the reconnect were not filled: {why}"))
