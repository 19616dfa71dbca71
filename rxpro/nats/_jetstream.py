"""The JetStream stream rxpro writes to: its defaults, creating it when absent, finding it by subject.

Defaults (``StreamSettings``): stream ``RXPRO`` on ``rxpro.>``, file storage,
limits retention that drops the oldest messages past 24 hours or 1 GiB,
duplicate window 2 minutes (how far apart two redundant publishers may run),
1 replica (3 on a 3-node cluster: ``replicas=3``). An existing stream is used
as it is, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from ._errors import InvalidSubject, StreamNotFound

__all__ = ["StreamSettings", "ensure_stream", "stream_of"]


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
    except nats.js.errors.BadRequestError as error:
        # e.g. the subjects overlap another stream's, or the name is taken by a stream on other subjects
        raise InvalidSubject(f"can't create stream {settings.name!r} on {', '.join(subjects)}: {error.description}") from None
    except nats.js.errors.APIError as error:
        raise StreamNotFound(f"can't create stream {settings.name!r} on {', '.join(subjects)}: {error.description}") from None
    return settings.name
