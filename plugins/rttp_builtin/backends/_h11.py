"""What the h11 backend's server and client halves share: h11's receive buffer, the cycle
and trailing-data helpers, the line limit and the error for refusing to send."""

from __future__ import annotations

import h11

from rttp.errors import LocalProtocolError
from rttp.plugin import ProtocolLimits, RawHeaders

__all__ = ["check_lines", "local_error", "next_cycle", "receive_buffer", "trailing"]

_DONE = h11.DONE


def receive_buffer(conn: h11.Connection) -> bytearray:
    data: bytearray = conn._receive_buffer._data
    return data


def next_cycle(conn: h11.Connection) -> bool:
    """Start the next request/response cycle if both sides finished this one."""
    if conn.our_state is _DONE and conn.their_state is _DONE:
        conn.start_next_cycle()
        return True
    return False


def trailing(conn: h11.Connection) -> bytes:
    """Bytes received after a protocol switch, for the new protocol."""
    data, _closed = conn.trailing_data
    return bytes(data)


def check_lines(headers: RawHeaders, limits: ProtocolLimits, status: int = 431) -> None:
    """Each header line within ``max_line_size`` (name, ": ", value, CRLF)."""
    limit = limits.max_line_size or 0
    for name, value in headers:
        line = len(name) + len(value) + 4
        if line > limit:
            raise limits.header_line_too_long(name, line, status)


def local_error(exc: h11.LocalProtocolError) -> LocalProtocolError:
    return LocalProtocolError(f"refusing to send invalid HTTP: {exc}")
