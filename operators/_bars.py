"""``bars``: volume, tick and dollar (notional) bars from trades."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactivex import Observable, abc

from ._errors import OperatorArgumentError
from ._checks import TRADE_SHAPE, check_positive, is_number, shape_error

__all__ = ["bars"]

Trade = dict[str, Any]
Bar = list[Any]


def bars(
    *,
    volume: float | None = None,
    ticks: int | None = None,
    notional: float | None = None,
) -> Callable[[Observable[Trade]], Observable[Bar]]:
    """Volume, tick or dollar bars from a stream of ccxt trades.

    Give exactly one threshold. Trades are added to the open bar until the
    bar's measure reaches the threshold; the trade that reaches it belongs
    wholly to that bar (trades are never split), then the bar is emitted and
    the next trade opens a new one. The measure is the summed ``amount``
    (``volume=``), the number of trades (``ticks=``) or the summed ``cost``
    (``notional=``; ``price * amount`` where a trade has no cost).

    Bars have the candle shape ``[timestamp, open, high, low, close, volume,
    count]`` where ``timestamp`` is the first trade's timestamp. A bar still
    open on completion is not emitted (it never reached its threshold).
    Trades without a price, or with a zero price, are skipped, as in
    ``build_ohlcvc``; a price, amount or cost that is not a number (e.g. a
    str) ends the stream with ``StreamShapeError``.

    Example:
        >>> rxpro.trades(ex, 'BTC/USDT').pipe(bars(volume=10))  # a bar per 10 BTC

    .. marble::
        :alt: bars(ticks=3)

        -a-b-c-d-e-f-g-|
        [ bars(ticks=3) ]
        -----X-----Y---|    X=[ts(a), a, max, min, c, v, 3]

    Args:
        volume: Base-currency amount per bar (> 0).
        ticks: Trades per bar (an int >= 1).
        notional: Quote-currency value per bar (> 0).

    Returns:
        An operator function from a trade stream to a bar stream.

    Raises:
        OperatorArgumentError: not exactly one threshold, or a bad one.
    """
    given = {name: value for name, value in (("volume", volume), ("ticks", ticks), ("notional", notional)) if value is not None}
    if len(given) != 1:
        raise OperatorArgumentError(
            f"bars() needs exactly one of volume=, ticks=, notional=; got {given or 'none'}"
        )
    (kind, raw), = given.items()
    if kind == "ticks":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise OperatorArgumentError(f"ticks must be an int >= 1, got {raw!r}")
    threshold = check_positive(kind, raw)
    dollar = kind == "notional"

    def _bars(source: Observable[Trade]) -> Observable[Bar]:
        def subscribe(
            observer: abc.ObserverBase[Bar], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            emit = observer.on_next
            open_ = False
            ts0: Any = None
            o: Any = None
            h: Any = None
            lo: Any = None
            v: Any = 0.0
            n = 0
            measure = 0.0
            stopped = False

            def fail(trade: Trade) -> None:
                nonlocal stopped
                stopped = True
                observer.on_error(shape_error("bars", TRADE_SHAPE, trade))

            def on_next(trade: Trade) -> None:
                nonlocal open_, ts0, o, h, lo, v, n, measure
                if stopped:
                    return
                try:
                    price = trade["price"]
                    amount = trade["amount"]
                    if price is None or not (price > 0 or price < 0):
                        return
                    amount = amount or 0.0  # None counts as no volume
                    if kind == "volume":
                        step = amount
                    elif kind == "ticks":
                        step = 1
                    else:
                        cost = trade.get("cost")
                        step = cost if cost is not None else price * amount
                    if not open_:
                        # checked once per bar (inside a bar a str fails the
                        # additions); the step is the amount, 1, or for dollar
                        # bars the cost
                        if (amount.__class__ is not float and not is_number(amount)) or (
                            dollar and step.__class__ is not float and not is_number(step)
                        ):
                            fail(trade)
                            return
                        ts0 = trade["timestamp"]
                        o = h = lo = price
                        v = amount
                        n = 1
                        measure = step
                        open_ = True
                    else:
                        if price > h:
                            h = price
                        elif price < lo:
                            lo = price
                        v += amount
                        n += 1
                        measure += step
                    reached = measure >= threshold
                except (KeyError, TypeError, AttributeError):
                    fail(trade)
                    return
                if reached:
                    open_ = False
                    emit([ts0, o, h, lo, price, v, n])

            def on_error(error: Exception) -> None:
                observer.on_error(error)

            def on_completed() -> None:
                observer.on_completed()

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)

        return Observable(subscribe)

    return _bars
