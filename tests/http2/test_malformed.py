"""Malformed field blocks (RFC 9113 §8.1.1, §8.2, §8.3), checked by rttp's own
check_stream_fields with h2's inbound validation off: each is a stream error. Its
stream is reset with PROTOCOL_ERROR and the same connection goes on serving (or, on
the client, the one request fails and says why); a flood of them is bounded by
max_resets like any other reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

import rttp

pytest.importorskip("h2")
import h2.config
import h2.connection
import h2.events

from .peer import Peer, headers_frame

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]
PROTOCOL_ERROR = 0x1
RST_STREAM = 0x3


async def ok(request: rttp.Request) -> str:
    return "ok"


async def reset_code(peer: Peer, stream_id: int) -> int:
    """The error code of the RST_STREAM the server sent for ``stream_id``."""
    with trio.fail_after(10):
        while True:
            for frame in peer.raw_frames:
                if frame.type == RST_STREAM and frame.stream_id == stream_id:
                    return int(frame.error_code)  # type: ignore[attr-defined]
            assert not peer.closed, "the server closed the connection"
            await peer.receive()


MALFORMED_REQUESTS = {
    "host other than :authority": ((b"host", b"other.example"),),
    "upper-case name": ((b"X-Upper", b"1"),),
    "connection-specific field": ((b"connection", b"keep-alive"),),
    "transfer-encoding": ((b"transfer-encoding", b"chunked"),),
    "te other than trailers": ((b"te", b"gzip"),),
    "value with leading space": ((b"x-a", b" padded"),),
    "value with trailing tab": ((b"x-a", b"padded\t"),),
    "NUL in a value": ((b"x-a", b"a\x00b"),),
    "control byte in a value": ((b"x-a", b"a\x01b"),),
    "colon in a name": ((b"x:a", b"1"),),
    "empty name": ((b"", b"x"),),
    ":protocol without CONNECT": ((b":protocol", b"websocket"),),
    "response pseudo-field": ((b":status", b"200"),),
    "unknown pseudo-field": ((b":color", b"red"),),
    "pseudo-field after a regular one": ((b"x-a", b"1"), (b":path", b"/again")),
    "repeated pseudo-field": ((b":path", b"/again"),),
}


@pytest.mark.parametrize("extra", MALFORMED_REQUESTS.values(), ids=MALFORMED_REQUESTS.keys())
async def test_a_malformed_request_resets_only_its_stream(
    serve: Serve, extra: tuple[tuple[bytes, bytes], ...]
) -> None:
    _, url = await serve(ok, http2=True, access_log=False)
    peer = await Peer.open(url)
    assert await peer.response(peer.request("/")) == (200, b"ok")  # stream 1
    await peer.send_raw(headers_frame(3, "/", extra=extra))  # (past h2's own checks)
    peer.conn.highest_outbound_stream_id = 3  # h2's next stream is 5
    assert await reset_code(peer, 3) == PROTOCOL_ERROR
    assert await peer.response(peer.request("/")) == (200, b"ok")  # the connection goes on
    await peer.aclose()


async def test_well_formed_odd_fields_are_served(serve: Serve) -> None:
    """What the rules allow is not refused: an empty value, HTAB and obs-text inside
    a value, te: trailers, a cookie in pieces (joined by h2)."""
    seen: list[rttp.Request] = []

    async def keep(request: rttp.Request) -> str:
        seen.append(request)
        return "ok"

    _, url = await serve(keep, http2=True, access_log=False)
    peer = await Peer.open(url)
    extra = [
        (b"x-empty", b""),
        (b"x-inner", b"a\tb \xe9"),
        (b"te", b"trailers"),
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2"),
    ]
    assert await peer.response(peer.request("/", extra=extra)) == (200, b"ok")
    assert seen[0].headers["x-inner"] == "a\tb \xe9"
    assert seen[0].headers["x-empty"] == ""
    assert seen[0].headers["cookie"] == "a=1; b=2"
    await peer.aclose()


async def test_a_flood_of_malformed_requests_ends_the_connection(serve: Serve) -> None:
    _, url = await serve(ok, http2=True, access_log=False, http2_max_concurrent_streams=100)
    peer = await Peer.open(url)
    for stream_id in range(1, 1000, 2):  # past max_resets (a burst of 200)
        await peer.send_raw(headers_frame(stream_id, "/", extra=((b"X-Bad", b"1"),)))
        if peer.closed:
            break
    with trio.fail_after(10):
        while not peer.closed:
            await peer.receive()
    codes = [f.error_code for f in peer.raw_frames if f.type == 0x7]  # type: ignore[attr-defined]
    assert 0xB in codes  # ENHANCE_YOUR_CALM
    await peer.aclose()
    fresh = await Peer.open(url)  # and the next client is served
    assert await fresh.response(fresh.request("/")) == (200, b"ok")
    await fresh.aclose()


async def answering_server(
    listener: trio.SocketListener,
    first: list[tuple[bytes, bytes]],
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """An HTTP/2 server (h2, by hand, its own checks off) that answers the first
    request with the field block ``first`` and the others with a plain 200."""
    task_status.started()
    stream = await listener.accept()
    config = h2.config.H2Configuration(
        client_side=False, validate_outbound_headers=False, normalize_outbound_headers=False
    )
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    await stream.send_all(conn.data_to_send())
    answered = 0
    async with stream:
        while data := await stream.receive_some(65536):
            for event in conn.receive_data(data):
                if type(event) is h2.events.RequestReceived:
                    fields = first if not answered else [(b":status", b"200")]
                    answered += 1
                    conn.send_headers(event.stream_id, fields)
                    conn.send_data(event.stream_id, b"answered", end_stream=True)
            await stream.send_all(conn.data_to_send())


MALFORMED_RESPONSES = {
    "no :status": [(b"content-type", b"text/plain")],
    "status not three digits": [(b":status", b"20")],
    "request pseudo-field": [(b":status", b"200"), (b":path", b"/")],
    "upper-case name": [(b":status", b"200"), (b"X-Upper", b"1")],
    "connection-specific field": [(b":status", b"200"), (b"keep-alive", b"5")],
    "CR in a value": [(b":status", b"200"), (b"x-a", b"a\rb")],
}


@pytest.mark.parametrize("first", MALFORMED_RESPONSES.values(), ids=MALFORMED_RESPONSES.keys())
async def test_a_malformed_response_fails_its_request_and_says_why(
    nursery: trio.Nursery, first: list[tuple[bytes, bytes]]
) -> None:
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    async with listener:
        await nursery.start(answering_server, listener, first)
        url = f"http://127.0.0.1:{listener.socket.getsockname()[1]}/"
        async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
            with pytest.raises(rttp.errors.TransportError) as caught:
                await client.get(url)
            assert "malformed" in str(caught.value)
            assert (await client.get(url)).text == "answered"  # the connection goes on
