"""``vwap``: rolling volume-weighted average price over a time window of trades."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from math import isfinite
from typing import Any

from reactivex import Observable, abc

from ._checks import TRADE_SHAPE, SymbolGuard, check_positive, negative_error, not_finite_error, shape_error

__all__ = ["vwap"]

Trade = dict[str, Any]


def vwap(window_ms: float) -> Callable[[Observable[Trade]], Observable[float]]:
    """Rolling VWAP of the trades in the last ``window_ms``, after every trade.

    The window is measured in exchange time: it ends at the newest trade
    ``timestamp`` seen and holds the trades with ``timestamp > newest -
    window_ms``, whatever order they arrived in: a late trade inside the
    window is counted (and expires by its own timestamp), one already outside
    it is ignored. ``sum(price * amount) / sum(amount)``, kept as running sums
    (O(1) amortised per trade in timestamp order; a late trade costs the
    number of newer trades in the window), recomputed exactly whenever the
    window is down to one trade so rounding can't build up. Trades without
    price or amount are skipped; while the window holds no volume nothing is
    emitted. A value that is not a ccxt trade with numbers (e.g. a price
    given as a string), a NaN or infinite price, amount or timestamp, a
    negative amount, or a trade of a second symbol ends the stream with
    ``StreamShapeError``.

    Example:
        >>> rxpro.trades(ex, 'BTC/USDT').pipe(vwap(60_000))  # one-minute VWAP

    .. marble::
        :alt: vwap(window=3 ticks), trades as price x amount

        -a(10x1)-b(20x1)-------c(30x2)-|
        [            vwap              ]
        -10------15------------30------|

    Args:
        window_ms: Window length in milliseconds (> 0).

    Returns:
        An operator function from trades to VWAP floats.

    Raises:
        OperatorArgumentError: ``window_ms`` not > 0.
    """
    window = check_positive("window_ms", window_ms)

    def _vwap(source: Observable[Trade]) -> Observable[float]:
        def subscribe(
            observer: abc.ObserverBase[float], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            # (timestamp, price * amount, amount), sorted by timestamp so the
            # oldest trade is always at the front, even after late arrivals
            trades: deque[tuple[Any, Any, Any]] = deque()
            notional: Any = 0  # an int: sums of floats, Decimals or numpy numbers alike
            volume: Any = 0
            weighted = 0  # trades in the window with an amount: none, and there is no price
            newest: Any = None
            stopped = False
            symbols = SymbolGuard("vwap")

            def on_next(trade: Trade) -> None:
                nonlocal notional, volume, weighted, newest, stopped
                if stopped:
                    return
                try:
                    ts = trade["timestamp"]
                    price = trade["price"]
                    amount = trade["amount"]
                    symbol = trade.get("symbol")
                    if symbol is not symbols.symbol:
                        mixed = symbols.mixed(symbol)
                        if mixed is not None:
                            stopped = True
                            observer.on_error(mixed)
                            return
                    if ts is None or price is None or amount is None:
                        return
                    if ts.__class__ is not int and not isfinite(ts):
                        # a NaN would be the newest for ever: every later trade late, nothing expiring
                        stopped = True
                        observer.on_error(not_finite_error("vwap", "timestamp", ts, trade))
                        return
                    value = price * amount
                    if not isfinite(value + amount):
                        # a NaN or an infinity never leaves the running sums: every later value would be NaN
                        stopped = True
                        field, number = ("amount", amount) if not isfinite(amount) else ("price", price)
                        observer.on_error(not_finite_error("vwap", field, number, trade))
                        return
                    if amount < 0:  # a weight below zero: a mean outside the prices traded
                        stopped = True
                        observer.on_error(negative_error("vwap", "amount", amount, trade))
                        return
                    # A str price or amount ("1.5" * 2 is a str) fails the sums
                    # below; the state they leave half-updated is never used.
                    if newest is None or ts >= newest:  # in order: O(1)
                        start = ts - window
                        newest = ts
                        notional += value
                        volume += amount
                        trades.append((ts, value, amount))
                    else:
                        start = newest - window
                        if ts <= start:  # late, and already outside the window
                            return
                        notional += value
                        volume += amount
                        _insert_late(trades, (ts, value, amount))
                    if amount:
                        weighted += 1
                except (KeyError, TypeError, AttributeError, ValueError, ArithmeticError):  # (a Decimal sNaN)
                    stopped = True
                    observer.on_error(shape_error("vwap", TRADE_SHAPE, trade))
                    return
                while trades[0][0] <= start:
                    _, old_value, old_amount = trades.popleft()
                    notional -= old_value
                    volume -= old_amount
                    if old_amount:
                        weighted -= 1
                if len(trades) == 1:  # resynchronise the running sums
                    _, notional, volume = trades[0]
                elif not weighted:  # only zero amounts left: what the sums hold is rounding residue
                    notional = volume = 0
                if volume > 0:
                    observer.on_next(notional / volume)

            return source.subscribe(on_next, observer.on_error, observer.on_completed, scheduler=scheduler_)

        return Observable(subscribe)

    return _vwap


def _insert_late(trades: deque[tuple[Any, Any, Any]], trade: tuple[Any, Any, Any]) -> None:
    """Put a late trade behind the newer ones, scanning from the end.

    The deque stays sorted by timestamp; the newest trade never leaves it.
    """
    ts = trade[0]
    i = len(trades) - 1
    while i > 0 and trades[i - 1][0] > ts:
        i -= 1
    trades.insert(i, trade)
