"""``ohlcv``: time candles built from trades, equal to ccxt's ``build_ohlcvc``.

Candles are ccxt OHLCVC rows ``[timestamp, open, high, low, close, volume,
count]`` -- the 7-element rows ``Exchange.build_ohlcvc`` returns; ``row[:6]``
is the usual ccxt OHLCV row. Every emitted row is a new list that this module
never touches again.

``ohlcv`` checks its arguments into ``_CandleRules`` and, per subscription,
hands the trades to a ``_CandleBuilder``: the open candle, closing it when a
later trade or (``close_on_time``) the scheduler's clock ends its bucket,
flat candles for gaps, and the late-trade rule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from rxpro._errors import OperatorArgumentError, StreamShapeError

from ._checks import TRADE_SHAPE, SymbolGuard, check_flag, describe, is_number, shape_error, timeframe_ms
from ._scheduling import default_scheduler, seconds

__all__ = ["ohlcv"]

Trade = dict[str, Any]
Candle = list[Any]

#: ``fill_gaps``: more empty candles than this between two trades, emitted at once, is taken as a
#: bad timestamp (seconds for milliseconds: tens of millions of 1m candles) rather than block the loop
MAX_FILLED = 1_000_000


def _ccxt_sum(volume: Any, amount: Any) -> Any:
    """``Exchange.sum`` as ``build_ohlcvc`` uses it: non-numbers count as 0."""
    total: float = 0
    for value in (volume, amount):
        if isinstance(value, (int, float)):
            total += value
    return total


def _ccxt_timestamp(value: Any) -> int | None:
    """``Exchange.safe_integer`` on a trade's timestamp."""
    try:
        return int(float(value))
    except Exception:
        return None


