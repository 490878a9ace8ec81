"""The default HTTP/1.1 protocol backend, on h11.

h11 does the parsing and framing. This module adds what a hardened server needs and
h11 leaves to its user: obs-fold refused (h11 unfolds it), Content-Length together with
Transfer-Encoding refused (a smuggling vector), only HTTP/1.0 and 1.1 accepted (505),
414 for an over-long request line told apart from 431, a header-count limit, and a
trailer-section limit.

HTTP/1.0 keep-alive, which h11 does not do (it closes after any HTTP/1.0 answer): such
an answer is written by :class:`~rttp.plugin.ResponseWriter`, and the next request is
read by a fresh ``h11.Connection`` fed the bytes the last one left
(``Connection.trailing_data``).

Two checks read h11's receive buffer (through ``_h11``, the one place that reads h11's
private state): the request-line
probe and the obs-fold scan. They run only while a request head is incomplete, and the
fold scan only when the received bytes contain a fold-like ``LF SP``/``LF HTAB``.
"""

from __future__ import annotations

from typing import Any

import h11

from rttp.errors import ProtocolError, RemoteProtocolError, TooLarge
from rttp.plugin import (
    CLOSED,
    MAX_LENGTH,
    NEED_DATA,
    PAUSED,
    ClientProtocol,
    EndOfMessage,
    Passthrough,
    ProtocolBackend,
    ProtocolLimits,
    RawHeaders,
    RequestHead,
    ResponseWriter,
    ServerProtocol,
    check_trailers,
    chunk_overflow,
    hookimpl,
    make_request_head,
)

from ._h11 import (
    buffer_overflowed,
    chunk_reading,
    local_error,
    next_cycle,
    receive_buffer,
    trailing,
)
from ._h11_guards import (
    EOL_STARTS,
    FOLD,
    LENGTH_FIELD,
    check_chunk_lines,
    check_fold,
    check_line_ends,
    has_bare_cr,
    skip_empty_lines,
)

__all__ = ["H11Backend", "H11Client", "H11Server"]

_IDLE = h11.IDLE
_SEND_BODY = h11.SEND_BODY
_MUST_CLOSE = h11.MUST_CLOSE
_Data = h11.Data
_Request = h11.Request
_EOM = h11.EndOfMessage
_H11_NEED_DATA = h11.NEED_DATA
_H11_PAUSED = h11.PAUSED


