"""WebSockets: wsproto driven by Trio in the task that consumes the messages.

wsproto does the handshake, framing, masking, UTF-8 validation and close-code rules.
:class:`WebSocket` feeds it what the stream receives (64 KiB at a time) and sends what
it produces, behind one send lock so several tasks may send. There is no reader task
and no message channel: :meth:`WebSocket.receive` reads until an event is ready, and
answers pings and close frames as it goes.

Server side, :func:`accept_websocket` turns a handshake request the HTTP server parsed
into a response that takes the connection over. Client side, :func:`connect_websocket`
opens a stream through the transport plugins and performs the handshake.
"""

from __future__ import annotations

import collections
import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import trio
from wsproto import WSConnection
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError as WSLocalError
from wsproto.utilities import RemoteProtocolError as WSRemoteError

from .._model import URL, Request
from ..errors import WebSocketClosed
from ._errors import IO_ERRORS
from ._wsevents import Closed, PingEvent, PongEvent, WebSocketEvent, WebSocketMessage, close_reason

__all__ = [
    "DEFAULT_MAX_FRAGMENTS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Closed",
    "WebSocketMessage",
    "PingEvent",
    "PongEvent",
    "WebSocket",
    "WebSocketEvent",
]

#: Messages larger than this close the connection with 1009.
DEFAULT_MAX_MESSAGE_SIZE = 4 << 20
#: Messages in more frames than this close the connection with 1009 (a flood of one-byte
#: fragments costs CPU per frame whatever the payload).
DEFAULT_MAX_FRAGMENTS = 4096
_READ_SIZE = 65536
#: parts of a fragmented message kept before they are compacted into one buffer
_MAX_PARTS = 64
# reads grow while they come back full (large messages) and shrink back when they do not
_MIN_READ, _MAX_READ = 65536, 1 << 20


