"""The client half of the h11 backend: requests written and responses parsed by h11."""

from __future__ import annotations

from typing import Any

import h11

from rttp.errors import RemoteProtocolError, TooLarge
from rttp.plugin import (
    CLOSED,
    NEED_DATA,
    PAUSED,
    ClientProtocol,
    EndOfMessage,
    ProtocolLimits,
    RawHeaders,
    ResponseHead,
)

from ._h11 import buffer_overflowed, local_error, next_cycle, receive_buffer, trailing

__all__ = ["H11Client"]

_Data = h11.Data
_EOM = h11.EndOfMessage
_H11_NEED_DATA = h11.NEED_DATA
_H11_PAUSED = h11.PAUSED
_SEND_BODY = h11.SEND_BODY
_SEND_RESPONSE = h11.SEND_RESPONSE


class H11Client(ClientProtocol):
    """Client side of one connection."""

    __slots__ = ("_conn", "_eof", "_limits")

    def __init__(self, limits: ProtocolLimits) -> None:
        self._limits = limits
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=limits.max_header_size)
        self._eof = False

    def send_request(self, method: bytes, target: bytes, headers: RawHeaders) -> bytes:
        try:
            return self._conn.send(h11.Request(method=method, target=target, headers=headers))
        except h11.LocalProtocolError as exc:
            raise local_error(exc) from exc

    def send_data(self, data: bytes) -> bytes:
        try:
            return self._conn.send(_Data(data=data))
        except h11.LocalProtocolError as exc:
            raise local_error(exc) from exc

    def send_end(self) -> bytes:
        try:
            return self._conn.send(_EOM())
        except h11.LocalProtocolError as exc:
            raise local_error(exc) from exc

    def receive_data(self, data: bytes | bytearray) -> None:
        if not data:
            self._eof = True
        try:
            self._conn.receive_data(data)  # type: ignore[arg-type]  # bytearray is fine
        except RuntimeError as exc:
            raise RemoteProtocolError(f"data received after the connection closed: {exc}") from exc

    def next_event(self) -> Any:
        conn = self._conn
        state = conn.their_state  # h11 moves to ERROR as it raises
        in_body = state is _SEND_BODY
        try:
            event: Any = conn.next_event()
        except h11.RemoteProtocolError as exc:
            if self._eof and state is _SEND_RESPONSE and not receive_buffer(conn):
                return CLOSED  # closed before any answer: the core's I/O error, not ours
            message = str(exc)
            if buffer_overflowed(exc) and in_body:
                raise self._limits.framing_too_long(502) from exc
            if buffer_overflowed(exc):
                limit = self._limits.max_header_size
                raise TooLarge(
                    f"response header section larger than max_response_header_size={limit} bytes",
                    502,
                    limit="max_response_header_size",
                    value=limit,
                ) from exc
            raise RemoteProtocolError(f"malformed response: {message}", 502) from exc
        kind = type(event)
        if kind is _Data:
            return bytes(event.data)
        if kind is h11.Response or kind is h11.InformationalResponse:
            headers = event.headers.raw_items()
            self._limits.check_lines(headers, 502)
            if len(headers) > self._limits.max_header_count:
                raise TooLarge(
                    f"response has {len(headers)} header fields, more than "
                    f"max_response_header_count={self._limits.max_header_count}",
                    502,
                    limit="max_response_header_count",
                    value=self._limits.max_header_count,
                )
            return ResponseHead(event.status_code, event.reason, headers, event.http_version)
        if kind is _EOM:
            return EndOfMessage(event.headers.raw_items())
        if event is _H11_NEED_DATA:
            return NEED_DATA
        if event is _H11_PAUSED:
            return PAUSED
        return CLOSED

    def start_next_cycle(self) -> bool:
        # bytes already received after a complete response answer nothing we asked:
        # a connection that has them is never reused (they would answer the next request)
        if receive_buffer(self._conn):
            return False
        return next_cycle(self._conn)

    def upgrade_trailing_data(self) -> bytes:
        return trailing(self._conn)
