"""``check_protocol_backend``: the hostile-input and framing suite every HTTP/1.1
protocol backend runs, built-in or third-party.

It drives the backend's server and client halves without I/O (the sans-IO contract in
:mod:`rttp.plugin`): each hostile request must be refused with the right status, and
a message that names the problem, fed whole and one byte at a time; the limits must hold;
framing, pipelining, keep-alive and the client's response parsing must be right.
A failure raises AssertionError naming the case.
"""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError, TooLarge
from ..plugin import (
    NEED_DATA,
    PAUSED,
    EndOfMessage,
    ProtocolBackend,
    ProtocolLimits,
    RequestHead,
    ResponseHead,
)
from ._hostile import HOSTILE_REQUESTS

__all__ = ["HOSTILE_REQUESTS", "check_protocol_backend", "parse_requests"]


def parse_requests(
    backend: ProtocolBackend,
    data: bytes,
    limits: ProtocolLimits | None = None,
    *,
    step: int | None = None,
    pipelined: bool = False,
) -> list[Any]:
    """Feed ``data`` (all at once or ``step`` bytes at a time); return events or raise.

    ``pipelined``: answer each request (an empty 200) and go on to the next one while
    the connection allows, as a server would; else stop at the first one's end."""
    proto = backend.server(limits or ProtocolLimits())
    events: list[Any] = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for chunk in chunks:
        proto.receive_data(chunk)
        while True:
            event = proto.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            events.append(event)
            if isinstance(event, EndOfMessage):
                if not pipelined:
                    break
                proto.send_response(200, b"OK", [(b"Content-Length", b"0")], b"")
                if not proto.start_next_cycle():
                    return events
            elif not isinstance(event, (RequestHead, bytes)):
                return events  # closed
    return events


def _expect(condition: object, message: str) -> None:
    """Fail the kit with ``message`` unless ``condition`` holds (not ``assert``: the kit
    must also check under ``python -O``)."""
    if not condition:
        raise AssertionError(message)


def _refused(
    backend: ProtocolBackend,
    case: str,
    data: bytes,
    status: int,
    words: str,
    limits: ProtocolLimits | None = None,
) -> None:
    for step in (None, 1):
        how = "whole" if step is None else "one byte at a time"
        try:
            parse_requests(backend, data, limits, step=step, pipelined=True)
        except ProtocolError as exc:
            _expect(exc.status == status, f"{case} ({how}): status {exc.status}, not {status}")
            _expect(
                words.lower() in str(exc).lower(),
                f"{case} ({how}): the message {str(exc)!r} does not mention {words!r}",
            )
        else:
            raise AssertionError(f"{case} ({how}): accepted, not refused with {status}")


