"""The h11 backend reads h11's private state in one module (``rttp_builtin.backends._h11``).
These tests drive a real h11.Connection and check each read against what h11 is doing,
so an h11 release that moves its internals fails here, by name, instead of quietly
turning a hardening check off."""

from __future__ import annotations

import h11
import pytest

from rttp_builtin.backends._h11 import (
    buffer_overflowed,
    chunk_reading,
    drop_front,
    receive_buffer,
)


def _server(data: bytes, **options: int) -> h11.Connection:
    conn = h11.Connection(h11.SERVER, **options)
    conn.receive_data(data)
    return conn


def test_the_receive_buffer_is_what_h11_has_not_parsed_yet():
    conn = _server(b"\r\n\r\nGET / HTTP/1.1\r\nHo")
    assert bytes(receive_buffer(conn)) == b"\r\n\r\nGET / HTTP/1.1\r\nHo"
    drop_front(conn, 2)
    assert bytes(receive_buffer(conn)) == b"\r\nGET / HTTP/1.1\r\nHo"


def test_the_chunk_reader_reports_where_it_is():
    conn = _server(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
    assert isinstance(conn.next_event(), h11.Request)
    assert chunk_reading(conn) is not None
    data = conn.next_event()
    assert isinstance(data, h11.Data)
    assert data.data == b"ab"
    reading = chunk_reading(conn)
    assert reading is not None
    assert reading.in_chunk == 3
    assert not reading.in_trailer
    conn.receive_data(b"cde\r\n0\r\nX-T")
    assert conn.next_event().data == b"cde"
    assert conn.next_event() is h11.NEED_DATA
    reading = chunk_reading(conn)
    assert reading is not None
    assert reading.in_chunk == 0
    assert reading.in_trailer


def test_no_chunk_reader_for_a_sized_body():
    conn = _server(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc")
    conn.next_event()
    assert chunk_reading(conn) is None


def test_a_full_receive_buffer_is_recognised():
    conn = _server(b"GET /" + b"a" * 200, max_incomplete_event_size=100)
    with pytest.raises(h11.RemoteProtocolError) as info:
        conn.next_event()
    assert buffer_overflowed(info.value)
    other = _server(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    with pytest.raises(h11.RemoteProtocolError) as info:
        other.next_event()
    assert not buffer_overflowed(info.value)
