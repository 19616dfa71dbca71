"""What the simulator's generic server and its venue objects share.

The server (``_simulator.py``) owns connections, framing, pacing, playback and
faults; a venue object (:class:`SimulatedVenue`: ``_sim_binance.py``, ``_sim_okx.py``)
owns one exchange's protocol: its routes (REST and WebSocket), what a client frame
subscribes, the frames a subscription gets, the recording it plays.  The two meet
here: a venue sees the server as a :class:`Server`, and both see a WebSocket as a
:class:`Connection`.  A :class:`Tape` (a venue's own trade sequence, produced by the
server) is written by the venue in its wire and REST formats, trade by trade
(:class:`TapeTrade`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from aiohttp import web

__all__ = ["BURST_PRICES", "Burst", "Connection", "PlaybackFrame", "Server", "SimulatedVenue", "SimulatorConfig",
           "Tape", "TapeTrade", "apply_options", "rewrite_urls"]

#: prices cycled through by synthetic trade bursts
BURST_PRICES = tuple(f"{61800 + i * 0.01:.8f}" for i in range(100))


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Simulator settings.

    ``speed``: ``None`` plays recordings as fast as possible (yielding to the event
    loop every ``yield_every`` frames); a float plays at real time times ``speed``.
    ``loop``: restart a finished recording with ids and timestamps shifted so they
    keep increasing. ``load_recordings``: load the bundled Binance and OKX
    recordings on start (set ``False`` for synthetic-only benchmarks).
    """

    speed: float | None = None
    loop: bool = False
    load_recordings: bool = True
    host: str = "127.0.0.1"
    port: int = 0
    yield_every: int = 100
    reject_unknown_symbols: bool = True


class Burst:
    """Handle of a queued synthetic trade burst: ``await burst.wait()`` until written."""

    def __init__(self, exchange: str, key: str, count: int) -> None:
        self.exchange = exchange
        self.key = key
        self.count = count
        self.sent = 0  # frames handed to the websocket writers, over all connections
        self.connections = 0
        self._finished = 0
        self._done = asyncio.Event()

    def _connection_finished(self) -> None:
        self._finished += 1
        if self._finished >= self.connections:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def wait(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._done.wait(), timeout)


@dataclass(frozen=True, slots=True)
class TapeTrade:
    """One trade of a :class:`Tape`, venue-neutral; each venue writes it in its own formats.

    ``price`` and ``amount`` are decimal strings, ``side`` is the taker's (``'buy'`` or
    ``'sell'``), ``timestamp`` is milliseconds since the epoch.  Like a burst's trades,
    price, amount and side follow from the id: ``BURST_PRICES[id % 100]``, ``'0.001'``,
    ``'sell'`` for odd ids.
    """

    id: int
    timestamp: int
    price: str
    amount: str
    side: str


class Tape:
    """A venue's trade sequence for one symbol: produced once, by the simulator, whether anyone listens or not.

    ``Simulator.trade_tape`` makes one.  ``trades`` holds what was produced so far (ids
    ``start_id``, ``start_id + 1``...), which is also what the venue's REST trade
    history answers; connections subscribed to the symbol's trade stream receive the
    trades produced while they are subscribed.  ``await tape.wait()`` until all
    ``count`` are produced.
    """

    def __init__(self, exchange: str, symbol: str, key: str, count: int, start_id: int,
                 rate: float | None) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.key = key  # the stream key of the symbol's trades on its venue
        self.count = count
        self.start_id = start_id
        self.rate = rate
        self.trades: list[TapeTrade] = []
        self._last_ms = 0
        self._finished = asyncio.Event()

    def __repr__(self) -> str:
        return (f"<Tape {self.exchange} {self.symbol} ids {self.start_id}..{self.start_id + self.count - 1} "
                f"rate={self.rate} produced={self.produced}>")

    @property
    def produced(self) -> int:
        return len(self.trades)

    @property
    def done(self) -> bool:
        """All ``count`` trades are produced."""
        return self.produced >= self.count

    async def wait(self, timeout: float | None = None) -> None:
        """Until every trade is produced (``RuntimeError`` if the simulator closed before)."""
        await asyncio.wait_for(self._finished.wait(), timeout)
        if not self.done:
            raise RuntimeError(f"{self!r} stopped at {self.produced} of {self.count} trades: the simulator closed")

    def next_trades(self, n: int) -> list[TapeTrade]:
        """Produce the next ``n`` trades (what the simulator's producing task calls)."""
        self._last_ms = ms = max(self._last_ms, int(time.time() * 1000))  # never goes back
        first = self.start_id + self.produced
        batch = [TapeTrade(trade_id, ms, BURST_PRICES[trade_id % 100], "0.001", "sell" if trade_id & 1 else "buy")
                 for trade_id in range(first, first + n)]
        self.trades.extend(batch)
        return batch

    def finish(self) -> None:
        """Production has ended (all produced, or the simulator closed)."""
        self._finished.set()


class Connection:
    """Server-side state of one accepted WebSocket."""

    def __init__(self, conn_id: int, venue: SimulatedVenue, path: str, request: web.Request,
                 ws: web.WebSocketResponse, combined: bool) -> None:
        self.id = conn_id
        self.venue = venue
        self.exchange = venue.id
        self.path = path
        self.request = request
        self.ws = ws
        self.combined = combined
        self.active: dict[str, list[str]] = {}  # stream key -> names the client used
        self.position = 0
        self.cycle = 0
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        self.injections: deque[tuple[Iterator[str], Burst | None]] = deque()
        self.skip: dict[str, int] = {}  # pending sequence gaps per book key
        self.conn_tag = f"{conn_id:08x}"