def check_protocol_backend(backend: ProtocolBackend) -> None:
    """Run the suite against ``backend``; AssertionError names the first failing case."""
    for case, (data, status, words) in sorted(HOSTILE_REQUESTS.items()):
        _refused(backend, case, data, status, words)
    # limits
    long_line = b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    _refused(
        backend,
        "request line over max_request_line",
        long_line,
        414,
        "max_request_line=200",
        ProtocolLimits(max_request_line=200, max_header_size=4096),
    )
    big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n"
    _refused(
        backend,
        "header section over max_header_size",
        big,
        431,
        "max_header_size=4096",
        ProtocolLimits(max_header_size=4096),
    )
    many = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(20))
    _refused(
        backend,
        "more fields than max_header_count",
        many + b"\r\n",
        431,
        "max_header_count=10",
        ProtocolLimits(max_header_count=10),
    )
    line = b"GET / HTTP/1.1\r\nHost: a\r\nX-Line: " + b"v" * 1100 + b"\r\n\r\n"
    _refused(
        backend,
        "header line over max_line_size",
        line,
        431,
        "max_line_size=1024",
        ProtocolLimits().with_line_size(1024),
    )
    trailer = b"X-T: " + b"t" * 3000 + b"\r\n"
    chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    try:
        parse_requests(
            backend, chunked + trailer * 3 + b"\r\n", ProtocolLimits(max_header_size=4096)
        )
    except TooLarge as exc:
        _expect(exc.status == 431, f"trailer section over the limit: status {exc.status}")
    else:
        raise AssertionError("a trailer section over max_header_size was accepted")
    # what must parse
    ok = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    for lead in (b"\r\n", b"\n"):  # RFC 9112 §2.2: an empty line before a request line
        head = parse_requests(backend, lead + ok, step=1)[0]
        _expect(isinstance(head, RequestHead), f"a request after {lead!r} is served, not a 400")
    events = parse_requests(backend, ok)
    _expect(isinstance(events[0], RequestHead) and events[0].keep_alive, "a plain GET")
    _expect(isinstance(events[1], EndOfMessage), "a GET without a body ends at once")
    body = b"line\n more\n\tstuff"
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    got = b"".join(e for e in parse_requests(backend, data + ok, step=5) if isinstance(e, bytes))
    _expect(got == body, "fold-like bytes in a body are body, not obs-fold")
    for raw, keep in (
        (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: xclose\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    ):
        head = parse_requests(backend, raw)[0]
        _expect(head.keep_alive is keep, f"keep-alive of {raw!r} should be {keep}")
    proto = backend.server(ProtocolLimits())
    proto.receive_data(ok * 3)
    _expect(isinstance(proto.next_event(), RequestHead), "pipelined: the first head")
    _expect(isinstance(proto.next_event(), EndOfMessage), "pipelined: the first end")
    _expect(proto.next_event() is PAUSED, "pipelined: the next request waits for the answer")
    proto.send_response(200, b"OK", [(b"Content-Length", b"0")], b"")
    _expect(proto.start_next_cycle(), "pipelined: a next cycle after the answer")
    _expect(isinstance(proto.next_event(), RequestHead), "pipelined: the second head")
    _check_http10_keep_alive(backend)
    _check_client(backend)


def _check_http10_keep_alive(backend: ProtocolBackend) -> None:
    """An HTTP/1.0 keep-alive request: the answer says ``Connection: keep-alive`` and the
    connection reads the request behind it; a 1.0 request without it is answered last."""
    proto = backend.server(ProtocolLimits())
    keep = b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    proto.receive_data(keep + b"GET /b HTTP/1.0\r\n\r\n")
    for target, kept in ((b"/a", True), (b"/b", False)):
        head = proto.next_event()
        _expect(
            isinstance(head, RequestHead) and head.target == target,
            f"HTTP/1.0 keep-alive: the request for {target!r}, not {head!r}",
        )
        _expect(isinstance(proto.next_event(), EndOfMessage), "HTTP/1.0: a GET ends at once")
        answer = proto.send_response(200, b"OK", [(b"Content-Length", b"2")], b"ok")
        said = b"\r\nConnection: keep-alive\r\n" in answer
        _expect(said is kept, f"HTTP/1.0 answer for {target!r}: keep-alive said {said}")
        _expect(
            proto.start_next_cycle() is kept,
            f"HTTP/1.0 answer for {target!r}: the connection {'stays' if kept else 'closes'}",
        )


def _check_client(backend: ProtocolBackend) -> None:
    proto = backend.client(ProtocolLimits())
    proto.send_request(b"GET", b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    )
    first = proto.next_event()
    _expect(isinstance(first, ResponseHead) and first.status == 100, "client: a 1xx head")
    second = proto.next_event()
    _expect(isinstance(second, ResponseHead) and second.status == 200, "client: the final head")
    _expect(proto.next_event() == b"hi", "client: the body")
    _expect(isinstance(proto.next_event(), EndOfMessage), "client: the end")
    _expect(proto.start_next_cycle(), "client: reusable after a complete exchange")
    proto = backend.client(ProtocolLimits())
    proto.send_request(b"GET", b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
    try:
        proto.next_event()
    except ProtocolError as exc:
        _expect(exc.status == 502, f"client: a malformed response is a 502, not {exc.status}")
    else:
        raise AssertionError("client: a malformed response header was accepted")
    proto = backend.client(ProtocolLimits())
    proto.send_request(b"HEAD", b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    _expect(isinstance(proto.next_event(), ResponseHead), "client: a HEAD answer's head")
    _expect(isinstance(proto.next_event(), EndOfMessage), "client: a HEAD answer has no body")
    proto = backend.client(ProtocolLimits())
    proto.send_request(b"GET", b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
    proto.receive_data(b"")
    events: list[Any] = []
    try:
        while (event := proto.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, EndOfMessage) or event is PAUSED:
                raise AssertionError("client: a truncated body ended normally")
            if len(events) > 10:
                raise AssertionError("client: a truncated body never reported")
    except ProtocolError:
        pass
