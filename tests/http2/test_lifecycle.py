"""An HTTP/2 stream's life on the server: the client's reset, per-stream limits and
timeouts that leave the other streams alone, GOAWAY at shutdown and when idle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

import rttp

pytest.importorskip("h2")

import h2.events

from .peer import Peer, headers_frame

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]
REFUSED_STREAM = 7


async def ok(request: rttp.Request) -> str:
    return "ok"


async def test_a_reset_stream_cancels_its_handler_and_the_connection_goes_on(
    serve: Serve,
) -> None:
    started = trio.Event()
    cancelled = trio.Event()

    async def handler(request: rttp.Request) -> str:
        if request.path == "/wait":
            started.set()
            try:
                await trio.sleep_forever()
            except trio.Cancelled:
                cancelled.set()
                raise
        return "next"

    _, url = await serve(handler, http2=True)
    peer = await Peer.open(url)
    waiting = peer.request("/wait")
    await peer.flush()
    with trio.fail_after(5):
        await started.wait()
    peer.conn.reset_stream(waiting)
    await peer.flush()
    with trio.fail_after(5):
        await cancelled.wait()
    assert await peer.response(peer.request("/other")) == (200, b"next")
    await peer.aclose()


async def test_a_refused_head_is_answered_on_its_stream_only(serve: Serve) -> None:
    _, url = await serve(ok, http2=True, max_body_size=1000)
    peer = await Peer.open(url)
    big = peer.request("/up", end=False, extra=[(b"content-length", b"5000")])
    await peer.flush()
    status, body = await peer.response(big)
    assert status == 413
    assert b"max_body_size=1000" in body
    assert await peer.response(peer.request("/fine")) == (200, b"ok")
    await peer.aclose()


async def test_handler_timeout_is_a_503_on_that_stream(serve: Serve) -> None:
    async def handler(request: rttp.Request) -> str:
        if request.path == "/slow":
            await trio.sleep_forever()
        return "quick"

    _, url = await serve(handler, http2=True, handler_timeout=0.3)
    peer = await Peer.open(url)
    slow = peer.request("/slow")
    quick = peer.request("/quick")
    await peer.flush()
    assert await peer.response(quick) == (200, b"quick")
    status, body = await peer.response(slow)
    assert status == 503
    assert b"handler_timeout=0.3" in body
    assert await peer.response(peer.request("/again")) == (200, b"quick")
    await peer.aclose()


async def test_a_stalled_request_body_is_a_408_on_that_stream(serve: Serve) -> None:
    async def handler(request: rttp.Request) -> str:
        await request.read()
        return "read"

    _, url = await serve(handler, http2=True, body_timeout=0.3)
    peer = await Peer.open(url)
    stalled = peer.request("/up", end=False)
    await peer.flush()
    status, body = await peer.response(stalled)
    assert status == 408
    assert b"body_timeout=0.3" in body
    assert await peer.response(peer.request("/after")) == (200, b"read")
    await peer.aclose()


async def test_shutdown_sends_goaway_and_lets_open_streams_finish(serve: Serve) -> None:
    gate = trio.Event()
    entered = trio.Event()

    async def handler(request: rttp.Request) -> str:
        entered.set()
        await gate.wait()
        return "finished"

    server, url = await serve(handler, http2=True)
    peer = await Peer.open(url)
    first = peer.request("/first")
    await peer.flush()
    with trio.fail_after(5):
        await entered.wait()
    server.shutdown()
    goaway = await peer.goaway()
    assert goaway is not None
    assert goaway.last_stream_id == first
    assert goaway.error_code == 0
    # a stream opened after the GOAWAY (as a client that has not read it yet does)
    await peer.send_raw(headers_frame(first + 2, "/late"))
    assert await peer.refused(first + 2) == REFUSED_STREAM
    gate.set()
    assert await peer.raw_body(first) == b"finished"
    with trio.fail_after(5):
        while not peer.closed:
            await peer.receive()
    with trio.fail_after(5):
        await server.stopped_accepting.wait()
    await peer.aclose()


async def test_an_idle_connection_gets_goaway_then_closes(serve: Serve) -> None:
    _, url = await serve(ok, http2=True, keep_alive_timeout=0.3)
    peer = await Peer.open(url)
    assert await peer.response(peer.request("/")) == (200, b"ok")
    goaway = await peer.goaway()
    assert goaway is not None
    assert goaway.error_code == 0
    with trio.fail_after(5):
        while not peer.closed:
            await peer.receive()
    await peer.aclose()


async def test_a_client_that_never_opens_its_window_is_cut_after_write_timeout(
    serve: Serve,
) -> None:
    big = b"b" * 1_000_000

    async def handler(request: rttp.Request) -> Any:
        return big if request.path == "/big" else "small"

    _, url = await serve(handler, http2=True, write_timeout=0.3)
    peer = await Peer.open(url)  # its windows: 65535 bytes, never opened again
    stream_id = peer.request("/big")
    await peer.flush()
    reset = await peer.until(h2.events.StreamReset, stream_id)
    assert reset is not None
    received = sum(len(e.data) for e in peer.events if type(e) is h2.events.DataReceived)
    assert received <= 65535
    other = await Peer.open(url)  # the server serves the next client
    assert await other.response(other.request("/small")) == (200, b"small")
    await peer.aclose()
    await other.aclose()


async def test_a_connection_still_choosing_its_protocol_is_closed_when_cancelled() -> None:
    """A client connected but silent (HTTP/1.1 or HTTP/2 not yet told) when the server
    is cancelled: its connection is closed then (the client reads its end), not left
    open for the garbage collector."""
    server = rttp.Server(ok, "http://127.0.0.1:0", http2=True, access_log=False)
    async with trio.open_nursery() as nursery:
        url = (await nursery.start(server.serve))[0]
        stream = await trio.open_tcp_stream(url.host, url.port)
        await trio.testing.wait_all_tasks_blocked()  # accepted, reading the preface
        nursery.cancel_scope.cancel()
    with trio.fail_after(5):
        assert await stream.receive_some(100) == b""
    await stream.aclose()
