"""wsproto's frame layer as a trio-rttp WebSocket protocol object.

wsproto parses and builds frames, unmasks, validates UTF-8 and close codes. This module
turns its events into trio-rttp's, keeps the limits (a frame whose header alone
declares too many bytes is refused before its payload arrives), and bounds
permessage-deflate: wsproto's own extension inflates without a limit, so a 1 KiB frame
could allocate a gigabyte; here every inflate asks zlib for at most what the message
may still grow by.
"""

from __future__ import annotations

import zlib
from typing import Any

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason, Opcode, RsvBits
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from rttp.errors import WebSocketClosed
from rttp.plugin import (
    Closed,
    DeflateParams,
    MessageAssembler,
    MessageTooBig,
    PingEvent,
    PongEvent,
    WebSocketEvent,
    WebSocketMessage,
    WebSocketProtocol,
    WebSocketSettings,
    close_reason,
)

from ._wsproto_state import frame_in_progress

__all__ = ["WsprotoProtocol"]

_SYNC_TAIL = b"\x00\x00\xff\xff"


class _BoundedDeflate(Extension):
    """permessage-deflate for wsproto with the agreed parameters and a bounded inflate.

    (wsproto's own extension inflates without a limit, and forgets that a fragmented
    message is compressed when a ping arrives between its fragments.)
    """

    name = "permessage-deflate"

    def __init__(self, params: DeflateParams, client: bool, limit: int | None) -> None:
        self._settings = params.compress_settings(client)
        self._local_reset = params.local_no_context_takeover(client)
        self._remote_reset = params.remote_no_context_takeover(client)
        self._remote_bits = params.decompress_bits(client)
        self._limit = limit
        self._compressor: Any = None
        self._decompressor: Any = None
        self._data_frame = False  # the frame being received is a data frame
        self._compressed = False  # the message being received is compressed
        self._inflated = 0  # bytes it has inflated to so far

    def enabled(self) -> bool:
        return True  # negotiated already, by trio-rttp's handshake

    def offer(self) -> bool | str:
        return True  # never asked: trio-rttp's handshake offers

    def frame_inbound_header(
        self, proto: Any, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if opcode.iscontrol() or opcode is Opcode.CONTINUATION:
            if rsv.rsv1:
                return CloseReason.PROTOCOL_ERROR  # only a message's first frame has RSV1
            self._data_frame = not opcode.iscontrol()
        else:  # a message starts
            self._data_frame = True
            self._compressed = rsv.rsv1
            self._inflated = 0
            if rsv.rsv1 and self._decompressor is None:
                self._decompressor = zlib.decompressobj(-self._remote_bits)
        return RsvBits(True, False, False)

    def _inflate(self, data: bytes) -> bytes | CloseReason:
        # max_length 0 is "no limit"; one byte over the budget tells a bomb from a fit
        budget = 0 if self._limit is None else self._limit - self._inflated + 1
        try:
            out = self._decompressor.decompress(data, budget)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._inflated += len(out)
        if self._limit is not None and (
            self._inflated > self._limit or self._decompressor.unconsumed_tail
        ):
            return CloseReason.MESSAGE_TOO_BIG
        return bytes(out)

    def frame_inbound_payload_data(self, proto: Any, data: bytes) -> bytes | CloseReason:
        if not (self._data_frame and self._compressed):
            return data
        return self._inflate(data)

    def frame_inbound_complete(self, proto: Any, fin: bool) -> bytes | CloseReason | None:
        if not (fin and self._data_frame and self._compressed):
            return None
        self._compressed = False
        out = self._inflate(_SYNC_TAIL)
        if self._remote_reset:
            self._decompressor = None
        return out

    def frame_outbound(
        self, proto: Any, opcode: Opcode, rsv: RsvBits, data: bytes, fin: bool
    ) -> tuple[RsvBits, bytes]:
        if opcode.iscontrol():
            return rsv, data
        if opcode is not Opcode.CONTINUATION:
            rsv = RsvBits(True, rsv.rsv2, rsv.rsv3)
        if self._compressor is None:
            self._compressor = zlib.compressobj(**self._settings)
        out = self._compressor.compress(data)
        if fin:
            out += self._compressor.flush(zlib.Z_SYNC_FLUSH)
            out = out[:-4]  # RFC 7692 §7.2.1: the sync flush's empty block is not sent
            if self._local_reset:
                self._compressor = None
        return rsv, out


class WsprotoProtocol(WebSocketProtocol):
    """One connection on wsproto's :class:`~wsproto.connection.Connection`."""

    def __init__(self, client: bool, settings: WebSocketSettings) -> None:
        extensions: list[Any] = (
            [_BoundedDeflate(settings.deflate, client, settings.max_message_size)]
            if settings.deflate is not None
            else []
        )
        self._conn = Connection(
            ConnectionType.CLIENT if client else ConnectionType.SERVER, extensions
        )
        self._limit = settings.max_message_size
        self._assembler = MessageAssembler(settings)
        self._out: list[bytes] = []
        self._over = False

    # -- receiving --------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray) -> list[WebSocketEvent]:
        if self._over:
            return []
        conn = self._conn
        conn.receive_data(data)  # type: ignore[arg-type]  # wsproto copies it
        events: list[WebSocketEvent] = []
        assembler = self._assembler
        limit = self._limit
        try:
            event: Any
            for event in conn.events():
                kind = type(event)
                if kind is BytesMessage or kind is TextMessage:
                    payload = event.data
                    if event.message_finished and not assembler.busy:
                        # a whole message in one frame: no assembly, no join
                        if limit is not None and len(payload) > limit:
                            return self._fail(events, 1009, assembler.too_large(len(payload)))
                        if type(payload) is bytearray:
                            payload = bytes(payload)
                        events.append(WebSocketMessage(payload))
                        continue
                    try:
                        whole = assembler.add(
                            payload,
                            kind is TextMessage,
                            event.message_finished,
                            event.frame_finished,
                        )
                    except MessageTooBig as exc:
                        return self._fail(events, 1009, str(exc))
                    if whole is not None:
                        events.append(WebSocketMessage(whole))
                elif kind is Ping:
                    self._out.append(conn.send(event.response()))
                    events.append(PingEvent(bytes(event.payload)))
                elif kind is Pong:
                    events.append(PongEvent(bytes(event.payload)))
                elif kind is CloseConnection:
                    return self._closed(events, event)
        except RemoteProtocolError as exc:
            return self._fail(events, 1002, str(exc))
        declared = self._declared_too_large()
        if declared is not None:
            return self._fail(events, 1009, declared)
        return events

    def _closed(self, events: list[WebSocketEvent], event: CloseConnection) -> list[Any]:
        state = self._conn.state
        if state is ConnectionState.REMOTE_CLOSING:  # the peer closed: echo its code
            self._out.append(self._conn.send(event.response()))
        elif state is not ConnectionState.CLOSED:  # wsproto found an error (1002, 1007 …)
            code, reason = int(event.code), event.reason or "protocol error"
            if reason == "error in extension":  # what our permessage-deflate refused
                reason = (
                    f"message larger than max_message_size={self._limit} once inflated"
                    if code == 1009
                    else "invalid permessage-deflate data"
                )
            return self._fail(events, code, reason)
        self._over = True
        events.append(Closed(int(event.code), event.reason or ""))
        return events

    def _fail(self, events: list[WebSocketEvent], code: int, reason: str) -> list[Any]:
        if self._conn.state is ConnectionState.OPEN:
            self._out.append(
                self._conn.send(CloseConnection(code=code, reason=close_reason(reason)))
            )
        self._over = True
        events.append(Closed(code, reason))
        return events

    def _declared_too_large(self) -> str | None:
        """A frame whose header is in and whose declared length alone would carry its
        message past the limit: refused now, not after its payload arrives."""
        if self._limit is None:
            return None
        frame = frame_in_progress(self._conn)
        if frame is None:
            return None
        declared, consumed = frame
        if declared - consumed + self._assembler.size <= self._limit:
            return None
        return (
            f"a frame declares {declared} bytes: message larger than max_message_size={self._limit}"
        )

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    # -- sending ----------------------------------------------------------------------
    def _send(self, event: Any) -> bytes:
        try:
            return self._conn.send(event)
        except LocalProtocolError as exc:
            raise WebSocketClosed(1006, f"cannot send on a closing connection: {exc}") from exc

    def send_message(self, data: str | bytes) -> bytes:
        if type(data) is str:
            return self._send(TextMessage(data=data))
        return self._send(BytesMessage(data=data))  # type: ignore[arg-type]

    def send_ping(self, payload: bytes) -> bytes:
        return self._send(Ping(payload=payload))

    def send_pong(self, payload: bytes) -> bytes:
        return self._send(Pong(payload=payload))

    def send_close(self, code: int, reason: str) -> bytes:
        return self._send(CloseConnection(code=code, reason=close_reason(reason)))
