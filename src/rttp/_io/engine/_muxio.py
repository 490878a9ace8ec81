"""What a multiplexed (HTTP/2) connection does the same in both roles.

- :class:`FrameWriter`: the one task that writes the protocol's output to the socket,
  so that frames from many streams leave in one write and a cancelled stream never
  cuts a frame in half; producers wake it, and wait for it while the output is over
  its bound (a peer that does not read cannot grow our memory).
- :class:`StreamView`: one stream's queues, shared by the server's and the client's
  stream protocol objects: what the connection's reader delivered for it (body bytes
  are acknowledged as they are consumed, which opens the peer's window:
  backpressure), and what it has to send, which :meth:`StreamView.pump` frames as far
  as the peer's windows allow, waiting for them to open.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio

from ..._proto._events import NEED_DATA, EndOfMessage, StreamData
from ..._proto._mux import MultiplexedProtocol
from ...errors import TransportError
from ..net._errors import IO_ERRORS

__all__ = ["QUEUED", "FrameWriter", "StreamIO", "StreamView", "deliver_data", "wake_all"]

#: what a stream's protocol method returns when it queued something for the pump
QUEUED: Final = b"\x00"


class FrameWriter:
    """The writer of one multiplexed connection (see the module)."""

    __slots__ = (
        "_finished",
        "_flushed",
        "_wake",
        "active",
        "broken",
        "max_output",
        "on_broken",
        "proto",
        "send_all",
        "window_opened",
        "write_timeout",
    )

    def __init__(
        self,
        proto: MultiplexedProtocol,
        send_all: Callable[[bytes], Awaitable[None]],
        *,
        max_output: int,
        write_timeout: float | None,
        on_broken: Callable[[], None],
    ) -> None:
        self.proto = proto
        self.send_all = send_all
        self.max_output = max_output
        self.write_timeout = math.inf if write_timeout is None else write_timeout
        #: called once when a write fails or makes no progress for ``write_timeout``
        self.on_broken = on_broken
        self.broken = False
        #: streams still using the connection: the writer ends only when none is left
        self.active: Callable[[], bool] = lambda: False
        self._wake = trio.lowlevel.ParkingLot()  # the writer waits here for output
        self._flushed = trio.lowlevel.ParkingLot()  # producers wait for the output to shrink
        #: pumps wait here for the peer to open a window
        self.window_opened = trio.lowlevel.ParkingLot()
        self._finished = False

    def wake(self) -> None:
        """There is output: the writer sends it."""
        wake_all(self._wake)

    async def flushed(self) -> None:
        """Wait until the writer has taken the output (it is over ``max_output``)."""
        if self.broken:
            raise trio.BrokenResourceError("the connection broke")
        wake_all(self._wake)
        await self._flushed.park()

    def finish(self) -> None:
        """No more output will be made except by the streams still active: the writer
        ends once they are done and everything is sent."""
        self._finished = True
        wake_all(self._wake)

    async def run(self) -> None:
        """Send the output until finished (see the module)."""
        proto = self.proto
        try:
            while True:
                data = proto.data_to_send()
                if data:
                    with trio.move_on_after(self.write_timeout) as timer:
                        await self.send_all(data)
                    if timer.cancelled_caught:
                        raise trio.BrokenResourceError("write_timeout passed")
                    wake_all(self._flushed)
                    continue
                wake_all(self._flushed)
                if self._finished and not self.active():
                    return
                await self._wake.park()
        except (*IO_ERRORS, TransportError):
            self.broken = True
            wake_all(self._flushed)
            self.on_broken()


class StreamView:
    """One stream's queues (see the module). ``stream_id`` is 0 until a client's
    stream is opened on the wire."""

    __slots__ = (
        "arrived",
        "body_ended",
        "ended",
        "events",
        "out",
        "proto",
        "reset",
        "reset_reason",
        "stream_id",
        "unacknowledged",
        "writer",
    )

    def __init__(self, writer: FrameWriter, stream_id: int) -> None:
        self.writer = writer
        self.proto: MultiplexedProtocol = writer.proto
        self.stream_id = stream_id
        #: what the reader queued for this stream: a head, body bytes and its end
        self.events: deque[Any] = deque()
        #: parked here: a task waiting for the next event
        self.arrived = trio.lowlevel.ParkingLot()
        #: body pieces to frame, and the end (``EndOfMessage``, with trailers) after them
        self.out: deque[memoryview | EndOfMessage] = deque()
        #: the peer reset the stream, or the connection ended
        self.reset = False
        #: why the stream was reset, when this side reset it (a malformed block)
        self.reset_reason = ""
        #: the peer's side ended (END_STREAM received)
        self.body_ended = False
        #: our side's end is framed
        self.ended = False
        #: body bytes queued but not yet consumed (acknowledged when they are)
        self.unacknowledged = 0

    # -- what the reader queues ----------------------------------------------------------
    def deliver(self, event: Any) -> None:
        """Queue an event (a head, body bytes, the end) and wake the waiting task; once
        this side reset the stream (a malformed block), what follows is dropped."""
        kind = type(event)
        if self.reset_reason:
            if kind is bytes:
                self.acknowledge(len(event))  # (the connection's window stays open)
            return
        if kind is bytes:
            self.unacknowledged += len(event)
        elif kind is EndOfMessage:
            self.body_ended = True
        self.events.append(event)
        wake_all(self.arrived)

    def abandon(self, reason: str = "") -> None:
        """The stream was reset (or the connection ended): wake every waiter."""
        self.reset = True
        self.reset_reason = reason
        wake_all(self.arrived)

    def next_event(self) -> Any:
        """The next queued event; NEED_DATA when none (the wait for more then raises
        if the stream was abandoned)."""
        events = self.events
        if not events:
            return NEED_DATA
        event = events.popleft()
        if type(event) is bytes:
            size = len(event)
            self.unacknowledged -= size
            self.acknowledge(size)
        return event

    def acknowledge(self, size: int) -> None:
        """Open the peer's window by ``size`` consumed bytes."""
        proto = self.proto
        before = proto.output_size
        proto.acknowledge(self.stream_id, size)
        if proto.output_size != before:
            self.writer.wake()

    def give_back(self) -> None:
        """The stream is done: acknowledge what it left unread, drop what it had to send."""
        if self.unacknowledged:
            self.proto.acknowledge(self.stream_id, self.unacknowledged)
            self.unacknowledged = 0
        self.out.clear()
        self.writer.wake()

    async def wait_event(self) -> None:
        """Wait until the reader queues an event for this stream."""
        while not self.events:
            if self.reset:
                raise trio.BrokenResourceError(self._ended("ended"))
            await self.arrived.park()

    def check_open(self) -> None:
        if self.reset:
            raise trio.BrokenResourceError(self._ended("was reset"))

    def _ended(self, how: str) -> str:
        reason = self.reset_reason
        return f"HTTP/2 stream {self.stream_id} {how}" + (f": {reason}" if reason else "")

    # -- sending -------------------------------------------------------------------------
    def open(self) -> None:
        """Before the first frame of the body: the client sends its held head here."""

    async def pump(
        self, progress: Callable[[], None] | None = None, seconds: float | None = None
    ) -> None:
        """Frame what the stream has queued as far as the peer's windows allow, waiting
        for them to open (``progress`` is called each time some goes out); then wait
        while the connection's output is over its bound. ``seconds`` bounds each wait
        (:class:`trio.TooSlowError` past it); a pump that need not wait creates no
        cancel scope."""
        self.check_open()
        self.open()
        out = self.out
        proto = self.proto
        writer = self.writer
        stream_id = self.stream_id
        while out:
            self.check_open()
            item = out[0]
            if type(item) is EndOfMessage:
                out.popleft()
                if item.trailers:
                    proto.send_trailers(stream_id, item.trailers)
                else:
                    proto.send_data(stream_id, b"", end_stream=True)
                self.ended = True
                continue
            assert isinstance(item, memoryview)
            window = proto.send_window(stream_id)
            if window <= 0:
                writer.wake()
                with _bounded(seconds):
                    await writer.window_opened.park()
                continue
            rest = item[window:]
            last = not rest and len(out) > 1 and _bare_end(out[1])
            proto.send_data(stream_id, item[:window], end_stream=last)
            if rest:
                out[0] = rest
            else:
                out.popleft()
                if last:
                    out.popleft()
                    self.ended = True
            if progress is not None:
                progress()
            if proto.output_size > writer.max_output:
                with _bounded(seconds):
                    await writer.flushed()
        writer.wake()
        if proto.output_size > writer.max_output:
            with _bounded(seconds):
                await writer.flushed()


