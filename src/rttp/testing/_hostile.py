"""The hostile requests every HTTP/1.1 protocol backend must refuse (the cases of
:func:`rttp.testing.check_protocol_backend`), each with the status to answer and a word
the refusal's message must contain."""

from __future__ import annotations

__all__ = ["HOSTILE_REQUESTS", "OK"]

#: a well-formed request (what some cases put after their hostile part)
OK = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"

#: name → (request bytes, status to answer, a word the message must contain)
HOSTILE_REQUESTS: dict[str, tuple[bytes, int, str]] = {
    # framing
    "chunk not followed by CRLF": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
        400,
        "chunk",
    ),
    "bare LF in chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "bare CR in chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\rabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "bare LF in chunk extension": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "invalid hex chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "Content-Length with Transfer-Encoding": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "both Content-Length and Transfer-Encoding",
    ),
    "differing Content-Lengths": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
        "Content-Length",
    ),
    "signed Content-Length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
        400,
        "Content-Length",
    ),
    "obfuscated Transfer-Encoding": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
        501,
        "Transfer-Encoding",
    ),
    "Transfer-Encoding chunked twice": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        501,
        "Transfer-Encoding",
    ),
    "unknown transfer-coding": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
        "Transfer-Encoding",
    ),
    # header syntax
    "bare CR in a value": (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "header"),
    "NUL in a value": (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400, "header"),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400, "obs-fold"),
    "whitespace before colon": (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "header"),
    "non-token method": (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line"),
    "non-token field name": (b"GET / HTTP/1.1\r\nHost: a\r\nX(A: b\r\n\r\n", 400, "header"),
    "non-ASCII version digits": (b"GET / HTTP/\xd9\xa1.1\r\nHost: a\r\n\r\n", 400, "request line"),
    "HTTP/2.0 on an HTTP/1 connection": (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "version"),
    "missing Host": (b"GET / HTTP/1.1\r\n\r\n", 400, "Host"),
    "two Hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host"),
    "bare LF after chunk data": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "bare CR in a chunk extension": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0;x\rX-T: v\r\n\r\n",
        400,
        "",
    ),
    "a trailer line ended by a bare LF": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: v\n\r\n",
        400,
        "",
    ),
    "a trailer section ended by a bare LF": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\n",
        400,
        "",
    ),
    "a head line ended by a bare LF": (b"GET / HTTP/1.1\r\nHost: a\n\r\n", 400, ""),
    "repeated Content-Length, equal values": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        400,
        "Content-Length",
    ),
    "listed Content-Length, equal values": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
        400,
        "Content-Length",
    ),
    "a head ending in a bare CR": (b"GET / HTTP/1.1\r\nHost: a\r\n\rGET", 400, ""),
    "chunk size past 64 bits": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc",
        400,
        "chunk",
    ),
    # found by the hardening audit: the two backends disagreed on each
    "Content-Length in a trailer section": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        b"Content-Length: 5\r\n\r\n" + OK,
        400,
        "trailer",
    ),
    "Transfer-Encoding in a trailer section": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + OK,
        400,
        "trailer",
    ),
    "Host in a trailer section": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: b\r\n\r\n",
        400,
        "trailer",
    ),
    "a space after the chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "a tab after the chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\t\r\nabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "a space after a chunk extension": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b \r\nabc\r\n0\r\n\r\n",
        400,
        "chunk",
    ),
    "five empty lines before a request": (b"\r\n" * 5 + OK, 400, "empty lines"),
    "five bare-LF empty lines before a request": (b"\n" * 5 + OK, 400, "empty lines"),
    "five empty lines before a pipelined request": (OK + b"\r\n" * 5 + OK, 400, "empty lines"),
    "five empty lines after a chunked request": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        + b"\r\n" * 5
        + OK,
        400,
        "empty lines",
    ),
    "five empty lines after a sized body": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n\r\n\r\n" + b"\r\n" * 5 + OK,
        400,
        "empty lines",
    ),
    "HTTP/1.2": (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "version"),
    "HTTP/3.1": (b"GET / HTTP/3.1\r\nHost: a\r\n\r\n", 505, "version"),
    "RTSP/1.0": (b"GET / RTSP/1.0\r\nHost: a\r\n\r\n", 400, "request line"),
    "RTSP/1.0 pipelined": (OK + b"GET / RTSP/1.0\r\nHost: a\r\n\r\n", 400, "request line"),
    "a DEL in Host": (b"GET / HTTP/1.1\r\nHost: a\x7fb\r\n\r\n", 400, ""),
    "an invalid Host": (b"GET / HTTP/1.1\r\nHost: a b@evil\r\n\r\n", 400, "Host"),
    "Transfer-Encoding on HTTP/1.0": (
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "HTTP/1.0",
    ),
    "chunk size ffffffffffffffff": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
        400,
        "chunk size",
    ),
    "Content-Length past 2**64": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551619\r\n\r\nabc",
        400,
        "Content-Length",
    ),
    "Content-Length past 2**63": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\nabc",
        400,
        "Content-Length",
    ),
    "Expect other than 100-continue": (
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
        417,
        "Expect",
    ),
}
