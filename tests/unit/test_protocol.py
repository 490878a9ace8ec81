"""The protocol backend, without I/O: hostile input gets the right status and message.

Every registered backend runs the same cases (h11 today; an accelerated one later).
"""

from __future__ import annotations

import pytest

import rttp
from rttp.errors import LocalProtocolError, ProtocolError, TooLarge
from rttp.plugin import (
    CLOSED,
    NEED_DATA,
    PAUSED,
    EndOfMessage,
    ProtocolLimits,
    RequestHead,
    ResponseHead,
)
from rttp.testing import HOSTILE_REQUESTS, check_protocol_backend, parse_requests

BACKENDS = sorted(rttp.get_plugins().backends)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return rttp.get_plugins().backend(request.param)


parse = parse_requests
OK = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
HOSTILE = HOSTILE_REQUESTS


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("step", [None, 1], ids=["whole", "byte-at-a-time"])
def test_hostile_input_is_refused(backend, case, step):
    data, status, words = HOSTILE[case]
    with pytest.raises(ProtocolError) as info:
        parse(backend, data, step=step, pipelined=True)
    assert info.value.status == status
    assert words.lower() in str(info.value).lower()


def test_valid_request_parses(backend):
    events = parse(backend, OK)
    assert isinstance(events[0], RequestHead)
    assert events[0].method == b"GET"
    assert events[0].keep_alive
    assert isinstance(events[1], EndOfMessage)


def test_fold_like_bytes_in_a_body_are_not_obs_fold(backend):
    body = b"line\n more\n\tstuff"
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body) + OK
    events = parse(backend, data, step=5)
    assert b"".join(e for e in events if isinstance(e, bytes)) == body


@pytest.mark.parametrize("step", [None, 1, 1000])
def test_request_line_limit_is_414(backend, step):
    data = b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    with pytest.raises(TooLarge) as info:
        parse(backend, data, ProtocolLimits(max_request_line=200, max_header_size=4096), step=step)
    assert info.value.status == 414
    assert "max_request_line=200" in str(info.value)


@pytest.mark.parametrize("step", [None, 1])
def test_header_size_limit_is_431(backend, step):
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n"
    with pytest.raises(TooLarge) as info:
        parse(backend, data, ProtocolLimits(max_header_size=4096), step=step)
    assert info.value.status == 431
    assert "max_header_size=4096" in str(info.value)


def test_header_count_limit_is_431(backend):
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(20))
    with pytest.raises(TooLarge) as info:
        parse(
            backend,
            b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n",
            ProtocolLimits(max_header_count=10),
        )
    assert info.value.status == 431
    assert "max_header_count=10" in str(info.value)


def test_trailer_limit(backend):
    trailer = b"X-T: " + b"t" * 3000 + b"\r\n"
    data = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        + trailer * 3
        + b"\r\n"
    )
    with pytest.raises(TooLarge) as info:
        parse(backend, data, ProtocolLimits(max_header_size=4096))
    assert info.value.status == 431


def test_pipelined_requests_come_one_at_a_time(backend):
    proto = backend.server(ProtocolLimits())
    proto.receive_data(OK * 3)
    assert isinstance(proto.next_event(), RequestHead)
    assert isinstance(proto.next_event(), EndOfMessage)
    assert proto.next_event() is PAUSED  # the next request waits for our answer
    proto.send_response(200, b"OK", [(b"Content-Length", b"0")], b"")
    assert proto.start_next_cycle()
    assert isinstance(proto.next_event(), RequestHead)


