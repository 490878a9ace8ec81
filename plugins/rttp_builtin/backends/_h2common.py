"""What both halves of the h2 backend share: the h2 connection, its configuration and
settings, the translation of h2's events that are the same on both sides, the output
(with a graceful GOAWAY framed here), flow control, and the budgets that bound what a
peer may make us do for nothing (see :mod:`rttp_builtin.backends.h2_backend`)."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Any

from rttp.errors import RemoteProtocolError
from rttp.plugin import (
    CLOSED,
    NEED_DATA,
    EndOfMessage,
    GoAway,
    MultiplexLimits,
    MuxEvent,
    ProtocolLimits,
    RawHeaders,
    StreamData,
    StreamReset,
    WindowOpened,
    stream_trailers,
)

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
    from hyperframe.frame import GoAwayFrame
except ImportError:  # pragma: no cover - the http2 extra is not installed
    h2 = None  # type: ignore[assignment]

__all__ = ["ENHANCE_YOUR_CALM", "PROTOCOL_ERROR", "H2Common", "HOP_BY_HOP", "h2"]

#: connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2): never sent
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
ENHANCE_YOUR_CALM = 0xB
PROTOCOL_ERROR = 0x1


class _Bucket:
    """A budget of ``burst`` that refills at ``rate`` a second (never above the burst)."""

    __slots__ = ("burst", "left", "rate", "stamp")

    def __init__(self, burst: int, rate: float) -> None:
        self.burst = self.left = float(burst)
        self.rate = rate
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one; False once the budget is gone."""
        now = time.monotonic()
        self.left = min(self.burst, self.left + (now - self.stamp) * self.rate)
        self.stamp = now
        self.left -= 1
        return self.left >= 0


def _graceful_goaways(conn: Any) -> None:
    """Let a graceful GOAWAY (NO_ERROR) leave ``conn`` open for the streams it covers.

    h2 takes any GOAWAY for the end of the connection: it drops the output not yet sent
    (heads among it, which would leave the peer's HPACK table behind ours) and refuses
    every later frame, even those of the streams the peer promised to finish. Its
    handler for GOAWAY frames is replaced, on this connection only, by one that reports
    a graceful GOAWAY and changes nothing; the engine opens no new stream after it. (An
    error GOAWAY still goes to h2's own handler.)"""
    table = conn._frame_dispatch_table
    original = table[GoAwayFrame]

    def receive_goaway(frame: Any) -> tuple[list[Any], list[Any]]:
        if frame.error_code:
            return original(frame)  # type: ignore[no-any-return]
        event = h2.events.ConnectionTerminated()
        event.error_code = h2.errors.ErrorCodes.NO_ERROR
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]

    table[GoAwayFrame] = receive_goaway


