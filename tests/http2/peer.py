"""A raw HTTP/2 client for the tests: h2's client state machine over a loopback socket,
plus hand-built frames (hyperframe) for what a well-behaved client never sends."""

from __future__ import annotations

from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import trio
from hpack import Encoder, NeverIndexedHeaderTuple
from hyperframe.frame import DataFrame, Frame, HeadersFrame, RstStreamFrame

import rttp


class Peer:
    """One HTTP/2 connection to ``url`` (prior knowledge)."""

    def __init__(self, stream: trio.SocketStream, **settings: Any) -> None:
        self.stream = stream
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.events: list[Any] = []
        self.closed = False
        #: h2's state machine gave up (a frame after the server's GOAWAY)
        self.broken = False
        #: every frame the server sent, as parsed by hyperframe
        self.raw_frames: list[Frame] = []
        self._frames_in = bytearray()

    @classmethod
    async def open(cls, url: rttp.URL, **settings: Any) -> Peer:
        stream = await trio.open_tcp_stream(url.host, url.port)
        peer = cls(stream, **settings)
        await peer.flush()
        return peer

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.closed:
            try:
                await self.stream.send_all(data)
            except trio.BrokenResourceError:
                self.closed = True

    async def send_raw(self, data: bytes) -> None:
        """Bytes past h2's state machine (frames it would refuse to build)."""
        await self.flush()
        if self.closed:
            return
        try:
            await self.stream.send_all(data)
        except trio.BrokenResourceError:
            self.closed = True

    def request(
        self, path: str = "/", *, end: bool = True, extra: list[tuple[bytes, bytes]] | None = None
    ) -> int:
        stream_id: int = self.conn.get_next_available_stream_id()
        headers = [
            (b":method", b"GET" if end else b"POST"),
            (b":scheme", b"http"),
            (b":authority", b"localhost"),
            (b":path", path.encode()),
            *(extra or []),
        ]
        self.conn.send_headers(stream_id, headers, end_stream=end)
        return stream_id

    async def receive(self) -> list[Any]:
        """The events of the next bytes (an empty list once the server closed)."""
        try:
            data = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:
            data = b""
        if not data:
            self.closed = True
            return []
        self._frames_in += data
        while len(self._frames_in) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self._frames_in[:9]))
            if len(self._frames_in) < 9 + length:
                break
            frame.parse_body(memoryview(self._frames_in[9 : 9 + length]))
            self.raw_frames.append(frame)
            del self._frames_in[: 9 + length]
        if self.broken:
            return []
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            # h2 takes any frame after a GOAWAY for an error (a GOAWAY's streams in
            # flight still finish): from here on only the raw frames are read
            self.conn.clear_outbound_data_buffer()
            self.broken = True
            return []
        self.events += events
        await self.flush()
        return events

    async def until(self, kind: type, stream_id: int | None = None, seconds: float = 10) -> Any:
        """Read until an event of ``kind`` (on ``stream_id``) arrives; None if the
        server closed first."""
        with trio.fail_after(seconds):
            while True:
                for event in self.events:
                    if type(event) is kind and (
                        stream_id is None or getattr(event, "stream_id", None) == stream_id
                    ):
                        self.events.remove(event)
                        return event
                if self.closed:
                    return None
                await self.receive()

    async def response(self, stream_id: int) -> tuple[int, bytes]:
        """The status and body of stream ``stream_id``."""
        await self.flush()
        head = await self.until(h2.events.ResponseReceived, stream_id)
        assert head is not None, "the server closed before answering"
        status = int(dict(head.headers)[b":status"])
        body = b""
        with trio.fail_after(10):
            while True:
                for event in list(self.events):
                    if getattr(event, "stream_id", None) != stream_id:
                        continue
                    self.events.remove(event)
                    if type(event) is h2.events.DataReceived:
                        body += event.data
                        self.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                    elif type(event) in (h2.events.StreamEnded, h2.events.StreamReset):
                        return status, body
                await self.receive()

    async def refused(self, stream_id: int, seconds: float = 10) -> int | None:
        """The error code of the RST_STREAM the server sends for ``stream_id`` (a stream
        h2's state machine does not know, so read from the raw frames)."""
        with trio.fail_after(seconds):
            while True:
                for frame in self.raw_frames:
                    if isinstance(frame, RstStreamFrame) and frame.stream_id == stream_id:
                        return int(frame.error_code)
                if self.closed:
                    return None
                await self.receive()

    async def raw_body(self, stream_id: int, seconds: float = 10) -> bytes:
        """The body of ``stream_id`` read from the raw DATA frames, to its END_STREAM."""
        with trio.fail_after(seconds):
            while True:
                frames = [f for f in self.raw_frames if f.stream_id == stream_id]
                data = [f for f in frames if isinstance(f, DataFrame)]
                if any("END_STREAM" in f.flags for f in frames):
                    return b"".join(bytes(f.data) for f in data)
                assert not self.closed, "the server closed before the stream ended"
                await self.receive()

    async def goaway(self, seconds: float = 10) -> Any:
        """The server's GOAWAY (None if it closed without one)."""
        return await self.until(h2.events.ConnectionTerminated, seconds=seconds)

    async def aclose(self) -> None:
        await self.stream.aclose()


def headers_frame(
    stream_id: int,
    path: str,
    flags: tuple[str, ...] = ("END_HEADERS", "END_STREAM"),
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> bytes:
    """A HEADERS frame for a GET of ``path``, built without h2's state machine; its
    fields are never indexed, so the server's HPACK table is left as it was."""
    fields = [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"localhost"),
        (b":path", path.encode()),
        *extra,
    ]
    block = Encoder().encode([NeverIndexedHeaderTuple(n, v) for n, v in fields])
    frame = HeadersFrame(stream_id, data=block, flags=list(flags))
    data: bytes = frame.serialize()
    return data