class WebSocket:
    """One WebSocket connection, client or server side.

    ``await ws.send_text("hi")``, ``await ws.receive()`` → :class:`WebSocketMessage`,
    :class:`PingEvent`, :class:`PongEvent` or finally :class:`Closed`;
    ``async for data in ws`` yields message payloads until the close.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        connection: Connection | WSConnection,
        *,
        url: URL | None = None,
        request: Request | None = None,
        subprotocol: str | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        close_timeout: float = 5.0,
        send_timeout: float | None = None,
        max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
    ) -> None:
        self.id: str = uuid.uuid4().hex
        #: a message in more frames than this closes the connection with 1009 (None: no cap)
        self.max_fragments = max_fragments
        self.url = url
        self.request = request
        self.subprotocol = subprotocol
        self.max_message_size = max_message_size
        self.close_timeout = close_timeout
        self.send_timeout = send_timeout
        self._stream = stream
        # after the handshake, wsproto's message-level Connection itself: WSConnection only
        # adds a layer that forwards to it
        self._ws: Connection | WSConnection = connection
        if isinstance(connection, WSConnection) and connection.connection is not None:
            self._ws = connection.connection
        self._send_lock = trio.StrictFIFOLock()
        self._pending: collections.deque[WebSocketEvent] = collections.deque()
        self._parts: list[Any] = []  # the latest parts of a fragmented message
        self._partial: bytearray | None = None  # its earlier parts, compacted (text: UTF-8)
        self._size = 0
        self._fragments = 0
        self._closed: Closed | None = None
        self._closed_event = trio.Event()
        self._closing = False
        self._reading = False
        self._pong_waiters: dict[bytes, trio.Event] = {}
        self._events: Iterator[Any] | None = None
        #: a server's 101 answer, held back until the handler first sends or receives
        self._handshake = b""
        self._read_size = _MIN_READ
        self._watched = False
        self._in_send = False  # a send to the stream is in progress (read by the watcher)
        self._sends = 0  # sends completed (the watcher sees progress without a clock)

    # -- state ----------------------------------------------------------------------------
    @property
    def closed(self) -> Closed | None:
        """How the connection closed, or None while it is open."""
        return self._closed

    @property
    def is_open(self) -> bool:
        """True until a close starts."""
        return self._closed is None and not self._closing

    @property
    def is_closing(self) -> bool:
        """True between sending or receiving a close frame and the end."""
        return self._closed is None and self._closing

    @property
    def path(self) -> str:
        """The request path (server side) or URL path (client side)."""
        if self.request is not None:
            return self.request.path
        return self.url.path if self.url is not None else ""

    # -- sending --------------------------------------------------------------------------
    async def accept(self) -> None:
        """Send the server's 101 answer now (otherwise the first send or receive does)."""
        if self._handshake:
            await self._send_bytes(b"")

    async def _send_bytes(self, data: bytes) -> None:
        if self._handshake:
            data, self._handshake = self._handshake + data, b""
        if not data:
            return
        lock = self._send_lock
        try:
            lock.acquire_nowait()  # the common case: nobody else is sending, no scheduling point
        except trio.WouldBlock:
            await lock.acquire()
        try:
            try:
                if self.send_timeout is None:
                    await self._stream.send_all(data)
                elif self._watched:
                    # a watcher task (the App's) drops us if this send stalls: no scope per send
                    self._in_send = True
                    await self._stream.send_all(data)
                    self._in_send = False
                    self._sends += 1
                else:
                    with trio.fail_after(self.send_timeout):
                        await self._stream.send_all(data)
            except trio.TooSlowError:
                self._finish(
                    Closed(
                        1006, f"send_timeout={self.send_timeout}s exceeded: the peer is not reading"
                    )
                )
                await trio.aclose_forcefully(self._stream)
                raise WebSocketClosed(1006, "the peer stopped reading (send timeout)") from None
            except IO_ERRORS as exc:
                if self._in_send and self._closed is not None:
                    raise WebSocketClosed(1006, "the peer stopped reading (send timeout)") from exc
                self._finish(Closed(1006, "connection broken"))
                raise WebSocketClosed(1006, "the connection is broken") from exc
        finally:
            self._in_send = False
            lock.release()

    async def watch_sends(self) -> None:
        """Drop the connection when a send stalls past ``send_timeout`` (run it in a task).

        With a watcher, sends need no cancel scope of their own.
        """
        if self.send_timeout is None:
            return
        self._watched = True
        tick = min(1.0, self.send_timeout / 4)
        stalled_for = 0.0
        seen = -1
        while self._closed is None:
            await trio.sleep(tick)
            # one send still in progress since the last tick: it has stalled that long
            stalled_for = stalled_for + tick if self._in_send and self._sends == seen else 0.0
            seen = self._sends
            if stalled_for >= self.send_timeout:
                self._finish(
                    Closed(
                        1006, f"send_timeout={self.send_timeout}s exceeded: the peer is not reading"
                    )
                )
                await trio.aclose_forcefully(self._stream)
                return

    async def _send(self, event: Any) -> None:
        if self._closed is not None:
            raise WebSocketClosed(self._closed.code, self._closed.reason)
        try:
            data = self._ws.send(event)
        except WSLocalError as exc:
            raise WebSocketClosed(1006, f"cannot send on a closing connection: {exc}") from exc
        await self._send_bytes(data)

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""
        if isinstance(data, str):
            await self._send(TextMessage(data=data))
        else:
            await self._send(BytesMessage(data=bytes(data)))

    async def send_text(self, text: str) -> None:
        """Send a text message."""
        await self._send(TextMessage(data=text))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._send(BytesMessage(data=data if type(data) is bytes else bytes(data)))

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping (at most 125 bytes of payload)."""
        await self._send(Ping(payload=payload))

    async def pong(self, payload: bytes = b"") -> None:
        """Send an unsolicited pong."""
        await self._send(Pong(payload=payload))

    async def ping_and_wait(self, timeout: float, payload: bytes | None = None) -> bool:
        """Ping and wait for the matching pong (read by whoever calls :meth:`receive`)."""
        payload = payload if payload is not None else os.urandom(8)
        waiter = self._pong_waiters[payload] = trio.Event()
        try:
            await self.ping(payload)
            with trio.move_on_after(timeout):
                await waiter.wait()
                return True
            return False
        finally:
            self._pong_waiters.pop(payload, None)

    # -- receiving ------------------------------------------------------------------------
    async def receive(self) -> WebSocketEvent:
        """The next event; after :class:`Closed` has been returned, raises WebSocketClosed.

        wsproto's events are taken one at a time, so a close that arrived in the same
        read as earlier messages is answered only after those messages were received.
        """
        while not self._pending:
            if self._events is not None:
                try:
                    event = next(self._events)
                except StopIteration:
                    self._events = None
                    too_large = self._declared_too_large()
                    if too_large:
                        await self._fail(1009, too_large)
                    continue
                except WSRemoteError as exc:
                    self._events = None
                    await self._fail(1002, str(exc))
                    continue
                kind = type(event)
                if kind is BytesMessage or kind is TextMessage:
                    too_large = self._take_message(event)  # no coroutine for a message
                    if too_large:
                        await self._fail(1009, too_large)
                    continue
                await self._handle(event)
                continue
            if self._closed is not None:
                raise WebSocketClosed(self._closed.code, self._closed.reason)
            if self._handshake:
                await self.accept()
            self._reading = True
            try:
                data = await self._stream.receive_some(self._read_size)
            except IO_ERRORS:
                data = b""
            finally:
                self._reading = False
            if len(data) == self._read_size:
                self._read_size = min(self._read_size * 2, _MAX_READ)
            elif self._read_size > _MIN_READ and len(data) < self._read_size // 4:
                self._read_size //= 2
            if not data:
                await self._terminate(Closed(1006, "the connection closed without a close frame"))
                break
            self._ws.receive_data(bytes(data))
            self._events = self._ws.events()
        return self._pending.popleft()

    def _declared_too_large(self) -> str | None:
        """A frame whose header is in, and whose declared length alone would carry its
        message past ``max_message_size``: refused now, not after its payload arrives
        (wsproto keeps the header it is reading on its frame decoder)."""
        if self._closed is not None:
            return None
        decoder = getattr(getattr(self._ws, "_proto", None), "_frame_decoder", None)
        header = getattr(decoder, "header", None)
        if header is None:
            return None
        declared: int = header.payload_len
        if declared - decoder.payload_consumed + self._size <= self.max_message_size:  # type: ignore[union-attr]
            return None
        return (
            f"a frame declares {declared} bytes: message larger than "
            f"max_message_size={self.max_message_size}"
        )

    def _take_message(self, event: TextMessage | BytesMessage) -> str | None:
        """Queue a data frame's message (or collect its part); the 1009 reason if too large."""
        if self._closed is not None:
            return None
        if event.message_finished and not self._parts and self._partial is None:
            # a whole message in one frame: no parts list, no join
            data = event.data
            if len(data) > self.max_message_size:
                return f"message larger than max_message_size={self.max_message_size}"
            self._pending.append(
                WebSocketMessage(bytes(data) if isinstance(data, bytearray) else data)
            )
            return None
        # up to _MAX_PARTS parts are kept and joined once at the end (one copy, as a
        # message in a few large reads wants); past that they are compacted into one
        # buffer, so memory follows the payload, never the fragment count
        data = event.data
        parts = self._parts
        if not parts and self._partial is None:
            self._fragments = 0
        if event.frame_finished:
            self._fragments += 1
            if self.max_fragments is not None and self._fragments > self.max_fragments:
                return f"message in more than max_fragments={self.max_fragments} fragments"
        self._size += len(data)
        if self._size > self.max_message_size:
            return f"message larger than max_message_size={self.max_message_size}"
        parts.append(data)
        text = isinstance(data, str)
        if len(parts) > _MAX_PARTS:
            if self._partial is None:
                self._partial = bytearray()
            self._partial += "".join(parts).encode("utf-8") if text else b"".join(parts)
            parts.clear()
        if event.message_finished:
            whole: str | bytes = "".join(parts) if text else b"".join(parts)
            if self._partial is not None:  # text is kept as UTF-8 (a StringIO keeps every part)
                self._partial += whole.encode("utf-8") if isinstance(whole, str) else whole
                whole = self._partial.decode("utf-8") if text else bytes(self._partial)
                self._partial = None
            parts.clear()
            self._size = 0
            self._pending.append(WebSocketMessage(whole))
        return None

    async def _handle(self, event: Any) -> None:
        if isinstance(event, Ping):
            await self._send(event.response())
            self._pending.append(PingEvent(bytes(event.payload)))
        elif isinstance(event, Pong):
            waiter = self._pong_waiters.get(bytes(event.payload))
            if waiter is not None:
                waiter.set()
            self._pending.append(PongEvent(bytes(event.payload)))
        elif isinstance(event, CloseConnection):
            if self._ws.state is ConnectionState.REMOTE_CLOSING:
                # the peer closed: echo its code, then we are done
                self._closing = True
                with contextlib.suppress(WebSocketClosed):
                    await self._send_bytes(self._ws.send(event.response()))
                await self._terminate(Closed(int(event.code), event.reason or ""))
            elif self._ws.state is ConnectionState.CLOSED:
                # the answer to our own close
                await self._terminate(Closed(int(event.code), event.reason or ""))
            else:
                # wsproto found a protocol error (1002, 1007): we close with its code
                await self._fail(int(event.code), event.reason or "protocol error")

    async def _fail(self, code: int, reason: str) -> None:
        """Close because of an error we detected: send the close frame, drop the stream."""
        if self._closed is not None:
            return
        self._closing = True
        try:
            if self._ws.state is ConnectionState.OPEN:
                await self._send_bytes(
                    self._ws.send(CloseConnection(code=code, reason=close_reason(reason)))
                )
        except (WebSocketClosed, WSLocalError):
            pass
        await self._terminate(Closed(code, reason))

    def _finish(self, closed: Closed) -> None:
        """Record how the connection ended and report it to the reader, once."""
        if self._closed is None:
            self._closed = closed
            self._closed_event.set()
            self._pending.append(closed)

    async def _terminate(self, closed: Closed) -> None:
        """The connection is over: report ``closed`` once and drop the stream."""
        self._finish(closed)
        await trio.aclose_forcefully(self._stream)

    def __aiter__(self) -> WebSocket:
        """Iterate message payloads until the close (pings are answered meanwhile)."""
        return self

    async def __anext__(self) -> str | bytes:
        while True:
            try:
                event = await self.receive()
            except WebSocketClosed:
                raise StopAsyncIteration from None
            if isinstance(event, WebSocketMessage):
                return event.data
            if isinstance(event, Closed):
                raise StopAsyncIteration

    # -- closing --------------------------------------------------------------------------
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake and wait (``close_timeout``) for the peer's answer."""
        if self._closed is not None or self._closing:
            if self._closed is None:
                with trio.move_on_after(self.close_timeout):
                    await self._closed_event.wait()
            await trio.aclose_forcefully(self._stream)
            return
        self._closing = True
        try:
            await self._send_bytes(
                self._ws.send(CloseConnection(code=code, reason=close_reason(reason)))
            )
        except (WebSocketClosed, WSLocalError):
            self._finish(Closed(code, reason))
        with trio.move_on_after(self.close_timeout):
            if self._reading:
                await self._closed_event.wait()
            else:
                while self._closed is None:
                    try:
                        await self.receive()
                    except WebSocketClosed:
                        break
        self._finish(Closed(code, reason))
        await trio.aclose_forcefully(self._stream)

    async def aclose(self) -> None:
        """Close with 1000."""
        await self.close()

    async def abort(self) -> None:
        """Drop the connection without a closing handshake."""
        self._finish(Closed(1006, "aborted"))
        await trio.aclose_forcefully(self._stream)

    async def __aenter__(self) -> WebSocket:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close(
            1011
            if exc_info[0] is not None and not issubclass(exc_info[0], trio.Cancelled)
            else 1000
        )
