"""A multiplexed (HTTP/2) server connection: :class:`MuxServerConnection`.

Three kinds of task share it, in the serve loop's nursery
(:func:`rttp._io.server._serve_mux.serve_multiplexed`):

- the **reader** (the connection's own task, in :meth:`~MuxServerConnection.next_exchange`)
  feeds received bytes to the protocol backend and hands each event to its stream: a
  new request becomes a :class:`~rttp._io.engine._stream.StreamConnection` whose
  exchange the serve loop runs in a task of its own, body bytes and ends are queued for
  the stream's handler, a reset wakes (and cancels) it, an opened window wakes the pumps;
- one **handler task per stream**, which answers through the stream's exchange exactly
  as on HTTP/1.1 (the stream's pump frames its body within the peer's windows);
- the **writer**, the only task that writes to the socket: it sends whatever the
  backend has queued (heads, body frames, acknowledgements, window updates), so frames
  from many streams leave in one write and a cancelled handler never cuts a frame.

Limits: the backend's (:class:`~rttp.plugin.MultiplexLimits`); here, a stream counts
until its handler returns, so a peer that resets its streams cannot have more handlers
running than ``max_concurrent_streams``; the output is bounded by ``max_output`` (the
reader stops reading and the pumps stop framing past it); a write that makes no
progress for ``write_timeout`` ends the connection; an idle connection (no stream)
closes after ``keep_alive_timeout``, with a GOAWAY.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Final

import trio

from ..._proto._events import CLOSED, NEED_DATA, EndOfMessage, RequestHead, StreamData
from ..._proto._mux import (
    GoAway,
    MultiplexedBackend,
    MultiplexedServerProtocol,
    StreamReset,
    WindowOpened,
)
from ...errors import ProtocolError
from ..net._errors import IO_ERRORS
from ._clock import CoarseClock, Phase
from ._exchange import ServerExchange
from ._muxio import FrameWriter, deliver_data, wake_all
from ._server import ServerConnection
from ._settings import ServerSettings
from ._stream import StreamConnection

__all__ = ["ExchangesOf", "MuxServerConnection"]

REFUSED_STREAM: Final = 0x7
PROTOCOL_ERROR: Final = 0x1


class MuxServerConnection(ServerConnection):
    """One HTTP/2 connection a server accepted (see the module)."""

    __slots__ = (
        "_eof",
        "_initial",
        "_quiet",
        "_read_scope",
        "_ready",
        "highest",
        "proto",
        "streams",
        "writer",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        settings: ServerSettings,
        backend: MultiplexedBackend,
        *,
        clock: CoarseClock,
        initial: bytes = b"",
    ) -> None:
        if not clock.watched:
            raise ValueError("an HTTP/2 connection needs a server's watched clock")
        limits = settings.config.protocol_limits
        mux_limits = settings.mux_limits
        self.proto: MultiplexedServerProtocol = backend.server(limits, mux_limits)
        super().__init__(stream, settings, clock=clock, proto=self.proto)
        self.multiplexed = True
        #: the one task that writes to the socket
        self.writer = FrameWriter(
            self.proto,
            self._send_all,
            max_output=mux_limits.max_output,
            write_timeout=settings.config.write_timeout,
            on_broken=self._broken_writer,
        )
        self.writer.active = lambda: bool(self.streams)
        #: the streams whose handlers run, by id
        self.streams: dict[int, StreamConnection] = {}
        #: exchanges read and not yet handed to the serve loop
        self._ready: deque[ServerExchange] = deque()
        self._initial = initial
        self._read_scope: trio.CancelScope | None = None
        #: the peer's input ended: nothing more to read
        self._eof = False
        #: the reader waits here, after the input ended, for the last stream to finish
        self._quiet = trio.lowlevel.ParkingLot()
        #: the highest stream id the peer opened (a GOAWAY's last stream)
        self.highest = 0
        self.proto.initiate()

    # -- what the streams and the server see ---------------------------------------------
    @property
    def idle(self) -> bool:
        """No stream in flight (an idle connection may be closed to make room)."""
        return not self.streams and self.exchanges > 0 and not self.closing

    def watched_exchanges(self) -> Iterator[ServerExchange]:
        """The exchanges the sweeper watches: the connection's own (idle, writes) and
        each stream's."""
        yield self.exchange
        for stream in self.streams.values():
            yield stream.exchange

    def forget(self, stream: StreamConnection) -> None:
        """A stream's handler is done."""
        self.streams.pop(stream.view.stream_id, None)
        self.writer.wake()
        if not self.streams:
            exchange = self.exchange
            exchange.phase = Phase.IDLE
            exchange.deadline = self.clock.now + self.settings.keep_alive_timeout
            wake_all(self._quiet)
            if self.closing and self._read_scope is not None:
                self._read_scope.cancel()  # the reader waits for nothing more

    # -- the reader ----------------------------------------------------------------------
    async def next_exchange(self) -> ServerExchange | None:
        """The exchange of the next stream the peer opens, or None once the connection
        is done (the peer closed, or sent a GOAWAY, or the server drains, and every
        stream has finished). Raises :class:`~rttp.errors.ProtocolError` for a
        connection error (the backend has queued its GOAWAY)."""
        ready = self._ready
        proto = self.proto
        while not ready:
            if self.closing and not self.streams:
                return None
            if self._eof:
                await self._quiet.park()  # streams still answer; nothing more to read
                continue
            while proto.output_size > self.writer.max_output:
                await self.writer.flushed()  # a peer that does not read is not read from
            data: bytes | bytearray = self._initial
            if data:
                self._initial = b""
            else:
                with trio.CancelScope() as self._read_scope:
                    try:
                        data = await self._receive_some(self.read_size)
                    except IO_ERRORS:
                        data = b""
                self._read_scope = None
                if not data and not self.closing:
                    self._peer_gone()
                    continue
                if not data:
                    continue  # cancelled: the last stream finished while draining
            try:
                proto.receive_data(data)
                self._dispatch()
            except ProtocolError:
                self.closing = True
                raise
            finally:
                self.writer.wake()
        return ready.popleft()

    def _dispatch(self) -> None:
        """Hand every event received to its stream."""
        proto = self.proto
        streams = self.streams
        opened: list[tuple[StreamConnection, RequestHead]] = []
        while True:
            event = proto.next_event()
            kind = type(event)
            if kind is StreamData:
                assert isinstance(event, StreamData)
                stream = streams.get(event.stream_id)
                deliver_data(proto, stream.view if stream is not None else None, event)
            elif kind is RequestHead:
                assert isinstance(event, RequestHead)
                self._open_stream(event, opened)
            elif kind is EndOfMessage:
                assert isinstance(event, EndOfMessage)
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream.view.deliver(event)
            elif kind is WindowOpened:
                wake_all(self.writer.window_opened)
            elif kind is StreamReset:
                assert isinstance(event, StreamReset)
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream.view.abandon()
                    stream.scope.cancel()  # nobody will read the answer: stop its work
                wake_all(self.writer.window_opened)
            elif kind is GoAway:
                assert isinstance(event, GoAway)
                if event.error_code:
                    self._peer_gone()  # the peer's error: nothing more on any stream
                else:
                    self.closing = True  # graceful: open streams finish, no new ones
            elif event is CLOSED:
                self._peer_gone()
            elif event is NEED_DATA:
                break
        for stream, head in opened:
            exchange = stream.exchange
            try:
                exchange.begin(head)
            except ProtocolError as exc:
                exchange.body_error = exc  # answered instead of running the handler
            self._ready.append(exchange)

    def _open_stream(
        self, head: RequestHead, opened: list[tuple[StreamConnection, RequestHead]]
    ) -> None:
        stream_id = head.stream_id
        self.highest = max(self.highest, stream_id)
        if self.closing or len(self.streams) >= self.settings.mux_limits.max_concurrent_streams:
            self.proto.reset_stream(stream_id, REFUSED_STREAM)
            return
        stream = StreamConnection(self, stream_id)
        self.streams[stream_id] = stream
        if head.upgrade is not None:  # an extended CONNECT: the request ends at its head
            stream.view.deliver(EndOfMessage(stream_id=stream_id))
        self.exchanges += 1
        exchange = self.exchange
        exchange.phase = Phase.HANDLER
        exchange.deadline = math.inf
        opened.append((stream, head))

    def _peer_gone(self) -> None:
        """The peer closed or broke the connection: every stream is abandoned."""
        self.closing = self._eof = True
        for stream in self.streams.values():
            stream.view.abandon()
            stream.scope.cancel()

    # -- the writer ----------------------------------------------------------------------
    async def write_loop(self) -> None:
        """The writer's task (see :class:`~rttp._io.engine._muxio.FrameWriter`)."""
        await self.writer.run()

    def _broken_writer(self) -> None:
        self._peer_gone()
        self.scope.cancel()

    def finish(self) -> None:
        """The reader is done: the writer ends once the streams have and it sent
        everything."""
        self.writer.finish()

    # -- ending --------------------------------------------------------------------------
    def drain(self, window: float) -> None:
        """Graceful shutdown: GOAWAY (streams opened so far finish, newer ones are
        refused), and the connection closes once the last stream is done."""
        if not self.closing:
            self.closing = True
            self.proto.goaway(0, self.highest)
        self.writer.wake()
        if not self.streams and self._read_scope is not None:
            self._read_scope.cancel()

    def close_now(self) -> None:
        self.closing = True
        self.scope.cancel()

    async def send_error(self, exc: ProtocolError) -> None:
        """A connection error: the backend queued its GOAWAY; every stream stops, and
        the connection lingers on closing so that the GOAWAY is read."""
        self.linger = True
        self._peer_gone()
        self.finish()

    async def send_timeout_answer(self) -> None:
        """The connection sat idle past ``keep_alive_timeout`` (or the preface never
        came within ``header_timeout``): say GOAWAY before closing."""
        with contextlib.suppress(Exception):
            self.proto.goaway(0, self.highest)
            data = self.proto.data_to_send()
            if data:
                with trio.move_on_after(1.0):
                    await self._send_all(data)


class ExchangesOf:
    """The exchanges a server's sweeper watches: each connection's own, and each
    HTTP/2 stream's (a view of the server's set of connections, not a second set)."""

    __slots__ = ("_connections",)

    def __init__(self, connections: Iterable[ServerConnection]) -> None:
        self._connections = connections

    def __iter__(self) -> Iterator[ServerExchange]:
        for conn in self._connections:
            if type(conn) is MuxServerConnection:
                yield from conn.watched_exchanges()
            else:
                yield conn.exchange
