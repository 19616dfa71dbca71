"""rxpro's WebSocket client: ccxt's ``Client`` with the hooks that feed the hub.

ccxt.pro's ``Exchange.client(url)`` builds one ``Client`` per connection; the rxpro
mixin turns it into an :class:`RxClient` (the same object, of this subclass) before
anything connects.  Every hook rxpro needs on a connection is an overridden method
here, each calling ccxt's own implementation:

* ``handle_message`` — counts the frame, hands it to the recording tap, and keeps a
  frame that ccxt's parser throws on from ending the receive loop;
* ``handle_text_or_binary_message`` — publishes the decoded frame on ``ex.rx.messages()``;
* ``resolve`` / ``reject`` — what ccxt's handlers resolve, and the errors they reject,
  go to the connection's :class:`~rxpro._router.Router` (and from there to the streams);
* ``on_error`` / ``on_close`` — one ``disconnected`` event per lost connection;
* ``send`` — client frames to the recording tap, then to :meth:`RxClient.transmit`
  (the wire; the replay's client overrides only that).

The path of an update reads in one direction: socket → ccxt's handler → ``resolve``
here → router → stream → observers.  Recording and replay are collaborators this
class calls (a :class:`ClientTap`) or a subclass of it (``rxpro._replay.ReplayClient``),
not further wrappers.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import ccxt
from ccxt.async_support.base.ws.client import Client, json_parser
from ccxt.async_support.base.ws.functions import is_json_encoded_object

from reactivex.subject import Subject

from ._router import FrameCount, Router, swallow

log = logging.getLogger("rxpro")

__all__ = ["ClientOwner", "ClientTap", "RxClient"]


class ClientTap(Protocol):
    """What a recorder is told about a connection (see ``rxpro._record``)."""

    def frame_received(self, client: RxClient, message: Any) -> None:
        """A frame arrived (aiohttp ``WSMessage``), before ccxt handles it."""

    def frame_sent(self, client: RxClient, text: str) -> None:
        """A client frame is about to be sent."""

    def connection_opened(self, client: RxClient) -> None:
        """The connection is open."""

    def rest_answered(self, status: Any, url: str, method: str, body: Any) -> None:
        """A REST answer arrived (the exchange's ``on_rest_response``)."""


class ClientOwner(Protocol):
    """What a client tells the hub that owns it (``rxpro._hub.Hub``)."""

    frames: FrameCount
    messages: Subject[Any]
    #: the messages of trading calls that timed out: such a send, still queued, is not made
    withheld: list[Any]

    def router_for(self, client: RxClient) -> Router: ...

    def publish_message(self, message: Any) -> None: ...

    def frame_failed(self, client: RxClient, error: Exception) -> None: ...

    def disconnected(self, client: RxClient, error: Any) -> None: ...


class RxClient(Client):  # type: ignore[misc]
    """A ccxt ``Client`` whose resolves and rejects go to rxpro's router.

    Built by :meth:`adopt` from the client ccxt made (its class is switched to this
    one, its state kept), so every option ccxt set on it stays.
    """

    router: Router
    hub: ClientOwner
    frames: FrameCount
    tap: ClientTap | None
    #: structured frames (not a bare ``"pong"``) received: the silence watchdog's sign that a
    #: connection is not mute while a stream on it waits for its first data
    received: int
    # one "disconnected" event per connection: ccxt may report one loss twice (a close
    # frame, then the receive loop finding the socket closed)
    disconnect_told: bool
    #: the last structure a native handler built new and resolved on this connection
    #: (``exchanges._native``): ccxt never changes it afterwards, so it is emitted as is
    rx_fresh: Any = None

    def adopt(self, hub: ClientOwner, tap: ClientTap | None) -> None:
        """Take the connection into rxpro: called once, right after ccxt built it."""
        self.hub = hub
        self.tap = tap
        self.disconnect_told = False
        self.received = 0
        self.frames = hub.frames
        self.router = hub.router_for(self)

    def set_tap(self, tap: ClientTap | None) -> None:
        """Hand this connection's frames to ``tap`` from now on (``None``: to nobody)."""
        self.tap = tap

    def future(self, message_hash: str) -> Any:
        """ccxt's future for ``message_hash``; one made here retrieves its own error when it fails.

        ccxt makes futures nobody may await — Binance's ``authenticate:signature:<type>``,
        there for a concurrent caller, is rejected when its connection fails — and asyncio
        would report each as "Future exception was never retrieved". Whoever awaits one still
        gets the error; the router does not count this callback as someone waiting.
        """
        created = message_hash not in self.futures or self.futures[message_hash].cancelled()
        future = Client.future(self, message_hash)
        if created:
            future.add_done_callback(swallow)
        return future

    # -- frames in -------------------------------------------------------------

    async def receive(self) -> Any:
        """The next message (ccxt's ``receive``); a failure is the connection's loss.

        ccxt only rejects the pending futures when its receive task raises: the connection
        stays open and in ``ex.clients`` with its receive loop stopped, so every stream
        subscribing again on it would wait for ever. It is closed and told instead, as a
        lost connection is.
        """
        try:
            return await self.connection.receive()
        except Exception as error:  # (a cancellation is no Exception: it passes)
            self.on_error(ccxt.NetworkError(f"{self.url}: receiving failed: {error!r}"))
            raise

    def handle_message(self, message: Any) -> None:
        tap = self.tap
        if tap is not None:
            tap.frame_received(self, message)
        if message.__class__ is not str:
            self.received += 1
        frames = self.frames
        frames.number += 1
        frames.open = True
        try:
            super().handle_message(message)
        except Exception as error:  # noqa: BLE001 - a bad frame must not end the receive loop
            self.hub.frame_failed(self, error)
        finally:
            frames.open = False

    def handle_text_or_binary_message(self, data: Any) -> None:
        # ccxt's decoding (same rules), so that the decoded frame can be published first
        if self.verbose:
            self.log(ccxt.Exchange.iso8601(ccxt.Exchange.milliseconds()), "message", data)
        if self.decompressBinary and isinstance(data, bytes):
            data = data.decode()
        decoded = json_parser.loads(data) if is_json_encoded_object(data) else data
        messages = self.hub.messages
        if messages.observers:
            self.hub.publish_message(decoded)
        self.on_message_callback(self, decoded)

    # -- what ccxt's handlers resolve and reject ---------------------------------

    def resolve(self, result: Any, message_hash: str) -> Any:
        return self.router.resolve(result, message_hash)

    def reject(self, result: Any, message_hash: str | None = None) -> Any:
        return self.router.reject(result, message_hash)

    def resolve_future(self, result: Any, message_hash: str) -> Any:
        """ccxt's own ``resolve`` of the future under ``message_hash`` (called by the router)."""
        return Client.resolve(self, result, message_hash)

    def reject_future(self, error: Any, message_hash: str) -> Any:
        """ccxt's own ``reject`` of the future under one ``message_hash`` (called by the router)."""
        return Client.reject(self, error, message_hash)

    # -- connection changes ----------------------------------------------------------

    def on_error(self, error: Any) -> None:
        # told before ccxt rejects the pending futures, so that listeners see
        # "disconnected" ahead of the streams' "retrying"
        if self.error is None:
            self._tell_disconnected(error)
        super().on_error(error)

    def on_close(self, code: Any) -> None:
        if self.error is None:
            self._tell_disconnected(ccxt.NetworkError(f"closed by the server, code {code}"))
        elif not self.disconnect_told:
            # ccxt closed it itself, its error set first (a book whose REST snapshot failed:
            # ccxt's ``load_order_book`` rejects only that book, cancels the other futures and
            # closes): ccxt rejects nothing more, so the other streams on it would wait for
            # ever. They hear of the loss and subscribe again on a new connection
            lost = ccxt.NetworkError(f"{self.url}: closed by ccxt after {self.error!r}")
            self._tell_disconnected(lost)
            self.router.reject(lost, None)
        super().on_close(code)

    def opening(self) -> bool:
        """Whether the connection is still being opened (dialling, a backoff, the handshake).

        Not open and not dead: ccxt's connect timeout decides. ``closed()`` can't tell the
        two apart (it is true for both).
        """
        return self.connection is None and self.error is None and not self.connected.done()

    def _tell_disconnected(self, error: Any) -> None:
        if not self.disconnect_told:
            self.disconnect_told = True
            self.hub.disconnected(self, error)

    # -- frames out --------------------------------------------------------------------

    async def send(self, message: Any) -> Any:
        withheld = self.hub.withheld
        if withheld and any(message is m for m in withheld):
            # the request of a trading call that timed out (its observers were told "no answer"),
            # still queued (a slow connect, the throttle): it must not go out after that
            withheld.remove(message)
            log.warning("rxpro: not sent (its call timed out, its observers were told): %s",
                        (message if isinstance(message, str) else ccxt.Exchange.json(message))[:200])
            return None
        tap = self.tap
        if tap is not None:
            tap.frame_sent(self, message if isinstance(message, str) else ccxt.Exchange.json(message))
        return await self.transmit(message)

    async def transmit(self, message: Any) -> Any:
        """Put a client frame on the wire (ccxt's ``send``); a replay's client keeps it instead."""
        return await Client.send(self, message)