class H2Common:
    """One h2 connection, either side (the server and client classes add their heads)."""

    __slots__ = ("_conn", "_control", "_early", "_events", "_limits", "_resets", "_window_gap")

    def __init__(self, limits: ProtocolLimits, mux: MultiplexLimits, client: bool) -> None:
        # outbound fields were validated by the core (names are lower-cased here), so
        # h2 need not check and normalize them again; what arrives is always checked
        config = h2.config.H2Configuration(
            client_side=client,
            header_encoding=None,
            # the received field blocks are checked by rttp's check_stream_fields, in
            # one pass (h2's chain of generators was a tenth of a request's cost)
            validate_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        conn = h2.connection.H2Connection(config=config)
        codes = h2.settings.SettingCodes
        values = {
            codes.INITIAL_WINDOW_SIZE: mux.stream_window,
            codes.MAX_FRAME_SIZE: mux.max_frame_size,
            codes.MAX_HEADER_LIST_SIZE: limits.max_header_size,
        }
        values[codes.MAX_CONCURRENT_STREAMS] = mux.max_concurrent_streams
        if client:
            values[codes.ENABLE_PUSH] = 0
        else:
            values[codes.ENABLE_CONNECT_PROTOCOL] = 1  # WebSockets over HTTP/2 (RFC 8441)
        conn.local_settings = h2.settings.Settings(client=client, initial_values=values)
        conn.decoder.max_header_list_size = limits.max_header_size
        _graceful_goaways(conn)
        self._conn = conn
        self._limits = limits
        self._events: deque[Any] = deque()
        self._control = _Bucket(mux.max_control_frames, mux.control_refill)
        self._resets = _Bucket(mux.max_resets, mux.reset_refill)
        self._window_gap = mux.connection_window - 65535
        #: output framed here, ahead of h2's (a graceful GOAWAY)
        self._early = bytearray()

    def initiate(self) -> None:
        self._conn.initiate_connection()
        if self._window_gap > 0:
            self._conn.increment_flow_control_window(self._window_gap)

    # -- input -----------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray) -> None:
        if not data:
            self._events.append(CLOSED)
            return
        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.TooManyStreamsError as exc:
            raise RemoteProtocolError(f"HTTP/2 peer opened too many streams: {exc}") from None
        except h2.exceptions.ProtocolError as exc:
            raise RemoteProtocolError(f"HTTP/2 protocol error: {exc}") from None
        except Exception as exc:  # hpack's errors (an oversized or malformed header block)
            self._conn.close_connection(error_code=getattr(exc, "error_code", 1))
            raise RemoteProtocolError(f"HTTP/2 header block refused: {exc}") from None
        self._translate(events)

    def _translate(self, events: list[Any]) -> None:
        out = self._events
        ev = h2.events
        for event in events:
            kind = type(event)
            if kind is ev.DataReceived:
                padding = event.flow_controlled_length - len(event.data)
                if padding:
                    self._conn.acknowledge_received_data(padding, event.stream_id)
                if event.data:
                    out.append(StreamData(event.stream_id, event.data))
                elif event.stream_ended is None:
                    self._spend_control("empty DATA")
            elif kind is ev.StreamEnded:
                out.append(EndOfMessage(stream_id=event.stream_id))
            elif kind is ev.TrailersReceived:
                try:
                    trailers = stream_trailers(event.headers)
                except RemoteProtocolError as exc:
                    self._malformed(event.stream_id, exc, notify=True)
                else:
                    out.append(EndOfMessage(trailers, stream_id=event.stream_id))
            elif kind is ev.StreamReset:
                if event.remote_reset and not self._resets.take():
                    self._calm("reset streams faster than max_resets allows")
                out.append(StreamReset(event.stream_id, int(event.error_code)))
            elif kind is ev.WindowUpdated:
                self._spend_control("WINDOW_UPDATE")
                out.append(WindowOpened(event.stream_id))
            elif kind is ev.RemoteSettingsChanged:
                self._spend_control("SETTINGS")
                out.append(WindowOpened(0))  # the initial window size may have grown
            elif kind is ev.ConnectionTerminated:
                out.append(GoAway(event.last_stream_id or 0, int(event.error_code or 0)))
            elif kind in (ev.PingReceived, ev.PriorityUpdated, ev.UnknownFrameReceived):
                self._spend_control(kind.__name__)
            else:
                self._translate_head(event)

    def _translate_head(self, event: Any) -> None:
        """A head (the side's own events: a request, or a response)."""

    def _malformed(self, stream_id: int, exc: RemoteProtocolError, notify: bool) -> None:
        """A malformed field block (RFC 9113 §8.1.1): its stream is reset with
        PROTOCOL_ERROR and the connection's other streams go on (``notify``: the engine
        is told, with why, when an exchange waits on the stream). A peer that sends
        them faster than ``max_resets`` allows loses the connection."""
        if not self._resets.take():
            self._calm("sent malformed field blocks faster than max_resets allows")
        self.reset_stream(stream_id, PROTOCOL_ERROR)
        if notify:
            self._events.append(StreamReset(stream_id, PROTOCOL_ERROR, f"malformed: {exc}"))

    def _spend_control(self, what: str) -> None:
        if not self._control.take():
            self._calm(f"sent {what} frames faster than max_control_frames allows")

    def _calm(self, why: str) -> None:
        self._conn.close_connection(error_code=ENHANCE_YOUR_CALM)
        raise RemoteProtocolError(f"HTTP/2 peer {why}")

    def next_event(self) -> MuxEvent:
        events = self._events
        if events:
            event: MuxEvent = events.popleft()
            return event
        return NEED_DATA

    # -- output ----------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        if self._early:
            data = bytes(self._early) + self._conn.data_to_send()
            self._early.clear()
            return data
        return self._conn.data_to_send()

    @property
    def output_size(self) -> int:
        return len(self._early) + len(self._conn._data_to_send)

    def send_window(self, stream_id: int) -> int:
        try:
            return int(self._conn.local_flow_control_window(stream_id))
        except h2.exceptions.NoSuchStreamError:
            return 0

    def send_data(self, stream_id: int, data: bytes | memoryview, end_stream: bool = False) -> None:
        conn = self._conn
        size = conn.max_outbound_frame_size
        view = memoryview(data)
        if len(view) <= size:
            conn.send_data(stream_id, view, end_stream=end_stream)
            return
        for offset in range(0, len(view), size):
            last = offset + size >= len(view)
            conn.send_data(stream_id, view[offset : offset + size], end_stream=end_stream and last)

    def send_trailers(self, stream_id: int, trailers: RawHeaders) -> None:
        fields = [(n.lower(), v) for n, v in trailers]
        self._conn.send_headers(stream_id, fields, end_stream=True)

    def acknowledge(self, stream_id: int, size: int) -> None:
        # a stream that ended meanwhile: the connection's window is opened all the same
        with contextlib.suppress(h2.exceptions.NoSuchStreamError):
            self._conn.acknowledge_received_data(size, stream_id)

    def reset_stream(self, stream_id: int, error_code: int = 0) -> None:
        with contextlib.suppress(h2.exceptions.ProtocolError):  # closed already
            self._conn.reset_stream(stream_id, error_code)

    def goaway(self, error_code: int = 0, last_stream_id: int | None = None) -> None:
        conn = self._conn
        if error_code:
            conn.close_connection(error_code=error_code, last_stream_id=last_stream_id)
            return
        # graceful: h2 treats its own GOAWAY as the end of the connection (every frame
        # after it, even the DATA of a stream still open, would be an error), so this
        # one is framed here and queued in order, and h2 goes on serving open streams
        frame = GoAwayFrame(0)
        frame.last_stream_id = (
            conn.highest_inbound_stream_id if last_stream_id is None else last_stream_id
        )
        self._early += conn.data_to_send()
        self._early += frame.serialize()

    def stream_open(self, stream_id: int) -> bool:
        stream = self._conn.streams.get(stream_id)
        return stream is not None and bool(stream.open)
