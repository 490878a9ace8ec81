"""The known HTTP/2 attacks against the server, each crossing its limit: the connection
ends as it must (a GOAWAY with the right code, or refused streams) and the next client
is served."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import trio

import rttp

pytest.importorskip("h2")

import h2.events
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    SettingsFrame,
)

from .peer import Peer, headers_frame

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]
ENHANCE_YOUR_CALM = 0xB
PROTOCOL_ERROR = 0x1
REFUSED_STREAM = 0x7


async def ok(request: rttp.Request) -> str:
    return "ok"


async def next_client_is_served(url: rttp.URL) -> None:
    peer = await Peer.open(url)
    assert await peer.response(peer.request("/")) == (200, b"ok")
    await peer.aclose()


async def ends_with(peer: Peer, code: int) -> None:
    """The server sent a GOAWAY with ``code`` and closed the connection."""
    with trio.fail_after(10):
        while not peer.closed:
            await peer.receive()
    codes = [f.error_code for f in peer.raw_frames if f.type == 0x7]
    assert code in codes, f"GOAWAY codes {codes}, expected {code}"
    await peer.aclose()


async def test_rapid_reset_ends_the_connection(serve: Serve) -> None:
    # CVE-2023-44487: streams opened and reset at once, in a loop
    _, url = await serve(ok, http2=True, access_log=False)
    peer = await Peer.open(url)
    for _ in range(300):
        stream_id = peer.request("/")
        peer.conn.reset_stream(stream_id)
        await peer.send_raw(b"")
        if peer.closed:
            break
    await ends_with(peer, ENHANCE_YOUR_CALM)
    await next_client_is_served(url)


@pytest.mark.parametrize(
    "frame",
    [
        PingFrame(0, opaque_data=b"12345678"),
        SettingsFrame(0),
        PriorityFrame(1, depends_on=0, stream_weight=16),
    ],
    ids=["ping", "settings", "priority"],
)
async def test_a_control_frame_flood_ends_the_connection(serve: Serve, frame: object) -> None:
    # CVE-2019-9512 (PING), -9515 (SETTINGS), -9513 (PRIORITY): frames that cost work
    # and carry no request
    _, url = await serve(ok, http2=True, access_log=False)
    peer = await Peer.open(url)
    flood = frame.serialize() * 1500  # type: ignore[attr-defined]
    await peer.send_raw(flood)
    await ends_with(peer, ENHANCE_YOUR_CALM)
    await next_client_is_served(url)


async def test_an_empty_data_flood_ends_the_connection(serve: Serve) -> None:
    # CVE-2019-9518: empty DATA frames on an open stream
    async def reader(request: rttp.Request) -> str:
        await request.read()
        return "read"

    _, url = await serve(reader, http2=True, access_log=False)
    peer = await Peer.open(url)
    stream_id = peer.request("/upload", end=False)
    await peer.flush()
    await peer.send_raw(DataFrame(stream_id, data=b"").serialize() * 1500)
    await ends_with(peer, ENHANCE_YOUR_CALM)


async def test_continuation_flood_ends_the_connection(serve: Serve) -> None:
    # CVE-2024-27316 class: a header block that never ends
    _, url = await serve(ok, http2=True, access_log=False)
    peer = await Peer.open(url)
    await peer.send_raw(HeadersFrame(1, data=b"\x82").serialize())  # no END_HEADERS
    piece = ContinuationFrame(1, data=b"\x40\x01a\x01b" * 500).serialize()
    for _ in range(100):
        await peer.send_raw(piece)
        if peer.closed:
            break
    await ends_with(peer, PROTOCOL_ERROR)
    await next_client_is_served(url)


async def test_an_hpack_bomb_ends_the_connection(serve: Serve) -> None:
    # one header whose decoded list passes max_header_size (indexed, then repeated by
    # a one-byte reference: tiny on the wire, huge decoded)
    _, url = await serve(ok, http2=True, access_log=False, max_header_size=8192)
    peer = await Peer.open(url)
    stream_id = peer.request("/", extra=[(b"x-bomb", b"b" * 4000)])
    await peer.flush()
    assert await peer.response(stream_id) == (200, b"ok")
    index = b"\xbe"  # the dynamic table's newest entry (62): x-bomb
    block = b"\x82\x86\x84\x41\x09localhost" + index * 50
    await peer.send_raw(
        HeadersFrame(3, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize()
    )
    with trio.fail_after(10):
        while not peer.closed:
            await peer.receive()
    assert not any(type(e) is h2.events.ResponseReceived and e.stream_id == 3 for e in peer.events)
    await peer.aclose()
    await next_client_is_served(url)


async def test_more_streams_than_allowed_are_not_served(serve: Serve) -> None:
    gate = trio.Event()

    async def held(request: rttp.Request) -> str:
        await gate.wait()
        return "held"

    _, url = await serve(held, http2=True, access_log=False, http2_max_concurrent_streams=5)
    peer = await Peer.open(url)
    # past the announced limit (h2's count), the connection ends
    for n in range(6):
        await peer.send_raw(headers_frame(2 * n + 1, "/"))
    await ends_with(peer, PROTOCOL_ERROR)
    gate.set()
    await next_client_is_served_by(url, "held")


async def next_client_is_served_by(url: rttp.URL, text: str) -> None:
    peer = await Peer.open(url)
    assert await peer.response(peer.request("/")) == (200, text.encode())
    await peer.aclose()


async def test_reset_streams_count_until_their_handlers_return(serve: Serve) -> None:
    # a stream the client reset is closed for h2, but its handler may still run: it
    # counts against max_concurrent_streams until it returns
    gate = trio.Event()
    entered = 0

    async def stubborn(request: rttp.Request) -> str:
        nonlocal entered
        entered += 1
        with trio.CancelScope(shield=True):
            await gate.wait()
        return "done"

    _, url = await serve(stubborn, http2=True, access_log=False, http2_max_concurrent_streams=3)
    peer = await Peer.open(url)
    for _ in range(3):
        peer.conn.reset_stream(peer.request("/"))
    await peer.flush()
    extra = peer.request("/")
    await peer.flush()
    assert await peer.refused(extra) == REFUSED_STREAM
    assert entered == 3
    gate.set()
    await peer.aclose()


async def test_a_stream_id_going_backwards_ends_the_connection(serve: Serve) -> None:
    _, url = await serve(ok, http2=True, access_log=False)
    peer = await Peer.open(url)
    await peer.send_raw(headers_frame(5, "/"))
    await peer.send_raw(headers_frame(3, "/"))
    await ends_with(peer, PROTOCOL_ERROR)
    await next_client_is_served(url)


async def test_a_request_rttp_refuses_resets_only_its_stream(serve: Serve) -> None:
    _, url = await serve(ok, http2=True, access_log=False)
    peer = await Peer.open(url)
    bad = peer.request("/", extra=[(b"expect", b"something-else")])  # HTTP/1.1's 417
    await peer.flush()
    reset = await peer.until(h2.events.StreamReset, bad)
    assert reset.error_code == PROTOCOL_ERROR
    assert await peer.response(peer.request("/")) == (200, b"ok")
    await peer.aclose()
