"""``stream_request_head``: the rules an HTTP/2 request head meets (RFC 9113 §8.3.1 and
HTTP/1.1's shared ones), whatever backend parsed it."""

from __future__ import annotations

import pytest

from rttp.errors import RemoteProtocolError
from rttp.plugin import stream_request_head

BASE = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/a")]


def head(fields: list[tuple[bytes, bytes]], ended: bool = True):  # type: ignore[no-untyped-def]
    return stream_request_head(fields, 5, ended)


def test_a_plain_get() -> None:
    got = head([*BASE, (b":authority", b"example.org"), (b"accept", b"*/*")])
    assert (got.method, got.target, got.http_version, got.stream_id) == (b"GET", b"/a", b"2", 5)
    assert got.headers[0] == (b"host", b"example.org")  # :authority stands for Host
    assert not got.chunked
    assert got.content_length is None
    assert got.keep_alive
    assert got.upgrade is None


def test_a_body_follows_unless_the_head_ended_the_stream() -> None:
    posted = head([*BASE, (b":authority", b"x"), (b"content-length", b"10")], ended=False)
    assert posted.chunked
    assert posted.content_length == 10


@pytest.mark.parametrize(
    ("fields", "words", "status"),
    [
        ([*BASE, (b":path", b"/b"), (b":authority", b"x")], "repeated pseudo-field", 400),
        ([(b":authority", b"x"), (b"accept", b"*"), *BASE], "misplaced", 400),
        ([(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x")], ":path", 400),
        ([(b":method", b"GET"), (b":path", b"/"), (b":authority", b"x")], ":scheme", 400),
        ([(b":scheme", b"http"), (b":path", b"/"), (b":authority", b"x")], ":method", 400),
        ([*BASE[:2], (b":path", b""), (b":authority", b"x")], ":path", 400),
        ([*BASE, (b":authority", b"a.example"), (b"host", b"b.example")], "does not match", 400),
        ([(b":method", b"CONNECT"), (b":authority", b"x:443")], "CONNECT", 501),
        ([(b":method", b"CONNECT"), (b":protocol", b"h3"), *BASE[1:]], "CONNECT for", 501),
        ([*BASE, (b":authority", b"x"), (b"content-length", b"ten")], "Content-Length", 400),
        ([*BASE, (b":authority", b"x"), (b"expect", b"later")], "Expect", 417),
        ([*BASE, (b":authority", b"a b@evil")], "Host", 400),
        (BASE, "Host", 400),  # neither :authority nor Host
    ],
)
def test_malformed_heads_are_refused(fields, words, status) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RemoteProtocolError) as caught:
        head(fields)
    assert words.lower() in str(caught.value).lower()
    assert caught.value.status == status


def test_an_extended_connect_is_a_websocket_handshake() -> None:
    fields = [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", b"https"),
        (b":path", b"/chat"),
        (b":authority", b"x"),
        (b"sec-websocket-version", b"13"),
    ]
    got = head(fields, ended=False)
    assert got.method == b"GET"
    assert got.upgrade == b"websocket"
    assert (b"upgrade", b"websocket") in got.headers
    assert (b"connection", b"upgrade") in got.headers
    assert (b"sec-websocket-version", b"13") in got.headers  # its own fields kept
    assert (b"host", b"x") in got.headers
    assert got.chunked is False  # the stream carries the WebSocket, not a body
    assert got.content_length is None


def test_connect_says_what_is_not_supported() -> None:
    with pytest.raises(RemoteProtocolError, match=r"^CONNECT is not supported by this server$"):
        head([(b":method", b"CONNECT"), (b":authority", b"x:443")])
    with pytest.raises(RemoteProtocolError, match=r"^CONNECT for b'h3' is not supported"):
        head([(b":method", b"CONNECT"), (b":protocol", b"h3"), *BASE[1:]])


def test_a_response_head_may_come_from_an_http2_stream() -> None:
    from rttp._proto._head import check_response_head

    check_response_head(200, b"2")  # what the h2 backend reports for a stream's answer
    for version in (b"2.0", b"3", b"0.9"):
        with pytest.raises(RemoteProtocolError, match=r"not HTTP/1\.1 or 1\.0"):
            check_response_head(200, version)
