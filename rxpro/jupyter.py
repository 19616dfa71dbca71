"""Jupyter helpers: collect an Observable into a DataFrame, show one live in a cell.

``await to_dataframe(obs, n=..., duration_ms=...)`` gathers values into a
``pandas.DataFrame``; ``live(obs, kind='table'|'line'|'candlestick')`` is a
cell output that redraws (throttled) as values arrive and unsubscribes when
the output goes away. Both need the optional extra: ``pip install rxpro[jupyter]``
(pandas, plotly, ipywidgets). Importing this module never needs it; the
functions that do raise an ``ImportError`` naming the extra.

Streams, operators and the simulator live elsewhere (``rxpro``,
``rxpro.operators``, ``rxpro.testing``); this module only consumes Observables.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import SingleAssignmentDisposable

if TYPE_CHECKING:  # pragma: no cover - the optional extra
    import pandas

__all__ = ["LiveView", "OHLCV_COLUMNS", "live", "to_dataframe", "to_rows"]

#: Column names given to ccxt OHLCV rows (and rxpro's 7-element OHLCVC candles).
OHLCV_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "count")

Kind = Literal["table", "line", "candlestick"]
Backend = Literal["auto", "widget", "display"]


def _require(module: str) -> ModuleType:
    """Import a module of the ``jupyter`` extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"rxpro.jupyter needs {module.split('.')[0]!r} for this: pip install rxpro[jupyter]"
        ) from error


# -- values -> rows ------------------------------------------------------------


def _is_ohlcv_row(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) in (6, 7)
        and not hasattr(value, "_fields")
        and all(isinstance(x, (int, float)) or x is None for x in value)
    )


def to_rows(values: Iterable[Any], *, keep_info: bool = False) -> list[dict[str, Any]]:
    """The table rows (one dict each) ``to_dataframe`` and ``live`` make of stream values.

    - a dict (a ccxt ticker, trade, order book...) -> its keys; ccxt's raw
      exchange payload ``info`` is dropped unless ``keep_info``;
    - a 6- or 7-element numeric list (a ccxt OHLCV row, an rxpro candle or bar)
      -> ``timestamp, open, high, low, close, volume[, count]``;
    - a dataclass (``BestBidOffer``, ``Spread``...) or a named tuple -> its fields;
      ``Venued(venue, value)`` -> ``venue`` plus the row of ``value``;
    - a tuple -> columns ``0, 1, ...``; anything else (a float from
      ``mid_price``) -> one column ``value``.
    """
    return [_row(value, keep_info) for value in values]


