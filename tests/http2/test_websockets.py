"""WebSockets over HTTP/2 (RFC 8441): an extended CONNECT opens a WebSocket on one
stream, for an App's sockets and a hosted ASGI app's, beside ordinary requests on the
same connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

import rttp

pytest.importorskip("h2")

import h2.events
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode

from .peer import Peer

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]


async def open_websocket(peer: Peer, path: str, extra: list[tuple[bytes, bytes]]) -> int:
    """An extended CONNECT for ``path``; its stream id once the server answered 200."""
    await peer.until(h2.events.RemoteSettingsChanged)
    settings = peer.conn.remote_settings
    assert settings.enable_connect_protocol == 1  # the server announced RFC 8441
    stream_id = peer.conn.get_next_available_stream_id()
    fields = [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", b"http"),
        (b":authority", b"localhost"),
        (b":path", path.encode()),
        (b"sec-websocket-version", b"13"),
        *extra,
    ]
    peer.conn.send_headers(stream_id, fields)
    await peer.flush()
    head = await peer.until(h2.events.ResponseReceived, stream_id)
    assert dict(head.headers)[b":status"] == b"200"
    return stream_id


async def exchange(peer: Peer, stream_id: int, frames: FrameProtocol, text: str) -> Any:
    """Send one text message on the stream; the first message that comes back."""
    peer.conn.send_data(stream_id, frames.send_data(text, fin=True))
    await peer.flush()
    with trio.fail_after(10):
        while True:
            for event in list(peer.events):
                if type(event) is h2.events.DataReceived and event.stream_id == stream_id:
                    peer.events.remove(event)
                    peer.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                    frames.receive_bytes(event.data)
            for frame in frames.received_frames():
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    return frame.payload
                if frame.opcode == Opcode.CLOSE:
                    return frame.payload
            await peer.receive()


async def test_an_app_socket_over_an_http2_stream(serve: Serve) -> None:
    app = rttp.App(ws_ping_interval=None)
    closed = trio.Event()

    @app.socket("/echo")
    async def echo(conn: Any, opcode: Any, data: Any, extra: Any) -> None:
        if opcode == rttp.Opcode.text:
            await conn.text(f"echo {data} over HTTP/{conn.request.http_version}")
        elif opcode == rttp.Opcode.close:
            closed.set()

    @app.get("/plain")
    def plain(request: rttp.Request) -> str:
        return "plain"

    _, url = await serve(app, http2=True)
    peer = await Peer.open(url)
    stream_id = await open_websocket(peer, "/echo", [])
    frames = FrameProtocol(client=True, extensions=[])
    assert await exchange(peer, stream_id, frames, "hi") == "echo hi over HTTP/2"
    # an ordinary request on the same connection meanwhile
    assert await peer.response(peer.request("/plain")) == (200, b"plain")
    assert await exchange(peer, stream_id, frames, "again") == "echo again over HTTP/2"
    peer.conn.send_data(stream_id, frames.close(CloseReason.NORMAL_CLOSURE))
    await peer.flush()
    with trio.fail_after(10):
        await closed.wait()
    await peer.aclose()


async def test_an_asgi_websocket_over_an_http2_stream(serve: Serve) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def shout(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="loud")
        text = await websocket.receive_text()
        await websocket.send_text(text.upper())
        await websocket.close()

    _, url = await serve(rttp.asgi(Starlette(routes=[WebSocketRoute("/shout", shout)])), http2=True)
    peer = await Peer.open(url)
    stream_id = await open_websocket(peer, "/shout", [(b"sec-websocket-protocol", b"loud")])
    frames = FrameProtocol(client=True, extensions=[])
    assert await exchange(peer, stream_id, frames, "quiet") == "QUIET"
    await peer.aclose()


async def test_other_connect_requests_are_refused(serve: Serve) -> None:
    _, url = await serve(lambda r: "never", http2=True)
    peer = await Peer.open(url)
    await peer.until(h2.events.RemoteSettingsChanged)
    stream_id = peer.conn.get_next_available_stream_id()
    peer.conn.send_headers(
        stream_id, [(b":method", b"CONNECT"), (b":authority", b"elsewhere.example:443")]
    )
    await peer.flush()
    reset = await peer.until(h2.events.StreamReset, stream_id)
    assert reset is not None
    await peer.aclose()
