"""One request on a client's multiplexed (HTTP/2) connection, made to look like an
HTTP/1.1 client connection carrying one exchange, so that ``send_request``,
``read_response``, the body readers, decoding, progress and the client above them run
unchanged.

- :class:`ClientStreamProtocol` is the stream's :class:`~rttp.plugin.ClientProtocol`:
  it holds the request head until it knows whether a body follows (a GET leaves as
  one HEADERS frame that ends the stream), opens the stream on the wire then (stream
  ids must rise in the order streams open, so the id is taken at that moment), and
  queues the body for the pump.
- :class:`StreamClientConnection` is the stream's
  :class:`~rttp._io.engine._client.ClientConnection`: its receive waits for the
  connection's reader, its send is the pump, each under the request's timeouts, and
  ending it resets the stream if it was not finished (CANCEL) instead of closing the
  shared socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import trio

from ..._proto._events import ClientEvent, ClientProtocol, EndOfMessage, RawHeaders
from ._client import ClientConnection
from ._muxio import QUEUED, StreamView

if TYPE_CHECKING:
    from ._mux_client import MuxClientConnection

__all__ = ["ClientStreamProtocol", "StreamClientConnection"]

CANCEL: Final = 0x8


class ClientStreamProtocol(StreamView, ClientProtocol):
    """One request's view of the connection's multiplexed protocol (see the module)."""

    __slots__ = ("conn", "head", "mux")

    def __init__(self, mux: MuxClientConnection) -> None:
        super().__init__(mux.writer, 0)
        self.mux = mux
        #: the stream's connection object (set by it)
        self.conn: Any = None
        #: the request head, held until the stream opens
        self.head: tuple[bytes, bytes, RawHeaders] | None = None

    def send_request(self, method: bytes, target: bytes, headers: RawHeaders) -> bytes:
        self.head = (method, target, headers)
        return QUEUED

    def send_data(self, data: bytes) -> bytes:
        if data:
            self.out.append(memoryview(data))
        return QUEUED

    def send_end(self) -> bytes:
        self.out.append(EndOfMessage(stream_id=self.stream_id))
        return QUEUED

    def open(self) -> None:
        """Send the held head, opening the stream; it ends the stream at once when
        the end is all that follows."""
        head = self.head
        if head is None:
            return
        self.head = None
        out = self.out
        ends = len(out) == 1 and type(out[0]) is EndOfMessage and not out[0].trailers
        if ends:
            out.popleft()
        method, target, headers = head
        proto = self.mux.proto
        self.stream_id = proto.send_request(method, self.mux.scheme, target, headers, ends)
        self.ended = ends
        self.mux.opened(self.conn)

    def receive_data(self, data: bytes | bytearray) -> None:
        """Nothing to do: the connection's reader queued the events already."""

    def next_event(self) -> ClientEvent:
        event: ClientEvent = StreamView.next_event(self)
        return event

    def start_next_cycle(self) -> bool:
        return False  # a stream carries one exchange

    def upgrade_trailing_data(self) -> bytes:
        return b""


class StreamClientConnection(ClientConnection):
    """One request's stream as a one-exchange client connection (see the module)."""

    __slots__ = ("mux", "view")

    def __init__(self, mux: MuxClientConnection) -> None:
        view = ClientStreamProtocol(mux)
        super().__init__(
            mux.stream,
            proto=view,
            plugins=mux.plugins,
            backend=mux.backend,
            limits=mux.limits,
            where=mux.where,
        )
        self.mux = mux
        self.view = view
        view.conn = self
        self.key = mux.key
        self.on_release = _managed
        self._receive_within: Callable[[int, float | None], Awaitable[bytes | bytearray]]
        self._receive_within = self._wait_within
        self._send_within: Callable[[Any, float | None], Awaitable[None]] = self._pump_within

    async def _wait_within(self, _size: int, seconds: float | None) -> bytes:
        view = self.view
        if not view.events:
            with trio.fail_after(seconds if seconds is not None else float("inf")):
                await view.wait_event()
        return QUEUED

    async def _pump_within(self, _data: Any, seconds: float | None) -> None:
        await self.view.pump(None, seconds)

    async def release(self, reusable: bool) -> None:
        """End the exchange (once): reset the stream if either side is unfinished, give
        back the window of what was left unread, and free the stream's place."""
        if self.exchange.released:
            return
        self.exchange.released = True
        view = self.view
        proto = self.mux.proto
        unfinished = not (view.ended and view.body_ended)
        if unfinished and view.stream_id and not view.reset and proto.stream_open(view.stream_id):
            proto.reset_stream(view.stream_id, CANCEL)
        view.give_back()
        self.mux.forget(self)

    def next_cycle(self) -> bool:
        return False


def _managed(conn: Any, reusable: bool) -> bool:
    """(``on_release`` of a stream: set, so that the body is read by the client; a
    stream's own :meth:`StreamClientConnection.release` does the work.)"""
    return False
