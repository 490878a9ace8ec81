"""``check_multiplexed_backend``: the suite every HTTP/2 protocol backend runs, built-in
or third-party.

It pairs the backend's client and server halves without I/O (the sans-IO contract of
:class:`rttp.plugin.MultiplexedProtocol`), passing the bytes each queues to the other:
requests and answers on several streams at once, bodies larger than a window
(sent only as :meth:`~rttp.plugin.MultiplexedProtocol.send_window` allows, resumed
when the reader acknowledges), trailers, resets both ways, a graceful GOAWAY whose
streams still finish, and the server's limits against floods, rapid resets and
oversized header lists. A failure raises AssertionError naming the case.
"""

from __future__ import annotations

import struct
from typing import Any

from ..errors import RemoteProtocolError
from ..plugin import (
    NEED_DATA,
    EndOfMessage,
    GoAway,
    MultiplexedBackend,
    MultiplexedClientProtocol,
    MultiplexedServerProtocol,
    MultiplexLimits,
    ProtocolLimits,
    RequestHead,
    ResponseHead,
    StreamData,
    StreamReset,
)

__all__ = ["check_multiplexed_backend"]

ENHANCE_YOUR_CALM = 0xB
_PING, _SETTINGS = 0x6, 0x4


def _frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One raw HTTP/2 frame (RFC 9113 §4.1), for what a well-behaved peer never sends."""
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream_id)
        + payload
    )


def _expect(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


class _Pair:
    """A client and a server half, connected: :meth:`flow` moves bytes until both
    have nothing more to say, collecting each side's events."""

    def __init__(
        self, backend: MultiplexedBackend, limits: ProtocolLimits, mux: MultiplexLimits
    ) -> None:
        self.client: MultiplexedClientProtocol = backend.client(limits, mux)
        self.server: MultiplexedServerProtocol = backend.server(limits, mux)
        self.client.initiate()
        self.server.initiate()
        self.at_client: list[Any] = []
        self.at_server: list[Any] = []
        self.flow()

    def flow(self) -> None:
        for _ in range(1000):
            to_server = self.client.data_to_send()
            to_client = self.server.data_to_send()
            if not to_server and not to_client:
                return
            if to_server:
                self.server.receive_data(to_server)
                self.at_server += _drain(self.server)
            if to_client:
                self.client.receive_data(to_client)
                self.at_client += _drain(self.client)
        raise AssertionError("the two halves kept talking for 1000 rounds")

    def take(self, side: list[Any], kind: type, stream_id: int) -> list[Any]:
        found = [e for e in side if type(e) is kind and getattr(e, "stream_id", 0) == stream_id]
        for event in found:
            side.remove(event)
        return found

    def body(self, side: list[Any], stream_id: int, proto: Any) -> bytes:
        """The stream's body bytes received so far (acknowledged, as a reader does)."""
        data = b"".join(e.data for e in self.take(side, StreamData, stream_id))
        if data:
            proto.acknowledge(stream_id, len(data))
        return data


