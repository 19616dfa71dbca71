"""``ohlcv``: time candles built from trades, equal to ccxt's ``build_ohlcvc``.

Candles are ccxt OHLCVC rows ``[timestamp, open, high, low, close, volume,
count]`` -- the 7-element rows ``Exchange.build_ohlcvc`` returns; ``row[:6]``
is the usual ccxt OHLCV row. Every emitted row is a new list that this module
never touches again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from ._errors import OperatorArgumentError
from ._checks import TRADE_SHAPE, is_number, shape_error, timeframe_ms
from ._scheduling import default_scheduler, seconds

__all__ = ["ohlcv"]

Trade = dict[str, Any]
Candle = list[Any]


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
    ``StreamShapeError``.

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
            bucket that ends without trades.
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
    ms = timeframe_ms(timeframe)
    if late not in ("drop", "merge"):
        raise OperatorArgumentError(f"late must be 'drop' or 'merge', got {late!r}")
    if isinstance(grace_ms, bool) or not isinstance(grace_ms, (int, float)) or not 0 <= grace_ms < float("inf"):
        raise OperatorArgumentError(f"grace_ms must be a finite number >= 0, got {grace_ms!r}")
    if on_late is not None and not callable(on_late):
        raise OperatorArgumentError(f"on_late must be callable, got {on_late!r}")
    merge_late = late == "merge"

    def _ohlcv(source: Observable[Trade]) -> Observable[Candle]:
        def subscribe(
            observer: abc.ObserverBase[Candle], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            _scheduler = (scheduler or scheduler_ or default_scheduler()) if close_on_time else None
            timer = SerialDisposable()
            lock = threading.RLock()
            emit = observer.on_next
            # The open candle; cur == -1 when there is none (before the first
            # trade, or after the candle was closed by time).
            cur = -1
            o: Any = None
            h: Any = None
            lo: Any = None
            c: Any = None
            v: Any = None
            n = 0
            floor = 0  # first bucket a new candle may have (after the last closed one)
            has_prev = False  # a candle was ever opened: fill_gaps has a close to repeat
            stopped = False

            def fail(error: Exception) -> None:
                nonlocal stopped
                if not stopped:
                    stopped = True
                    timer.dispose()
                    observer.on_error(error)

            def drop_late(trade: Trade) -> None:
                if on_late is not None and not stopped:
                    try:
                        on_late(trade)
                    except Exception as error:  # user function: to on_error
                        fail(error)

            def fill(start: int, stop: int) -> None:
                close = c
                for bucket in range(start, stop, ms):
                    emit([bucket, close, close, close, close, 0.0, 0])

            def arm_close(delay_ms: float) -> None:
                assert _scheduler is not None
                timer.disposable = _scheduler.schedule_relative(seconds(delay_ms), on_time)

            def on_time(_: abc.SchedulerBase, __: Any = None) -> None:
                nonlocal cur, floor
                with lock:
                    if stopped:
                        return
                    if cur >= 0:  # the open candle's bucket has ended
                        if closed_only:
                            emit([cur, o, h, lo, c, v, n])
                        floor = cur + ms
                        cur = -1
                    elif fill_gaps:  # a bucket ended without trades
                        emit([floor, c, c, c, c, 0.0, 0])
                        floor += ms
                    if fill_gaps:
                        arm_close(ms)

            def on_next(trade: Trade) -> None:
                nonlocal cur, o, h, lo, c, v, n, floor, has_prev
                try:
                    ts = trade["timestamp"]
                    price = trade["price"]
                    amount = trade["amount"]
                    if ts.__class__ is not int:
                        ts = _ccxt_timestamp(ts)
                        if ts is None:
                            return
                    # build_ohlcvc skips these (since=0, skipZeroPrices)
                    if price is None or ts < 0 or not (price > 0 or price < 0):
                        return
                except (KeyError, TypeError, IndexError):
                    fail(shape_error("ohlcv", TRADE_SHAPE, trade))
                    return
                bucket = ts - ts % ms
                if bucket == cur:
                    if price > h:
                        h = price
                    elif price < lo:
                        lo = price
                    c = price
                    try:
                        v += amount
                    except TypeError:  # None (counts as 0, as in ccxt), or amounts that don't add up
                        if amount is not None and (v is not None or not is_number(amount)):  # a str, a Decimal after floats
                            fail(shape_error("ohlcv", TRADE_SHAPE, trade))
                            return
                        v = _ccxt_sum(v, amount)
                    n += 1
                elif bucket > cur:
                    if bucket < floor:  # its candle was closed by time
                        drop_late(trade)
                        return
                    # checked once per candle: a str here would make the
                    # volume a str that the additions above then extend
                    if amount is not None and not is_number(amount):
                        fail(shape_error("ohlcv", TRADE_SHAPE, trade))
                        return
                    if cur >= 0:
                        if closed_only:
                            emit([cur, o, h, lo, c, v, n])
                        floor = cur + ms
                    if fill_gaps and has_prev and floor < bucket:
                        fill(floor, bucket)
                    cur = bucket
                    o = h = lo = c = price
                    v = amount
                    n = 1
                    has_prev = True
                    if close_on_time:
                        arm_close(bucket + ms - ts + grace_ms)
                elif merge_late:  # as build_ohlcvc: into the open candle
                    if amount is not None and not is_number(amount):
                        fail(shape_error("ohlcv", TRADE_SHAPE, trade))
                        return
                    if price > h:
                        h = price
                    elif price < lo:
                        lo = price
                    c = price
                    v = _ccxt_sum(v, amount)
                    n += 1
                else:
                    drop_late(trade)
                    return
                if not closed_only:
                    emit([cur, o, h, lo, c, v, n])

            def on_next_locked(trade: Trade) -> None:
                with lock:
                    if not stopped:
                        on_next(trade)

            def on_error(error: Exception) -> None:
                with lock:
                    fail(error)

            def on_completed() -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    stopped = True
                    timer.dispose()
                    if closed_only and cur >= 0:
                        emit([cur, o, h, lo, c, v, n])
                    observer.on_completed()

            subscription = source.subscribe(
                on_next_locked if close_on_time else on_next,
                on_error,
                on_completed,
                scheduler=scheduler_,
            )
            return CompositeDisposable(subscription, timer)

        return Observable(subscribe)

    return _ohlcv