def ohlcv(
    timeframe: str = "1m",
    *,
    closed_only: bool = False,
    close_on_time: bool = False,
    grace_ms: float = 0.0,
    fill_gaps: bool = False,
    late: Literal["drop", "merge"] = "drop",
    on_late: Callable[[Trade], None] | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[Trade]], Observable[Candle]]:
    """OHLCVC candles of ``timeframe`` from a stream of ccxt trades, O(1) per trade.

    A trade goes to the bucket of its exchange ``timestamp`` (floor to the
    timeframe, as ``build_ohlcvc`` does with ``parse_timeframe``), never the
    wall clock. The open candle closes when a trade of a later bucket arrives
    and, with ``close_on_time``, also when its bucket has ended on the
    scheduler's clock, so a quiet market still closes candles. Candles are
    7-element ccxt rows ``[timestamp, open, high, low, close, volume, count]``
    (volume is the sum of ``amount``; ``row[:6]`` is a ccxt OHLCV row).

    Exactness: on the same trades, the closed candles (``closed_only=True``,
    including the final candle flushed on completion) equal
    ``exchange.build_ohlcvc(trades, timeframe)`` value for value, and the last
    row emitted per timestamp in the default mode does too. Trades that
    ``build_ohlcvc`` skips (no timestamp or price, a timestamp before 0, a
    zero price) are skipped here. A ``None`` amount counts as 0 as in ccxt;
    a price or amount that is not a number (e.g. a str, which
    ``build_ohlcvc`` would count as 0 or concatenate) ends the stream with
    ``StreamShapeError``; so does a trade of a second symbol (candles are
    one market's: split a multi-symbol stream by symbol first).

    Late trades -- a trade whose bucket is older than the open candle's: with
    ``late='drop'`` (default) it is dropped and passed to ``on_late`` (count
    them there), so no closed candle ever changes; with ``late='merge'`` it
    is applied to the open candle (high/low/close/volume/count) exactly as
    ``build_ohlcvc`` does for unsorted input. A trade for a candle that was
    already closed by time is always dropped and passed to ``on_late``.

    Example:
        >>> rxpro.trades(ex, 'BTC/USDT').pipe(ohlcv('1m', closed_only=True))

    .. marble::
        :alt: ohlcv('1m') -- a@00:10 b@00:40 c@01:05 (trade@time)

        ---a-----b-----c--------|
        [       ohlcv('1m')     ]
        ---A-----B-----C--------|   A=[0:00,a,a,a,a], B=[0:00,a,..,b], C=[1:00,c,...]
        [ ohlcv('1m', closed_only=True) ]
        ---------------B--------C|

    Args:
        timeframe: A ccxt timeframe ('1s', '1m', '5m', '1h', '1d', ...).
        closed_only: Emit each candle once when it closes (the open candle is
            emitted on completion), instead of the updated open candle on
            every trade.
        close_on_time: Also close the open candle when its bucket has ended
            (plus ``grace_ms``) on the scheduler's clock. The timer is armed
            when the candle opens, for the bucket time remaining after the
            opening trade's timestamp, so it works with any scheduler clock.
        grace_ms: With ``close_on_time``, how long after the bucket's end to
            wait for trades still in flight (>= 0).
        fill_gaps: Emit a flat candle (previous close as open, high, low and
            close; volume 0.0; count 0) for every bucket without trades
            between two candles, and, with ``close_on_time``, for every
            bucket that ends without trades. A trade more than 1,000,000
            empty buckets after the last candle ends the stream with
            ``StreamShapeError`` (a timestamp in seconds rather than
            milliseconds?) instead of emitting them all at once.
        late: What to do with a trade older than the open candle's bucket:
            ``'drop'`` or ``'merge'`` (see above).
        on_late: Called with every dropped late trade; an exception it raises
            goes to ``on_error``.
        scheduler: Scheduler for ``close_on_time`` timers; else the one given
            at subscribe time, else ``default_scheduler()``.

    Returns:
        An operator function from a trade stream to a candle stream.

    Raises:
        OperatorArgumentError: unknown ``timeframe`` or bad option values.
    """
    rules = _CandleRules.checked(timeframe, closed_only, close_on_time, grace_ms, fill_gaps, late, on_late)

    def _ohlcv(source: Observable[Trade]) -> Observable[Candle]:
        def subscribe(
            observer: abc.ObserverBase[Candle], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            _scheduler = (scheduler or scheduler_ or default_scheduler()) if rules.close_on_time else None
            builder = _CandleBuilder(rules, observer, _scheduler)
            subscription = source.subscribe(
                builder.on_next_locked if rules.close_on_time else builder.on_next,
                builder.on_error,
                builder.on_completed,
                scheduler=scheduler_,
            )
            return CompositeDisposable(subscription, builder.timer)

        return Observable(subscribe)

    return _ohlcv


@dataclass(frozen=True, slots=True)
class _CandleRules:
    """What one ``ohlcv(...)`` call asked for, checked (shared by its subscriptions)."""

    ms: int
    closed_only: bool
    close_on_time: bool
    grace_ms: float
    fill_gaps: bool
    merge_late: bool
    on_late: Callable[[Trade], None] | None

    @classmethod
    def checked(
        cls,
        timeframe: str,
        closed_only: bool,
        close_on_time: bool,
        grace_ms: float,
        fill_gaps: bool,
        late: str,
        on_late: Callable[[Trade], None] | None,
    ) -> _CandleRules:
        """The rules, or ``OperatorArgumentError`` naming the first bad argument."""
        ms = timeframe_ms(timeframe)
        closed_only = check_flag("closed_only", closed_only)
        close_on_time = check_flag("close_on_time", close_on_time)
        fill_gaps = check_flag("fill_gaps", fill_gaps)
        if late not in ("drop", "merge"):
            raise OperatorArgumentError(f"late must be 'drop' or 'merge', got {late!r}")
        if isinstance(grace_ms, bool) or not isinstance(grace_ms, (int, float)) or not 0 <= grace_ms < float("inf"):
            raise OperatorArgumentError(f"grace_ms must be a finite number >= 0, got {grace_ms!r}")
        if on_late is not None and not callable(on_late):
            raise OperatorArgumentError(f"on_late must be callable, got {on_late!r}")
        return cls(ms, closed_only, close_on_time, grace_ms, fill_gaps, late == "merge", on_late)


class _CandleBuilder:
    """One subscription's candles, from its trades to its observer.

    The open candle is ``[_bucket, _open, _high, _low, _close, _volume,
    _count]``; it covers exchange times ``_bucket <= ts < _bucket_end``, and
    ``_bucket`` is -1 (an empty range) when no candle is open: before the
    first trade, or after its bucket ended on the scheduler's clock.
    ``_floor`` is the first bucket a new candle may have (after the last
    closed one). Every emitted row is a new list. With ``close_on_time`` the
    timer may fire on another thread, so every entry point takes ``_lock``.
    """

    __slots__ = (
        "timer", "_observer", "_emit", "_ms", "_closed_only", "_fill_gaps", "_merge_late", "_on_late",
        "_grace_ms", "_scheduler", "_lock", "_stopped", "_floor", "_had_candle",
        "_bucket", "_bucket_end", "_open", "_high", "_low", "_close", "_volume", "_count", "_symbols",
    )

    def __init__(
        self, rules: _CandleRules, observer: abc.ObserverBase[Candle], scheduler: abc.SchedulerBase | None
    ) -> None:
        self.timer = SerialDisposable()  # the close_on_time timer; released with the subscription
        self._observer = observer
        self._emit = observer.on_next
        self._ms = rules.ms
        self._closed_only = rules.closed_only
        self._fill_gaps = rules.fill_gaps
        self._merge_late = rules.merge_late
        self._on_late = rules.on_late
        self._grace_ms = rules.grace_ms
        self._scheduler = scheduler  # only with close_on_time
        self._lock = threading.RLock()
        self._stopped = False
        self._floor = 0
        self._had_candle = False  # a candle was ever opened: fill_gaps has a close to repeat
        self._bucket = self._bucket_end = -1
        self._open: Any = None
        self._high: Any = None
        self._low: Any = None
        self._close: Any = None
        self._volume: Any = None
        self._count = 0
        self._symbols = SymbolGuard("ohlcv")

    # -- the trade stream ------------------------------------------------

    def on_next(self, trade: Trade) -> None:
        """Put one trade into the open candle, a new candle, or the late-trade rule."""
        try:
            ts = trade["timestamp"]  # a ccxt trade has the key (None is skipped below, as by build_ohlcvc)
            price = trade["price"]
            amount = trade["amount"]
            symbol = trade.get("symbol")
            if symbol is not self._symbols.symbol:
                mixed = self._symbols.mixed(symbol)
                if mixed is not None:
                    self._fail(mixed)
                    return
            if ts.__class__ is not int:
                ts = _ccxt_timestamp(ts)
                if ts is None:
                    return
            # build_ohlcvc skips these (since=0, skipZeroPrices)
            if price is None or ts < 0 or not (price > 0 or price < 0):
                return
        except (KeyError, TypeError, IndexError, AttributeError):
            self._fail(shape_error("ohlcv", TRADE_SHAPE, trade))
            return
        if self._bucket <= ts < self._bucket_end:  # the open candle (most trades: kept inline)
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
            self._close = price
            try:
                self._volume += amount
            except TypeError:
                if not self._add_odd_amount(trade, amount):
                    return
            self._count += 1
        elif ts >= self._bucket_end:
            if not self._next_candle(trade, ts, price, amount):
                return
        elif self._merge_late:
            if not self._merge_late_trade(trade, price, amount):
                return
        else:
            self._drop_late(trade)
            return
        if not self._closed_only:  # the updated candle (self._row(), inline)
            self._emit(
                [self._bucket, self._open, self._high, self._low, self._close, self._volume, self._count]
            )

    def on_next_locked(self, trade: Trade) -> None:
        """``on_next`` when a close_on_time timer may run at the same time."""
        with self._lock:
            if not self._stopped:
                self.on_next(trade)

    def on_error(self, error: Exception) -> None:
        with self._lock:
            self._fail(error)

    def on_completed(self) -> None:
        """Flush the open candle (``closed_only``) and complete."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self.timer.dispose()
            if self._closed_only and self._bucket >= 0:
                self._emit(self._row())
            self._observer.on_completed()

    # -- candle building -------------------------------------------------

    def _row(self) -> Candle:
        return [self._bucket, self._open, self._high, self._low, self._close, self._volume, self._count]

    def _next_candle(self, trade: Trade, ts: int, price: Any, amount: Any) -> bool:
        """Close the open candle for a trade of a later bucket and open that bucket's."""
        bucket = ts - ts % self._ms
        if bucket < self._floor:  # its candle was closed by time
            self._drop_late(trade)
            return False
        # checked once per candle: a str here would make the volume a str
        # that the additions in on_next then extend
        if amount is not None and not is_number(amount):
            self._fail(shape_error("ohlcv", TRADE_SHAPE, trade))
            return False
        if self._fill_gaps and self._had_candle:
            empty = (bucket - (self._bucket + self._ms if self._bucket >= 0 else self._floor)) // self._ms
            if empty > MAX_FILLED:
                self._fail(StreamShapeError(
                    f"ohlcv(fill_gaps=True) would emit {empty:,} empty candles at once (more than {MAX_FILLED:,}) "
                    f"before the trade at {ts}: a timestamp in seconds, not milliseconds? Got {describe(trade)}"))
                return False
        if self._bucket >= 0:
            self._finish_candle()
        if self._fill_gaps and self._had_candle and self._floor < bucket:
            self._fill(self._floor, bucket)
        self._bucket = bucket
        self._bucket_end = bucket + self._ms
        self._open = self._high = self._low = self._close = price
        self._volume = amount
        self._count = 1
        self._had_candle = True
        if self._scheduler is not None:
            self._arm_close(bucket + self._ms - ts + self._grace_ms)
        return True

    def _finish_candle(self) -> None:
        """The open candle is final: emit it (``closed_only``); later trades start after it."""
        if self._closed_only:
            self._emit(self._row())
        self._floor = self._bucket + self._ms

    def _fill(self, start: int, stop: int) -> None:
        """Flat candles at the last close for the buckets from ``start`` to ``stop``."""
        close = self._close
        for bucket in range(start, stop, self._ms):
            self._emit([bucket, close, close, close, close, 0.0, 0])

    def _add_odd_amount(self, trade: Trade, amount: Any) -> bool:
        """Add an amount ``+`` refused: ``None`` counts as 0 (as in ccxt); else the stream ends.

        A str, or a Decimal after floats, is a ``StreamShapeError``.
        """
        if amount is not None and (self._volume is not None or not is_number(amount)):
            self._fail(shape_error("ohlcv", TRADE_SHAPE, trade))
            return False
        self._volume = _ccxt_sum(self._volume, amount)
        return True

    # -- late trades -----------------------------------------------------

    def _merge_late_trade(self, trade: Trade, price: Any, amount: Any) -> bool:
        """``late='merge'``: into the open candle, as ``build_ohlcvc`` does with unsorted trades."""
        if amount is not None and not is_number(amount):
            self._fail(shape_error("ohlcv", TRADE_SHAPE, trade))
            return False
        if price > self._high:
            self._high = price
        elif price < self._low:
            self._low = price
        self._close = price
        self._volume = _ccxt_sum(self._volume, amount)
        self._count += 1
        return True

    def _drop_late(self, trade: Trade) -> None:
        """Pass a dropped late trade to ``on_late``; what it raises goes to ``on_error``."""
        if self._on_late is not None and not self._stopped:
            try:
                self._on_late(trade)
            except Exception as error:  # user function: to on_error
                self._fail(error)

    # -- closing on time -------------------------------------------------

    def _arm_close(self, delay_ms: float) -> None:
        assert self._scheduler is not None
        self.timer.disposable = self._scheduler.schedule_relative(seconds(delay_ms), self._bucket_ended)

    def _bucket_ended(self, _: abc.SchedulerBase, __: Any = None) -> None:
        """The open candle's bucket, or with ``fill_gaps`` an empty one, ended on the clock."""
        with self._lock:
            if self._stopped:
                return
            if self._bucket >= 0:
                self._finish_candle()
                self._bucket = self._bucket_end = -1
            elif self._fill_gaps:  # a bucket ended without trades
                self._fill(self._floor, self._floor + self._ms)
                self._floor += self._ms
            if self._fill_gaps:
                self._arm_close(self._ms)

    def _fail(self, error: Exception) -> None:
        if not self._stopped:
            self._stopped = True
            self.timer.dispose()
            self._observer.on_error(error)
