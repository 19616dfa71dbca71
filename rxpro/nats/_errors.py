"""The errors of ``rxpro.nats``: each names the subject, stream, server or message at fault.

As everywhere in rxpro they subclass a ccxt exception (``except ccxt.BaseError``
keeps catching them) and, here, :class:`NatsError` too: bad input is a
``ccxt.BadRequest`` (via ``rxpro.InvalidArgument``), a message that is not
rxpro's a ``ccxt.BadResponse``, and a server that can't be reached or can't
keep up a ``ccxt.NetworkError``.
"""

from __future__ import annotations

import ccxt

from rxpro import InvalidArgument

__all__ = [
    "InvalidSubject",
    "NatsError",
    "NatsUnreachable",
    "NotRxproMessage",
    "PublishFailed",
    "PublisherLost",
    "PublisherStopped",
    "StreamNotFound",
]


class NatsError(Exception):
    """Any failure of ``rxpro.nats`` (a mixin next to the ccxt class of each error)."""


class InvalidSubject(NatsError, InvalidArgument):
    """A subject, subject token or symbol that NATS can't carry (whitespace, ``.``, ``*``, ``>``, empty)."""


class StreamNotFound(NatsError, InvalidArgument):
    """No JetStream stream of that name, or none that stores the subject."""


class NotRxproMessage(NatsError, ccxt.BadResponse):
    """A message on the stream that rxpro did not write (no rxpro headers, or a body that isn't JSON)."""


class NatsUnreachable(NatsError, ccxt.NetworkError):
    """The NATS server can't be reached (refused, timed out, or gone past the reconnect budget)."""


class PublishFailed(NatsError, ccxt.NetworkError):
    """Publishing stopped rather than drop a value: the buffer bound was exceeded, or JetStream refused a message."""


class PublisherLost(NatsError, ccxt.NetworkError):
    """A live stream heard nothing from any publisher of its subject, values or status, for ``StreamOptions.silence`` seconds."""


class PublisherStopped(NatsError, ccxt.NetworkError):
    """The last publisher of a live stream's subject stopped with an error (its own, or its source's), named here."""
