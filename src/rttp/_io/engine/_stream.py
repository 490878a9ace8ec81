"""One stream of a server's multiplexed (HTTP/2) connection, made to look like an
HTTP/1.1 connection with one exchange, so that the exchange, the answer, the serve
loop's responder and everything above them run unchanged.

- :class:`StreamProtocol` is the stream's :class:`~rttp.plugin.ServerProtocol` over its
  :class:`~rttp._io.engine._muxio.StreamView`: it hands out what the connection's
  reader queued, sends heads straight into the shared protocol object, and queues body
  pieces and the end for the pump.
- :class:`StreamConnection` is the stream's :class:`ServerConnection`: its "socket"
  receive waits for the reader to queue an event, and its "socket" send is the pump.

The byte strings the protocol methods return are tokens (non-empty when something is
queued): every path of :class:`~rttp._io.engine._answering.ExchangeAnswer` already
sends what they return, which runs the pump.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import trio

from ..._proto._events import EndOfMessage, RawHeaders, ServerEvent, ServerProtocol
from ._clock import Phase
from ._muxio import QUEUED, StreamIO, StreamView
from ._server import ServerConnection

if TYPE_CHECKING:
    from ._mux import MuxServerConnection

__all__ = ["StreamConnection", "StreamProtocol"]

#: RST_STREAM codes: the answer will never be finished; its body is no longer wanted
INTERNAL_ERROR: Final = 0x2
CANCEL: Final = 0x8
NO_ERROR: Final = 0x0


class StreamProtocol(StreamView, ServerProtocol):
    """One stream's view of the connection's multiplexed protocol (see the module)."""

    __slots__ = ("headers_proto",)

    def __init__(self, mux: MuxServerConnection, stream_id: int) -> None:
        super().__init__(mux.writer, stream_id)
        self.headers_proto = mux.proto

    def receive_data(self, data: bytes | bytearray) -> None:
        """Nothing to do: the connection's reader queued the events already (``data``
        is the token the stream's receive returned)."""

    def next_event(self) -> ServerEvent:
        event: ServerEvent = StreamView.next_event(self)
        return event

    def send_informational(self, status: int, reason: bytes, headers: RawHeaders) -> bytes:
        self.check_open()
        # a 101 has no place in HTTP/2: a 200 opens the tunnel of an extended CONNECT
        self.headers_proto.send_headers(self.stream_id, 200 if status == 101 else status, headers)
        self.writer.wake()  # (a 101 is held, not sent: nothing else would wake the writer)
        return QUEUED

    def send_response(
        self, status: int, reason: bytes, headers: RawHeaders, body: bytes | None = None
    ) -> bytes:
        self.check_open()
        ends = body is not None and not body
        self.headers_proto.send_headers(self.stream_id, status, headers, end_stream=ends)
        if ends:
            self.ended = True
        elif body is not None:
            self.out.append(memoryview(body))
            self.out.append(EndOfMessage(stream_id=self.stream_id))
        return QUEUED

    def send_data(self, data: bytes) -> bytes:
        if data:
            self.out.append(memoryview(data))
        return QUEUED

    def send_end(self, trailers: RawHeaders | None = None) -> bytes:
        self.out.append(EndOfMessage(trailers, stream_id=self.stream_id))
        return QUEUED

    def start_next_cycle(self) -> bool:
        return False  # a stream carries one exchange

    @property
    def keep_alive(self) -> bool:
        # an unread request body is not drained: the stream is reset (NO_ERROR) instead
        return False

    def close_after_response(self) -> None:
        """Nothing: closing a stream is ending its answer."""

    def upgrade_trailing_data(self) -> bytes:
        return b""


class StreamConnection(ServerConnection):
    """One stream as a one-exchange server connection (see the module)."""

    __slots__ = ("mux", "view")

    def __init__(self, mux: MuxServerConnection, stream_id: int) -> None:
        view = StreamProtocol(mux, stream_id)
        super().__init__(
            mux.stream,
            mux.settings,
            backend=mux.backend,
            limits=mux.limits,
            clock=mux.clock,
            where=mux.where,
            proto=view,
            peer=mux.peer,
        )
        self.mux = mux
        self.view = view
        self.exchange.stream_id = stream_id
        self.scheme = mux.scheme
        self._receive_some: Callable[[int], Awaitable[bytes | bytearray]] = self._wait_event
        self._send_all: Callable[[Any], Awaitable[None]] = self._pump
        self._send_reply = None  # (the socket is the connection's: never written directly)

    @property
    def local(self) -> tuple[str, int] | None:
        return self.mux.local

    @property
    def tls(self) -> Any:
        return self.mux.tls

    @property
    def idle(self) -> bool:
        return False

    def peer_left(self) -> bool:
        return self.view.reset

    async def until_peer_leaves(self) -> None:
        view = self.view
        while not view.reset:
            await view.arrived.park()

    async def _wait_event(self, _size: int) -> bytes:
        await self.view.wait_event()
        return QUEUED

    async def _pump(self, _data: Any) -> None:
        await self.view.pump(self._progress)

    def _progress(self) -> None:
        exchange = self.exchange
        if exchange.phase == Phase.WRITE:  # progress: the write deadline starts again
            exchange.deadline = self.clock.now + self.settings.write_timeout

    async def aclose(self, *, linger: bool = True) -> None:
        """Nothing to close: the connection owns the socket (see :meth:`release`)."""
        self.closing = True

    def detach(self) -> trio.abc.Stream:
        """The stream of an extended CONNECT (a WebSocket, RFC 8441) as a byte stream:
        its 200 is queued already, its DATA frames carry the new protocol."""
        if self.detached:
            raise RuntimeError("this stream was detached already")
        self.detached = self.closing = True
        return StreamIO(self.view)

    def release(self) -> None:
        """The stream's handler is done: reset the stream if its answer never ended
        (or its request body is no longer wanted), give back the window of what it
        left unread, and forget it."""
        view = self.view
        proto = self.mux.proto
        stream_id = view.stream_id
        if not view.reset and proto.stream_open(stream_id):
            if not view.ended:
                started = self.exchange.answer.started
                proto.reset_stream(stream_id, INTERNAL_ERROR if started else CANCEL)
            elif not view.body_ended:
                proto.reset_stream(stream_id, NO_ERROR)
        view.give_back()
        self.mux.forget(self)
