"""``rxpro.nats.stream``: a JetStream subject (or wildcard) as an Observable of the values rxpro published.

Each subscription gets its own JetStream consumer:

- without ``durable``, an *ordered consumer* (nats-py's): ephemeral, unacknowledged,
  re-created by nats-py from the last sequence it delivered when it misses one, or when
  two of the server's idle heartbeats (``StreamOptions.heartbeat``, 1 s) don't come (the
  node that held it died), so values arrive in stream order, each once;
- with ``durable='name'``, a named consumer that remembers what was acknowledged.
  rxpro acknowledges (AckAll) every 64 values and when a burst has been handed on,
  and synchronously at dispose; on the next subscribe it resumes after the last
  acknowledged value. After a clean stop that is exactly where it left off; after
  a crash, the values delivered since the last acknowledgement come again (at
  most 64, or one burst).

A live subscription is never left silent when its feed is gone: it listens to the
publishers' statuses (``_rxpro_status.<subject>``, plain NATS; see ``_publish``).

- Every subject of it that publishers spoke for ended (its newest status is an end, 2.5
  heartbeats ago: time for a redundant or new publisher not heard yet to beat), and the
  server has nothing more for this subscription (nothing pending, nothing on its way): it
  completes, or fails with :class:`PublisherStopped` naming the publisher that failed and
  its error. While another publisher of a subject beats, one publisher's end changes nothing.
  A subject that failed while others go on fails the subscription once the failed publisher's
  last stored value (the sequence its end says) is delivered, not waiting for the others.
- A subject whose publishers went quiet — its newest status a beat older than
  ``StreamOptions.silence`` (10 s), or 2.5 of their heartbeats if longer, counted while this
  subscription's connection is up: it fails with :class:`PublisherLost` (a publisher process
  killed, a network cut). A subject nobody spoke for yet is waited for: a feed may start
  after its consumers, and values replayed from the stream's past don't say a feed is there.
  (See ``_liveness``.)
- The server keeps each subject's newest status (stream ``RXPRO_STATUS``, see ``_jetstream``):
  read when the subscription starts and after each reconnect, so one started after its feed
  ended (or was killed), or whose connection was down when the end was said, learns it.

And any subscription, live or not, whose connection nats-py closed for good (its reconnect
attempts spent) fails with :class:`NatsUnreachable`.

Values are emitted on the asyncio loop that subscribed, so rxpro's operators and
RxPY's time operators default to a scheduler on that loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Union

import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxpro import InvalidArgument

from ._connection import ConnectOptions, close_connection, connect
from ._errors import (
    NatsUnreachable,
    NotRxproMessage,
    PublisherLost,
    PublisherStopped,
    StreamNotFound,
)
from ._jetstream import STATUS_STREAM, again_while_transient, check_seconds, stream_of
from ._liveness import Feed
from ._subjects import STATUS_PREFIX, check_subject, status_subject
from ._wire import CHANNEL_HEADER, decode_body

__all__ = ["NatsObservable", "Start", "StreamOptions", "stream"]

log = logging.getLogger("rxpro.nats")

#: seconds reading the kept publisher statuses may take, and how many subjects' are asked at once
_STATUS_READ_S = 5.0
_STATUS_READS = 32

#: where a new consumer starts: ``'new'`` values only, ``'all'`` the stream retains,
#: a stream sequence (int >= 1), or a time (an aware ``datetime``)
Start = Union[Literal["new", "all"], int, datetime]

@dataclass(frozen=True, slots=True)
class StreamOptions:
    """How :func:`stream` consumes."""

    #: a durable consumer acknowledges after this many values (and at the end of each burst)
    ack_every: int = 64
    #: values nats-py may hold for the Observable before it reports a slow consumer
    pending_messages: int = 1_000_000
    pending_bytes: int = 1024**3
    #: seconds between the server's idle heartbeats to a consumer without ``durable``: after two
    #: missed (the node holding it died) nats-py re-creates it on another node from the last value
    #: it delivered. nats-py's own default, 5 s, left a live stream quiet 10-20 s after a node died.
    heartbeat: float = 1.0
    #: seconds a subscription keeps asking JetStream to set its consumer up while the requests time
    #: out or answer 503 (a leader election after a node died takes a few) before it fails with
    #: :class:`NatsUnreachable`
    setup_timeout: float = 15.0
    #: seconds a live subscription waits for a status from the publishers of a subject it heard
    #: from (they beat every ``PublishOptions.heartbeat``, 1 s; 2.5 beats if that is longer) before it
    #: fails with :class:`PublisherLost`; None: it waits for ever (and ignores the publishers' statuses)
    silence: float | None = 10.0
    connect: ConnectOptions = field(default_factory=ConnectOptions)

    def __post_init__(self) -> None:
        check_seconds("heartbeat", self.heartbeat)
        check_seconds("setup_timeout", self.setup_timeout)
        if self.silence is not None:
            check_seconds("silence", self.silence)


def _deliver(start: Start) -> tuple[DeliverPolicy, dict[str, Any]]:
    if start == "new":
        return DeliverPolicy.NEW, {}
    if start == "all":
        return DeliverPolicy.ALL, {}
    if isinstance(start, bool):
        pass
    elif isinstance(start, int):
        if start < 1:
            raise InvalidArgument(f"start sequence must be >= 1, got {start}")
        return DeliverPolicy.BY_START_SEQUENCE, {"opt_start_seq": start}
    elif isinstance(start, datetime):
        if start.tzinfo is None:
            raise InvalidArgument(f"start time {start.isoformat()} has no time zone: use an aware datetime (UTC)")
        return DeliverPolicy.BY_START_TIME, {"opt_start_time": start}
    raise InvalidArgument(f"start must be 'new', 'all', a sequence (int >= 1) or an aware datetime, got {start!r}")


def _metadata(msg: Msg | None) -> Any:
    """A JetStream message's metadata (its stream sequence, what was pending), or None (none, or not JetStream's)."""
    if msg is None:
        return None
    try:
        return msg.metadata
    except Exception:  # noqa: BLE001 - not a JetStream reply subject
        return None


class _Consumption:
    """One subscription's consumer: connect, bind, emit, acknowledge, release."""

    def __init__(self, observer: abc.ObserverBase[Any], subject: str, nc_or_url: Client | str | Sequence[str],
                 start: Start, durable: str | None, stream_name: str | None, live: bool,
                 options: StreamOptions) -> None:
        self.observer = observer
        self.subject = subject
        self.nc_or_url = nc_or_url
        self.start = start
        self.durable = durable
        self.stream_name = stream_name
        self.live = live
        self.options = options
        self.nc: Client | None = None
        self.owns_nc = False
        self.subscription: Any = None
        self.stream = stream_name or ""
        self.stopped = False
        self.unacked: Msg | None = None
        #: where a durable consumer re-created by this subscription starts (its old one deleted)
        self.resume_at: int | None = None
        self.since_ack = 0
        # the feed's publishers, as their statuses tell (live subscriptions with a silence limit)
        self.status_subscription: Any = None
        self.last_msg: Msg | None = None  # the last value handed on (its stream sequence: what was delivered)
        self.feed: Feed | None = None  # what the publishers' statuses said (live, with a silence limit)
        self.read_at_reconnects = 0  # nats-py's reconnect count when the kept statuses were last read
        self.rereading: asyncio.Task[None] | None = None  # reading them again after a reconnect
        #: the stream sequence this subscription starts after, where known: an ended feed's last
        #: value at or before it is not for this subscription to wait for
        self.floor: int | None = None

    async def run(self) -> None:
        try:
            if isinstance(self.nc_or_url, Client):
                self.nc = self.nc_or_url
            else:
                self.nc = await connect(self.nc_or_url, self.options.connect)
                self.owns_nc = True
            js = self.nc.jetstream()
            silence = self.options.silence if self.live else None
            if silence is not None:  # before the consumer: a status sent while it is set up is heard
                self.feed = Feed(silence, asyncio.get_running_loop().time())
                self.status_subscription = await self.nc.subscribe(status_subject(self.subject), cb=self._on_status)
                await self._read_kept_statuses(js, at_start=True)
                self.feed.resume(asyncio.get_running_loop().time())  # silences count from what was read
            deadline = asyncio.get_running_loop().time() + self.options.setup_timeout
            what = (f"JetStream did not set up a consumer of {self.subject!r} in {self.options.setup_timeout:g} s "
                    "(StreamOptions.setup_timeout)")
            # nats-py subscribes to the consumer's deliver subject only once the consumer exists:
            # until then a failed step leaves nothing of ours behind, and the whole set-up is asked again
            self.subscription = await again_while_transient(lambda: self._bind(js), deadline, what)
            if not self.live:
                info = await again_while_transient(self.subscription.consumer_info, deadline, what)
                if not info.num_pending and not info.delivered.consumer_seq:
                    self._complete()  # nothing to replay
            await self._watch()
        except asyncio.CancelledError:
            raise
        except (StreamNotFound, InvalidArgument, NatsUnreachable) as error:
            self._error(error)
        except nats.js.errors.APIError as error:
            self._error(StreamNotFound(f"can't consume {self.subject!r} from stream {self.stream!r}: "
                                       f"{error.description}"))
        except nats.errors.Error as error:
            self._error(NatsUnreachable(f"NATS failed while consuming {self.subject!r}: {error or type(error).__name__}"))

    async def _bind(self, js: Any) -> Any:
        """The stream, then the consumer and its subscription."""
        self.stream = await stream_of(js, self.subject, self.stream_name)
        policy, position = _deliver(self.start)
        if self.durable is not None:
            return await self._bind_durable(js, policy, position)
        if self.feed is not None:
            if policy is DeliverPolicy.ALL:
                self.floor = 0
            elif policy is DeliverPolicy.BY_START_SEQUENCE:
                self.floor = position["opt_start_seq"] - 1
            elif policy is DeliverPolicy.NEW:
                self.floor = (await js.stream_info(self.stream)).state.last_seq
        return await js.subscribe(
            self.subject, cb=self._on_message, stream=self.stream, ordered_consumer=True,
            idle_heartbeat=self.options.heartbeat, config=ConsumerConfig(deliver_policy=policy, **position),
            pending_msgs_limit=self.options.pending_messages, pending_bytes_limit=self.options.pending_bytes,
        )

    async def _bind_durable(self, js: Any, policy: DeliverPolicy, position: dict[str, Any]) -> Any:
        """Resume ``durable`` after its last acknowledged value (a fresh consumer from there), or create it."""
        assert self.durable is not None
        try:
            info = await js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            info = None
        if info is not None:
            followed = info.config.filter_subject
            if followed != self.subject:
                raise InvalidArgument(f"durable consumer {self.durable!r} follows {followed!r}, not {self.subject!r}")
            if info.push_bound:
                raise InvalidArgument(f"durable consumer {self.durable!r} is in use by another subscriber")
            # the ack floor is the consumer's start - 1 until something is acknowledged
            acked = info.ack_floor.stream_seq if info.ack_floor is not None else 0
            delivered = info.delivered.stream_seq if info.delivered is not None else 0
            if acked or delivered > acked:
                # a fresh consumer right after the last acknowledged value: what a crash left unacknowledged
                # comes again at once and in order (the old consumer would redeliver it only after ack_wait,
                # behind newer values)
                policy, position = DeliverPolicy.BY_START_SEQUENCE, {"opt_start_seq": acked + 1}
                self.resume_at = acked + 1  # a set-up asked again after the delete below resumes there too
                await js.delete_consumer(self.stream, self.durable)
            # else it started on an empty stream and delivered nothing: as it is, it knows where it started
        elif self.resume_at is not None:
            policy, position = DeliverPolicy.BY_START_SEQUENCE, {"opt_start_seq": self.resume_at}
        config = ConsumerConfig(
            durable_name=self.durable, deliver_policy=policy, ack_policy=AckPolicy.ALL,
            max_ack_pending=-1, filter_subject=self.subject, deliver_subject=self.nc.new_inbox(),  # type: ignore[union-attr]
            **position,
        )
        return await js.subscribe(
            self.subject, cb=self._on_message, durable=self.durable, stream=self.stream, manual_ack=True,
            config=config, pending_msgs_limit=self.options.pending_messages,
            pending_bytes_limit=self.options.pending_bytes,
        )

    async def _on_message(self, msg: Msg) -> None:
        if self.stopped:
            return
        metadata = _metadata(msg)
        if metadata is not None and metadata.num_delivered > 1 and metadata.sequence.stream <= self._delivered_seq():
            # a durable's redelivery of a value already handed on: its acknowledgement came after the
            # server's ack wait (a backlog read slower than that). Handed on once; a later ack covers it
            return
        self.last_msg = msg
        headers = msg.headers
        if not headers or CHANNEL_HEADER not in headers:
            self._error(NotRxproMessage(
                f"{msg.subject} (stream {self.stream}, sequence {self._sequence(msg)}) is not an rxpro message: "
                f"it has no {CHANNEL_HEADER} header"
            ))
            return
        try:
            value = decode_body(msg.data, f"{msg.subject} (stream {self.stream}, sequence {self._sequence(msg)})")
        except NotRxproMessage as error:
            self._error(error)
            return
        try:
            self.observer.on_next(value)
        except Exception as error:  # noqa: BLE001 - an observer that raises gets its own error
            self._error(error)
            return
        if self.durable is not None:
            self.unacked = msg
            self.since_ack += 1
            if self.since_ack >= self.options.ack_every or not self.subscription.pending_msgs:
                await self._ack()
        if not self.live and msg.metadata.num_pending == 0:
            self._complete()  # the last value the stream held when this one was delivered

    # -- the feed's publishers ------------------------------------------------------------

    async def _on_status(self, msg: Msg) -> None:
        """A publisher's status: ``live`` (every heartbeat), or how it ended."""
        self._take_status(msg.subject, msg.data, asyncio.get_running_loop().time())

    def _take_status(self, subject: str, data: bytes, at: float, kept: bool = False) -> None:
        """Hand a status (on ``subject``, sent at loop time ``at``; ``kept``: read back from the server) to the feed."""
        feed = self.feed
        assert feed is not None  # (statuses are read only with one)
        try:
            status = orjson.loads(data)
        except orjson.JSONDecodeError:
            status = None
        if not feed.heard(subject[len(STATUS_PREFIX) + 1:], status, at, kept):
            log.warning("rxpro.nats: %s: a status that is not rxpro's, ignored: %r", subject, data[:200])

    async def _read_kept_statuses(self, js: Any, at_start: bool = False) -> bool:
        """The newest status the server keeps of each subject of this subscription (stream ``RXPRO_STATUS``).

        So a subscription started after its feed ended learns how, and one whose connection was
        down learns what was said meanwhile: each is taken as sent when the server stored it
        (the server's clock: see ``Feed.heard``); those read as the subscription starts count as
        from before it, whatever the two clocks say. Without the stream (no publisher of ours
        made it) there is nothing to read. False: the server did not answer (asked again later,
        after a reconnect); the subscription goes by the statuses it hears meanwhile. An answer
        nats-py could not read is logged and not asked again.
        """
        feed = self.feed
        assert feed is not None and self.nc is not None
        loop = asyncio.get_running_loop()
        reconnects = self.nc.stats["reconnects"]
        asked = asyncio.Semaphore(_STATUS_READS)

        async def newest(subject: str) -> None:
            async with asked:
                try:
                    kept = await js.get_last_msg(STATUS_STREAM, subject)
                except nats.js.errors.NotFoundError:
                    return  # aged out meanwhile
            stored = kept.time.timestamp() if kept.time is not None else time.time()
            at = loop.time() - max(0.0, time.time() - stored)
            self._take_status(subject, kept.data or b"", min(at, feed.started - 1e-3) if at_start else at, kept=True)

        async def read() -> None:
            info = await js.stream_info(STATUS_STREAM, subjects_filter=status_subject(self.subject))
            # every read ends here, whichever fails: none goes on unwatched
            outcomes = await asyncio.gather(*(newest(subject) for subject in info.state.subjects or ()),
                                            return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

        try:
            await asyncio.wait_for(read(), _STATUS_READ_S)
        except nats.js.errors.NotFoundError:
            pass
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            log.debug("rxpro.nats: %s: the kept statuses were not read: %s", self.subject, error or type(error).__name__)
            return False
        except Exception as error:  # noqa: BLE001 - asking again would get the same answer
            log.warning("rxpro.nats: %s: the statuses the server keeps were not read (%s: %s)",
                        self.subject, type(error).__name__, error)
        self.read_at_reconnects = reconnects
        return True

    async def _read_again(self, nc: Client) -> None:
        """After a reconnect: the kept statuses read again, asked up to 3 times (2 s apart) while the server does not answer."""
        reconnects = nc.stats["reconnects"]
        for attempt in range(3):
            if await self._read_kept_statuses(nc.jetstream()):
                return
            if attempt < 2:
                await asyncio.sleep(2.0)
        log.warning("rxpro.nats: %s: the statuses the server keeps were not read after a reconnect (the server did "
                    "not answer): an end said while the connection was down shows as a silence", self.subject)
        self.read_at_reconnects = max(self.read_at_reconnects, reconnects)

    async def _watch(self) -> None:
        """Until the subscription ends: end it when its connection closed for good, or (live, with a
        silence limit) when its feed ended (after what the server holds for it) or went silent."""
        loop = asyncio.get_running_loop()
        tick = 0.25 if self.feed is None else min(self.feed.silence / 4, 0.25)
        #: how long an ended feed's last value may keep the subscription waiting once nothing else
        #: is pending: an ordered consumer whose node died is re-created after 2 missed heartbeats
        late = 3 * self.options.heartbeat + 2 * tick
        offline = False
        reconnects = -1
        looked = loop.time()
        progress: tuple[Msg | None, float] = (None, looked)  # (the last value handed on, when first seen)
        waiting_since: float | None = None
        while not self.stopped:
            await asyncio.sleep(tick)
            now = loop.time()
            overslept, looked = now - looked > tick + 1.0, now
            nc = self.nc
            if nc is None:
                continue
            if nc.is_closed:  # nats-py spent its reconnect attempts (or it was closed)
                self._error(NatsUnreachable(
                    f"the NATS connection of {self.subject!r} closed: "
                    f"{nc.last_error or 'its reconnect attempts (ConnectOptions.max_reconnect_attempts) spent'}"))
                return
            feed = self.feed
            if feed is None:
                continue
            if not nc.is_connected:  # nats-py reconnects: no status can come, so no silence counts
                offline = True
                continue
            if nc.stats["reconnects"] != self.read_at_reconnects and (
                    self.rereading is None or self.rereading.done()):
                # what was said while it was away (in the background: this loop goes on judging)
                self.rereading = asyncio.create_task(self._read_again(nc), name=f"rxpro.nats statuses {self.subject}")
            if self.last_msg is not progress[0]:
                progress = (self.last_msg, now)
            # working through a backlog; but a tail purged (or aged out) before it came never comes
            behind = self._behind() and now - progress[1] < late
            if offline or overslept or behind or nc.stats["reconnects"] != reconnects:
                # back from a reconnect, out of a stall of this process, or working through a backlog:
                # statuses queued behind values on this connection have not been read, so silences
                # count from now
                offline, reconnects = False, nc.stats["reconnects"]
                feed.resume(loop.time())
                continue
            verdict = feed.verdict(now)
            if verdict is None:
                waiting_since = None
                continue
            if verdict.kind == "lost":
                if self.rereading is not None and not self.rereading.done():
                    continue  # what the server kept from while the connection was down may say otherwise
                await self._caught_up_with(nc)
                verdict = feed.verdict(loop.time())  # a status read meanwhile may say otherwise
                if verdict is None or verdict.kind != "lost":
                    continue
            if verdict.drain and self.subscription is not None and self.subscription.pending_msgs:
                continue  # values nats-py holds, not handed on yet
            if verdict.seq > max(self._delivered_seq(), -1 if self.floor is None else self.floor):
                # the ended feed's last value is stored but not here yet (values come in stream
                # order, the other subjects' too): wait for it a little
                waiting_since = now if waiting_since is None else waiting_since
                if now - waiting_since < late:
                    continue
            if verdict.kind == "completed":
                self._complete()
            elif verdict.kind == "failed":
                self._error(PublisherStopped(
                    f"{self.subject!r}: its publisher {verdict.publisher} of {verdict.subject!r} stopped: {verdict.error}"))
            else:
                self._error(PublisherLost(
                    f"{self.subject!r}: nothing from the publishers of {verdict.subject!r} (no heartbeat, no end) "
                    f"for {verdict.limit:g} s (StreamOptions.silence, or 2.5 of their heartbeats if longer); "
                    f"the last one heard was {verdict.publisher}"))

    @staticmethod
    async def _caught_up_with(nc: Client) -> None:
        """Until what the server sent before now is read and its status callbacks ran (a round trip)."""
        try:
            await nc.flush(timeout=2)
        except (nats.errors.Error, asyncio.TimeoutError):
            return
        for _ in range(3):
            await asyncio.sleep(0)

    def _delivered_seq(self) -> int:
        """The stream sequence of the last value handed on (0: none)."""
        metadata = _metadata(self.last_msg)
        return int(metadata.sequence.stream) if metadata is not None else 0

    def _behind(self) -> bool:
        """Whether the server had more for this subscription when it sent the last value handed on.

        (The server's consumer info is not asked: after a server restart nats-py asked it under
        the re-created ordered consumer's old name and got 404.)
        """
        metadata = _metadata(self.last_msg)
        return bool(metadata.num_pending) if metadata is not None else False

    @staticmethod
    def _sequence(msg: Msg) -> str:
        metadata = _metadata(msg)
        return str(metadata.sequence.stream) if metadata is not None else "?"

    async def _ack(self, sync: bool = False) -> None:
        msg, self.unacked, self.since_ack = self.unacked, None, 0
        if msg is None or self.nc is None or self.nc.is_closed:
            return
        if sync:
            await msg.ack_sync(timeout=2.0)
        else:
            await msg.ack()

    def _complete(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.observer.on_completed()

    def _error(self, error: Exception) -> None:
        if not self.stopped:
            self.stopped = True
            self.observer.on_error(error)

    async def release(self) -> None:
        self.stopped = True
        if self.rereading is not None:
            self.rereading.cancel()
            await asyncio.gather(self.rereading, return_exceptions=True)
        if self.status_subscription is not None:
            try:
                await self.status_subscription.unsubscribe()
            except nats.errors.Error:
                pass
        if self.subscription is not None:
            if self.durable is not None:
                try:
                    await self._ack(sync=True)
                except (nats.errors.Error, asyncio.TimeoutError):
                    pass  # the unacknowledged values come again next time: never lost
            try:
                await self.subscription.unsubscribe()
            except nats.errors.Error:
                pass
        if self.owns_nc and self.nc is not None:
            await close_connection(self.nc)


class NatsObservable(Observable[Any]):
    """The Observable :func:`stream` returns; ``await obs.wait_closed()`` after disposing releases NATS fully."""

    def __init__(self, subject: str, nc_or_url: Client | str | Sequence[str], start: Start, durable: str | None,
                 stream_name: str | None, live: bool, options: StreamOptions) -> None:
        self.subject = subject
        self._tasks: set[asyncio.Task[Any]] = set()

        def subscribe(observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            consumption = _Consumption(observer, subject, nc_or_url, start, durable, stream_name, live, options)
            loop = asyncio.get_running_loop()
            started = loop.create_task(consumption.run(), name=f"rxpro.nats stream {subject}")
            self._tasks.add(started)

            def dispose() -> None:
                consumption.stopped = True  # nothing more reaches the observer, or is acknowledged
                started.cancel()

                async def release() -> None:
                    try:
                        await started
                    except asyncio.CancelledError:
                        pass
                    finally:
                        self._tasks.discard(started)
                    await consumption.release()

                if loop.is_closed():
                    return
                releasing = loop.create_task(release(), name=f"rxpro.nats release {subject}")
                self._tasks.add(releasing)
                releasing.add_done_callback(self._tasks.discard)

            return Disposable(dispose)

        super().__init__(subscribe)

    async def wait_closed(self) -> None:
        """Wait until every disposed subscription has acknowledged, unsubscribed and closed its connection."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def stream(
    subject: str,
    nc_or_url: Client | str | Sequence[str],
    *,
    start: Start = "new",
    durable: str | None = None,
    stream: str | None = None,
    live: bool = True,
    options: StreamOptions | None = None,
) -> NatsObservable:
    """The values rxpro published on ``subject`` (wildcards welcome) as an Observable.

    >>> rxpro.nats.stream('rxpro.binance.trades.BTC_USDT', 'nats://127.0.0.1:4222', start='all') \\
    ...     .pipe(ohlcv('1m')).subscribe(print)                                      # doctest: +SKIP

    ``start``: ``'new'`` (default), ``'all'`` retained, a stream sequence, or an aware
    ``datetime``. ``durable``: a consumer name that remembers what was consumed: the
    next subscribe with it resumes there (``start`` only counts the first time).
    ``stream``: the JetStream stream (default: the one that stores ``subject``).
    ``live=False`` completes once the values the stream held at subscribe are
    delivered (a replay of the bus). Each value is the dict (or OHLCV row) the
    publisher's subscriber saw, ``==`` to it. A live stream ends when its feed does
    (see the module's docstring): it completes once every subject it follows ended and
    it delivered what the server had, fails with :class:`PublisherStopped` when a
    publisher failed, and with :class:`PublisherLost` when a subject's publishers went
    quiet for ``StreamOptions.silence`` seconds. Errors: :class:`StreamNotFound`,
    :class:`NotRxproMessage`, :class:`NatsUnreachable`, :class:`InvalidSubject`. While
    JetStream's requests to set the consumer up time out or answer 503 (a cluster electing a
    leader), they are asked again for ``StreamOptions.setup_timeout`` seconds first.
    """
    check_subject(subject, wildcards=True)
    _deliver(start)  # bad start values fail here, not on subscribe
    return NatsObservable(subject, nc_or_url, start, durable, stream, live, options or StreamOptions())
