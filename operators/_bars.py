"""``bars``: volume, tick and dollar (notional) bars from trades.

``bars`` checks its threshold and, per subscription, hands the trades to a
``_BarBuilder`` (the open bar and its measure, closed when the measure
reaches the threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from typing import Any

from reactivex import Observable, abc

from rxpro._errors import OperatorArgumentError

from ._checks import TRADE_SHAPE, SymbolGuard, check_positive, is_number, negative_error, not_finite_error, shape_error

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
    str), an amount or cost that is NaN or infinite (a bar could never reach
    its threshold), a negative amount, or a trade of a second symbol ends the
    stream with ``StreamShapeError``.

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
    kind, threshold = _threshold(volume, ticks, notional)

    def _bars(source: Observable[Trade]) -> Observable[Bar]:
        def subscribe(
            observer: abc.ObserverBase[Bar], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            builder = _BarBuilder(kind, threshold, observer)
            return source.subscribe(builder.on_next, observer.on_error, observer.on_completed, scheduler=scheduler_)

        return Observable(subscribe)

    return _bars


def _threshold(volume: float | None, ticks: int | None, notional: float | None) -> tuple[str, float]:
    """The one threshold given, as ``(kind, value)``; ``OperatorArgumentError`` otherwise."""
    given = {name: value for name, value in (("volume", volume), ("ticks", ticks), ("notional", notional)) if value is not None}
    if len(given) != 1:
        raise OperatorArgumentError(
            f"bars() needs exactly one of volume=, ticks=, notional=; got {given or 'none'}"
        )
    (kind, raw), = given.items()
    if kind == "ticks":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise OperatorArgumentError(f"ticks must be an int >= 1, got {raw!r}")
    return kind, check_positive(kind, raw)


class _BarBuilder:
    """One subscription's open bar, closed when its measure reaches the threshold.

    The open bar is ``[_first_ts, _open, _high, _low, close, _volume,
    _count]``, its close the price of the trade that closes it. The measure
    of volume bars is ``_volume`` and of tick bars ``_count`` (the same sums);
    dollar bars keep ``_notional``.
    """

    __slots__ = (
        "_by_count", "_by_notional", "_threshold", "_observer", "_emit", "_stopped",
        "_is_open", "_first_ts", "_open", "_high", "_low", "_volume", "_count", "_notional", "_symbols",
    )

    def __init__(self, kind: str, threshold: float, observer: abc.ObserverBase[Bar]) -> None:
        self._by_count = kind == "ticks"
        self._by_notional = kind == "notional"  # else by volume
        self._threshold = threshold
        self._observer = observer
        self._emit = observer.on_next
        self._stopped = False
        self._is_open = False
        self._first_ts: Any = None
        self._open: Any = None
        self._high: Any = None
        self._low: Any = None
        self._volume: Any = 0.0
        self._count = 0
        self._notional: Any = 0.0
        self._symbols = SymbolGuard("bars")

    def on_next(self, trade: Trade) -> None:
        """Add one trade to the open bar (or open one); emit the bar when it reaches the threshold."""
        if self._stopped:
            return
        try:
            price = trade["price"]
            amount = trade["amount"]
            symbol = trade.get("symbol")
            if symbol is not self._symbols.symbol:
                mixed = self._symbols.mixed(symbol)
                if mixed is not None:
                    self._stop(mixed)
                    return
            if price is None or not (price > 0 or price < 0):
                return
            amount = amount or 0.0  # None counts as no volume
            if not isfinite(amount):  # a NaN would keep the bar from ever reaching its threshold
                self._stop(not_finite_error("bars", "amount", amount, trade))
                return
            if amount < 0:  # would take volume out of the bar
                self._stop(negative_error("bars", "amount", amount, trade))
                return
            if self._is_open:
                if price > self._high:
                    self._high = price
                elif price < self._low:
                    self._low = price
                self._volume += amount
                self._count += 1
                if self._by_notional:
                    cost = trade.get("cost")
                    notional = cost if cost is not None else price * amount
                    if not isfinite(notional):
                        self._stop(not_finite_error("bars", "cost", notional, trade))
                        return
                    self._notional += notional
            elif not self._open_bar(trade, price, amount):
                return
            if self._by_count:
                reached = self._count >= self._threshold
            elif self._by_notional:
                reached = self._notional >= self._threshold
            else:
                reached = self._volume >= self._threshold
        except (KeyError, TypeError, AttributeError, ValueError, OverflowError):
            self._fail(trade)
            return
        if reached:
            self._is_open = False
            self._emit([self._first_ts, self._open, self._high, self._low, price, self._volume, self._count])

    def _open_bar(self, trade: Trade, price: Any, amount: Any) -> bool:
        """Open a bar with ``trade``; ``False`` (the stream ended) when its numbers are not numbers.

        Checked once per bar: inside a bar a str fails the additions.
        """
        notional = None
        if self._by_notional:
            cost = trade.get("cost")
            notional = cost if cost is not None else price * amount
        if (amount.__class__ is not float and not is_number(amount)) or (
            notional is not None and notional.__class__ is not float and not is_number(notional)
        ):
            self._fail(trade)
            return False
        if notional is not None and not isfinite(notional):
            self._stop(not_finite_error("bars", "cost", notional, trade))
            return False
        self._first_ts = trade["timestamp"]
        self._open = self._high = self._low = price
        self._volume = amount
        self._count = 1
        self._notional = notional
        self._is_open = True
        return True

    def _fail(self, trade: Trade) -> None:
        self._stop(shape_error("bars", TRADE_SHAPE, trade))

    def _stop(self, error: Exception) -> None:
        self._stopped = True
        self._observer.on_error(error)
