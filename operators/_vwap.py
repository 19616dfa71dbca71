"""``vwap``: rolling volume-weighted average price over a time window of trades."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from reactivex import Observable, abc

from ._scheduling import check_positive, shape_error

__all__ = ["vwap"]

Trade = dict[str, Any]

_TRADE_SHAPE = "ccxt trades (dicts with 'timestamp', 'price' and 'amount')"


def vwap(window_ms: float) -> Callable[[Observable[Trade]], Observable[float]]:
    """Rolling VWAP of the trades in the last ``window_ms``, after every trade.

    The window is measured in exchange time: it ends at the newest trade
    ``timestamp`` seen and holds the trades with ``timestamp > newest -
    window_ms``. ``sum(price * amount) / sum(amount)``, kept as running sums
    (O(1) amortised per trade), recomputed exactly whenever the window
    empties so rounding can't build up. Trades without price or amount are
    skipped; while the window holds no volume nothing is emitted.

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
            trades: deque[tuple[Any, float, float]] = deque()
            notional = 0.0
            volume = 0.0
            newest: Any = None
            stopped = False

            def on_next(trade: Trade) -> None:
                nonlocal notional, volume, newest, stopped
                if stopped:
                    return
                try:
                    ts = trade["timestamp"]
                    price = trade["price"]
                    amount = trade["amount"]
                    if ts is None or price is None or amount is None:
                        return
                    value = price * amount
                    if newest is None or ts > newest:
                        newest = ts
                    start = newest - window
                except (KeyError, TypeError):
                    stopped = True
                    observer.on_error(shape_error("vwap", _TRADE_SHAPE, trade))
                    return
                if ts <= start:  # already outside the window
                    return
                trades.append((ts, value, amount))
                notional += value
                volume += amount
                while trades[0][0] <= start:
                    _, old_value, old_amount = trades.popleft()
                    notional -= old_value
                    volume -= old_amount
                if len(trades) == 1:  # resynchronise the running sums
                    notional, volume = value, amount
                if volume > 0:
                    observer.on_next(notional / volume)

            return source.subscribe(on_next, observer.on_error, observer.on_completed, scheduler=scheduler_)

        return Observable(subscribe)

    return _vwap
