"""Differential: the same generated hostile requests to both backends.

The generator leans on what request smuggling is made of: Content-Length and
Transfer-Encoding variants (repeated, listed, signed, padded, cased, obfuscated), chunk
framing (sizes, extensions, bare LF/CR, trailers), obs-fold, bare CR/LF, and pipelining.
Both backends must agree on where each request ends and what its body is: a request one
of them serves and the other refuses, or a body they split differently, fails the test.
The suite runs a few hundred cases; ``RTTP_DIFFERENTIAL_EXAMPLES=10000`` runs more.

Found by the hardening audit and added here: trailer framing fields, whitespace in a
chunk-size line, more than four empty lines before a request, HTTP/1.2 and RTSP/1.0,
chunk sizes past 2**63, Host values that are not host[:port].

Found by this test and fixed in the h11 backend: a bare LF ending a line of the request
head, and a repeated or listed Content-Length (h11 merges equal ones), both accepted by
h11 and refused by llhttp; obs-fold in a request pipelined behind another went unseen;
a bare LF in or ending the trailer section of a chunked body (h11 took it); HTTP/1.0
keep-alive (h11 closed after any 1.0 answer).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rttp
from rttp.errors import ProtocolError
from rttp.plugin import NEED_DATA, PAUSED, EndOfMessage, ProtocolLimits, RequestHead

EXAMPLES = int(os.environ.get("RTTP_DIFFERENTIAL_EXAMPLES", "300"))

_SP = st.sampled_from([b" ", b"  ", b"\t", b""])
_EOL = st.sampled_from([b"\r\n"] * 8 + [b"\n", b"\r", b"\r\r\n"])
_LENGTH_NAMES = st.sampled_from([b"Content-Length", b"content-length", b"Content-length"])
_TE_NAMES = st.sampled_from([b"Transfer-Encoding", b"transfer-encoding", b"Transfer-encoding"])
_TE_VALUES = st.sampled_from(
    [
        b"chunked",
        b"Chunked",
        b"chunked ",
        b" chunked",
        b"xchunked",
        b"chunked, chunked",
        b"gzip, chunked",
        b"identity",
        b"chunked;q=1",
        b'"chunked"',
    ]
)


@st.composite
def _length_value(draw: Any, size: int) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind < 6:
        return b"%d" % size
    return draw(
        st.sampled_from(
            [
                b"+%d" % size,
                b"%d, %d" % (size, size),
                b"%d,%d" % (size, size + 1),
                b"0x%x" % size,
                b"%d " % size,
                b"-1",
                b"99999999999999999999",
                b"",
            ]
        )
    )


@st.composite
def _chunked_body(draw: Any, body: bytes) -> bytes:
    out = b""
    pieces = draw(st.lists(st.integers(1, 8), max_size=3))
    rest = body
    for size in pieces:
        piece, rest = rest[:size], rest[size:]
        if not piece:
            break
        size_text = draw(
            st.sampled_from(
                [
                    b"%x" % len(piece),
                    b"%X" % len(piece),
                    b"0%x" % len(piece),
                    b"%x " % len(piece),
                    b"%x\t" % len(piece),
                    b"ffffffffffffffff",
                    b"8000000000000000",
                ]
            )
        )
        ext = draw(st.sampled_from([b"", b";a=b", b";a", b" ;a", b";\n", b";a=b ", b';a="b c"']))
        out += size_text + ext + draw(_EOL) + piece + draw(_EOL)
    out += b"0" + draw(st.sampled_from([b"", b";x"])) + draw(_EOL)
    trailer = draw(
        st.sampled_from(
            [b"", b"X-T: v", b"Content-Length: 5", b"Transfer-Encoding: chunked", b"Host: y"]
        )
    )
    out += (trailer + draw(_EOL) if trailer else b"") + draw(_EOL)
    return out


@st.composite
def _request(draw: Any) -> bytes:
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"POST"]))
    target = draw(st.sampled_from([b"/", b"/a", b"/a?b=c", b"*"]))
    version = draw(
        st.sampled_from(
            [b"HTTP/1.1"] * 6 + [b"HTTP/1.0", b"HTTP/1.2", b"HTTP/1.10", b"HTTP/3.1", b"RTSP/1.0"]
        )
    )
    empties = b"".join(draw(st.lists(st.sampled_from([b"\r\n", b"\n"]), max_size=6)))
    head = empties + method + b" " + target + b" " + version + draw(_EOL)
    head += b"Host: " + draw(st.sampled_from([b"x"] * 6 + [b"a b@c", b"a\x7fb", b"[::1]:8"]))
    head += draw(_EOL)
    body = draw(st.binary(min_size=0, max_size=12))
    framing = draw(st.sampled_from(["none", "length", "chunked", "both", "two-lengths"]))
    fields: list[bytes] = []
    payload = b""
    if framing in ("length", "both", "two-lengths"):
        fields.append(draw(_LENGTH_NAMES) + b":" + draw(_SP) + draw(_length_value(len(body))))
        payload = body
    if framing == "two-lengths":
        fields.append(b"Content-Length: " + draw(st.sampled_from([b"%d" % len(body), b"0", b"1"])))
    if framing in ("chunked", "both"):
        fields.append(draw(_TE_NAMES) + b":" + draw(_SP) + draw(_TE_VALUES))
        payload = draw(_chunked_body(body))
    if draw(st.booleans()):
        fields.append(draw(st.sampled_from([b"X-A: b", b"X-A: b\r\n c", b"X-A:b", b"X-A : b"])))
    if draw(st.booleans()):
        fields.append(draw(st.sampled_from([b"Connection: close", b"Connection: keep-alive"])))
    order = draw(st.permutations(fields))
    for field in order:
        head += field + draw(_EOL)
    return head + draw(_EOL) + payload


def _outcome(backend_name: str, data: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], bool]:
    """The requests a backend finds in ``data`` (method, target, body), answering each
    as a server would, and whether it refused the rest."""
    backend = rttp.get_plugins().backend(backend_name)
    proto = backend.server(ProtocolLimits())
    proto.receive_data(data)
    proto.receive_data(b"")  # the client is done sending
    found: list[tuple[bytes, bytes, bytes]] = []
    head: RequestHead | None = None
    body = b""
    try:
        while True:
            event = proto.next_event()
            if isinstance(event, RequestHead):
                head, body = event, b""
            elif type(event) is bytes:
                body += event
            elif isinstance(event, EndOfMessage):
                assert head is not None
                found.append((head.method, head.target, body))
                proto.send_response(200, b"OK", [(b"Content-Length", b"0")], b"")
                if not proto.start_next_cycle():
                    return found, False
            elif event is NEED_DATA or event is PAUSED:
                return found, False
            else:
                return found, False  # closed cleanly
    except ProtocolError:
        return found, True


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(_request(), min_size=1, max_size=3))
def test_both_backends_agree_on_request_boundaries_and_bodies(requests):
    data = b"".join(requests)  # pipelined
    h11_found, h11_refused = _outcome("h11", data)
    llhttp_found, llhttp_refused = _outcome("httptools", data)
    assert h11_found == llhttp_found, (data, h11_found, llhttp_found)
    assert h11_refused == llhttp_refused, (data, h11_refused, llhttp_refused)
