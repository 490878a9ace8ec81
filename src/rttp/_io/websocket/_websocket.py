"""WebSockets over Trio: a backend plugin's protocol object driven in the consuming task.

The framing is a :class:`~rttp.plugin.WebSocketProtocol` from a backend plugin
(websockets' sans-I/O core by default on CPython, wsproto elsewhere): it parses what the
stream receives and builds what is sent. :class:`WebSocket` feeds it reads that grow
to 1 MiB while they come back full, sends what the protocol owes after each read (its
pongs, its close) in one write, and sends messages behind one send lock so several
tasks may send. There is no reader task and no message channel: :meth:`WebSocket.receive`
reads until an event is ready.
"""

from __future__ import annotations

import collections
import os
import uuid
from typing import Any

import trio
from trio.lowlevel import current_task

from ..._model import URL, Request
from ..._proto._wsbackend import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_MESSAGE_SIZE,
    WebSocketProtocol,
)
from ..._proto._wsevents import (
    Closed,
    PingEvent,
    PongEvent,
    WebSocketEvent,
    WebSocketMessage,
)
from ..._proto._wsscan import CloseScanner
from ...errors import WebSocketClosed
from ..engine._base import linger
from ..net._errors import IO_ERRORS
from ..net._sockinfo import allow_unsent, readable_now
from ..net._sockio import SocketIO
from ._sendwatch import SendWatch

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

# reads grow while they come back full (large messages) and shrink back when they do not
_MIN_READ, _MAX_READ = 65536, 1 << 20

#: unsent bytes a TCP socket may hold before a send waits (Trio sets 16 KiB, which
#: breaks a 1 MiB message into a handful of sends, each after a wake-up: 1 MiB echo
#: went from about 300 to 400 MiB/s with this)
_NOTSENT_LOWAT = 1 << 20


