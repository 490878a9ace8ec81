"""permessage-deflate (RFC 7692): negotiation, real peers both ways, the switch, bombs."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import zlib

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import rttp
from rttp.plugin import DeflateParams, parse_extensions
from rttp.testing import ws_frame

pytestmark = pytest.mark.usefixtures("ws_backend")  # the I/O tests, on each backend


# -- negotiation (sans-IO) --------------------------------------------------------------------
def test_extension_grammar():
    assert parse_extensions(['permessage-deflate; client_max_window_bits, x-foo; a="b"']) == [
        ("permessage-deflate", [("client_max_window_bits", None)]),
        ("x-foo", [("a", "b")]),
    ]
    assert parse_extensions(["", " , "]) == []
    for bad in ["permessage-deflate;", "a; =1", 'a; b="not a token"', "a b", "a; b=1 c"]:
        with pytest.raises(ValueError, match=r"expected|unexpected|token"):
            parse_extensions([bad])


@given(st.text(max_size=60))
def test_hostile_extension_fields_never_crash_the_server(text):
    """Whatever a client offers, the server declines or agrees: it never raises."""
    with contextlib.suppress(ValueError):
        parse_extensions([text])
    agreed = rttp.Deflate().accept([text])
    assert agreed is None or isinstance(agreed, DeflateParams)


@pytest.mark.parametrize(
    ("offer", "answer"),
    [
        ("permessage-deflate", "permessage-deflate; server_max_window_bits=12"),
        (
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        ),
        (
            "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
        ),
        (
            'permessage-deflate; server_no_context_takeover; client_max_window_bits="9"',
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12;"
            " client_max_window_bits=9",
        ),
        # an offer the server cannot take is declined and the next one considered (§7.1)
        (
            "permessage-deflate; x=1, permessage-deflate",
            "permessage-deflate; server_max_window_bits=12",
        ),
        ("permessage-deflate; server_max_window_bits=7", None),
        ("permessage-deflate; server_max_window_bits", None),
        ("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", None),
        ("permessage-deflate; client_no_context_takeover=1", None),
        ("x-webkit-deflate-frame", None),
        ("permessage-deflate; ;", None),
    ],
)
def test_the_server_accepts_what_rfc_7692_allows(offer, answer):
    agreed = rttp.Deflate().accept([offer])
    assert (agreed.answer() if agreed else None) == answer


def test_the_client_checks_the_answer():
    deflate = rttp.Deflate(server_max_window_bits=10, server_no_context_takeover=True)
    assert deflate.offer() == (
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10;"
        " client_max_window_bits"
    )
    agreed = deflate.agree(
        [
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11"
        ]
    )
    assert agreed == DeflateParams(True, False, 9, 11, 6, 5)
    assert deflate.agree([]) is None  # declined: no compression
    for bad, word in [
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=11", "exceeds"),
        ("permessage-deflate; server_max_window_bits=9", "ignored"),
        ("permessage-deflate; server_no_context_takeover; x=1", "unknown"),
        ("permessage-deflate; server_no_context_takeover, x-other", "unrequested"),
    ]:
        with pytest.raises(ValueError, match=word):
            deflate.agree([bad])
    for value in (7, 16):
        with pytest.raises(ValueError, match="window size"):
            rttp.Deflate(client_max_window_bits=value)


# -- real peers -------------------------------------------------------------------------------
ECHO_CLIENT = """
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], compression="deflate", max_size=None) as ws:
        print(ws.response.headers.get("Sec-WebSocket-Extensions"))
        await ws.send("a" * 100000); print(len(await ws.recv()))
        await ws.send(bytes(200000)); print(len(await ws.recv()))
        await ws.send("é" * 10); print(await ws.recv())
