"""What the h11 backend's server and client halves share: the cycle and trailing-data
helpers, the line limit and the error for refusing to send, and **the one place that
reads h11's private state**.

h11 has no public way to see the bytes it holds unparsed, how far into a chunk its
reader is, or which of its errors is a full receive buffer; the hardening checks need
all three (to refuse what llhttp refuses, and to tell 414 from 431). They are read here
only, through :func:`receive_buffer`, :func:`drop_front`, :func:`chunk_reading` and
:func:`buffer_overflowed`; ``tests/plugins/test_h11_adapter.py`` fails loudly if an h11
release moves them. An upstream ``Connection.receive_buffer`` (read-only bytes view)
and a ``ChunkedReader`` progress attribute would remove this module's private reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import h11

from rttp.errors import LocalProtocolError

__all__ = [
    "ChunkReading",
    "buffer_overflowed",
    "chunk_reading",
    "drop_front",
    "local_error",
    "next_cycle",
    "receive_buffer",
    "trailing",
]

_DONE = h11.DONE


def receive_buffer(conn: h11.Connection) -> bytearray:
    """The bytes h11 has received and not parsed yet (read only: do not change them)."""
    data: bytearray = conn._receive_buffer._data
    return data


def drop_front(conn: h11.Connection, count: int) -> None:
    """Discard ``count`` bytes at the front of h11's receive buffer."""
    conn._receive_buffer._extract(count)


@dataclass(frozen=True)
class ChunkReading:
    """Where h11's reader of a chunked body is."""

    #: data bytes left in the current chunk (0: a chunk-size line comes next)
    in_chunk: int
    #: it reads the trailer section
    in_trailer: bool
    #: bytes of the last chunk's CRLF it still has to drop before the next size line
    to_discard: int


def chunk_reading(conn: h11.Connection) -> ChunkReading | None:
    """Where the reader of the body being received is, or None when no chunked body is
    being read."""
    reader = getattr(conn, "_reader", None)
    if reader is None or not hasattr(reader, "_bytes_in_chunk"):
        return None
    return ChunkReading(
        reader._bytes_in_chunk,
        bool(getattr(reader, "_reading_trailer", False)),
        len(getattr(reader, "_bytes_to_discard", b"")),
    )


def buffer_overflowed(exc: h11.RemoteProtocolError) -> bool:
    """Whether h11 refused because its receive buffer passed ``max_incomplete_event_size``
    (it says so only in the message)."""
    return "Receive buffer too long" in str(exc)


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


def local_error(exc: h11.LocalProtocolError) -> LocalProtocolError:
    return LocalProtocolError(f"refusing to send invalid HTTP: {exc}")
