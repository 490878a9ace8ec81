"""A client's multiplexed (HTTP/2) connection: :class:`MuxClientConnection`.

It runs in the client's nursery as two tasks: the reader, which hands each event to
its stream's :class:`~rttp._io.engine._client_stream.StreamClientConnection` (a
response head, body bytes, the end, a reset), and the writer
(:class:`~rttp._io.engine._muxio.FrameWriter`). Each request takes a stream with
:meth:`MuxClientConnection.take_stream`, which waits while the server's
SETTINGS_MAX_CONCURRENT_STREAMS are all in use.

A GOAWAY from the server: streams above its last stream id (and those not yet opened)
were not processed and fail as ``unprocessed`` (the client sends them again on a new
connection); those at or below it finish; no new stream is opened. A stream the server
refuses (REFUSED_STREAM) is unprocessed too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Final

import trio

from ..._proto._events import EndOfMessage, ProtocolLimits, ResponseHead, StreamData
from ..._proto._mux import GoAway, MultiplexedBackend, MultiplexLimits, StreamReset, WindowOpened
from ...errors import ProtocolError
from ...plugin import ProtocolBackend
from ..net._errors import IO_ERRORS
from ..net._sockinfo import raw_socket, readable_now
from ._client_stream import StreamClientConnection
from ._muxio import FrameWriter, deliver_data, wake_all

__all__ = ["MuxClientConnection"]

REFUSED_STREAM: Final = 0x7
#: the client's own limits (what a hostile server may make it hold or do)
CLIENT_LIMITS: Final = MultiplexLimits(max_concurrent_streams=100)


class MuxClientConnection:
    """One HTTP/2 connection of a client's pool (see the module)."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        mux_backend: MultiplexedBackend,
        *,
        plugins: Any,
        backend: ProtocolBackend,
        limits: ProtocolLimits,
        where: str,
        secure: bool,
        key: Any,
        write_timeout: float | None,
        on_closed: Callable[[MuxClientConnection], None],
    ) -> None:
        self.stream = stream
        self.plugins = plugins
        #: the HTTP/1.1 backend each stream's connection object is built with (unused)
        self.backend = backend
        self.limits = limits
        self.where = where
        self.key = key
        self.scheme = b"https" if secure else b"http"
        self.proto = mux_backend.client(limits, CLIENT_LIMITS)
        self.writer = FrameWriter(
            self.proto,
            stream.send_all,
            max_output=CLIENT_LIMITS.max_output,
            write_timeout=write_timeout,
            on_broken=self._gone,
        )
        self.writer.active = lambda: bool(self.streams)
        self.streams: set[StreamClientConnection] = set()
        self._by_id: dict[int, StreamClientConnection] = {}
        self._unopened = 0
        self._capacity = trio.lowlevel.ParkingLot()  # requests waiting for a stream
        self._read_scope = trio.CancelScope()
        self._on_closed = on_closed
        #: no new stream: the server's GOAWAY, an error, or the pool closing
        self.closing = False
        self.closed = False
        #: it holds the pool slot of the request that opened it, until it closes
        self.slot_held = True
        #: the server has spoken (so its SETTINGS, which come first, are known)
        self._settled = False
        self.idle_since = time.monotonic()
        self.proto.initiate()

    # -- taking a stream -------------------------------------------------------------------
    def usable(self, expiry: float) -> bool:
        """Whether a request may take a stream here (not closing; if idle, not for
        longer than ``expiry`` seconds and not closed by the server)."""
        if self.closing:
            return False
        if self.streams:
            return True
        if time.monotonic() - self.idle_since >= expiry:
            self.close()
            return False
        return raw_socket(self.stream) is None or not readable_now(self.stream)

    async def take_stream(self, seconds: float | None) -> StreamClientConnection | None:
        """A stream for one request, once the server's stream limit allows; None if
        the connection closes meanwhile. ``seconds`` bounds the wait (the pool timeout):
        past it, :class:`trio.TooSlowError`."""
        if not self.closing and self._room() <= 0:  # (a timed wait only when there is one)
            with trio.move_on_after(math.inf if seconds is None else seconds) as scope:
                while not self.closing and self._room() <= 0:
                    await self._capacity.park()
            if scope.cancelled_caught:
                raise trio.TooSlowError
        if self.closing:
            return None
        stream = StreamClientConnection(self)
        self.streams.add(stream)
        self._unopened += 1
        return stream

    def _room(self) -> int:
        """Streams that may be opened now. Until the server has spoken (its SETTINGS
        come first), one: its stream limit is not known yet, and a server that meets
        more streams than it allows may end the whole connection (h2 does)."""
        if not self._settled:
            return 1 - len(self.streams)
        # every stream still held counts (those the server closed are released soon)
        return self.proto.peer_max_streams - len(self.streams)

    def opened(self, stream: StreamClientConnection) -> None:
        """A stream's head went out: its id is known (called by its protocol view)."""
        self._by_id[stream.view.stream_id] = stream
        self._unopened -= 1

    def forget(self, stream: StreamClientConnection) -> None:
        """A request is done with its stream."""
        if stream not in self.streams:
            return
        self.streams.discard(stream)
        if stream.view.stream_id:
            self._by_id.pop(stream.view.stream_id, None)
        else:
            self._unopened -= 1
        wake_all(self._capacity)
        self.writer.wake()
        if not self.streams:
            self.idle_since = time.monotonic()
            if self.closing:
                self._read_scope.cancel()

    # -- running ---------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The reader and the writer, until the connection ends; then the socket closes."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.writer.run)
                task_status.started()
                with self._read_scope:
                    await self._read()
                self._gone()
                self.writer.finish()
        finally:
            self._gone()
            self.closed = True
            self._on_closed(self)
            await trio.aclose_forcefully(self.stream)

    async def _read(self) -> None:
        proto = self.proto
        writer = self.writer
        while True:
            while proto.output_size > writer.max_output:
                await writer.flushed()
            try:
                data = await self.stream.receive_some(65536)
            except IO_ERRORS:
                data = b""
            if not data:
                return
            try:
                proto.receive_data(data)
                if not self._settled:
                    self._settled = True  # the server's SETTINGS came: its limit is known
                    wake_all(self._capacity)
                self._dispatch()
            except ProtocolError:
                return  # its GOAWAY is queued: the writer sends it
            finally:
                writer.wake()
            if self.closing and not self.streams:
                return

    def _dispatch(self) -> None:
        proto = self.proto
        by_id = self._by_id
        while True:
            event = proto.next_event()
            kind = type(event)
            if kind is StreamData:
                assert isinstance(event, StreamData)
                stream = by_id.get(event.stream_id)
                deliver_data(proto, stream.view if stream is not None else None, event)
            elif kind is ResponseHead or kind is EndOfMessage:
                stream = by_id.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    stream.view.deliver(event)
            elif kind is WindowOpened:
                wake_all(self.writer.window_opened)
                wake_all(self._capacity)  # the server's stream limit may have grown
            elif kind is StreamReset:
                assert isinstance(event, StreamReset)
                stream = by_id.get(event.stream_id)
                if stream is not None:
                    stream.unprocessed = event.error_code == REFUSED_STREAM
                    stream.view.abandon(event.reason)
                wake_all(self.writer.window_opened)
            elif kind is GoAway:
                assert isinstance(event, GoAway)
                self._goaway(event)
            else:
                return  # NEED_DATA (or CLOSED: the end of input follows)

    def _goaway(self, event: GoAway) -> None:
        self.closing = True
        for stream in list(self.streams):
            stream_id = stream.view.stream_id
            if not stream_id or stream_id > event.last_stream_id:
                stream.unprocessed = True
                stream.view.abandon()
            elif event.error_code:
                stream.view.abandon()
        wake_all(self._capacity)
        wake_all(self.writer.window_opened)

    def _gone(self) -> None:
        """The connection ended (or broke): every stream still waiting is abandoned."""
        if not self.closing:
            self.closing = True
            self._on_closed(self)
        for stream in self.streams:
            stream.view.abandon()
        wake_all(self._capacity)
        wake_all(self.writer.window_opened)
        self._read_scope.cancel()

    def close(self) -> None:
        """Close when the streams in flight are done (at once when there are none),
        with a GOAWAY."""
        if not self.closed and not self.closing:
            self.closing = True
            self.proto.goaway(0, 0)
            self.writer.wake()
            self._on_closed(self)
        if not self.streams:
            self._read_scope.cancel()