class PlaybackFrame(Protocol):
    """One recorded (or derived) frame of a venue's timeline: its receive time and stream key."""

    @property
    def ns(self) -> int: ...

    @property
    def key(self) -> str: ...


class Server(Protocol):
    """What a venue object uses of the simulator."""

    @property
    def config(self) -> SimulatorConfig: ...

    def stalled(self) -> bool: ...

    def pings_answered(self) -> bool: ...

    async def serve(self, request: web.Request, venue: SimulatedVenue, combined: bool,
                    on_text: Callable[[Connection, str], Awaitable[None]],
                    initial: Sequence[str] = ()) -> web.WebSocketResponse: ...

    def activate(self, conn: Connection, key: str) -> None: ...

    def resume(self, conn: Connection) -> None: ...

    def tape_history(self, exchange: str, key: str) -> Sequence[TapeTrade]: ...


class SimulatedVenue:
    """One exchange protocol the simulator speaks; subclasses fill in the venue's part.

    A venue object lives as long as its simulator.  ``frames`` is the timeline the
    server plays to every connection of this venue, filtered to what the connection
    subscribed (``Connection.active``, keyed by stream key).
    """

    #: the ccxt id of the exchange this object speaks for
    id: ClassVar[str]
    #: ccxt symbols with a bundled recording (what ``rxpro watch --simulator`` offers)
    symbols: ClassVar[tuple[str, ...]] = ()

    def __init__(self, server: Server) -> None:
        self.server = server

    # -- recording --------------------------------------------------------------------
    def load(self) -> None:
        """Load the bundled recording (on start, unless ``SimulatorConfig.load_recordings`` is off)."""

    def load_for(self, symbols: Sequence[str]) -> None:
        """Load what ``symbols`` need of the bundled recording (default: all of it)."""
        self.load()

    @property
    def frames(self) -> Sequence[PlaybackFrame]:
        return ()

    def texts(self, conn: Connection, frame: Any, names: list[str]) -> list[str]:
        """The frames ``conn`` gets for one timeline frame it subscribed (under ``names``)."""
        raise NotImplementedError

    def loop_resets(self, conn: Connection) -> list[str]:
        """Frames that bring ``conn`` back to the recording's start when it loops."""
        return []

    def is_book_update(self, frame: Any) -> bool:
        """Whether ``frame`` is an order-book update that ``inject_sequence_gap`` may skip."""
        return False

    async def subscribe(self, conn: Connection, streams: Sequence[str]) -> None:
        """Subscribe ``conn`` to streams named in its URL (``/stream?streams=...``), before any frame."""
        raise NotImplementedError

    # -- faults and synthetic data ------------------------------------------------------
    def book_key(self, symbol: str) -> str:
        """The stream key of ``symbol``'s order-book updates."""
        raise NotImplementedError

    def trade_burst(self, symbol: str, count: int, start_id: int) -> tuple[str, Callable[[Connection], Iterator[str]]]:
        """``(stream key, frames for a connection)`` of ``count`` synthetic trades."""
        raise NotImplementedError

    def tape_key(self, symbol: str) -> str:
        """The stream key of ``symbol``'s trades (``ValueError`` for a symbol the venue does not list)."""
        raise NotImplementedError

    def tape_frames(self, conn: Connection, key: str, trades: Sequence[TapeTrade]) -> Iterator[str]:
        """The live frames ``conn`` gets for ``trades`` of stream ``key`` (it is subscribed to it now)."""
        raise NotImplementedError

    # -- wiring -----------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the venue's REST and WebSocket routes."""

    def attach(self, exchange: Any, http_url: str, ws_url: str) -> None:
        """Point a ccxt(.pro) instance of this venue at the simulator (URLs, offline options)."""
        raise NotImplementedError


def rewrite_urls(urls: Any, http_base: str, ws_base: str, host_label: bool) -> Any:
    """Copy of a ccxt ``urls['api']`` tree with every URL pointing at the simulator.

    ``host_label``: keep the first host label as a path prefix for WebSocket URLs
    (``wss://stream.binance.com:9443/ws`` -> ``ws://127.0.0.1:P/stream/ws``) so
    ccxt's spot/futures detection by URL keeps working; unknown hosts end up on
    paths the simulator does not serve (404), never on the network.
    """
    if isinstance(urls, dict):
        return {k: rewrite_urls(v, http_base, ws_base, host_label) for k, v in urls.items()}
    if not isinstance(urls, str) or "://" not in urls:
        return urls
    parts = urlsplit(urls)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.scheme in ("ws", "wss"):
        prefix = f"/{parts.hostname.split('.', 1)[0]}" if host_label and parts.hostname else ""
        return f"{ws_base}{prefix}{path}"
    return f"{http_base}{path}"


def apply_options(options: dict[str, Any], offline: Mapping[str, Any]) -> None:
    """Set a venue's offline options on a live exchange's ``options``; nested dicts are copied, then updated."""
    for key, value in offline.items():
        if isinstance(value, Mapping):
            current = options.get(key)
            nested = dict(current) if isinstance(current, dict) else {}
            apply_options(nested, value)
            options[key] = nested
        else:
            options[key] = list(value) if isinstance(value, list) else value
