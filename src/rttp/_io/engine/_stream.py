"""One stream of a multiplexed (HTTP/2) connection, made to look like an HTTP/1.1
connection with one exchange, so that the exchange, the answer, the serve loop's
responder and everything above them run unchanged.

- :class:`StreamProtocol` is the stream's :class:`~rttp.plugin.ServerProtocol`: it
  hands out the events the connection's reader queued for this stream (acknowledging
  body bytes as they are consumed, which opens the peer's window: backpressure), sends
  heads straight into the shared protocol object, and queues body pieces and the end.
- :class:`StreamConnection` is the stream's :class:`ServerConnection`: its "socket"
  receive waits for the reader to queue an event, and its "socket" send is the *pump*,
  which frames queued body bytes as far as the peer's windows allow, waits for
  :class:`~rttp.plugin.WindowOpened` for the rest, and waits while the connection's
  output is over its bound. The connection's one writer task does the writing.

The byte strings the protocol methods return are tokens (non-empty when something is
queued): every path of :class:`~rttp._io.engine._answering.ExchangeAnswer` already
sends what they return, which runs the pump.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import trio

from ..._proto._events import NEED_DATA, EndOfMessage, RawHeaders, ServerEvent, ServerProtocol
from ._clock import Phase
from ._server import ServerConnection

if TYPE_CHECKING:
    from ._mux import MuxServerConnection

__all__ = ["StreamConnection", "StreamProtocol"]

#: what a protocol method returns when it queued something for the pump
_QUEUED: Final = b"\x00"
#: RST_STREAM codes: the answer will never be finished; its body is no longer wanted
INTERNAL_ERROR: Final = 0x2
CANCEL: Final = 0x8
NO_ERROR: Final = 0x0


class StreamProtocol(ServerProtocol):
    """One stream's view of the connection's multiplexed protocol (see the module)."""

    __slots__ = (
        "arrived",
        "body_ended",
        "ended",
        "events",
        "mux",
        "out",
        "reset",
        "stream_id",
        "unacknowledged",
    )

    def __init__(self, mux: MuxServerConnection, stream_id: int) -> None:
        self.mux = mux
        self.stream_id = stream_id
        #: what the reader queued for this stream: body bytes and its end
        self.events: deque[bytes | EndOfMessage] = deque()
        #: parked here: a handler waiting for the next event
        self.arrived = trio.lowlevel.ParkingLot()
        #: body pieces to frame, and the end (``EndOfMessage``, with trailers) after them
        self.out: deque[memoryview | EndOfMessage] = deque()
        #: the peer reset the stream, or the connection ended
        self.reset = False
        #: the request body ended (END_STREAM received)
        self.body_ended = False
        #: our answer's end is framed
        self.ended = False
        #: body bytes queued but not yet consumed (acknowledged when they are)
        self.unacknowledged = 0

    # -- what the reader queues ----------------------------------------------------------
    def deliver(self, event: bytes | EndOfMessage) -> None:
        """Queue an event for the handler and wake it."""
        if type(event) is bytes:
            self.unacknowledged += len(event)
        else:
            self.body_ended = True
        self.events.append(event)
        self.arrived.unpark_all()

    def abandon(self) -> None:
        """The peer reset the stream (or the connection ended): wake every waiter."""
        self.reset = True
        self.arrived.unpark_all()

    # -- receiving -------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray) -> None:
        """Nothing to do: the connection's reader queued the events already (``data``
        is the token :meth:`StreamConnection.wait_event` returned)."""

    def next_event(self) -> ServerEvent:
        events = self.events
        if not events:
            return NEED_DATA
        event = events.popleft()
        if type(event) is bytes:
            size = len(event)
            self.unacknowledged -= size
            self.mux.acknowledge(self.stream_id, size)
        return event

    # -- sending ---------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.reset:
            raise trio.BrokenResourceError(f"the client reset HTTP/2 stream {self.stream_id}")

    def send_informational(self, status: int, reason: bytes, headers: RawHeaders) -> bytes:
        self._check_open()
        self.mux.proto.send_headers(self.stream_id, status, headers)
        return _QUEUED

    def send_response(
        self, status: int, reason: bytes, headers: RawHeaders, body: bytes | None = None
    ) -> bytes:
        self._check_open()
        ends = body is not None and not body
        self.mux.proto.send_headers(self.stream_id, status, headers, end_stream=ends)
        if ends:
            self.ended = True
        elif body is not None:
            self.out.append(memoryview(body))
            self.out.append(EndOfMessage(stream_id=self.stream_id))
        return _QUEUED

    def send_data(self, data: bytes) -> bytes:
        if data:
            self.out.append(memoryview(data))
        return _QUEUED

    def send_end(self, trailers: RawHeaders | None = None) -> bytes:
        self.out.append(EndOfMessage(trailers, stream_id=self.stream_id))
        return _QUEUED

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
        )
        self.mux = mux
        self.view = view
        self.exchange.stream_id = stream_id
        self.exchange.deadline = mux.clock.now + mux.settings.body_timeout
        self.scheme = mux.scheme
        self._peer = mux.peer
        self._receive_some: Callable[[int], Awaitable[bytes | bytearray]] = self.wait_event
        self._send_all: Callable[[Any], Awaitable[None]] = self.pump

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

    async def wait_event(self, _size: int) -> bytes:
        """Wait until the reader queues an event for this stream; the token returned
        is what :meth:`StreamProtocol.receive_data` ignores."""
        view = self.view
        while not view.events:
            if view.reset:
                raise trio.BrokenResourceError(
                    f"HTTP/2 stream {view.stream_id} ended before its request body did"
                )
            await view.arrived.park()
        return _QUEUED

    async def pump(self, _data: Any) -> None:
        """Frame what the stream has queued as far as the peer's windows allow, waiting
        for them to open; then wait while the connection's output is over its bound."""
        view = self.view
        out = view.out
        mux = self.mux
        proto = mux.proto
        stream_id = view.stream_id
        exchange = self.exchange
        while out:
            view._check_open()
            item = out[0]
            if type(item) is EndOfMessage:
                out.popleft()
                if item.trailers:
                    proto.send_trailers(stream_id, item.trailers)
                else:
                    proto.send_data(stream_id, b"", end_stream=True)
                view.ended = True
                continue
            assert isinstance(item, memoryview)
            window = proto.send_window(stream_id)
            if window <= 0:
                mux.wake_writer()
                await mux.window_opened.park()
                continue
            piece = item[:window]
            rest = item[window:]
            last = not rest and len(out) > 1 and _bare_end(out[1])
            proto.send_data(stream_id, piece, end_stream=last)
            if rest:
                out[0] = rest
            else:
                out.popleft()
                if last:
                    out.popleft()
                    view.ended = True
            if exchange.phase == Phase.WRITE:  # progress: the write deadline starts again
                exchange.deadline = self.clock.now + self.settings.write_timeout
            if proto.output_size > mux.max_output:
                await mux.flushed()
        mux.wake_writer()
        if proto.output_size > mux.max_output:
            await mux.flushed()

    async def aclose(self, *, linger: bool = True) -> None:
        """Nothing to close: the connection owns the socket (see :meth:`release`)."""
        self.closing = True

    def detach(self) -> trio.abc.Stream:
        raise RuntimeError("an HTTP/2 stream cannot switch protocols with a 101")

    def release(self) -> None:
        """The stream's handler is done: reset the stream if its answer never ended
        (or its request body is no longer wanted), give back the window of what it
        left unread, and forget it."""
        view = self.view
        mux = self.mux
        stream_id = view.stream_id
        if not view.reset and mux.proto.stream_open(stream_id):
            if not view.ended:
                mux.proto.reset_stream(
                    stream_id, INTERNAL_ERROR if self.exchange.answer.started else CANCEL
                )
            elif not view.body_ended:
                mux.proto.reset_stream(stream_id, NO_ERROR)
        if view.unacknowledged:
            mux.acknowledge(stream_id, view.unacknowledged)
            view.unacknowledged = 0
        view.out.clear()
        mux.forget(self)


def _bare_end(item: memoryview | EndOfMessage) -> bool:
    """Whether ``item`` is an end without trailers (it can ride on the last DATA frame)."""
    return type(item) is EndOfMessage and not item.trailers