asyncio.run(main())
"""


def _echo_app(**settings) -> rttp.App:
    app = rttp.App(ws_ping_interval=None, **settings)

    @app.socket("/")
    async def echo(conn, opcode, data, extra):
        if opcode in (rttp.Opcode.text, rttp.Opcode.binary):
            await (conn.text(data) if isinstance(data, str) else conn.binary(data))

    return app


async def test_the_websockets_library_compresses_with_our_server(serve):
    _, url = await serve(
        _echo_app(
            ws_compression=rttp.Deflate(server_no_context_takeover=True, server_max_window_bits=10)
        )
    )
    result = await trio.run_process(
        [sys.executable, "-c", ECHO_CLIENT, f"ws://{url.host}:{url.port}/"], capture_stdout=True
    )
    lines = result.stdout.decode().split("\n")
    assert lines[0] == (
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10;"
        " client_max_window_bits=12"
    )
    assert lines[1:4] == ["100000", "200000", "é" * 10]


ECHO_SERVER = """
import asyncio, websockets
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, compression="deflate", max_size=None) as s:
        print(s.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


async def test_our_client_compresses_with_the_websockets_library_server():
    server = await trio.lowlevel.open_process(
        [sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = int((await server.stdout.receive_some(100)).split()[0])
        deflate = rttp.Deflate(client_no_context_takeover=True, client_max_window_bits=9)
        ws = await rttp.connect_websocket(f"ws://127.0.0.1:{port}/", compression=deflate)
        assert "client_no_context_takeover" in (ws.extensions or "")
        for message in ["x" * 300000, bytes(range(256)) * 1000, "ü"]:
            await ws.send(message)
            got = await ws.receive()
            assert isinstance(got, rttp.WebSocketMessage)
            assert got.data == message
        await ws.close()
    finally:
        server.kill()
        await server.wait()


async def test_compression_can_be_switched_off(serve):
    """No answer when the server turns it off; no offer when the client does."""
    _, url = await serve(_echo_app(ws_compression=None))
    stream = await trio.open_tcp_stream(url.host, url.port)
    head = await offer_extensions(stream, "permessage-deflate; client_max_window_bits")
    assert b"sec-websocket-extensions" not in head.lower()
    await stream.aclose()
    _, url = await serve(_echo_app())
    ws = await rttp.connect_websocket(f"ws://{url.host}:{url.port}/", compression=None)
    assert ws.extensions is None
    await ws.send("plain")
    assert (await ws.receive()).data == "plain"  # type: ignore[union-attr]
    await ws.close()
    on = await rttp.connect_websocket(f"ws://{url.host}:{url.port}/")
    assert (on.extensions or "").startswith("permessage-deflate")
    await on.close()


async def test_the_server_setting_reaches_accept_websocket(serve):
    """rttp.serve(websocket_compression=None) turns it off for handlers' handshakes."""

    async def handler(request: rttp.Request) -> rttp.Response:
        async def run(ws: rttp.WebSocket) -> None:
            await ws.send(ws.extensions or "none")

        return rttp.accept_websocket(request, run)

    for setting, expected in [(None, "none"), (rttp.Deflate(), "permessage-deflate")]:
        _, url = await serve(handler, websocket_compression=setting)
        ws = await rttp.connect_websocket(f"ws://{url.host}:{url.port}/")
        got = await ws.receive()
        assert isinstance(got, rttp.WebSocketMessage)
        assert str(got.data).startswith(expected)
        await ws.close()


async def offer_extensions(stream: trio.abc.Stream, extensions: str) -> bytes:
    """Send a handshake offering ``extensions``; the 101's head."""
    await stream.send_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: " + extensions.encode() + b"\r\n\r\n"
    )
    head = b""
    with trio.fail_after(5):
        while b"\r\n\r\n" not in head:
            head += await stream.receive_some(4096)
    return head


async def read_to_end(stream: trio.abc.Stream) -> bytes:
    """Everything the server sends until it closes (then the stream is closed)."""
    answer = b""
    async with stream:
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                answer += chunk
    return answer


def _deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


@pytest.mark.parametrize(
    ("inflated", "limit"),
    [(100 << 20, None), (1 << 20, 64 << 10)],  # ~100 KiB → 100 MiB, and 1 KiB → 1 MiB
)
async def test_a_message_that_inflates_past_the_limit_is_closed_with_1009(serve, inflated, limit):
    """Deflate's ratio tops out near 1030:1, so 100 MiB takes a ~100 KiB frame and a
    1 KiB frame inflates to 1 MiB; each is refused (1009) without being inflated, the
    connection closes, and the server serves the next client."""
    settings = {} if limit is None else {"ws_max_message_size": limit}
    _, url = await serve(_echo_app(**settings))
    bomb = _deflated(bytes(inflated))
    assert len(bomb) < inflated // 1000
    stream = await trio.open_tcp_stream(url.host, url.port)
    head = await offer_extensions(stream, "permessage-deflate")
    assert b"permessage-deflate" in head
    await stream.send_all(ws_frame(2, bomb, rsv=0x40))
    answer = await read_to_end(stream)
    close = answer[-(answer[1] & 0x7F) :] if answer[0] == 0x88 else b""
    assert answer[0] == 0x88, answer[:20]  # a close frame, and then the end of the stream
    assert int.from_bytes(close[:2], "big") == 1009
    assert b"max_message_size" in close or b"exceeds limit" in close  # it says why
    ws = await rttp.connect_websocket(f"ws://{url.host}:{url.port}/")
    await ws.send("next")
    assert (await ws.receive()).data == "next"  # type: ignore[union-attr]
    await ws.close()


async def test_fragmented_compressed_message_with_a_ping_between(serve):
    """A compressed message in three frames with a ping between them arrives whole
    (wsproto's own extension loses track of the message at the ping)."""
    _, url = await serve(_echo_app())
    stream = await trio.open_tcp_stream(url.host, url.port)
    await offer_extensions(stream, "permessage-deflate")
    payload = _deflated(b"hello compressed world")
    frames = ws_frame(1, payload[:5], fin=False, rsv=0x40) + ws_frame(9, b"p")
    frames += ws_frame(0, payload[5:10], fin=False) + ws_frame(0, payload[10:])
    await stream.send_all(frames + ws_frame(8, b"\x03\xe8"))
    answer = await read_to_end(stream)
    assert answer[:3] == b"\x8a\x01p"  # the pong
    text = answer[3:]
    assert text[0] == 0xC1  # fin, RSV1, text
    echoed = zlib.decompressobj(-15).decompress(text[2 : 2 + text[1]] + b"\x00\x00\xff\xff")
    assert echoed == b"hello compressed world"
