"""What ``rxpro watch`` shows for each stream: a rich renderable and a plain line.

A view folds the stream's values into its own state (``add``) and renders
that state on demand; the watch loop decides how often (``--throttle``).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["BookView", "OhlcvView", "TickerView", "TradesView", "View", "number", "view_for"]


def number(value: Any) -> str:
    """A price or amount with its significant digits, ``-`` when missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        # fixed point, not 8e-05; ten decimals hide float noise such as a 0.009999999995 spread
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return str(value)


def _iso(timestamp_ms: Any) -> str:
    if not isinstance(timestamp_ms, (int, float)):
        return "-"
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


class View:
    """The state of one watched stream and its two renderings."""

    stream: ClassVar[str]

    def __init__(self, exchange_id: str, symbol: str, rows: int) -> None:
        self.exchange_id = exchange_id
        self.symbol = symbol
        self.rows = rows
        self.updates = 0

    def add(self, value: Any) -> None:
        self.updates += 1
        self._add(value)

    def _add(self, value: Any) -> None:
        raise NotImplementedError

    def line(self, value: Any) -> str:
        """One plain line for ``value`` (after ``add``)."""
        raise NotImplementedError

    def render(self) -> RenderableType:
        raise NotImplementedError

    def title(self) -> str:
        return f"{self.exchange_id} {self.symbol} {self.stream}"


class TickerView(View):
    stream = "ticker"

    def __init__(self, exchange_id: str, symbol: str, rows: int) -> None:
        super().__init__(exchange_id, symbol, rows)
        self.ticker: dict[str, Any] | None = None
        self.previous_last: float | None = None

    def _add(self, value: Any) -> None:
        if self.ticker is not None and self.ticker.get("last") != value.get("last"):
            self.previous_last = self.ticker.get("last")
        self.ticker = value

    def line(self, value: Any) -> str:
        percentage = value.get("percentage")
        change = f"  chg {percentage:+.2f}%" if isinstance(percentage, (int, float)) else ""
        # a ticker channel without bid/ask (Binance's miniTicker, ccxt's default there): leave out what isn't there
        quotes = "".join(f"  {name} {number(value[name])}" for name in ("bid", "ask") if value.get(name) is not None)
        return (
            f"{value.get('datetime') or '-'}  {value['symbol']}  last {number(value.get('last'))}"
            f"{quotes}{change}  vol {number(value.get('baseVolume'))}"
        )

    def render(self) -> RenderableType:
        table = Table(title=self.title(), show_header=False, min_width=40)
        table.add_column(style="bold")
        table.add_column(justify="right")
        ticker = self.ticker or {}
        last = ticker.get("last")
        style = ""
        if isinstance(last, (int, float)) and isinstance(self.previous_last, (int, float)):
            style = "green" if last >= self.previous_last else "red"
        table.add_row("last", Text(number(last), style=style))
        for field in ("bid", "ask", "high", "low", "open", "vwap"):
            table.add_row(field, number(ticker.get(field)))
        percentage = ticker.get("percentage")
        table.add_row("change", f"{percentage:+.2f}%" if isinstance(percentage, (int, float)) else "-")
        table.add_row("volume", number(ticker.get("baseVolume")))
        table.add_row("time", ticker.get("datetime") or "-")
        table.caption = f"{self.updates} updates"
        return table


class TradesView(View):
    stream = "trades"

    def __init__(self, exchange_id: str, symbol: str, rows: int) -> None:
        super().__init__(exchange_id, symbol, rows)
        self.trades: deque[dict[str, Any]] = deque(maxlen=rows)

    def _add(self, value: Any) -> None:
        self.trades.append(value)

    def line(self, value: Any) -> str:
        return (
            f"{value.get('datetime') or '-'}  {value['symbol']}  {value.get('side') or '-':4}"
            f"  {number(value.get('price'))} x {number(value.get('amount'))}"
        )

    def render(self) -> RenderableType:
        table = Table(title=self.title(), caption=f"{self.updates} trades")
        for name in ("time", "side", "price", "amount", "cost"):
            table.add_column(name, justify="left" if name in ("time", "side") else "right")
        for trade in reversed(self.trades):
            side = trade.get("side") or "-"
            style = {"buy": "green", "sell": "red"}.get(side, "")
            table.add_row(
                trade.get("datetime") or "-",
                Text(side, style=style),
                Text(number(trade.get("price")), style=style),
                number(trade.get("amount")),
                number(trade.get("cost")),
            )
        return table


