"""The JetStream stream rxpro writes to: its defaults, creating it when absent, finding it by subject.

Defaults (``StreamSettings``): stream ``RXPRO`` on ``rxpro.>``, file storage,
limits retention that drops the oldest messages past 24 hours or 1 GiB,
duplicate window 2 minutes (how far apart two redundant publishers may run),
1 replica (3 on a 3-node cluster: ``replicas=3``). An existing stream is used
as it is, never changed.

Next to it, stream ``RXPRO_STATUS`` on ``_rxpro_status.>`` keeps the newest publisher status
of each subject (one message per subject, in memory, the data stream's age limit and replicas):
what a subscription started after its feed ended or died reads to know it (``keep_statuses``).

A request made while the cluster has no leader times out or answers 503:
``again_while_transient`` asks again until a deadline (``setup_timeout``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from rxpro import InvalidArgument
from rxpro._retry import RetryPolicy

from ._errors import InvalidSubject, NatsUnreachable, StreamNotFound
from ._subjects import STATUS_PREFIX

__all__ = ["STATUS_STREAM", "TRANSIENT", "StreamSettings", "again_while_transient", "check_seconds", "ensure_stream",
           "keep_statuses", "stream_of"]

_T = TypeVar("_T")

#: the stream that keeps the newest publisher status of each subject (``_rxpro_status.<subject>``)
STATUS_STREAM = "RXPRO_STATUS"

#: what a JetStream request gets while the cluster elects a leader or a node is down: worth asking again
#: (not "no responders": that is a server without JetStream, said at once)
TRANSIENT = (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError)

#: the least time one set-up request gets, deadline or not (seconds)
_LEAST_S = 1.0

#: how long nobody answering JetStream requests ("no responders") is waited out before it is said
_NO_JETSTREAM_S = 5.0

#: the pauses between set-up requests: 0.25 s, doubling to 2 s (the deadline, not a count, ends them)
_SETUP_BACKOFF = RetryPolicy(max_retries=None, initial_delay_ms=250.0, max_delay_ms=2_000.0, jitter=0.0)


async def again_while_transient(request: Callable[[], Awaitable[_T]], deadline: float,
                                what: str = "JetStream did not answer") -> _T:
    """``await request()``, asked again (:data:`_SETUP_BACKOFF` apart) while it fails with a
    :data:`TRANSIENT` error and ``deadline`` (loop time) is ahead; past it, :class:`NatsUnreachable`
    saying ``what`` and the last error.  A request still unanswered at the deadline is cut off
    there, or after 1 s if it started later (not left to nats-py's own 5 s request timeout).

    Consumers (``StreamOptions.setup_timeout``) and publishers (``PublishOptions.setup_timeout``)
    set up through it, so one started during a leader election waits for the new leader.
    """
    loop = asyncio.get_running_loop()
    attempt = 0
    last = ""
    unanswered_since: float | None = None  # "no responders" since: nats-py says it as a bare 503
    while True:
        try:
            # one request is cut off at the deadline too (nats-py's own request timeout is 5 s),
            # but each gets _LEAST_S: a step that starts just before the deadline is still asked
            return await asyncio.wait_for(request(), max(deadline - loop.time(), _LEAST_S))
        except TRANSIENT as error:
            attempt += 1
            last = f"{getattr(error, 'description', None) or error or type(error).__name__}"
            if (isinstance(error, nats.js.errors.ServiceUnavailableError)
                    and error.code is None and error.description is None):
                # nobody serves $JS.API here: a server without JetStream (or one still starting it)
                unanswered_since = loop.time() if unanswered_since is None else unanswered_since
                if loop.time() - unanswered_since >= _NO_JETSTREAM_S:
                    raise NatsUnreachable(
                        f"{what}: no JetStream on this server (no responders to $JS.API for {_NO_JETSTREAM_S:g} s): "
                        "is it enabled (nats-server -js)?") from None
            else:
                unanswered_since = None
            pause = _SETUP_BACKOFF.delay_ms(attempt) / 1000
            if loop.time() + pause > deadline:
                raise NatsUnreachable(f"{what}: {last}") from None
        except TimeoutError:  # wait_for's (nats-py's TimeoutError is one of TRANSIENT, caught above)
            raise NatsUnreachable(f"{what}: no answer before the deadline"
                                  + (f" (before that: {last})" if last else "")) from None
        await asyncio.sleep(pause)


def check_seconds(name: str, value: object, *, zero_ok: bool = False) -> None:
    """``InvalidArgument`` naming ``name`` unless ``value`` is a number of seconds > 0 (>= 0 with ``zero_ok``)."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not (value >= 0 if zero_ok else value > 0)):
        raise InvalidArgument(f"{name} must be a number of seconds {'>= 0' if zero_ok else '> 0'}, got {value!r}")


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The stream ``rxpro.nats.publish`` and ``rxpro publish`` create when none stores their subjects."""

    name: str = "RXPRO"
    max_age: float = 24 * 3600.0  # seconds
    max_bytes: int = 1024**3
    duplicate_window: float = 120.0  # seconds
    replicas: int = 1
    memory: bool = False  # file storage by default: a server restart keeps the stream


async def stream_of(js: JetStreamContext, subject: str, name: str | None = None) -> str:
    """The name of the stream that stores ``subject`` (or check that stream ``name`` exists).

    :class:`StreamNotFound` names the subject or the stream when there is none.
    """
    if name is not None:
        try:
            await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            raise StreamNotFound(f"no JetStream stream named {name!r}") from None
        except nats.js.errors.BadRequestError as error:
            raise StreamNotFound(f"{name!r} is not a stream name: {error.description}") from None
        return name
    try:
        return await js.find_stream_name_by_subject(subject)
    except nats.js.errors.NotFoundError:
        raise StreamNotFound(f"no JetStream stream stores subject {subject!r}") from None


async def ensure_stream(js: JetStreamContext, subjects: list[str], settings: StreamSettings) -> str:
    """The stream that stores ``subjects[0]``; created from ``settings`` on ``subjects`` when there is none."""
    try:
        return await js.find_stream_name_by_subject(subjects[0])
    except nats.js.errors.NotFoundError:
        pass
    config = StreamConfig(
        name=settings.name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=settings.max_age,
        max_bytes=settings.max_bytes,
        duplicate_window=settings.duplicate_window,
        num_replicas=settings.replicas,
        storage=StorageType.MEMORY if settings.memory else StorageType.FILE,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.ServiceUnavailableError:
        raise  # 503 during a leader election: the caller asks again (again_while_transient)
    except nats.js.errors.BadRequestError as error:
        # e.g. the subjects overlap another stream's, or the name is taken by a stream on other subjects
        raise InvalidSubject(f"can't create stream {settings.name!r} on {', '.join(subjects)}: {error.description}") from None
    except nats.js.errors.APIError as error:
        raise StreamNotFound(f"can't create stream {settings.name!r} on {', '.join(subjects)}: {error.description}") from None
    return settings.name


async def keep_statuses(js: JetStreamContext, settings: StreamSettings) -> str | None:
    """Make sure stream :data:`STATUS_STREAM` keeps the newest status of every subject (created when absent).

    One message per subject (``max_msgs_per_subject=1``), in memory (a status a second per
    subject is not worth a disk write), with ``settings``' age limit and replicas. Publishers'
    statuses stay plain NATS publishes: the stream stores them as they pass. Returns what is
    wrong with an existing stream of that name (None: it keeps statuses as rxpro reads them);
    raises what JetStream answered otherwise.
    """
    config = StreamConfig(
        name=STATUS_STREAM,
        subjects=[f"{STATUS_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_msgs_per_subject=1,
        max_age=settings.max_age,
        num_replicas=settings.replicas,
        storage=StorageType.MEMORY,
    )
    try:
        info = await js.stream_info(STATUS_STREAM)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return None
        except nats.js.errors.BadRequestError as refused:
            # made meanwhile by another publisher (with other settings: "already in use"), or refused
            try:
                info = await js.stream_info(STATUS_STREAM)
            except nats.js.errors.NotFoundError:
                raise refused from None
    existing = info.config
    if list(existing.subjects or ()) != config.subjects or existing.max_msgs_per_subject != 1:
        return (f"stream {STATUS_STREAM!r} is on {existing.subjects} keeping {existing.max_msgs_per_subject} "
                f"message(s) per subject, not on {config.subjects} keeping 1")
    return None
