"""``rxpro.nats.publish``: every value of an Observable as one acknowledged JetStream message.

The path of one value: the source's ``on_next`` encodes it (``_wire``) and
queues it; the sender task hands it to nats-py with a reply subject of our own
(``<inbox>.<token>``); JetStream stores it and answers on that subject; the ack
handler drops it from ``_in_flight``. Nothing is forgotten before JetStream
said it has the message (or already had it: a duplicate id).

A message JetStream has not acknowledged after ``ack_timeout`` (a dropped
connection, a stream leader that died, a server that restarted) is sent again
with the same ``Nats-Msg-Id``, so the stream keeps one copy. To keep a subject
in order, the sender stops taking new values while an old message waits, then
re-sends the unacknowledged ones oldest first, one at a time, and only then
goes on. How many values wait is bounded (``max_buffered``): past it, or when
a message stays unacknowledged past ``retry_for``, or when JetStream refuses
one, publishing stops with :class:`PublishFailed` — never a silent drop.

A publisher also says, on plain NATS, that it is alive and how it ended, so that a
consumer in another process is never left to guess (``rxpro.nats.stream``): every
``heartbeat`` seconds a ``live`` status on ``_rxpro_status.<subject>`` for each subject
it has published to (or was given), and at its end one last status per subject —
``completed`` (its source completed), ``closed`` (closed before that) or ``failed``
with the error, sent once everything it published is stored (or it failed), with the
stream sequence of the last value stored on that subject, so a consumer ends only once
it has that value. Every status carries the heartbeat interval. A publisher killed says
nothing: its consumers notice that its heartbeats stopped. The server keeps the newest status
of each subject (stream ``RXPRO_STATUS``, made at start when absent: ``keep_statuses``) for
subscriptions that start later.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import OutboundBufferLimitError
from reactivex import Observable
from reactivex.abc import DisposableBase

from rxpro import InvalidArgument

from ._connection import ConnectOptions, close_connection, connect
from ._errors import NatsUnreachable, PublishFailed, StreamNotFound
from ._jetstream import (
    StreamSettings,
    again_while_transient,
    check_seconds,
    ensure_stream,
    keep_statuses,
    stream_of,
)
from ._subjects import DEFAULT_PREFIX, check_subject, status_subject, subject_for
from ._wire import (
    CHANNEL_HEADER,
    EXCHANGE_HEADER,
    MSG_ID_HEADER,
    SYMBOL_HEADER,
    channel_of,
    encode_body,
    message_key,
    symbol_of,
)

__all__ = ["PublishOptions", "PublishSummary", "Publisher", "publish"]

log = logging.getLogger("rxpro.nats")

#: JetStream answers 503 (as a status, or an API error code) while no stream leader is there
_UNAVAILABLE = 503


@dataclass(frozen=True, slots=True)
class PublishOptions:
    """How a :class:`Publisher` buffers, waits and retries (seconds, message counts)."""

    #: values received and not yet acknowledged by JetStream; one more is a :class:`PublishFailed`
    max_buffered: int = 100_000
    #: messages sent and not yet acknowledged, at most
    max_in_flight: int = 4_096
    #: how long the sender lets values gather before writing them to the socket in one go: fewer
    #: system calls per value when updates arrive one per event-loop turn, for this much latency
    linger: float = 0.0
    #: a message unacknowledged this long is sent again (same Nats-Msg-Id)
    ack_timeout: float = 2.0
    #: a message unacknowledged this long in all (retries included) is a :class:`PublishFailed`
    retry_for: float = 60.0
    #: seconds ``start()`` keeps asking JetStream for the stream while the requests time out or
    #: answer 503 (a leader election after a node died takes a few) before it fails with
    #: :class:`NatsUnreachable`
    setup_timeout: float = 15.0
    #: seconds between the ``live`` statuses on ``_rxpro_status.<subject>`` that tell consumers
    #: in other processes this publisher is there (``StreamOptions.silence`` is how long they wait)
    heartbeat: float = 1.0
    #: the first token(s) of default subjects: ``<prefix>.<exchange>.<channel>.<symbol>``
    prefix: str = DEFAULT_PREFIX
    #: create the stream (``stream_settings``) when none stores the subjects; else :class:`StreamNotFound`
    create_stream: bool = True
    stream_settings: StreamSettings = field(default_factory=StreamSettings)
    connect: ConnectOptions = field(default_factory=ConnectOptions)

    def __post_init__(self) -> None:
        for name in ("max_buffered", "max_in_flight"):
            count = getattr(self, name)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise InvalidArgument(f"{name} must be a whole number >= 1, got {count!r}")
        for name in ("ack_timeout", "retry_for", "setup_timeout", "heartbeat"):
            check_seconds(name, getattr(self, name))
        check_seconds("linger", self.linger, zero_ok=True)


@dataclass(frozen=True, slots=True)
class PublishSummary:
    """What a publisher did: values published, of which JetStream already had ``duplicates``.

    ``stored`` counts a message JetStream has from this publisher, including one sent
    again whose earlier attempt was stored but not acknowledged (JetStream answers the
    new attempt "duplicate"); ``duplicates`` are messages JetStream had from elsewhere
    (a redundant publisher) when first sent.
    ``resent``: messages sent again after no acknowledgement came in time.
    ``reordered``: messages JetStream stored after a later message of their
    subject (possible only when a leader died with messages in flight; 0 in
    every run of rxpro's tests).
    """

    stream: str
    published: int
    stored: int
    duplicates: int
    resent: int
    reordered: int


class _Message:
    __slots__ = ("subject", "headers", "body", "token", "first_sent", "sent", "attempts", "resolved")

    def __init__(self, subject: str, headers: dict[str, str], body: bytes) -> None:
        self.subject = subject
        self.headers = headers
        self.body = body
        self.token = 0
        self.first_sent = 0.0
        self.sent = 0.0
        self.attempts = 0  # times handed to nats-py
        self.resolved: asyncio.Future[None] | None = None  # only while being re-sent


#: the bytes of a NATS header block besides its lines ("NATS/1.0\r\n" ... "\r\n")
_HEADERS_FRAMING = 12


class Publisher:
    """Publishes an Observable to JetStream; ``async with`` it, or ``start()`` and ``close()``.

    ``await publisher.finished()`` waits until the source completed and every
    value is acknowledged, and returns a :class:`PublishSummary` (or raises the
    source's error, or :class:`PublishFailed`).
    """

    def __init__(
        self,
        source: Observable[Any],
        nc_or_url: Client | str | Sequence[str],
        subject: str | None = None,
        *,
        exchange: Any = None,
        channel: str | None = None,
        symbol: str | None = None,
        stream: str | None = None,
        options: PublishOptions | None = None,
    ) -> None:
        self.options = options or PublishOptions()
        self._source = source
        self._nc_or_url = nc_or_url
        self._fixed_subject = check_subject(subject) if subject is not None else None
        exchange_id = exchange if isinstance(exchange, str) or exchange is None else getattr(exchange, "id", None)
        if exchange_id is None and subject is None:
            raise PublishFailed("publish needs exchange= (an id or an exchange) to build default subjects, or subject=")
        self.exchange_id: str | None = exchange_id
        self.channel = channel
        self.symbol = symbol
        #: the subject every value goes to, when known before the first (given, or made of
        #: exchange, channel and symbol): its statuses start with the publisher, values or not
        self._known_subject = self._fixed_subject
        if subject is None:
            # checks prefix, exchange id and channel now, not at the first value
            subject_for(exchange_id or "", channel or "trades", symbol or "X", self.options.prefix)
            if exchange_id is not None and channel is not None and symbol is not None:
                self._known_subject = subject_for(exchange_id, channel, symbol, self.options.prefix)
        self._stream_name = stream
        self.stream: str | None = None
        self._nc: Client | None = None
        self._owns_nc = False
        self._inbox = ""
        self._ack_subscription: Any = None
        self._subscription: DisposableBase | None = None
        self._waiting: deque[_Message] = deque()
        self._in_flight: dict[int, _Message] = {}
        self._sent_order: deque[int] = deque()
        self._next_token = 1
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        #: nats-py's reconnect count when it last made the stream that keeps statuses (if it makes its own:
        #: again after each reconnect, since a server restart loses that stream, in memory)
        self._kept_at = 0
        self._keeping: asyncio.Task[None] | None = None
        self._telling: asyncio.Task[None] | None = None  # the end being told (by the beat, or close())
        self._finished: asyncio.Future[PublishSummary] | None = None
        self._source_done = False
        self._source_error: Exception | None = None
        self._recovering = False
        self._closed = False
        self._routes: dict[tuple[str, str | None], tuple[str, str]] = {}
        self._last_stored_token: dict[str, int] = {}
        #: names this publisher in its statuses (and in the errors its consumers raise): host:pid:random
        self.publisher_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._told_end = False
        #: per subject, the stream sequence of the newest value JetStream stored (said at the end)
        self._last_seq: dict[str, int] = {}
        self._beat_now = asyncio.Event()  # a new subject: say at once that this publisher is alive on it
        self.published = 0
        self.stored = 0
        self.duplicates = 0
        self.resent = 0
        self.reordered = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect (when given a URL), find or create the stream, and subscribe to the source."""
        if self._finished is not None:
            return
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        if isinstance(self._nc_or_url, Client):
            self._nc = self._nc_or_url
        else:
            self._nc = await connect(self._nc_or_url, self.options.connect)
            self._owns_nc = True
        subjects = [self._fixed_subject or f"{self.options.prefix}.>"]
        try:
            js = self._nc.jetstream()
            deadline = loop.time() + self.options.setup_timeout
            what = (f"JetStream did not find or create the stream for {subjects[0]!r} in "
                    f"{self.options.setup_timeout:g} s (PublishOptions.setup_timeout)")
            if self._stream_name is not None or not self.options.create_stream:
                probe = self._fixed_subject or f"{self.options.prefix}.{self.exchange_id}.{self.channel or 'trades'}.X"
                self.stream = await again_while_transient(
                    lambda: stream_of(js, probe, self._stream_name), deadline, what)
            else:
                self.stream = await again_while_transient(
                    lambda: ensure_stream(js, subjects, self.options.stream_settings), deadline, what)
                self._kept_at = self._nc.stats["reconnects"]
                await self._keep_statuses(js)
            self._inbox = self._nc.new_inbox()
            self._ack_subscription = await self._nc.subscribe(
                f"{self._inbox}.*", cb=self._on_ack, pending_msgs_limit=10 * self.options.max_in_flight + 1024,
                pending_bytes_limit=64 * 1024 * 1024,
            )
        except nats.js.errors.APIError as error:  # JetStream answered, and refused
            await self._release()
            raise StreamNotFound(f"can't publish to {subjects[0]!r}: {error.description}") from None
        except nats.errors.Error as error:  # no responders (a server without JetStream), a closed connection...
            await self._release()
            raise NatsUnreachable(
                f"NATS failed while setting up publishing to {subjects[0]!r}: {error or type(error).__name__}") from None
        except BaseException:
            await self._release()
            raise
        self._tasks.append(asyncio.create_task(self._send(), name="rxpro.nats publisher: send"))
        self._tasks.append(asyncio.create_task(self._watch(), name="rxpro.nats publisher: ack timeouts"))
        self._tasks.append(asyncio.create_task(self._beat(), name="rxpro.nats publisher: status"))
        self._subscription = self._source.subscribe(self._on_value, self._on_source_error, self._on_source_done)

    async def finished(self) -> PublishSummary:
        """The summary once the source completed and JetStream acknowledged everything."""
        if self._finished is None:
            raise RuntimeError("the publisher has not started: use `async with publisher` or `await publisher.start()`")
        return await asyncio.shield(self._finished)

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every value received so far is acknowledged."""
        async def drained() -> None:
            while self._waiting or self._in_flight:
                self._raise_if_failed()
                await asyncio.sleep(0.01)
            self._raise_if_failed()

        await asyncio.wait_for(drained(), timeout)

    async def close(self) -> None:
        """Stop taking values, wait (up to ``ack_timeout``) for what is in flight, release everything."""
        if self._closed:
            return
        self._closed = True
        if self._subscription is not None:
            self._subscription.dispose()
        if self._finished is not None and not self._finished.done() and (self._waiting or self._in_flight):
            try:
                await self.flush(self.options.ack_timeout)
            except (asyncio.TimeoutError, PublishFailed):
                pass
        if self._finished is not None and not self._finished.done():
            if self._waiting or self._in_flight:
                self._fail(PublishFailed(
                    f"closed with {len(self._waiting) + len(self._in_flight)} value(s) not acknowledged by JetStream"
                ))
            elif self._source_error is not None:
                self._finished.set_exception(self._source_error)  # as finished() promises: the source's error
            else:
                self._finished.set_result(self.summary())
        if self._finished is not None and self._finished.done() and not self._finished.cancelled():
            self._finished.exception()  # retrieved: close() is not the place to raise it
        await self._tell_end()
        await self._release()

    async def _release(self) -> None:
        for pending in (self._telling, self._keeping):
            if pending is not None and not pending.done():
                self._tasks.append(pending)
        self._keeping = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        if self._ack_subscription is not None and self._nc is not None and not self._nc.is_closed:
            try:
                await self._ack_subscription.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection may be gone; nothing to release then
                pass
        self._ack_subscription = None
        if self._owns_nc and self._nc is not None:
            await close_connection(self._nc)

    def summary(self) -> PublishSummary:
        return PublishSummary(self.stream or "", self.published, self.stored, self.duplicates, self.resent,
                              self.reordered)

    # -- values in -------------------------------------------------------------------------

    def _route(self, channel: str, symbol: str | None) -> tuple[str, str]:
        """The subject and the message-id kind of a (channel, symbol), worked out once."""
        route = self._routes.get((channel, symbol))
        if route is None:
            if self._fixed_subject is not None:
                subject = self._fixed_subject
            elif symbol is None:
                raise PublishFailed(f"a {channel} value has no symbol: pass symbol= (e.g. for OHLCV rows)")
            else:
                subject = subject_for(self.exchange_id or "", channel, symbol, self.options.prefix)
            route = self._routes[(channel, symbol)] = (subject, channel.partition("_")[0])
            self._beat_now.set()
        return route

    def _on_value(self, value: Any) -> None:
        finished = self._finished
        if finished is None or finished.done() or self._source_done:  # (after a value it could not take)
            return
        if len(self._waiting) + len(self._in_flight) >= self.options.max_buffered:
            self._fail(PublishFailed(
                f"{self.options.max_buffered} values are waiting for JetStream's acknowledgement "
                f"(max_buffered): NATS is unreachable or too slow; publishing stopped rather than drop values"
            ))
            return
        try:
            channel = self.channel or channel_of(value)
            symbol = symbol_of(value) or self.symbol
            body = encode_body(value)
            subject, kind = self._route(channel, symbol)
            headers = {EXCHANGE_HEADER: self.exchange_id or "", CHANNEL_HEADER: channel, SYMBOL_HEADER: symbol or "",
                       MSG_ID_HEADER: f"{subject}:{message_key(kind, value, body)}"}
            limit = getattr(self._nc, "max_payload", None)
            if limit and len(body) + _HEADERS_FRAMING + sum(len(k) + len(v) + 4 for k, v in headers.items()) > limit:
                # the server would refuse it and close the connection (nats-py checks the body only)
                raise InvalidArgument(
                    f"rxpro.nats.publish: a value for {subject} is {len(body):,} bytes of JSON, with its headers "
                    f"more than the server's max_payload ({limit:,} bytes): cut it (a book to fewer levels) "
                    "or raise the server's max_payload")
        except Exception as error:  # noqa: BLE001 - a value we can't publish ends publishing, loudly
            # after the values taken before it (a failure of the source ends the same way)
            shown = repr(value)
            self._on_source_error(error if type(error).__module__.startswith("rxpro") else InvalidArgument(
                f"rxpro.nats.publish: a value can't be published ({type(error).__name__}: {error}): "
                f"{shown[:200] + '...' if len(shown) > 200 else shown}"))
            if self._subscription is not None:
                self._subscription.dispose()  # nothing after it is taken
            return
        self.published += 1
        self._waiting.append(_Message(subject, headers, body))
        self._wake.set()

    def _on_source_error(self, error: Exception) -> None:
        self._source_error = error
        self._source_done = True
        self._wake.set()

    def _on_source_done(self) -> None:
        self._source_done = True
        self._wake.set()

    def _fail(self, error: Exception) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_exception(error)
        if self._subscription is not None:
            self._subscription.dispose()
        self._wake.set()

    def _raise_if_failed(self) -> None:
        if self._finished is not None and self._finished.done() and self._finished.exception() is not None:
            raise self._finished.exception()  # type: ignore[misc]

    def _settle_if_done(self) -> None:
        if self._source_done and not self._waiting and not self._in_flight and self._finished is not None \
                and not self._finished.done():
            if self._source_error is not None:
                self._finished.set_exception(self._source_error)
            else:
                self._finished.set_result(self.summary())

    # -- sending ---------------------------------------------------------------------------

    async def _publish(self, message: _Message) -> None:
        assert self._nc is not None
        await self._nc.publish(message.subject, message.body, reply=f"{self._inbox}.{message.token}",
                               headers=message.headers)

    async def _connected(self) -> None:
        """Return once nats-py is connected; :class:`NatsUnreachable` once it gave up."""
        assert self._nc is not None
        while not self._nc.is_connected:
            if self._nc.is_closed:
                raise NatsUnreachable(f"the NATS connection closed ({self._nc.last_error or 'reconnect attempts spent'})")
            await asyncio.sleep(0.05)

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        options = self.options
        try:
            while True:
                await self._wake.wait()
                if options.linger > 0:
                    await asyncio.sleep(options.linger)
                self._wake.clear()
                sent = 0
                now = loop.time()
                in_flight, waiting = self._in_flight, self._waiting
                while waiting and not self._recovering and len(in_flight) < options.max_in_flight:
                    if sent % 256 == 0:
                        if sent:
                            await asyncio.sleep(0)  # let ccxt's handlers and the acks run
                            now = loop.time()
                        if self._finished is not None and self._finished.done():
                            return
                        if self._sent_order and now - self._oldest_sent() > options.ack_timeout / 4:
                            break  # an old message waits for its ack: hold new ones back, keep the subject in order
                        if not self._nc.is_connected:  # type: ignore[union-attr]
                            await self._connected()
                    message = waiting.popleft()
                    token = message.token = self._next_token
                    self._next_token = token + 1
                    message.first_sent = message.sent = now
                    message.attempts = 1
                    in_flight[token] = message
                    self._sent_order.append(token)
                    try:
                        await self._publish(message)
                    except OutboundBufferLimitError:
                        message.sent = 0.0  # nats-py's reconnect buffer is full: the watcher sends it again
                    sent += 1
                self._settle_if_done()
        except NatsUnreachable as error:
            self._fail(error)
        except Exception as error:  # noqa: BLE001 - the sender's failure is the publisher's
            self._fail(PublishFailed(f"publishing to NATS failed: {type(error).__name__}: {error}"))

    def _oldest_sent(self) -> float:
        while self._sent_order and self._sent_order[0] not in self._in_flight:
            self._sent_order.popleft()
        if not self._sent_order:
            return float("inf")
        return self._in_flight[self._sent_order[0]].sent

    # -- acknowledgements ------------------------------------------------------------------

    async def _on_ack(self, msg: Msg) -> None:
        try:
            token = int(msg.subject[len(self._inbox) + 1:])
        except ValueError:
            return
        message = self._in_flight.get(token)
        if message is None:
            return  # a late answer to a message already settled by an earlier answer
        headers = msg.headers
        if headers and headers.get("Status") == str(_UNAVAILABLE):
            self._unavailable(message)
            return
        answer = orjson.loads(msg.data) if msg.data else {}
        error = answer.get("error")
        if error is not None:
            if error.get("code") == _UNAVAILABLE:
                self._unavailable(message)
                return
            self._fail(PublishFailed(
                f"JetStream refused {message.subject} ({message.headers[MSG_ID_HEADER]}): "
                f"{error.get('description')} (error {error.get('err_code')})"
            ))
            return
        del self._in_flight[token]
        seq = answer.get("seq")
        if type(seq) is int and seq > self._last_seq.get(message.subject, 0):
            self._last_seq[message.subject] = seq
        if answer.get("duplicate"):
            if message.attempts > 1:
                # sent again after its acknowledgement was lost (a leader died): JetStream
                # has it from this publisher's earlier attempt
                self.stored += 1
            else:
                self.duplicates += 1
        else:
            self.stored += 1
            last = self._last_stored_token.get(message.subject, 0)
            if token < last:
                self.reordered += 1
            else:
                self._last_stored_token[message.subject] = token
        if message.resolved is not None and not message.resolved.done():
            message.resolved.set_result(None)
        if not self._in_flight:
            self._settle_if_done()
        if self._waiting:
            self._wake.set()

    def _unavailable(self, message: _Message) -> None:
        """No stream leader answered (an election, a restart): the watcher sends it again."""
        message.sent = 0.0
        if message.resolved is not None and not message.resolved.done():
            message.resolved.set_result(None)

    # -- status: alive, and how it ended ---------------------------------------------------

    async def _keep_statuses(self, js: Any) -> bool:
        """Have the server keep each subject's newest status (``keep_statuses``), so a subscription started
        after this publisher ended (or died) learns it; without it, only those there at the time hear it.

        Made by publishers that make their stream (``create_stream``, no stream name): where streams
        are managed elsewhere, so is this one (the statuses are kept if it is there).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(self.options.setup_timeout, 5.0)
        try:
            wrong = await again_while_transient(lambda: keep_statuses(js, self.options.stream_settings), deadline,
                                                "JetStream did not answer")
        except (nats.errors.Error, NatsUnreachable) as error:
            wrong = f"{getattr(error, 'description', None) or error or type(error).__name__}"
        if wrong is not None:
            log.warning("rxpro.nats: the server keeps no publisher statuses as rxpro reads them (%s): a subscription "
                        "started after this feed ends may not hear how it ended", wrong)
        return wrong is None

    def _status_subjects(self) -> list[str]:
        """The subjects this publisher speaks for: the one known from the start, and those it has published to."""
        subjects = {subject for subject, _ in self._routes.values()}
        if self._known_subject is not None:
            subjects.add(self._known_subject)
        return sorted(subjects)

    async def _beat(self) -> None:
        """A ``live`` status per subject every ``heartbeat`` s; the end's status once the publisher finished."""
        assert self._nc is not None and self._finished is not None
        body = orjson.dumps({"publisher": self.publisher_id, "state": "live", "every": self.options.heartbeat})
        while not self._finished.done():
            self._beat_now.clear()
            if self._nc.is_connected:
                if self._statuses_lost():
                    self._keep_statuses_again()
                for subject in self._status_subjects():
                    if self._told_end:
                        return
                    try:
                        await self._nc.publish(status_subject(subject), body)
                    except nats.errors.Error:
                        break  # the connection went: the next beat tries again
            woken: asyncio.Future[Any] = asyncio.ensure_future(self._beat_now.wait())
            waits: list[asyncio.Future[Any]] = [self._finished, woken]
            try:
                await asyncio.wait(waits, timeout=self.options.heartbeat, return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
        await self._tell_end()

    def _statuses_lost(self) -> bool:
        """Whether the stream that keeps statuses may be gone: made by this publisher, and a reconnect since."""
        makes_streams = self._stream_name is None and self.options.create_stream  # (as start() does)
        return makes_streams and self._nc is not None and self._nc.stats["reconnects"] != self._kept_at

    def _keep_statuses_again(self) -> asyncio.Task[None]:
        """After a reconnect (a server restart loses the stream): made again, by one task at a time (this one)."""
        if self._keeping is None or self._keeping.done():
            self._keeping = asyncio.create_task(self._make_statuses_kept(), name="rxpro.nats publisher: statuses kept")
        return self._keeping

    async def _make_statuses_kept(self) -> None:
        assert self._nc is not None
        reconnects = self._nc.stats["reconnects"]
        if await self._keep_statuses(self._nc.jetstream()):
            self._kept_at = reconnects  # (a failure is asked again after the next reconnect, or at the end)

    async def _tell_end(self) -> None:
        """One last status per subject: how this publisher ended (once; a second caller waits for the first)."""
        if self._telling is None:
            self._telling = asyncio.create_task(self._tell_end_once(), name="rxpro.nats publisher: the end")
        await asyncio.shield(self._telling)

    async def _tell_end_once(self) -> None:
        nc, finished = self._nc, self._finished
        if self._told_end or nc is None or finished is None or nc.is_closed:
            return  # (while nats-py reconnects it buffers what is published, this too)
        self._told_end = True
        if nc.is_connected and self._statuses_lost():  # so that the end is kept, for subscriptions to come
            await self._keep_statuses_again()  # (what JetStream answers is logged there, never raised)
        error = finished.exception() if finished.done() and not finished.cancelled() else None
        error = error or self._source_error
        if error is not None:
            state, reason = "failed", f"{type(error).__name__}: {error}"
        elif self._source_done:
            state, reason = "completed", None
        else:
            state, reason = "closed", None
        try:
            for subject in self._status_subjects():
                await nc.publish(status_subject(subject), orjson.dumps(
                    {"publisher": self.publisher_id, "state": state, "error": reason,
                     "every": self.options.heartbeat, "seq": self._last_seq.get(subject, 0)}))
            if nc.is_connected:  # (while reconnecting, nats-py sends what it buffered once back)
                await nc.flush(timeout=1)
        except (nats.errors.Error, asyncio.TimeoutError):
            pass  # gone with the connection: consumers tell a silent publisher by its missing heartbeats

    # -- timeouts and re-sending -----------------------------------------------------------

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        interval = max(self.options.ack_timeout / 8, 0.01)
        try:
            while True:
                await asyncio.sleep(interval)
                if self._in_flight and loop.time() - self._oldest_sent() > self.options.ack_timeout:
                    await self._recover()
                elif self._waiting and not self._recovering:
                    self._wake.set()  # the sender held back for an ack that has come since
        except NatsUnreachable as error:
            self._fail(error)
        except PublishFailed as error:
            self._fail(error)
        except Exception as error:  # noqa: BLE001
            self._fail(PublishFailed(f"re-sending to NATS failed: {type(error).__name__}: {error}"))

    async def _recover(self) -> None:
        """Send the unacknowledged messages again, oldest first, one at a time; then let new ones go."""
        loop = asyncio.get_running_loop()
        options = self.options
        self._recovering = True
        try:
            # the messages sent last get their full ack_timeout before they count as lost
            while self._in_flight:
                newest = max(m.sent for m in self._in_flight.values())
                delay = newest + options.ack_timeout - loop.time()
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            backoff = 0.05
            for token in sorted(self._in_flight):
                message = self._in_flight.get(token)
                while message is not None and token in self._in_flight:
                    if loop.time() - message.first_sent > options.retry_for:
                        raise PublishFailed(
                            f"JetStream did not acknowledge {message.subject} ({message.headers[MSG_ID_HEADER]}) "
                            f"within {options.retry_for:g} s (retry_for): publishing stopped"
                        )
                    await self._connected()
                    message.resolved = loop.create_future()
                    message.sent = loop.time()
                    message.attempts += 1
                    self.resent += 1
                    try:
                        await self._publish(message)
                    except OutboundBufferLimitError:
                        pass
                    try:
                        await asyncio.wait_for(asyncio.shield(message.resolved), options.ack_timeout)
                    except asyncio.TimeoutError:
                        pass
                    if token in self._in_flight:
                        await asyncio.sleep(backoff)  # no leader yet: give the election time
                        backoff = min(backoff * 2, 1.0)
                    else:
                        backoff = 0.05
        finally:
            self._recovering = False
        self._wake.set()


def publish(
    source: Observable[Any],
    nc_or_url: Client | str | Sequence[str],
    subject: str | None = None,
    *,
    exchange: Any = None,
    channel: str | None = None,
    symbol: str | None = None,
    stream: str | None = None,
    options: PublishOptions | None = None,
) -> Publisher:
    """Publish every value of ``source`` as one JetStream message; returns the (not yet started) :class:`Publisher`.

    >>> async with rxpro.nats.publish(rxpro.trades(ex, 'BTC/USDT'), 'nats://127.0.0.1:4222', exchange=ex) as pub:
    ...     await asyncio.sleep(60)                                                  # doctest: +SKIP

    ``subject`` None (default): each value goes to ``<prefix>.<exchange>.<channel>.<symbol>``
    (``rxpro.binance.trades.BTC_USDT``), with ``exchange`` the exchange (or its id),
    ``channel`` told by each value's shape unless given (``trades``, ``orderbook``,
    ``ticker``, ``ohlcv``; give ``'orderbook_20'`` or ``'ohlcv_1m'`` to say more),
    and ``symbol`` each value's own (give it for OHLCV rows, which have none).
    ``nc_or_url``: a nats-py connection (kept open) or server URL(s) (connected and
    closed by the publisher). ``stream``: publish only if this stream exists;
    otherwise the stream storing the subjects is found, or created from
    ``options.stream_settings``.
    """
    return Publisher(source, nc_or_url, subject, exchange=exchange, channel=channel, symbol=symbol, stream=stream,
                     options=options)