class BookView(View):
    stream = "orderbook"

    def __init__(self, exchange_id: str, symbol: str, rows: int) -> None:
        super().__init__(exchange_id, symbol, rows)
        self.book: dict[str, Any] | None = None

    def _add(self, value: Any) -> None:
        self.book = value

    def line(self, value: Any) -> str:
        bids, asks = value.get("bids") or [], value.get("asks") or []
        text = f"{value.get('datetime') or '-'}  {value['symbol']}"
        if bids:
            text += f"  bid {number(bids[0][0])} x {number(bids[0][1])}"
        if asks:
            text += f"  ask {number(asks[0][0])} x {number(asks[0][1])}"
        if bids and asks:
            text += f"  spread {number(asks[0][0] - bids[0][0])}"
        depth_bid = sum(level[1] for level in bids[: self.rows])
        depth_ask = sum(level[1] for level in asks[: self.rows])
        return text + f"  depth{self.rows} {number(depth_bid)} / {number(depth_ask)}"

    def render(self) -> RenderableType:
        book = self.book or {}
        bids, asks = (book.get("bids") or [])[: self.rows], (book.get("asks") or [])[: self.rows]
        table = Table(title=self.title())
        for name, style in (("bid total", "green"), ("bid size", "green"), ("bid", "bold green"),
                            ("ask", "bold red"), ("ask size", "red"), ("ask total", "red")):
            table.add_column(name, justify="right", style=style)
        bid_total = ask_total = 0.0
        for i in range(max(len(bids), len(asks))):
            cells = ["", "", ""]
            if i < len(bids):
                bid_total += bids[i][1]
                cells = [number(bid_total), number(bids[i][1]), number(bids[i][0])]
            if i < len(asks):
                ask_total += asks[i][1]
                cells += [number(asks[i][0]), number(asks[i][1]), number(ask_total)]
            else:
                cells += ["", "", ""]
            table.add_row(*cells)
        summary = f"{book.get('datetime') or '-'}  {self.updates} updates"
        if bids and asks:
            summary = (
                f"mid {number((bids[0][0] + asks[0][0]) / 2)}  spread {number(asks[0][0] - bids[0][0])}  " + summary
            )
        table.caption = summary
        return table


class OhlcvView(View):
    stream = "ohlcv"

    def __init__(self, exchange_id: str, symbol: str, rows: int, timeframe: str = "1m") -> None:
        super().__init__(exchange_id, symbol, rows)
        self.timeframe = timeframe
        self.candles: dict[int, list[Any]] = {}

    def _add(self, value: Any) -> None:
        self.candles[value[0]] = value
        while len(self.candles) > self.rows:
            del self.candles[min(self.candles)]

    def title(self) -> str:
        return f"{self.exchange_id} {self.symbol} ohlcv {self.timeframe}"

    def line(self, value: Any) -> str:
        timestamp, open_, high, low, close, volume = value[:6]
        return (
            f"{_iso(timestamp)}  {self.symbol} {self.timeframe}  o {number(open_)}  h {number(high)}"
            f"  l {number(low)}  c {number(close)}  v {number(volume)}"
        )

    def render(self) -> RenderableType:
        table = Table(title=self.title(), caption=f"{self.updates} updates")
        table.add_column("open time")
        for name in ("open", "high", "low", "close", "volume"):
            table.add_column(name, justify="right")
        for timestamp in sorted(self.candles, reverse=True):
            _, open_, high, low, close, volume = self.candles[timestamp][:6]
            style = "green" if close >= open_ else "red"
            table.add_row(_iso(timestamp), number(open_), number(high), number(low),
                          Text(number(close), style=style), number(volume))
        return table


def view_for(stream: str, exchange_id: str, symbol: str, rows: int, timeframe: str) -> View:
    if stream == "ohlcv":
        return OhlcvView(exchange_id, symbol, rows, timeframe)
    views: dict[str, type[View]] = {"ticker": TickerView, "trades": TradesView, "orderbook": BookView}
    return views[stream](exchange_id, symbol, rows)


def waiting(title: str) -> RenderableType:
    return Group(Text(title, style="bold"), Text("waiting for the first update…", style="dim"))