def test_connection_close_and_http10_keep_alive(backend):
    head = parse(backend, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")[0]
    assert not head.keep_alive
    head = parse(backend, b"GET / HTTP/1.0\r\n\r\n")[0]
    assert not head.keep_alive
    head = parse(backend, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")[0]
    assert head.keep_alive


def test_the_core_refuses_injection_before_any_backend_writes():
    """Backends receive validated fields; the one check every backend relies on."""
    from rttp._proto._validate import check_headers, check_reason

    for bad in (
        [(b"X-A", b"a\r\nInjected: yes")],
        [(b"X-Evil", b"a\nSet-Cookie: pwned=1")],  # a bare LF, no CR
        [(b"X-A", b"a\rb")],  # a bare CR
        [(b"X A", b"v")],
        [(b"X-A", b"a\x00b")],
    ):
        with pytest.raises(LocalProtocolError):
            check_headers(bad)
    with pytest.raises(LocalProtocolError):
        check_reason(b"OK\r\nSet-Cookie: x=1")
    with pytest.raises(LocalProtocolError):
        check_reason(b"OK\nSet-Cookie: x=1")


def test_remembered_fields_never_let_a_bad_value_through():
    """check_headers remembers names and short values it has checked; a known name with
    a new, bad value is still refused, and credentials are never remembered."""
    from rttp._proto import _validate
    from rttp._proto._validate import HAS_CONTENT_LENGTH, HAS_DATE, check_headers

    _validate._known_values.clear()  # other tests may have filled it (it is bounded)
    good = [(b"X-Cached", b"fine"), (b"Date", b"x"), (b"Authorization", b"Bearer s3cret")]
    assert check_headers(good) == HAS_DATE
    assert check_headers(good) == HAS_DATE  # the second time from the caches
    assert b"fine" in _validate._known_values
    assert b"Bearer s3cret" not in _validate._known_values
    with pytest.raises(LocalProtocolError, match="X-Cached"):
        check_headers([(b"X-Cached", b"fine\r\nInjected: yes")])
    assert check_headers([(b"content-length", b"3")]) == HAS_CONTENT_LENGTH


def _client_exchange(backend, method: bytes, response: bytes):
    proto = backend.client(ProtocolLimits())
    proto.send_request(method, b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(response)
    events = []
    while True:
        event = proto.next_event()
        if event is NEED_DATA:
            proto.receive_data(b"")
            continue
        events.append(event)
        if isinstance(event, EndOfMessage) or event is CLOSED:
            return proto, events


def test_client_head_response_has_no_body(backend):
    proto, events = _client_exchange(
        backend, b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    )
    assert isinstance(events[0], ResponseHead)
    assert isinstance(events[1], EndOfMessage)
    assert proto.start_next_cycle()  # and the connection carries the next request


def test_client_body_ended_by_the_connection(backend):
    proto, events = _client_exchange(
        backend, b"GET", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"
    )
    assert b"".join(e for e in events if isinstance(e, bytes)) == b"until the end"
    assert isinstance(events[-1], EndOfMessage)
    assert not proto.start_next_cycle()


def test_client_truncated_body_is_an_error(backend):
    proto = backend.client(ProtocolLimits())
    proto.send_request(b"GET", b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")

    def drain():
        while True:
            event = proto.next_event()
            if event is NEED_DATA:
                proto.receive_data(b"")
            elif isinstance(event, EndOfMessage):
                raise AssertionError("a truncated body was accepted")

    with pytest.raises(ProtocolError):
        drain()


@pytest.mark.parametrize("step", [None, 1, 7], ids=["whole", "byte-at-a-time", "7-byte-reads"])
def test_http_version_of_each_pipelined_request(backend, step):
    """The version comes out right whether a request starts a read, follows another in
    the same read, or is split across reads (the httptools backend reads it off the bytes
    when it can)."""
    data = (
        b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /c?x=HTTP/1.0 HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /a HTTP/1.0\r\n\r\n"  # last: h11 reads nothing after an HTTP/1.0 request
    )
    proto = backend.server(ProtocolLimits())
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    versions = []
    for chunk in chunks:
        proto.receive_data(chunk)
        while True:
            event = proto.next_event()
            if event is NEED_DATA:
                break
            if event is PAUSED:
                proto.send_response(200, b"OK", [(b"Content-Length", b"0")], b"")
                if not proto.start_next_cycle():  # after the HTTP/1.0 one
                    break
                continue
            if isinstance(event, RequestHead):
                versions.append((event.target, event.http_version))
    assert versions == [(b"/b", b"1.1"), (b"/c?x=HTTP/1.0", b"1.1"), (b"/a", b"1.0")]


@pytest.mark.parametrize("version", [b"1.0", b"1.1"])
def test_client_reports_the_response_version(backend, version):
    proto = backend.client(ProtocolLimits())
    proto.send_request(b"GET", b"/", [(b"Host", b"a")])
    proto.send_end()
    proto.receive_data(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/" + version + b" 200 OK\r\n")
    proto.receive_data(b"Content-Length: 0\r\n\r\n")
    assert proto.next_event().http_version == b"1.1"
    assert proto.next_event().http_version == version


def test_every_backend_passes_the_conformance_kit(backend):
    check_protocol_backend(backend)


def test_the_kit_fails_a_lenient_backend():
    """A backend that lets a smuggling request through must fail the kit (the mutant)."""
    from rttp_builtin.backends.h11_backend import H11Backend, H11Server

    class Lenient(H11Server):
        def next_event(self):
            try:
                return super().next_event()
            except ProtocolError as exc:
                if "smuggling" in str(exc):
                    return NEED_DATA
                raise

    class LenientBackend(H11Backend):
        name = "lenient"

        def server(self, limits):
            return Lenient(limits)

    with pytest.raises(AssertionError, match="Content-Length with Transfer-Encoding"):
        check_protocol_backend(LenientBackend())


def _reachable_bytes(root: object, depth: int = 4) -> list[bytes]:
    """Every bytes object reachable from ``root`` (through containers and objects, a
    few levels deep), for checking what a protocol object keeps alive."""
    import gc

    found: list[bytes] = []
    seen: set[int] = set()
    frontier = [root]
    for _ in range(depth):
        following = []
        for obj in frontier:
            for ref in gc.get_referents(obj):
                if id(ref) in seen or isinstance(ref, type):
                    continue
                seen.add(id(ref))
                if isinstance(ref, (bytes, bytearray)):
                    found.append(bytes(ref))
                elif not isinstance(ref, (str, int, float)):
                    following.append(ref)
        frontier = following
    return found


def test_an_idle_connection_keeps_nothing_of_its_last_request(backend):
    """Between requests a connection holds no part of the last one (its fields, its
    target, the read it came in): a browser's kilobyte of headers, or a 64 KiB read,
    would otherwise be memory per idle keep-alive connection."""
    proto = backend.server(ProtocolLimits())
    marker = b"m" * 3000
    proto.receive_data(
        b"POST /" + marker + b" HTTP/1.1\r\nHost: a\r\nX-Big: " + marker + b"\r\n"
        b"Content-Length: 3\r\n\r\nabc"
    )
    events = []
    while (event := proto.next_event()) is not NEED_DATA and event is not PAUSED:
        events.append(event)
        if isinstance(event, EndOfMessage):
            break
    proto.send_response(200, b"OK", [(b"Content-Length", b"0")], b"")
    assert proto.start_next_cycle()
    del events, event
    kept = [b for b in _reachable_bytes(proto) if marker[:100] in b]
    assert kept == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        OK,
        b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
    ],
    ids=["plain", "head", "close", "http10-keep-alive", "http10"],
)
@pytest.mark.parametrize("status", [200, 204, 304, 404])
def test_send_plain_frames_as_send_response_does(backend, request_bytes, status):
    """send_plain (the core's shortcut for a whole answer with one true Content-Length)
    writes what send_response writes, whatever the request asked: HEAD drops the body,
    a closing or HTTP/1.0 exchange says so, a 204 carries nothing."""
    body = b"" if status == 204 else b"hello"
    fields = [(b"Content-Type", b"text/plain")]
    if status != 204:
        fields.append((b"Content-Length", b"%d" % len(body)))
    written = []
    for method in ("send_plain", "send_response"):
        proto = backend.server(ProtocolLimits())
        proto.receive_data(request_bytes)
        assert isinstance(proto.next_event(), RequestHead)
        assert isinstance(proto.next_event(), EndOfMessage)
        try:
            written.append(getattr(proto, method)(status, b"X", list(fields), body))
        except LocalProtocolError as exc:  # (h11 will not write a body to a HEAD)
            written.append(str(exc))
        written.append(proto.start_next_cycle())
    assert written[0] == written[2]  # the same bytes (or the same refusal)
    if isinstance(written[0], str):
        return
    assert written[1] == written[3]  # and the same verdict on the connection
    head, _, sent = written[0].partition(b"\r\n\r\n")
    assert sent == (b"" if b"HEAD" in request_bytes or status in (204, 304) else body)
    closes = b"close" in request_bytes or request_bytes.endswith(b"HTTP/1.0\r\n\r\n")
    assert (b"Connection: close" in head) == closes
    assert written[1] is not closes  # (another request may follow unless it closes)


def test_an_unfinished_head_of_tiny_fields_is_refused_by_its_count():
    # httptools hands each field over as a Python tuple (about 130 bytes of objects for
    # a 6-byte line): an unfinished head may not pile up more than max_header_count of
    # them while it waits for its end (h11 keeps the unparsed bytes, bounded as bytes)
    backend = rttp.get_plugins().backend("httptools")
    proto = backend.server(ProtocolLimits(max_header_count=100))
    proto.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 99)
    assert proto.next_event() is NEED_DATA  # 100 fields: at the limit, the head unfinished
    proto.receive_data(b"X: y\r\n" * 2)
    with pytest.raises(TooLarge, match="101 header fields, more than max_header_count=100"):
        proto.next_event()  # refused at the 101st, its end still to come