class WebSocket:
    """One WebSocket connection, client or server side.

    ``await ws.send_text("hi")``, ``await ws.receive()`` → :class:`WebSocketMessage`,
    :class:`PingEvent`, :class:`PongEvent` or finally :class:`Closed`;
    ``async for data in ws`` yields message payloads until the close.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: WebSocketProtocol,
        *,
        url: URL | None = None,
        request: Request | None = None,
        subprotocol: str | None = None,
        extensions: str | None = None,
        close_timeout: float = 5.0,
        send_timeout: float | None = None,
    ) -> None:
        self.id: str = uuid.uuid4().hex
        self.url = url
        self.request = request
        self.subprotocol = subprotocol
        #: the negotiated ``Sec-WebSocket-Extensions`` (``permessage-deflate; …``), or None
        self.extensions = extensions
        #: the backend's protocol object (framing, limits, compression)
        self.protocol = protocol
        self.close_timeout = close_timeout
        self.send_timeout = send_timeout
        self._stream = stream
        self._send_lock = trio.StrictFIFOLock()
        self._pending: collections.deque[WebSocketEvent] = collections.deque()
        self._closed: Closed | None = None
        self._closed_event = trio.Event()
        self._closing = False
        self._reading = False
        #: a task of the owner's reads this connection until it closes (the client face's
        #: reader): :meth:`close` then waits for it to see the close instead of reading
        #: itself, however soon after the connect it is called
        self.has_reader = False
        self._pong_waiters: dict[bytes, trio.Event] = {}
        self._scanner = CloseScanner(rsv1=extensions is not None)
        self._held = b""  # received from a close frame on, fed once the events before it are taken
        #: a server's 101 answer, held back until the handler first sends or receives
        self._handshake = b""
        self._read_size = _MIN_READ
        self._watch = SendWatch()
        # on direct socket I/O, a reply from the task that just waited in receive() skips
        # the pass through the scheduler that ends a send (SocketIO.send_reply)
        self._reply = stream.send_reply if type(stream) is SocketIO else None
        self._receiver: Any = None
        allow_unsent(stream, _NOTSENT_LOWAT)

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
                if self._reply is not None and current_task() is self._receiver:
                    # the task that just waited in receive() answers: no second pass
                    sent = self._reply(data)
                    if sent < len(data):
                        await self._send_to_stream(data if sent < 0 else memoryview(data)[sent:])
                else:
                    await self._send_to_stream(data)
            except trio.TooSlowError:
                self._finish(
                    Closed(
                        1006, f"send_timeout={self.send_timeout}s exceeded: the peer is not reading"
                    )
                )
                await trio.aclose_forcefully(self._stream)
                raise WebSocketClosed(1006, "the peer stopped reading (send timeout)") from None
            except IO_ERRORS as exc:
                if self._watch.in_send and self._closed is not None:
                    raise WebSocketClosed(1006, "the peer stopped reading (send timeout)") from exc
                self._finish(Closed(1006, "connection broken"))
                raise WebSocketClosed(1006, "the connection is broken") from exc
        finally:
            self._watch.in_send = False
            lock.release()

    async def _send_to_stream(self, data: bytes | memoryview) -> None:
        if self.send_timeout is None:
            await self._stream.send_all(data)
        elif self._watch.active:
            # a watcher task (the App's) drops us if this send stalls: no scope per send
            watch = self._watch
            watch.in_send = True
            await self._stream.send_all(data)
            watch.in_send = False
            watch.sends += 1
        else:
            with trio.fail_after(self.send_timeout):
                await self._stream.send_all(data)

    async def watch_sends(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Drop the connection when a send stalls past ``send_timeout``: run it with
        ``await nursery.start(ws.watch_sends)``, which returns once every later send is
        watched (and so needs no cancel scope of its own)."""
        seconds = self.send_timeout
        if seconds is None:
            task_status.started()
            return

        async def stalled() -> None:
            reason = f"send_timeout={seconds}s exceeded: the peer is not reading"
            self._finish(Closed(1006, reason))
            await trio.aclose_forcefully(self._stream)

        await self._watch.run(
            seconds, lambda: self._closed is not None, stalled, task_status=task_status
        )

    def _check_open(self) -> None:
        if self._closed is not None:
            raise WebSocketClosed(self._closed.code, self._closed.reason)

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""
        self._check_open()
        if type(data) is not str and type(data) is not bytes:
            data = bytes(data)  # type: ignore[arg-type]  # a bytearray, a memoryview
        await self._send_bytes(self.protocol.send_message(data))

    async def send_text(self, text: str) -> None:
        """Send a text message."""
        self._check_open()
        await self._send_bytes(self.protocol.send_message(str(text)))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self._check_open()
        await self._send_bytes(
            self.protocol.send_message(data if type(data) is bytes else bytes(data))
        )

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping (at most 125 bytes of payload)."""
        self._check_open()
        await self._send_bytes(self.protocol.send_ping(bytes(payload)))

    async def pong(self, payload: bytes = b"") -> None:
        """Send an unsolicited pong."""
        self._check_open()
        await self._send_bytes(self.protocol.send_pong(bytes(payload)))

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

        Events that arrived before the peer's close are returned first; the close itself
        was answered when it arrived (RFC 6455 §5.5.1), so replies to them fail.
        """
        pending = self._pending
        while not pending:
            if self._closed is not None:
                raise WebSocketClosed(self._closed.code, self._closed.reason)
            if self._held:
                held, self._held = self._held, b""
                await self._feed(held)
                continue
            if self._handshake:
                await self.accept()
            self._reading = True
            try:
                data = await self._stream.receive_some(self._read_size)
            except IO_ERRORS:
                data = b""
            finally:
                self._reading = False
            self._receiver = current_task()
            size = len(data)
            if size == self._read_size:
                self._read_size = min(size * 2, _MAX_READ)
            elif self._read_size > _MIN_READ and size < self._read_size // 4:
                self._read_size //= 2
            if not size:
                await self._terminate(Closed(1006, "the connection closed without a close frame"))
                break
            protocol = self.protocol
            events = protocol.receive_data(self._hold_close(data))
            owed = protocol.data_to_send()
            if not owed and len(events) == 1 and type(events[0]) is WebSocketMessage:
                return events[0]  # the common case: one message, nothing to answer
            await self._handle(events, owed)
        return pending.popleft()

    async def feed(self, data: bytes | bytearray) -> None:
        """Hand received bytes to the protocol, send what it owes, queue its events.

        A close frame that follows other frames in ``data`` is held back until the
        events before it have been taken (so they can be answered). The handshake
        calls this for frames that came with it; :meth:`receive` for the rest.
        """
        await self._feed(self._hold_close(data))

    def _hold_close(self, data: bytes | bytearray) -> bytes | bytearray:
        """``data`` up to a close frame that follows other frames (the rest is held)."""
        at = self._scanner.close_at(data)
        if at > 0:
            data, self._held = data[:at], bytes(data[at:])
        return data

    async def _feed(self, data: bytes | bytearray) -> None:
        protocol = self.protocol
        events = protocol.receive_data(data)
        await self._handle(events, protocol.data_to_send())

    async def _handle(self, events: list[WebSocketEvent], owed: bytes) -> None:
        """Send what the protocol owes, then queue its events (or end on its Closed)."""
        if owed:
            try:
                await self._send_bytes(owed)
            except WebSocketClosed:
                return
        pending = self._pending
        for event in events:
            kind = type(event)
            if kind is WebSocketMessage:
                pending.append(event)
            elif kind is Closed:
                self._closing = True
                self._finish(event)  # type: ignore[arg-type]
                if readable_now(self._stream):
                    # the peer is still sending (it broke a limit mid-frame, say): a
                    # reset on close could destroy the close frame we just sent
                    seconds = min(self.close_timeout, 2.0)
                    with trio.move_on_after(seconds):
                        async with self._send_lock:  # its half-close is a send
                            await linger(self._stream, seconds)
                await trio.aclose_forcefully(self._stream)
                return
            else:
                if kind is PongEvent:
                    waiter = self._pong_waiters.get(event.payload)  # type: ignore[union-attr]
                    if waiter is not None:
                        waiter.set()
                pending.append(event)

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
        """Start the closing handshake and wait (``close_timeout``) for the peer's answer.

        The connection is closed when this returns, and also when it raises: a close
        that is cancelled (a task cancelled inside ``async with websocket``) or that
        fails drops the connection at once (1006, as the peer's close never came)."""
        try:
            if self._closed is not None or self._closing:
                if self._closed is None:
                    with trio.move_on_after(self.close_timeout):
                        await self._closed_event.wait()
                return
            self._closing = True
            try:
                await self._send_bytes(self.protocol.send_close(code, reason))
            except WebSocketClosed:
                self._finish(Closed(code, reason))
            with trio.move_on_after(self.close_timeout):
                if self._reading or self.has_reader:
                    await self._closed_event.wait()
                else:
                    while self._closed is None:
                        try:
                            await self.receive()
                        except WebSocketClosed:
                            break
            self._finish(Closed(code, reason))
        except BaseException:
            self._finish(Closed(1006, "closed without a closing handshake"))  # (if not yet)
            raise
        finally:
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