class StreamIO(trio.abc.Stream):
    """One stream as a :class:`trio.abc.Stream`: the tunnel an extended CONNECT opens
    (a WebSocket over HTTP/2). What is sent goes out in DATA frames as the peer's
    windows allow; what is received is acknowledged as it is read (backpressure);
    ``send_eof`` and ``aclose`` end our side of the stream."""

    def __init__(self, view: StreamView) -> None:
        self.view = view

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if data:
            self.view.out.append(memoryview(bytes(data)))
        await self.view.pump()
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        view = self.view
        while True:
            if view.events:
                event = view.next_event()
                if type(event) is bytes:
                    await trio.lowlevel.checkpoint()
                    return event
                if type(event) is EndOfMessage:
                    return b""
                continue
            if view.reset:
                raise trio.BrokenResourceError(f"HTTP/2 stream {view.stream_id} was reset")
            await view.arrived.park()

    async def send_eof(self) -> None:
        view = self.view
        if not view.ended and not view.reset:
            view.out.append(EndOfMessage(stream_id=view.stream_id))
            await view.pump()

    async def aclose(self) -> None:
        view = self.view
        if not view.ended and not view.reset and not view.out:
            view.out.append(EndOfMessage(stream_id=view.stream_id))
            with trio.move_on_after(1.0):  # graceful when it can be (a window may be shut)
                await view.pump()
        await trio.lowlevel.checkpoint()


def wake_all(lot: trio.lowlevel.ParkingLot) -> None:
    """Wake every task parked in ``lot``; cheaply nothing when none is (Trio's
    ``unpark_all`` on an empty lot costs ten times the check)."""
    if lot:
        lot.unpark_all()


def deliver_data(proto: MultiplexedProtocol, view: StreamView | None, data: StreamData) -> None:
    """Body bytes the reader received: queued for the stream's task, or, for a stream
    no longer read (refused, finished, reset), acknowledged at once so that the
    connection's window stays open."""
    if view is None:
        proto.acknowledge(data.stream_id, len(data.data))
    else:
        view.deliver(data.data)


def _bounded(seconds: float | None) -> Any:
    """A scope that raises :class:`trio.TooSlowError` after ``seconds`` (None: never)."""
    return trio.fail_after(math.inf if seconds is None else seconds)


def _bare_end(item: memoryview | EndOfMessage) -> bool:
    """Whether ``item`` is an end without trailers (it can ride on the last DATA frame)."""
    return type(item) is EndOfMessage and not item.trailers