class H11Server(ServerProtocol):
    """Server side of one connection."""

    __slots__ = (
        "_close",
        "_conn",
        "_empties",
        "_fold_pos",
        "_h10",
        "_keep_alive",
        "_limits",
        "_line_ok",
        "_suspect_fold",
        "_suspect_lf",
        "_suspect_ws",
    )

    def __init__(self, limits: ProtocolLimits) -> None:
        self._limits = limits
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_size)
        self._h10: ResponseWriter | None = None  # answering an HTTP/1.0 keep-alive request
        self._suspect_fold = False
        self._suspect_lf = False
        self._suspect_ws = False
        self._fold_pos = 0
        self._line_ok = False
        self._keep_alive = True
        self._close = False
        self._empties = 0  # empty lines skipped before the next request line

    # -- receiving ------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray) -> None:
        if data[:1] in (b" ", b"\t") or b"\n " in data or b"\n\t" in data:
            self._suspect_fold = True
        if b" " in data or b"\t" in data:
            self._suspect_ws = True  # perhaps whitespace in a chunk-size line
        crlf = data.count(b"\r\n")
        if (
            data.count(b"\n") != crlf
            or data.count(b"\r") != crlf
            or LENGTH_FIELD.search(data) is not None
        ):
            # an LF without its CR or a CR without its LF (here or split from the last
            # read), or a Content-Length (h11 merges a repeated or listed one, which
            # llhttp refuses)
            self._suspect_lf = True
        try:
            self._conn.receive_data(data)  # type: ignore[arg-type]  # bytearray is fine
        except RuntimeError as exc:  # data after the peer closed: h11 refuses it
            raise RemoteProtocolError(f"data received after the connection closed: {exc}") from exc

    def next_event(self) -> Any:
        conn = self._conn
        state = conn.their_state
        if state is _SEND_BODY and (self._suspect_lf or self._suspect_ws):
            check_chunk_lines(conn, self._suspect_ws)
        elif state is _IDLE:
            buf = receive_buffer(conn)
            if buf[:1] in EOL_STARTS:
                # first: the checks below read the head from its request line on
                self._empties = skip_empty_lines(conn, self._empties)
                if receive_buffer(conn) == b"\r":
                    return NEED_DATA  # the LF of an empty line may follow
            if self._suspect_fold:
                self._fold_pos = check_fold(receive_buffer(conn), self._fold_pos)
            if self._suspect_lf:
                self._suspect_lf = check_line_ends(receive_buffer(conn))
        try:
            event: Any = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise self._translate(exc, state) from exc
        kind = type(event)
        if kind is _Data:
            return bytes(event.data)
        if kind is _Request:
            return self._request_head(event)
        if kind is _EOM:
            return self._end(event)
        if event is _H11_NEED_DATA:
            their = conn.their_state
            if their is _IDLE:
                if not self._line_ok:
                    self._probe_request_line()
                if has_bare_cr(receive_buffer(conn)):
                    # h11 would wait for the LF forever (then a 408); llhttp says 400 at once
                    raise RemoteProtocolError(
                        "bare CR in the request line or a header (a CR not before LF)"
                    )
            elif their is _SEND_BODY:
                self._check_body_framing()
            return NEED_DATA
        if event is _H11_PAUSED:
            return PAUSED
        return CLOSED  # ConnectionClosed

    def _check_body_framing(self) -> None:
        """While a body is incomplete: a chunk size no one can send (llhttp refuses a size
        past 64 bits at once, h11 would wait for it), and the chunk-size line limit."""
        reading = chunk_reading(self._conn)
        size = reading.in_chunk if reading is not None else 0
        if size > MAX_LENGTH:
            raise chunk_overflow(size)
        limit = self._limits.max_line_size
        if limit and len(receive_buffer(self._conn)) > limit:
            # h11 hands out chunk data as it arrives: what it keeps is a chunk-size line
            raise self._limits.framing_too_long()  # the message llhttp's side gives too

    def _request_head(self, event: h11.Request) -> RequestHead:
        self._empties = 0
        # a request pipelined behind this one is checked in turn (its bytes are here)
        rest = receive_buffer(self._conn)
        self._suspect_fold = rest[:1] in (b" ", b"\t") or FOLD.search(rest) is not None  # type: ignore[comparison-overlap]
        self._fold_pos = 0
        self._line_ok = False
        limits = self._limits
        version = event.http_version
        if len(event.method) + len(event.target) + 10 > limits.max_request_line:
            raise self._line_too_long()
        headers: RawHeaders = event.headers.raw_items()
        limits.check_header_section(headers)
        head = make_request_head(event.method, event.target, headers, version)
        self._keep_alive = head.keep_alive
        self._close = False
        if head.keep_alive and version != b"1.1":
            # h11 would close after answering: write this answer without it
            writer = self._h10 = ResponseWriter()
            writer.start_response(head.method, version, True)
        return head

    def _end(self, event: h11.EndOfMessage) -> EndOfMessage:
        trailers = event.headers.raw_items()
        if trailers:
            check_trailers(trailers, self._limits)
        return EndOfMessage(trailers)

    def _probe_request_line(self) -> None:
        buf = receive_buffer(self._conn)
        limit = self._limits.max_request_line
        newline = buf.find(b"\n", 0, limit + 2)
        if newline >= 0:
            self._line_ok = True
            if newline - 1 > limit:
                raise self._line_too_long()
        elif len(buf) > limit:
            raise self._line_too_long()

    def _line_too_long(self) -> TooLarge:
        return self._limits.request_line_too_long()

    def _translate(self, exc: h11.RemoteProtocolError, state: Any) -> ProtocolError:
        message = str(exc)
        if buffer_overflowed(exc):
            if state is _IDLE:
                buf = receive_buffer(self._conn)
                limit = self._limits.max_request_line
                if buf.find(b"\n", 0, limit + 2) < 0:
                    return self._line_too_long()
                limit = self._limits.max_header_size
                return self._limits.header_section_too_large()
            return self._limits.framing_too_long()
        return RemoteProtocolError(message, exc.error_status_hint)

    # -- sending ------------------------------------------------------------------------
    def send_informational(self, status: int, reason: bytes, headers: RawHeaders) -> bytes:
        if self._h10 is not None:
            return self._h10.send_informational(status, reason, headers)
        try:
            return self._conn.send(
                h11.InformationalResponse(status_code=status, headers=headers, reason=reason)
            )
        except h11.LocalProtocolError as exc:
            raise local_error(exc) from exc

    def send_response(
        self, status: int, reason: bytes, headers: RawHeaders, body: bytes | None = None
    ) -> bytes:
        if self._h10 is not None:
            return self._h10.send_response(status, reason, headers, body)
        conn = self._conn
        if self._close and self._keep_alive:
            headers = [*headers, (b"Connection", b"close")]
        try:
            data: bytes = conn.send(
                h11.Response(status_code=status, headers=headers, reason=reason)
            )
            if body is not None:
                if body:
                    data += conn.send(_Data(data=body))
                data += conn.send(_EOM())
        except h11.LocalProtocolError as exc:
            conn.send_failed()
            raise local_error(exc) from exc
        return data

    def send_data(self, data: bytes) -> bytes:
        if self._h10 is not None:
            return self._h10.send_data(data)
        try:
            return self._conn.send(_Data(data=data))
        except h11.LocalProtocolError as exc:
            self._conn.send_failed()
            raise local_error(exc) from exc

    def frame_passthrough(self, length: int) -> tuple[bytes, bytes] | None:
        if self._h10 is not None:
            return self._h10.frame_passthrough(length)
        placeholder = Passthrough(length)
        try:
            pieces = self._conn.send_with_data_passthrough(_Data(data=placeholder))  # type: ignore[arg-type]
        except h11.LocalProtocolError as exc:
            self._conn.send_failed()
            raise local_error(exc) from exc
        if pieces is None:  # pragma: no cover - h11 returns None only for ConnectionClosed
            return (b"", b"")
        passed: list[object] = list(pieces)  # the placeholder among the framing bytes
        at = next(i for i, piece in enumerate(passed) if piece is placeholder)
        return (b"".join(pieces[:at]), b"".join(pieces[at + 1 :]))

    def send_end(self, trailers: RawHeaders | None = None) -> bytes:
        if self._h10 is not None:
            return self._h10.send_end(trailers)
        try:
            return self._conn.send(_EOM(headers=trailers) if trailers else _EOM())
        except h11.LocalProtocolError as exc:
            self._conn.send_failed()
            raise local_error(exc) from exc

    def start_next_cycle(self) -> bool:
        writer = self._h10
        if writer is None:
            return next_cycle(self._conn)
        old = self._conn
        if not (writer.response_done and writer.keep_alive) or old.their_state is not _MUST_CLOSE:
            return False  # the answer is unfinished or the last, or the request unread
        self._h10 = None
        data, closed = old.trailing_data
        conn = self._conn = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._limits.max_header_size
        )
        if data:
            conn.receive_data(bytes(data))
        if closed:
            conn.receive_data(b"")
        return True

    @property
    def keep_alive(self) -> bool:
        if self._h10 is not None:
            return self._h10.keep_alive
        return self._keep_alive and not self._close

    def close_after_response(self) -> None:
        self._close = True
        if self._h10 is not None:
            self._h10.close_after_response()

    def upgrade_trailing_data(self) -> bytes:
        return trailing(self._conn)


from .h11_client import H11Client  # noqa: E402


class H11Backend(ProtocolBackend):
    """The h11 backend: pure Python, the reference the tests hold other backends to."""

    name = "h11"
    priority = 0

    def server(self, limits: ProtocolLimits) -> ServerProtocol:
        return H11Server(limits)

    def client(self, limits: ProtocolLimits) -> ClientProtocol:
        return H11Client(limits)


@hookimpl
def rttp_register_protocol_backends(register: Any) -> None:
    """Register the h11 backend."""
    register(H11Backend())