def _row(value: Any, keep_info: bool) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if keep_info or k != "info"}
    if _is_ohlcv_row(value):
        return dict(zip(OHLCV_COLUMNS, value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        inner = fields.get("value")
        if set(fields) == {"venue", "value"}:  # rxpro.operators.Venued
            return {"venue": fields["venue"], **_row(inner, keep_info)}
        return fields
    if isinstance(value, tuple):
        if hasattr(value, "_asdict"):
            return dict(value._asdict())
        return {str(i): v for i, v in enumerate(value)}
    return {"value": value}


def _frame(rows: Sequence[dict[str, Any]], time_index: bool) -> pandas.DataFrame:
    pd = _require("pandas")
    frame = pd.DataFrame.from_records(list(rows))
    if time_index and "timestamp" in frame.columns and len(frame):
        stamps = pd.to_numeric(frame["timestamp"], errors="coerce")
        if stamps.notna().all():
            frame.index = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ms", utc=True), name="time")
    return frame


# -- to_dataframe --------------------------------------------------------------


async def to_dataframe(
    source: Observable[Any],
    n: int | None = None,
    duration_ms: float | None = None,
    *,
    keep_info: bool = False,
    time_index: bool = True,
    scheduler: abc.SchedulerBase | None = None,
) -> pandas.DataFrame:
    """Collect values of ``source`` into a ``pandas.DataFrame`` (``await`` it).

    Subscribes at once and completes after ``n`` values, after
    ``duration_ms`` on the scheduler's clock, or when ``source`` completes,
    whichever comes first; then the subscription is disposed (for a ccxt.pro
    stream: unwatched when nobody else listens). With neither ``n`` nor
    ``duration_ms`` it waits for ``source`` to complete. An error from
    ``source`` is raised here, after disposing; cancelling the ``await``
    (Jupyter's interrupt) disposes too.

    On a replay (``rxpro.replay``, virtual clock) the end of the recording
    also ends it, with what was collected: the replay completes its streams
    there (so e.g. ``ohlcv`` flushes its last candle first), and when the
    clock is the replay's, ``to_dataframe`` returns once the recording has
    ended even for a source that does not complete -- the virtual clock stops
    at the last frame, so a ``duration_ms`` reaching past the end of the
    recording ends with it, and a call made after the end returns at once.

    Rows are made by ``to_rows``: dict keys become columns (ccxt's ``info``
    dropped unless ``keep_info``), OHLCV lists become
    ``timestamp/open/high/low/close/volume[/count]``. With ``time_index``
    (default) a numeric ``timestamp`` column (ms) also becomes a UTC
    ``DatetimeIndex`` named ``time``.

    Example:
        >>> trades = await to_dataframe(rxpro.trades(ex, 'BTC/USDT'), n=100)
        >>> candles = await to_dataframe(rxpro.ohlcv(ex, 'BTC/USDT', '1m'), duration_ms=5_000)

    Args:
        source: Any Observable.
        n: Stop after this many values (an int >= 1).
        duration_ms: Stop after this long (> 0), timed on ``scheduler``.
        keep_info: Keep ccxt's raw ``info`` column.
        time_index: Index by ``timestamp`` as UTC datetimes when there is one.
        scheduler: Clock for ``duration_ms``, also passed to ``subscribe``;
            default the clock of ``source``'s exchange when it is an rxpro
            stream (its replay's virtual clock, or its loop), else
            ``rxpro.operators.default_scheduler()``.

    Raises:
        ImportError: pandas is missing (``pip install rxpro[jupyter]``).
        ValueError: a bad ``n`` or ``duration_ms``.
    """
    _require("pandas")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n must be an int >= 1 or None, got {n!r}")
    if duration_ms is not None and (
        isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) or not duration_ms > 0
    ):
        raise ValueError(f"duration_ms must be a number > 0 or None, got {duration_ms!r}")
    from ._observable import ExchangeObservable
    from ._scheduling import default_scheduler, stream_scheduler

    # an rxpro stream's own clock: with two replays open, the other one's would time this one
    own = stream_scheduler(source.exchange) if isinstance(source, ExchangeObservable) else None
    clock = scheduler or own or default_scheduler()
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    values: list[Any] = []

    def finish(error: Exception | None = None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def on_next(value: Any) -> None:
        if done.done():
            return
        values.append(value)
        if n is not None and len(values) >= n:
            finish()

    timer = None
    if duration_ms is not None:
        timer = clock.schedule_relative(duration_ms / 1000.0, lambda _s, _st: finish())
    # a replay's virtual clock stops with its recording: the end of the recording ends the wait
    from rxpro._replay import replay_end

    recording_end = replay_end(clock)
    if recording_end is not None:
        recording_end.add_done_callback(lambda _f: finish())
    subscription = SingleAssignmentDisposable()
    try:
        subscription.disposable = source.subscribe(
            on_next, finish, lambda: finish(), scheduler=clock
        )
        await done
    finally:
        subscription.dispose()
        if timer is not None:
            timer.dispose()
    return _frame(to_rows(values, keep_info=keep_info), time_index)


# -- live ----------------------------------------------------------------------

_views_by_cell: dict[str, list[LiveView]] = {}
_hooked_shells: set[int] = set()
_current_cell_id: str | None = None


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the extra
        return None
    return get_ipython()


def _on_pre_run_cell(info: Any) -> None:
    """IPython ``pre_run_cell`` hook: re-running a cell stops the views it showed."""
    global _current_cell_id
    cell_id = getattr(info, "cell_id", None)
    _current_cell_id = cell_id
    if cell_id is not None:
        for view in _views_by_cell.pop(cell_id, []):
            view.stop()


def _running_cell_id(shell: Any) -> str | None:
    """The id of the cell being executed: the frontend's ``cellId`` (JupyterLab, VS Code send it)."""
    try:
        parent = shell.kernel.get_parent()
        cell_id = parent.get("metadata", {}).get("cellId")
    except Exception:  # noqa: BLE001 - no kernel, or an older one
        cell_id = None
    return cell_id if isinstance(cell_id, str) else _current_cell_id


def _hook_cell_reruns(shell: Any) -> None:
    if shell is None or id(shell) in _hooked_shells:
        return
    shell.events.register("pre_run_cell", _on_pre_run_cell)
    _hooked_shells.add(id(shell))


def _mimebundle(obj: Any) -> dict[str, Any]:
    """The display data of ``obj``, without displaying it.

    ``_repr_mimebundle_`` first: IPython's formatter would *publish* a plotly
    figure (through its ``_ipython_display_``) instead of returning its data.
    """
    data: Any = None
    repr_bundle = getattr(obj, "_repr_mimebundle_", None)
    if callable(repr_bundle):
        data = repr_bundle()
        if isinstance(data, tuple):
            data = data[0]
    if not data:
        shell = _shell()
        if shell is not None:
            data, _metadata = shell.display_formatter.format(obj)
        else:
            html = getattr(obj, "_repr_html_", None)
            data = {"text/html": html()} if callable(html) else {}
    result = dict(data or {})
    result.setdefault("text/plain", f"<{type(obj).__name__}>")
    return result


def _status_bundle(text: str) -> dict[str, Any]:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"text/plain": text, "text/html": f"<pre style='color:#b00'>{escaped}</pre>"} if text else {"text/plain": ""}


class LiveView:
    """A cell output that shows an Observable as it emits (made by ``live``).

    Displaying it (the last expression of a cell, or ``display(view)``)
    subscribes; values are kept (``max_rows``), and the output is redrawn at
    most once per ``interval_ms`` of wall time, with a final redraw when the
    stream ends. It unsubscribes -- exactly and only -- when:

    - ``view.stop()`` is called (idempotent; the last drawing stays);
    - the stream completes or fails (the error is shown under the output);
    - the cell that displayed it is executed again (IPython's
      ``pre_run_cell`` event with the same ``cell_id``; frontends that send
      no cell id, such as the plain terminal, skip this);
    - widget backend only: the widget is closed (``view.close()``, or
      ``Widget.close_all()``), or its last view in the frontend goes away --
      the output is cleared, the cell re-run or the notebook closed
      (ipywidgets' ``_view_count`` falling back to 0, as streamz does).

    Shutting the kernel down ends everything. Garbage collection does not:
    a live subscription keeps the view alive until one of the above.

    When it ends (stopped, completed, failed), the output keeps its last
    drawing as a *static* table or figure, marked ``live view ended: ...``:
    with the widget backend the widget's output is replaced by that copy
    (through its display id), so a saved notebook shows it when reopened
    instead of "Error displaying widget: model not found".

    ``view.frame()`` is the current data as a DataFrame; ``view.figure()``
    the current plotly figure (line and candlestick kinds).
    """

    def __init__(
        self,
        source: Observable[Any],
        *,
        kind: Kind = "table",
        max_rows: int = 20,
        interval_ms: float = 250.0,
        key: str | Callable[[dict[str, Any]], Hashable] | None = None,
        x: str | None = None,
        y: str | Sequence[str] | None = None,
        title: str | None = None,
        height: int = 400,
        backend: Backend = "auto",
        keep_info: bool = False,
    ) -> None:
        if kind not in ("table", "line", "candlestick"):
            raise ValueError(f"kind must be 'table', 'line' or 'candlestick', got {kind!r}")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows must be an int >= 1, got {max_rows!r}")
        if isinstance(interval_ms, bool) or not isinstance(interval_ms, (int, float)) or interval_ms < 0:
            raise ValueError(f"interval_ms must be a number >= 0, got {interval_ms!r}")
        if backend not in ("auto", "widget", "display"):
            raise ValueError(f"backend must be 'auto', 'widget' or 'display', got {backend!r}")
        _require("pandas")
        if kind != "table":
            _require("plotly")
        if backend == "widget":
            _require("ipywidgets")
        self.source = source
        self.kind: Kind = kind
        self.max_rows = max_rows
        self.interval_ms = float(interval_ms)
        self.title = title
        self.height = height
        self.x = x
        self.y = [y] if isinstance(y, str) else (list(y) if y is not None else None)
        self.keep_info = keep_info
        if key is None and kind == "candlestick":
            key = "timestamp"  # an updated candle replaces the row of its timestamp
        self._key: Callable[[dict[str, Any]], Hashable] | None
        if isinstance(key, str):
            field = key
            self._key = lambda row: row.get(field)
        else:
            self._key = key
        self._keyed: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._rows: deque[dict[str, Any]] = deque(maxlen=max_rows)
        self._backend: Literal["widget", "display"] = self._pick_backend(backend)
        self._widget: Any = None
        self._handles: list[Any] = []  # (content, status) display handles, redrawn in place
        self._widget_handles: list[Any] = []  # (widget, status) display handles, made static at the end
        self._subscription: SingleAssignmentDisposable | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._last_draw = float("-inf")
        self._ids = itertools.count()
        self.count = 0  #: values received so far
        self.draws = 0  #: redraws so far
        self.error: Exception | None = None  #: the stream's error, if it failed
        self.render_error: Exception | None = None  #: why drawing stopped (e.g. a missing column)
        self.completed = False
        self.stopped = False

    @staticmethod
    def _pick_backend(backend: Backend) -> Literal["widget", "display"]:
        if backend != "auto":
            return backend
        shell = _shell()
        in_kernel = shell is not None and getattr(shell, "kernel", None) is not None
        if not in_kernel:
            return "display"
        try:
            importlib.import_module("ipywidgets")
        except ImportError:
            return "display"
        return "widget"

    # -- state -------------------------------------------------------------

    @property
    def backend(self) -> Literal["widget", "display"]:
        """``'widget'`` (an ipywidgets ``Output``) or ``'display'`` (an IPython display handle)."""
        return self._backend

    @property
    def running(self) -> bool:
        """Subscribed and not yet stopped, completed or failed."""
        return self._subscription is not None and not (
            self.stopped or self.completed or self.error or self.render_error)

    def rows(self) -> list[dict[str, Any]]:
        """The kept rows, oldest first (per key when keyed)."""
        if self._key is not None:
            return list(self._keyed.values())
        return list(self._rows)

    def frame(self) -> pandas.DataFrame:
        """The kept rows as a DataFrame (as ``to_dataframe`` makes them)."""
        return _frame(self.rows(), time_index=self.kind == "table")

    def figure(self) -> Any:
        """The plotly figure of the kept rows (kinds ``'line'`` and ``'candlestick'``)."""
        go = _require("plotly.graph_objects")
        frame = _frame(self.rows(), time_index=False)
        figure = go.Figure()
        if len(frame):
            x = self._x_values(frame)
            if self.kind == "candlestick":
                figure.add_trace(go.Candlestick(
                    x=x, open=frame["open"], high=frame["high"], low=frame["low"], close=frame["close"],
                    name=self.title or "ohlcv"))
                figure.update_layout(xaxis_rangeslider_visible=False)
            else:
                for column in self._y_columns(frame):
                    figure.add_trace(go.Scatter(x=x, y=frame[column], mode="lines", name=column))
        figure.update_layout(title=self.title, height=self.height, margin={"l": 40, "r": 20, "t": 40, "b": 30})
        return figure

    def _x_values(self, frame: pandas.DataFrame) -> Any:
        pd = _require("pandas")
        if self.x is not None:
            return frame[self.x]
        if "timestamp" in frame.columns:
            return pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
        return frame.index

    def _y_columns(self, frame: pandas.DataFrame) -> list[str]:
        if self.y is not None:
            return self.y
        skip = {"timestamp", self.x}
        return [str(c) for c in frame.columns
                if c not in skip and frame[c].dtype.kind in "if"]

    def _content(self) -> dict[str, Any]:
        return _mimebundle(self.frame() if self.kind == "table" else self.figure())

    @property
    def ended(self) -> bool:
        """Stopped, completed or failed: nothing more will be drawn from the stream."""
        return bool(self.stopped or self.completed or self.error or self.render_error)

    def _status(self) -> str:
        values = f"{self.count} value{'s' if self.count != 1 else ''}"
        if self.render_error is not None:
            return f"live view ended, cannot draw: {type(self.render_error).__name__}: {self.render_error}"
        if self.error is not None:
            return f"live view ended, stream failed: {type(self.error).__name__}: {self.error}"
        if self.completed:
            return f"live view ended: the stream completed after {values}"
        if self.stopped:
            return f"live view ended: stopped after {values}"
        return ""

    # -- display -----------------------------------------------------------

    def _ipython_display_(self) -> None:
        ipy_display = _require("IPython.display")
        shell = _shell()
        _hook_cell_reruns(shell)
        if self._backend == "widget":
            widgets = _require("ipywidgets")
            if self._widget is None:
                self._widget = widgets.Output(_view_count=0)
                self._widget.observe(self._on_view_count, names="_view_count")
                self._widget.observe(self._on_comm, names="comm")
            # by display id, so that the end can put a static copy in the widget's place
            widget = ipy_display.display(self._widget, display_id=True)
            status = ipy_display.display(_status_bundle(""), raw=True, display_id=True)
            if widget is not None:  # None outside IPython
                self._widget_handles.append((widget, status))
        else:
            # raw bundles: display() of a plotly figure would show it, not update the handle
            content = ipy_display.display(self._content(), raw=True, display_id=True)
            status = ipy_display.display(_status_bundle(self._status()), raw=True, display_id=True)
            if content is not None:  # None outside IPython: nothing to update
                self._handles.append((content, status))
        cell_id = _running_cell_id(shell)
        if cell_id is not None:
            _views_by_cell.setdefault(cell_id, []).append(self)
        self.start()
        self._draw()

    def _on_view_count(self, change: Mapping[str, Any]) -> None:
        # as streamz: only a drop to 0 after having been shown counts (a kernel
        # without a frontend, such as nbclient, never changes the count)
        if (change.get("old") or 0) > 0 and change.get("new") == 0:
            self.stop()

    def _on_comm(self, change: Mapping[str, Any]) -> None:
        if change.get("new") is None:  # Widget.close()
            self.stop()

    def start(self) -> None:
        """Subscribe (done by displaying the view; a second call does nothing)."""
        if self._subscription is not None or self.stopped:
            return
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._subscription = SingleAssignmentDisposable()
        self._subscription.disposable = self.source.subscribe(
            self._on_next, self._on_error, self._on_completed)

    def stop(self) -> None:
        """Unsubscribe and keep the last drawing. Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        if self._subscription is not None:
            self._subscription.dispose()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._draw()

    def close(self) -> None:
        """Stop and remove the output (closes the widget; clears a display handle)."""
        self.stop()
        if self._widget is not None:
            self._widget.close()
        for content, status in self._handles:
            content.update({"text/plain": ""}, raw=True)
            status.update({"text/plain": ""}, raw=True)

    # -- stream ------------------------------------------------------------

    def _on_next(self, value: Any) -> None:
        if self.stopped:
            return
        self.count += 1
        row = _row(value, self.keep_info)
        if self._key is None:
            self._rows.append(row)
        else:
            try:
                key = self._key(row)
            except Exception as error:  # noqa: BLE001 - a user function's error ends the view
                self._on_error(error)
                return
            self._keyed[key] = row
            self._keyed.move_to_end(key)
            while len(self._keyed) > self.max_rows:
                self._keyed.popitem(last=False)
        self._schedule_draw()

    def _on_error(self, error: Exception) -> None:
        self.error = error
        if self._subscription is not None:
            self._subscription.dispose()
        self._draw()

    def _on_completed(self) -> None:
        self.completed = True
        self._draw()

    def _schedule_draw(self) -> None:
        wait = self._last_draw + self.interval_ms / 1000.0 - time.monotonic()
        if wait <= 0:
            self._draw()
        elif self._pending is None and self._loop is not None:
            self._pending = self._loop.call_later(wait, self._draw_pending)

    def _draw_pending(self) -> None:
        self._pending = None
        self._draw()

    def _draw(self) -> None:
        try:
            self._redraw()
        finally:
            # timed from the end of a draw, so a slow draw (a big figure) can't use up the interval
            self._last_draw = time.monotonic()

    def _redraw(self) -> None:
        if self._widget is None and not self._handles:
            return
        self.draws += 1
        try:
            content = self._content()
        except Exception as error:  # noqa: BLE001 - observers never raise; say why drawing stopped
            self.render_error = error
            if self._subscription is not None:
                self._subscription.dispose()
            content = {"text/plain": ""}
        status = _status_bundle(self._status())
        if self._widget is not None:
            self._widget.outputs = tuple(
                {"output_type": "display_data", "data": bundle, "metadata": {}}
                for bundle in (content, status) if bundle.get("text/plain") or len(bundle) > 1
            )
        if self.ended and self._widget_handles:
            # the widget's model lives only as long as the kernel: leave a static copy in its place
            self._handles.extend(self._widget_handles)
            self._widget_handles = []
        for content_handle, status_handle in self._handles:
            content_handle.update(content, raw=True)
            status_handle.update(status, raw=True)

    def __repr__(self) -> str:
        state = "running" if self.running else ("failed" if self.error else "stopped" if self.stopped or self.completed else "not displayed")
        return f"<LiveView {self.kind} {state}: {self.count} values, {self.draws} draws>"


def live(
    source: Observable[Any],
    *,
    kind: Kind = "table",
    max_rows: int = 20,
    interval_ms: float = 250.0,
    key: str | Callable[[dict[str, Any]], Hashable] | None = None,
    x: str | None = None,
    y: str | Sequence[str] | None = None,
    title: str | None = None,
    height: int = 400,
    backend: Backend = "auto",
    keep_info: bool = False,
) -> LiveView:
    """A cell output that redraws as ``source`` emits; show it as a cell's last expression.

    ``kind='table'``: the last ``max_rows`` values as a DataFrame (newest
    last), or one row per ``key`` (a field name such as ``'symbol'``, or a
    function of the row) -- a live quote board. ``kind='line'``: a plotly
    line chart of the last ``max_rows`` values, ``x`` the ``timestamp``
    (as datetimes) unless given, ``y`` every numeric column unless given.
    ``kind='candlestick'``: a plotly candlestick chart of OHLCV rows, an
    updated candle replacing its timestamp's.

    Redraws happen at most once per ``interval_ms`` of wall time (the
    latest state; nothing is lost from the kept rows), and once more when
    the stream ends. See ``LiveView`` for exactly when it unsubscribes.

    ``backend='widget'`` draws into an ``ipywidgets.Output``, which tells
    when its output is gone; ``'display'`` into an IPython display handle
    (``display(..., display_id=True)`` and ``update``), which also works
    where widgets don't (nbconvert, some editors); ``'auto'`` picks the
    widget inside a Jupyter kernel with ipywidgets installed.

    Example:
        >>> live(rxpro.ticker(ex, 'BTC/USDT').pipe(throttle(250)), key='symbol')
        >>> live(rxpro.trades(ex, 'BTC/USDT'), kind='line', y='price', max_rows=500)
        >>> live(rxpro.ohlcv(ex, 'BTC/USDT', '1m'), kind='candlestick')

    Raises:
        ImportError: pandas (plotly for charts, ipywidgets for
            ``backend='widget'``) is missing: ``pip install rxpro[jupyter]``.
        ValueError: a bad argument.
    """
    return LiveView(
        source, kind=kind, max_rows=max_rows, interval_ms=interval_ms, key=key, x=x, y=y,
        title=title, height=height, backend=backend, keep_info=keep_info,
    )