def _drain(proto: Any) -> list[Any]:
    events = []
    while (event := proto.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def _send_all(pair: _Pair, proto: Any, stream_id: int, data: bytes, reader: Any) -> bytes:
    """Send ``data`` on a stream within the windows, the other side reading as it comes;
    the bytes it received."""
    received = b""
    side = pair.at_server if reader is pair.server else pair.at_client
    for _ in range(10000):
        if not data:
            proto.send_data(stream_id, b"", end_stream=True)
            pair.flow()
            return received + pair.body(side, stream_id, reader)
        window = proto.send_window(stream_id)
        if window > 0:
            proto.send_data(stream_id, data[:window])
            data = data[window:]
        pair.flow()
        received += pair.body(side, stream_id, reader)
        pair.flow()
    raise AssertionError("a body never got through the flow-control windows")


def check_multiplexed_backend(backend: MultiplexedBackend) -> None:
    """Run the suite against ``backend``; AssertionError names the first failing case."""
    limits = ProtocolLimits(max_header_size=8192)
    mux = MultiplexLimits(stream_window=65535, connection_window=65535 * 2)
    pair = _Pair(backend, limits, mux)
    client, server = pair.client, pair.server
    # two requests at once, a GET and a POST whose body passes every window
    get = client.send_request(b"GET", b"https", b"/a?b=c", [(b"Host", b"example.org")], True)
    post = client.send_request(b"POST", b"https", b"/up", [(b"host", b"example.org")], False)
    _expect(post > get, "stream ids must rise in the order streams open")
    pair.flow()
    heads = {e.stream_id: e for e in pair.at_server if type(e) is RequestHead}
    _expect(set(heads) == {get, post}, f"the server saw streams {sorted(heads)}")
    head = heads[get]
    _expect(head.method == b"GET" and head.target == b"/a?b=c", "method and target")
    _expect(head.http_version == b"2", f"http_version {head.http_version!r}, not b'2'")
    _expect((b"host", b"example.org") in head.headers, ":authority arrives as Host")
    _expect(not head.chunked, "a head that ended its stream announces no body")
    _expect(pair.take(pair.at_server, EndOfMessage, get), "the GET's end was not reported")
    _expect(heads[post].chunked, "a head that did not end its stream announces a body")
    body = b"p" * 200_000
    got = _send_all(pair, client, post, body, server)
    _expect(got == body, f"the POST body arrived as {len(got)} bytes of {len(body)}")
    _expect(pair.take(pair.at_server, EndOfMessage, post), "the POST's end was not reported")
    # answers: a large body, then trailers
    server.send_headers(post, 200, [(b"Content-Type", b"text/plain")])
    answer = b"r" * 150_000
    got = _send_all(pair, server, post, answer, client)
    responses = pair.take(pair.at_client, ResponseHead, post)
    _expect(len(responses) == 1 and responses[0].status == 200, "the POST's answer head")
    _expect(responses[0].http_version == b"2", "a response's http_version is b'2'")
    _expect(got == answer, f"the answer arrived as {len(got)} bytes of {len(answer)}")
    server.send_headers(get, 200, [])
    server.send_data(get, b"ok")
    server.send_trailers(get, [(b"x-sum", b"1")])
    pair.flow()
    ends = pair.take(pair.at_client, EndOfMessage, get)
    _expect(ends and (b"x-sum", b"1") in ends[0].trailers, "trailers end the answer")
    # a reset from the client reaches the server
    gone = client.send_request(b"GET", b"https", b"/gone", [(b"host", b"x")], True)
    pair.flow()
    client.reset_stream(gone, 0x8)
    pair.flow()
    _expect(pair.take(pair.at_server, StreamReset, gone), "the client's reset was not seen")
    # a graceful GOAWAY: the stream it covers still finishes
    last = client.send_request(b"GET", b"https", b"/last", [(b"host", b"x")], True)
    pair.flow()
    server.goaway(0)
    server.send_headers(last, 200, [])
    server.send_data(last, b"done", end_stream=True)
    pair.flow()
    goaways = [e for e in pair.at_client if type(e) is GoAway]
    _expect(goaways and goaways[0].last_stream_id == last, "GOAWAY names the last stream")
    _expect(pair.body(pair.at_client, last, client) == b"done", "a GOAWAY's stream finishes")
    _check_limits(backend, limits, mux)


def _check_limits(
    backend: MultiplexedBackend, limits: ProtocolLimits, mux: MultiplexLimits
) -> None:
    small = MultiplexLimits(
        max_control_frames=50, control_refill=0.0, max_resets=20, reset_refill=0.0
    )
    cases = {
        "PING flood": lambda p: p.server.receive_data(_frame(_PING, 0, 0, b"12345678") * 100),
        "SETTINGS flood": lambda p: p.server.receive_data(_frame(_SETTINGS, 0, 0) * 100),
        "rapid reset": _rapid_reset,
    }
    for case, attack in cases.items():
        pair = _Pair(backend, limits, small)
        try:
            attack(pair)
        except RemoteProtocolError:
            out = pair.server.data_to_send()
            _expect(
                struct.pack(">I", ENHANCE_YOUR_CALM) in out,
                f"{case}: the GOAWAY does not say ENHANCE_YOUR_CALM",
            )
        else:
            raise AssertionError(f"{case}: accepted past its budget")
    # a header list past max_header_size ends the connection
    pair = _Pair(backend, limits, mux)
    pair.client.send_request(
        b"GET", b"https", b"/", [(b"host", b"x"), (b"x-big", b"b" * 9000)], True
    )
    try:
        pair.flow()
    except RemoteProtocolError:
        pass
    else:
        raise AssertionError("a header list past max_header_size was accepted")


def _rapid_reset(pair: _Pair) -> None:
    for _ in range(40):
        stream_id = pair.client.send_request(b"GET", b"https", b"/", [(b"host", b"x")], True)
        pair.client.reset_stream(stream_id, 0x8)
        pair.flow()
