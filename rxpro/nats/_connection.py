"""Connecting to NATS: nats-py's own connect, reconnect and outbound buffer, configured once here.

rxpro does not reconnect by itself: nats-py reconnects (``reconnect_time_wait``
apart, ``max_reconnect_attempts`` times), re-subscribes, and buffers what is
published meanwhile up to ``pending_bytes``. rxpro's publisher adds its own
bound on top (``PublishOptions.max_buffered``) and fails loudly past it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client

from ._errors import NatsUnreachable

__all__ = ["ConnectOptions", "close_connection", "connect", "servers_of"]

_log = logging.getLogger("rxpro.nats")


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """How rxpro connects (passed to ``nats.connect``).

    The defaults try for about a minute after a connection drops
    (120 attempts, 0.5 s apart, each server of a cluster in turn), then give up:
    the connection closes and rxpro's streams and publishers end with
    :class:`NatsUnreachable`.
    """

    connect_timeout: float = 2.0
    reconnect_time_wait: float = 0.5
    max_reconnect_attempts: int = 120
    #: what nats-py buffers while reconnecting, in bytes; publishing past it raises in nats-py
    pending_bytes: int = 64 * 1024 * 1024
    ping_interval: float = 10.0
    name: str | None = None


def servers_of(url: str | Sequence[str]) -> list[str]:
    """``'nats://a:4222,nats://b:4222'`` or a list of URLs -> the list nats-py takes."""
    if isinstance(url, str):
        servers = [part.strip() for part in url.split(",") if part.strip()]
    else:
        servers = [str(part) for part in url]
    if not servers:
        raise NatsUnreachable(f"no NATS server URL in {url!r}")
    return servers


async def _listening(server: str, timeout: float) -> bool | None:
    """Whether something accepts TCP at ``server``'s host and port (``None``: not a URL we can probe)."""
    try:
        parts = urlsplit(server if "://" in server else f"nats://{server}")
        host, port = parts.hostname, parts.port or 4222
    except ValueError:
        return None
    if host is None or parts.scheme not in ("nats", "tls"):
        return None
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


async def connect(url: str | Sequence[str], options: ConnectOptions | None = None) -> Client:
    """A nats-py connection to ``url`` (one URL, a comma-separated list, or a list: a cluster's servers).

    Raises :class:`NatsUnreachable` naming the URL when no server answers. (nats-py
    spends its whole reconnect budget on a first connect too; a quick look for a
    listening port first makes a wrong URL fail in milliseconds, not a minute.)
    """
    options = options or ConnectOptions()
    servers = servers_of(url)
    probes = await asyncio.gather(*(_listening(server, options.connect_timeout) for server in servers))
    if not any(probe is None or probe for probe in probes):
        raise NatsUnreachable(f"can't reach NATS at {', '.join(servers)}: nothing listens there")
    last_error: list[BaseException] = []

    async def error_cb(error: Exception) -> None:
        # nats-py reports every failed (re)connect attempt here; keep it out of the logs' ERROR level
        last_error[:] = [error]
        _log.debug("nats: %s", error)

    try:
        return await nats.connect(
            servers,
            error_cb=error_cb,
            name=options.name,
            connect_timeout=options.connect_timeout,  # type: ignore[arg-type]  # nats-py annotates int, takes float
            reconnect_time_wait=options.reconnect_time_wait,  # type: ignore[arg-type]
            max_reconnect_attempts=options.max_reconnect_attempts,
            ping_interval=options.ping_interval,  # type: ignore[arg-type]
            pending_size=options.pending_bytes,
            dont_randomize=True,
        )
    except (nats.errors.NoServersError, OSError, TimeoutError) as error:
        cause: Any = last_error[0] if last_error else error
        detail = str(cause) or type(cause).__name__
        raise NatsUnreachable(f"can't reach NATS at {', '.join(servers)}: {detail}") from None


async def close_connection(nc: Client) -> None:
    """``nc.close()``, also when the server died a moment ago.

    nats-py writes what it still buffers before closing; on a socket whose peer is
    gone that raises (``ConnectionResetError``) half-way through the close. What it
    buffered can't reach a dead server anyway; the connection ends closed.
    """
    if nc.is_closed:
        return
    try:
        await nc.close()
    except OSError as error:
        _log.debug("nats: closing a connection whose server is gone: %s", error)
