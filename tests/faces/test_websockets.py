"""WebSockets: RFC 6455 edge cases on our server and our client, peers, limits, keepalive."""

from __future__ import annotations

import functools
import logging
import os
import socket
import subprocess
import sys

import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage

import rttp
from rttp.errors import WebSocketClosed, WebSocketRejected
from rttp.testing import ws_frame
from tests.conftest import accept_websocket

pytestmark = pytest.mark.usefixtures("ws_backend")  # every test, on each backend


frame = ws_frame  # one raw frame, masked as a client sends it unless mask=False


class RawClient:
    """A client that shakes hands properly, then sends whatever bytes a test wants."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)

    @classmethod
    async def connect(cls, url: rttp.URL, path: str = "/ws") -> RawClient:
        client = cls(await trio.open_tcp_stream(url.host, url.port))
        await client.stream.send_all(client.ws.send(Request(host="x", target=path)))
        with trio.fail_after(5):
            while True:
                client.ws.receive_data(await client.stream.receive_some(65536))
                if any(isinstance(e, AcceptConnection) for e in client.ws.events()):
                    return client

    async def events_until_close(self) -> list:
        """Server events until its close frame (or EOF); fails after 5 s (a hang)."""
        events: list = []
        try:
            with trio.fail_after(5):
                while True:
                    data = await self.stream.receive_some(65536)
                    self.ws.receive_data(data or None)
                    for event in self.ws.events():
                        events.append(event)
                        if isinstance(event, CloseConnection):
                            return events
                    if not data:
                        return events
        finally:
            await self.stream.aclose()


def close_code(events: list) -> int | None:
    return next((int(e.code) for e in events if isinstance(e, CloseConnection)), None)


def make_app(**settings) -> rttp.App:
    """An echo app that records every socket event and signals each close."""
    app = rttp.App(**settings)
    seen: list = []
    app.seen = seen  # type: ignore[attr-defined]
    app.closed = trio.Event()  # type: ignore[attr-defined]

    @app.socket("/ws")
    async def echo(conn, opcode, data, extra):
        seen.append((opcode, data, extra))
        if opcode in (rttp.Opcode.text, rttp.Opcode.binary):
            await (conn.text(data) if isinstance(data, str) else conn.binary(data))
        elif opcode == rttp.Opcode.close:
            app.closed.set()  # type: ignore[attr-defined]

    return app


class LogEvents(logging.Handler):
    """Sets a trio.Event when a record arrives on a logger."""

    def __init__(self, logger: str) -> None:
        super().__init__()
        self.event = trio.Event()
        self.messages: list[str] = []
        self.logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))
        self.event.set()

    def __enter__(self) -> LogEvents:
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logger.removeHandler(self)


@pytest.fixture
async def ws_server(serve):
    app = make_app(ws_ping_interval=None)
    _, url = await serve(app)
    return app, url


async def ws_still_serves(url: rttp.URL) -> None:
    """After a refused client: a new one is echoed as before."""
    ok = await RawClient.connect(url)
    await ok.stream.send_all(frame(1, b"still") + frame(8, b"\x03\xe8"))
    events = await ok.events_until_close()
    assert any(isinstance(e, TextMessage) and e.data == "still" for e in events)
    assert close_code(events) == 1000


def ws_url(url: rttp.URL, path: str = "/ws") -> str:
    return f"ws://{url.host}:{url.port}{path}"


# -- RFC 6455 rules on our server -------------------------------------------------------------
async def test_fragmented_message_with_interleaved_ping(ws_server):
    app, url = ws_server
    raw = await RawClient.connect(url)
    await raw.stream.send_all(
        frame(1, b"frag", fin=False)
        + frame(9, b"mid-ping")
        + frame(0, b"ment", fin=False)
        + frame(0, b"ed")
    )
    await raw.stream.send_all(frame(8, (1000).to_bytes(2, "big")))
    events = await raw.events_until_close()
    texts = [e.data for e in events if isinstance(e, TextMessage)]
    assert texts == ["fragmented"]
    pongs = [e for e in events if type(e).__name__ == "Pong"]
    assert pongs
    assert pongs[0].payload == b"mid-ping"
    assert (rttp.Opcode.ping, b"mid-ping", None) in app.seen
    assert close_code(events) == 1000


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(0, b"orphan"), 1002),  # a continuation with nothing to continue
        (frame(1, b"\xff\xfe"), 1007),  # invalid UTF-8 in a text frame
        (frame(1, b"rsv", rsv=0x40), 1002),  # a reserved bit without an extension
        (frame(3, b"op"), 1002),  # a reserved opcode
        (frame(9, b"p" * 200), 1002),  # a control frame longer than 125 bytes
        (frame(9, b"p", fin=False), 1002),  # a fragmented control frame
        (frame(8, (1005).to_bytes(2, "big")), 1002),  # a close code that may not be sent
        (frame(8, (999).to_bytes(2, "big")), 1002),
        (frame(1, b"unmasked", mask=False), 1002),  # clients must mask
    ],
    ids=[
        "orphan-continuation",
        "bad-utf8",
        "rsv-bit",
        "reserved-opcode",
        "big-control",
        "fragmented-control",
        "close-1005",
        "close-999",
        "unmasked",
    ],
)
async def test_protocol_violations_close_with_the_right_code(ws_server, data, code):
    app, url = ws_server
    raw = await RawClient.connect(url)
    await raw.stream.send_all(data)
    assert close_code(await raw.events_until_close()) == code
    with trio.fail_after(5):
        await app.closed.wait()
    assert app.seen[-1][0] == rttp.Opcode.close
    assert app.seen[-1][1] == code
    async with rttp.websocket(ws_url(url), ping_interval=None) as ws:  # the server serves on
        await ws.text("still here")
        assert await ws.receive() == "still here"


async def test_close_without_code_is_reported_as_1005(ws_server):
    app, url = ws_server
    raw = await RawClient.connect(url)
    await raw.stream.send_all(frame(8, b""))
    await raw.events_until_close()
    with trio.fail_after(5):
        await app.closed.wait()
    assert app.seen[-1] == (rttp.Opcode.close, 1005, "")


async def test_peer_dropping_tcp_mid_close_does_not_hang(ws_server):
    app, url = ws_server
    raw = await RawClient.connect(url)
    await raw.stream.send_all(frame(1, b"hi"))
    await raw.stream.aclose()  # gone, no close frame
    with trio.fail_after(5):
        await app.closed.wait()
    assert app.seen[-1][1] == 1006


async def test_peer_vanishing_after_our_close_frame_does_not_hang(serve):
    app = rttp.App(ws_ping_interval=None, ws_close_timeout=0.3)
    done = trio.Event()

    @app.socket("/ws")
    async def closer(conn, opcode, data, extra):
        if opcode == rttp.Opcode.open:
            with trio.fail_after(5):
                await conn.disconnect(1001, "bye")  # the peer never answers the close
            done.set()

    _, url = await serve(app)
    raw = await RawClient.connect(url)  # reads nothing, answers nothing
    with trio.fail_after(5):
        await done.wait()
    await raw.stream.aclose()


async def test_a_cancelled_close_still_closes_the_connection(ws_server):
    """A task cancelled while it closes (inside ``async with websocket``, say) drops the
    connection at once: the server sees it end, and no socket is left to the garbage
    collector (which would close it with a ResourceWarning, much later)."""
    app, url = ws_server
    ws = await rttp.connect_websocket(ws_url(url))
    await ws.send("hello")
    assert (await ws.receive()).data == "hello"
    with trio.CancelScope() as scope:
        scope.cancel()
        await ws.close()
    assert ws.closed is not None
    assert ws.closed.code == 1006
    with trio.fail_after(5):
        await app.closed.wait()  # the server saw the connection end


async def test_a_close_cancelled_while_it_waits_for_the_answer_closes_too(nursery):
    """The peer never answers our close frame and the wait is cancelled: the
    connection is closed all the same (the peer reads its end of file)."""
    ready = trio.Event()
    ended = trio.Event()

    async def silent(stream: trio.SocketStream) -> None:
        server = WSConnection(ConnectionType.SERVER)
        while True:
            data = await stream.receive_some(65536)
            if not data:
                ended.set()  # our close came, its answer never went: then EOF
                return
            server.receive_data(data)
            for event in server.events():
                if isinstance(event, Request):
                    await stream.send_all(server.send(AcceptConnection()))
                    ready.set()

    listeners = await nursery.start(functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    ws = await rttp.connect_websocket(f"ws://127.0.0.1:{port}/", close_timeout=60)
    await ready.wait()
    with trio.move_on_after(0.2) as waited:  # (a bound on the wait, not synchronisation)
        await ws.close()
    assert waited.cancelled_caught
    with trio.fail_after(5):
        await ended.wait()


async def test_oversized_message_is_closed_with_1009(serve):
    app = make_app(ws_ping_interval=None, ws_max_message_size=1000)
    _, url = await serve(app)
    raw = await RawClient.connect(url)
    await raw.stream.send_all(frame(2, b"x" * 600, fin=False) + frame(0, b"y" * 600))
    assert close_code(await raw.events_until_close()) == 1009
    await ws_still_serves(url)


async def test_a_message_of_exactly_max_message_size_is_delivered(serve):
    """The limit is the largest message taken: 1000 bytes (in two fragments, or one
    frame) is echoed; 1001 is closed with 1009."""
    app = make_app(ws_ping_interval=None, ws_max_message_size=1000)
    _, url = await serve(app)
    for data, expected in (
        (frame(2, b"x" * 600, fin=False) + frame(0, b"y" * 400), 1000),
        (frame(2, b"z" * 1000), 1000),
        (frame(2, b"x" * 600, fin=False) + frame(0, b"y" * 401), None),
        (frame(2, b"z" * 1001), None),
    ):
        raw = await RawClient.connect(url)
        await raw.stream.send_all(data + frame(8, b"\x03\xe8"))
        events = await raw.events_until_close()
        echoed = [len(e.data) for e in events if isinstance(e, BytesMessage)]
        if expected is None:
            assert echoed == []
            assert close_code(events) == 1009
        else:
            assert echoed == [expected]
            assert close_code(events) == 1000


async def test_invalid_handshake_gets_400_and_plain_get_426(ws_server):
    _, url = ws_server
    async with rttp.Client() as client:
        bad = await client.get(
            str(url) + "/ws",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
            },
        )
        assert bad.status == 400
        assert "invalid WebSocket handshake" in bad.text
        old = await client.get(
            str(url) + "/ws",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "8",
            },
        )
        assert old.status == 426  # RFC 6455 §4.4: and which version we speak
        assert old.headers["sec-websocket-version"] == "13"
        assert "got 8" in old.text
        plain = await client.get(str(url) + "/ws")
        assert plain.status == 426
    await ws_still_serves(url)


async def test_handler_that_raises_on_open_closes_cleanly(serve):
    app = rttp.App(ws_ping_interval=None)

    @app.socket("/ws")
    def broken(conn, opcode, data, extra):
        raise RuntimeError("boom on " + str(opcode))

    _, url = await serve(app)
    with LogEvents("rttp.error") as log:
        raw = await RawClient.connect(url)
        assert close_code(await raw.events_until_close()) == 1011
        with trio.fail_after(5):
            await log.event.wait()
    assert "protocol handler for /ws failed" in log.messages[0]


async def test_route_that_raises_before_the_handshake_is_a_clean_500(serve):
    app = rttp.App(ws_ping_interval=None)

    @app.any("/ws")
    def refuse(request):
        raise RuntimeError("not today")

    @app.socket("/ws")
    def never(conn, opcode, data, extra):
        raise AssertionError("unreachable")

    _, url = await serve(app)
    with pytest.raises(WebSocketRejected) as info:
        await rttp.connect_websocket(ws_url(url))
    assert info.value.status == 500


# -- RFC 6455 rules on our client -------------------------------------------------------------
async def _raw_server(nursery, script):
    """A server that accepts the handshake, then sends ``script`` frames (unmasked)."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    received: list = []
    got_close = trio.Event()

    async def serve_one():
        async with listener, await listener.accept() as stream:
            ws = await accept_websocket(stream, script)
            with trio.move_on_after(5):
                while data := await stream.receive_some(65536):
                    ws.receive_data(data)
                    for event in ws.events():
                        received.append(event)
                        if isinstance(event, CloseConnection):
                            got_close.set()
            got_close.set()

    nursery.start_soon(serve_one)
    return f"ws://127.0.0.1:{listener.socket.getsockname()[1]}/", received, got_close


@pytest.mark.parametrize(
    ("script", "code"),
    [
        (frame(1, b"\xc3\x28", mask=False), 1007),
        (frame(1, b"x", rsv=0x20, mask=False), 1002),
        (frame(0, b"x", mask=False), 1002),
        (frame(9, b"p" * 126, mask=False), 1002),
        (frame(1, b"masked"), 1002),  # servers must not mask
        (bytes([0x82, 127]) + (1 << 62).to_bytes(8, "big"), 1009),  # the header alone
    ],
    ids=["bad-utf8", "rsv", "orphan", "big-ping", "masked", "declares-2**62"],
)
async def test_client_closes_on_protocol_violations(nursery, script, code):
    url, received, got_close = await _raw_server(nursery, script)
    ws = await rttp.connect_websocket(url)
    event = await ws.receive()
    assert isinstance(event, rttp.Closed)
    assert event.code == code
    with trio.fail_after(5):
        await got_close.wait()
    assert close_code(received) == code  # and it told the server why


async def test_frames_are_masked_by_the_client_and_not_by_the_server(nursery, ws_server):
    """Read off the wire: each frame our client sends has the mask bit and a key that
    unmasks its payload (RFC 6455 §5.3); each frame our server sends has no mask."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    wire: list[bytes] = []
    got_frame = trio.Event()

    async def serve_one():
        async with listener, await listener.accept() as stream:
            await accept_websocket(stream)
            data = b""
            while len(data) < 2 + 4 + 5:
                data += await stream.receive_some(65536)
            wire.append(data)
            got_frame.set()

    nursery.start_soon(serve_one)
    ws = await rttp.connect_websocket(f"ws://127.0.0.1:{listener.socket.getsockname()[1]}/")
    await ws.send("hello")
    with trio.fail_after(5):
        await got_frame.wait()
    data = wire[0]
    assert data[0] == 0x81  # FIN, text
    assert data[1] == 0x80 | 5  # masked, five bytes
    key = data[2:6]
    assert bytes(b ^ key[i % 4] for i, b in enumerate(data[6:11])) == b"hello"
    await ws.abort()

    _, url = ws_server
    raw = await RawClient.connect(url)
    await raw.stream.send_all(frame(1, b"echo me"))
    with trio.fail_after(5):
        echoed = await raw.stream.receive_some(65536)
    assert echoed[:2] == bytes([0x81, 7])  # FIN, text, no mask bit, seven bytes
    assert echoed[2:9] == b"echo me"  # the payload as it is
    await raw.stream.aclose()


async def test_client_assembles_fragments_across_pings(nursery):
    script = (
        frame(1, b"he", fin=False, mask=False)
        + frame(9, b"!", mask=False)
        + frame(0, b"llo", mask=False)
    )
    url, _, _ = await _raw_server(nursery, script)
    ws = await rttp.connect_websocket(url)
    first = await ws.receive()
    assert isinstance(first, rttp.PingEvent)
    message = await ws.receive()
    assert isinstance(message, rttp.WebSocketMessage)
    assert message.data == "hello"
    await ws.abort()


async def test_client_rejected_handshake_is_clear(ws_server):
    _, url = ws_server
    with pytest.raises(WebSocketRejected, match="404") as info:
        await rttp.connect_websocket(ws_url(url, "/missing"))
    assert info.value.status == 404
    assert b"no route" in info.value.body


# -- echo, broadcast, peers -------------------------------------------------------------------
async def test_broadcast_among_three_clients(serve):
    app = rttp.App(ws_ping_interval=None)

    @app.socket("/chat")
    async def chat(conn, opcode, data, extra):
        if opcode == rttp.Opcode.text:
            for other in app.sockets("/chat"):
                await other.text(f"{data}")

    _, url = await serve(app)
    clients = [rttp.websocket(ws_url(url, "/chat"), ping_interval=None) for _ in range(3)]
    async with clients[0] as a, clients[1] as b, clients[2] as c:
        # the server registers a socket before answering its handshake, so all three are listed
        assert len(app.sockets("/chat")) == 3
        await b.text("hello from b")
        assert [await a.receive(), await b.receive(), await c.receive()] == ["hello from b"] * 3


async def test_websockets_library_client_against_our_server(ws_server):
    _, url = ws_server
    script = (
        "import asyncio, sys, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(sys.argv[1]) as ws:\n"
        "        await ws.send('text'); print(await ws.recv())\n"
        "        await ws.send(b'\\x00bin'); print(repr(await ws.recv()))\n"
        "        await ws.ping()\n"
        "        big = 'z' * 300000\n"
        "        await ws.send(big); print(len(await ws.recv()))\n"
        "asyncio.run(main())\n"
    )
    result = await trio.run_process(
        [sys.executable, "-c", script, ws_url(url)], capture_stdout=True
    )
    assert result.stdout.decode().split("\n")[:3] == ["text", "b'\\x00bin'", "300000"]


WEBSOCKETS_ECHO_SERVER = (
    "import asyncio, websockets\n"
    "async def echo(ws):\n"
    "    async for m in ws:\n"
    "        await ws.send(m)\n"
    "async def main():\n"
    "    async with websockets.serve(echo, '127.0.0.1', 0) as s:\n"
    "        print(s.sockets[0].getsockname()[1], flush=True)\n"
    "        await asyncio.Future()\n"
    "asyncio.run(main())\n"
)


async def test_our_client_against_the_websockets_library_server():
    server = await trio.lowlevel.open_process(
        [sys.executable, "-c", WEBSOCKETS_ECHO_SERVER], stdout=subprocess.PIPE
    )
    try:
        line = b""
        with trio.fail_after(20):
            while not line.endswith(b"\n"):
                line += await server.stdout.receive_some(100)
        port = int(line)
        pongs: list = []
        ws = rttp.websocket(f"ws://127.0.0.1:{port}/", ping_interval=None)
        ws.add("pong", "t", pongs.append)
        async with ws:
            await ws.text("über")
            assert await ws.receive() == "über"
            await ws.binary(b"\x00\x01")
            assert await ws.receive() == b"\x00\x01"
            await ws.ping("are you there")
            await ws.text("sync")
            assert await ws.receive() == "sync"
            assert pongs == [b"are you there"]
            assert ws.closed is None
        assert ws.is_closed()
        assert ws.closed.code == 1000
    finally:
        server.terminate()
        with trio.fail_after(10):
            await server.wait()
        await server.stdout.aclose()


async def test_trio_websocket_client_against_our_server(ws_server):
    from trio_websocket import open_websocket_url

    _, url = ws_server
    async with open_websocket_url(ws_url(url)) as ws:
        await ws.send_message("from trio-websocket")
        assert await ws.get_message() == "from trio-websocket"


# -- keepalive and backpressure ---------------------------------------------------------------
async def test_ping_timeout_drops_a_silent_peer(serve):
    app = make_app(ws_ping_interval=0.2, ws_ping_timeout=0.3)
    _, url = await serve(app)
    raw = await RawClient.connect(url)  # never reads, never answers pings
    with trio.fail_after(5):
        await app.closed.wait()
    assert app.seen[-1][1] == 1006
    assert app.sockets("/ws") == []
    await raw.stream.aclose()


async def test_slow_reader_is_dropped_instead_of_buffered(serve):
    """The server awaits each send (no unbounded buffer); a reader stuck past
    ws_send_timeout is disconnected, and the sender learns it at once."""
    app = rttp.App(ws_ping_interval=None, ws_send_timeout=0.5)
    outcome: list = []

    finished = trio.Event()

    @app.socket("/flood")
    async def flood(conn, opcode, data, extra):
        if opcode == rttp.Opcode.open:
            sent = 0
            try:
                while sent < 512 << 20:
                    await conn.binary(b"f" * 65536)
                    sent += 65536
            except WebSocketClosed as exc:
                outcome.append((sent, exc.code))
            finished.set()

    _, url = await serve(app)
    raw = await RawClient.connect(url, "/flood")  # and never reads
    with trio.fail_after(10):
        await finished.wait()
    sent, code = outcome[0]
    assert code == 1006
    assert sent < 64 << 20  # held back by TCP, then dropped: nowhere near 512 MiB buffered
    await raw.stream.aclose()


async def test_client_reconnects_with_backoff(serve):
    app = make_app(ws_ping_interval=None)
    _server, url = await serve(app)
    opened: list = []
    reopened = trio.Event()

    def on_open():
        opened.append(trio.current_time())
        if len(opened) == 2:
            reopened.set()

    ws = rttp.websocket(ws_url(url), ping_interval=None, reconnect=True, reconnect_delay=0.05)
    ws.add("open", "count", on_open)
    async with ws:
        await ws.text("one")
        assert await ws.receive() == "one"
        for conn in app.sockets("/ws"):
            await conn.disconnect(1001, "restart")
        with trio.fail_after(5):
            await reopened.wait()
        await ws.text("two")
        assert await ws.receive() == "two"
    assert len(opened) == 2


async def test_client_state_headers_and_events(ws_server):
    _, url = ws_server
    ws = rttp.websocket(ws_url(url), {"X-One": "1"}, ping_interval=None)
    ws.headers_add("X-Two", "2")
    ws.headers_remove("X-One")
    assert ws.headers_all() == {"x-two": "2"}
    assert ws.headers_get("x-two") == "2"
    assert (ws.host, ws.port, ws.path, ws.is_tls(), ws.is_closed()) == (
        url.host,
        url.port,
        "/ws",
        False,
        True,
    )
    events: list = []
    for name in ("open", "message", "close"):
        ws.add(name, "log", lambda *args, name=name: events.append((name, args)))
    ws.add("message", "gone", lambda *args: events.append("never"))
    ws.remove("message", "gone")
    echoed = trio.Event()
    ws.add("message", "signal", lambda *args: echoed.set())
    async with ws:
        assert ws.is_open()
        await ws.utf8(b"caf\xc3\xa9")
        with trio.fail_after(5):
            await echoed.wait()
        await ws.disconnect("done")
    assert events == [("open", ()), ("message", ("café", False)), ("close", (1000, "done"))]
    with pytest.raises(ValueError, match="unknown WebSocket event"):
        ws.add("opne", 1, print)


async def test_wss_and_unix_socket_urls(serve, cert_files, tmp_path):
    app = make_app(ws_ping_interval=None)
    _, secure = await serve(
        app, "https://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
    )
    async with rttp.websocket(
        f"wss://localhost:{secure.port}/ws", verify=cert_files["ca"], ping_interval=None
    ) as ws:
        assert ws.is_tls()
        await ws.text("over tls")
        assert await ws.receive() == "over tls"
    await serve(app, f"unix:{tmp_path}/ws.sock")
    encoded = f"{tmp_path}/ws.sock".replace("/", "%2F")
    async with rttp.websocket(f"ws+unix://{encoded}/ws", ping_interval=None) as ws:
        await ws.text("over unix")
        assert await ws.receive() == "over unix"


async def test_handshake_timeout_against_a_silent_server(silent_port):
    errors: list = []
    ws = rttp.websocket(f"ws://127.0.0.1:{silent_port}/", handshake_timeout=0.3, ping_interval=None)
    ws.add("error", "log", lambda code, reason: errors.append((code, reason)))
    with trio.fail_after(5), pytest.raises(rttp.errors.ConnectTimeout, match="handshake"):
        async with ws:
            pass
    assert errors
    assert errors[0][0] == 0
    assert "0.3s" in errors[0][1]
    assert ws.is_closed()


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n", "wrong Sec-WebSocket-Accept"),
        (
            b"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: evil\r\n",
            "unrequested subprotocol",
        ),
        (
            b"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: x\r\n",
            "unrequested extensions",
        ),
    ],
    ids=["accept", "subprotocol", "extensions"],
)
async def test_client_handshake_checks_the_101_it_gets(nursery, answer, problem):
    """The client handshake runs through the engine (send_request/read_response), then
    checks the 101 itself: a wrong accept token or an unrequested subprotocol or
    extension is refused, with the server's headers kept on the error."""
    from wsproto.utilities import generate_accept_token

    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]

    async def serve_one():
        async with listener, await listener.accept() as stream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive_some(65536)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = generate_accept_token(key)
            await stream.send_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n" + answer.replace(b"{accept}", accept) + b"\r\n"
            )
            await stream.receive_some(65536)  # until the client hangs up

    nursery.start_soon(serve_one)
    url = f"ws://127.0.0.1:{listener.socket.getsockname()[1]}/"
    with pytest.raises(WebSocketRejected) as info:
        await rttp.connect_websocket(url)
    assert info.value.status == 502
    assert problem in info.value.body.decode()
    assert any(name.lower() == b"upgrade" for name, _ in info.value.headers)


def _fragments(count: int, piece: bytes = b"x") -> bytes:
    """A text message in ``count`` frames of ``piece`` each (the first opcode 1, the rest 0)."""
    frames = [frame(1, piece, fin=count == 1)]
    frames += [frame(0, piece, fin=i == count - 1) for i in range(1, count)]
    return b"".join(frames)


async def test_a_message_in_too_many_fragments_is_closed_with_1009(serve):
    app = make_app(ws_ping_interval=None, ws_max_fragments=100)
    _, url = await serve(app)
    raw = await RawClient.connect(url)
    await raw.stream.send_all(_fragments(101))
    events = await raw.events_until_close()
    assert close_code(events) == 1009
    assert "max_fragments=100" in next(e.reason for e in events if isinstance(e, CloseConnection))
    ok = await RawClient.connect(url)  # the server goes on serving
    await ok.stream.send_all(_fragments(100) + frame(8, b"\x03\xe8"))
    assert any(
        isinstance(e, TextMessage) and e.data == "x" * 100 for e in await ok.events_until_close()
    )


async def test_a_single_frame_over_max_message_size_is_closed_with_1009(serve):
    app = make_app(ws_ping_interval=None, ws_max_message_size=1000)
    _, url = await serve(app)
    raw = await RawClient.connect(url)
    await raw.stream.send_all(frame(1, b"x" * 1001))
    assert close_code(await raw.events_until_close()) == 1009
    ok = await RawClient.connect(url)
    await ok.stream.send_all(frame(1, b"x" * 1000) + frame(8, b"\x03\xe8"))
    assert any(
        isinstance(e, TextMessage) and len(e.data) == 1000 for e in await ok.events_until_close()
    )


@pytest.mark.parametrize("declared", [1 << 62, 1001])
async def test_a_frame_declaring_too_many_bytes_is_refused_at_its_header(serve, declared):
    """The 1009 comes as soon as the header is in: no payload byte is sent, so waiting
    for it would hang (events_until_close fails after 5 s)."""
    app = make_app(ws_ping_interval=None, ws_max_message_size=1000)
    _, url = await serve(app)
    raw = await RawClient.connect(url)
    length = (
        bytes([127]) + declared.to_bytes(8, "big")
        if declared > 65535
        else bytes([126]) + declared.to_bytes(2, "big")
    )
    await raw.stream.send_all(bytes([0x82, 0x80 | length[0]]) + length[1:] + os.urandom(4))
    events = await raw.events_until_close()
    assert close_code(events) == 1009
    reason = next(e.reason for e in events if isinstance(e, CloseConnection))
    assert str(declared) in reason  # the declared size
    assert "1000" in reason  # and the limit
    ok = await RawClient.connect(url)  # the server goes on serving
    await ok.stream.send_all(frame(2, b"y" * 1000) + frame(8, b"\x03\xe8"))
    assert any(
        isinstance(e, BytesMessage) and len(e.data) == 1000 for e in await ok.events_until_close()
    )


async def test_a_fragment_declaring_past_the_message_limit_is_refused_at_its_header(serve):
    """The declared length counts with the fragments already received."""
    app = make_app(ws_ping_interval=None, ws_max_message_size=1000)
    _, url = await serve(app)
    raw = await RawClient.connect(url)
    head = bytes([0x00, 0x80 | 126]) + (601).to_bytes(2, "big") + os.urandom(4)
    await raw.stream.send_all(frame(1, b"x" * 400, fin=False) + head)
    assert close_code(await raw.events_until_close()) == 1009
    await ws_still_serves(url)


async def test_a_message_in_many_fragments_arrives_whole(serve):
    app = make_app(ws_ping_interval=None, ws_max_fragments=None)
    _, url = await serve(app)
    raw = await RawClient.connect(url)
    await raw.stream.send_all(_fragments(20_000, b"xy") + frame(8, b"\x03\xe8"))
    events = await raw.events_until_close()
    assert "".join(e.data for e in events if isinstance(e, TextMessage)) == "xy" * 20_000


_ASSEMBLY_PROBE = """
import sys, tracemalloc
from rttp.plugin import MessageAssembler, WebSocketSettings
assembler = MessageAssembler(WebSocketSettings(max_fragments=None))
as_text = sys.argv[1] == "str"  # wsproto hands over str parts, websockets UTF-8 bytes
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
for i in range(40_000):
    part = f"{i % 10}y"  # a new object per frame, as the backends make them
    assert assembler.add(part if as_text else part.encode(), True, False) is None
held = tracemalloc.get_traced_memory()[0] - base
whole = assembler.add("!" if as_text else b"!", True, True)
assert whole == "".join(f"{i % 10}y" for i in range(40_000)) + "!"
print(held)
"""


@pytest.mark.parametrize("parts", ["str", "bytes"])
def test_memory_follows_the_payload_not_the_fragment_count(parts):
    """40,000 fragments of two characters are assembled in one buffer: the memory held
    while the message is incomplete follows its payload (80 kB), not the fragment count
    (one object per fragment held 2.4 MB here; 4 MiB of one-byte fragments once took
    517 MiB of a server). Measured in a fresh interpreter, away from pytest's tracing."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _ASSEMBLY_PROBE, parts], capture_output=True, text=True, check=True
    )
    held = int(out.stdout.split()[-1])
    assert held < 500_000, held


async def test_each_side_frames_with_the_chosen_backend(serve, ws_backend):
    """The parametrisation is real: both our server and our client use the backend."""
    used: list[str] = []

    async def handler(request: rttp.Request) -> rttp.Response:
        async def run(ws: rttp.WebSocket) -> None:
            used.append(type(ws.protocol).__module__)
            await ws.send(await ws.receive() and "ok")

        return rttp.accept_websocket(request, run)

    _, url = await serve(handler)
    ws = await rttp.connect_websocket(ws_url(url, "/"))
    used.append(type(ws.protocol).__module__)
    await ws.send("hi")
    assert (await ws.receive()).data == "ok"  # type: ignore[union-attr]
    await ws.close()
    assert used == [f"rttp_builtin.websocket._{ws_backend}"] * 2


@pytest.mark.skipif(not hasattr(socket, "TCP_NOTSENT_LOWAT"), reason="no TCP_NOTSENT_LOWAT here")
async def test_both_sides_let_a_large_message_into_the_socket_at_once(serve):
    """Trio's 16 KiB TCP_NOTSENT_LOWAT is raised to 1 MiB on a WebSocket, so a large
    message goes to the kernel in one send instead of one per wake-up."""
    seen: list[int] = []

    async def handler(request: rttp.Request) -> rttp.Response:
        async def run(ws: rttp.WebSocket) -> None:
            seen.append(ws._stream.getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT))  # type: ignore[attr-defined]
            await ws.send("ok")

        return rttp.accept_websocket(request, run)

    _, url = await serve(handler)
    ws = await rttp.connect_websocket(ws_url(url, "/"))
    assert (await ws.receive()).data == "ok"  # type: ignore[union-attr]
    seen.append(ws._stream.getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT))  # type: ignore[attr-defined]
    await ws.close()
    assert seen == [1 << 20, 1 << 20]


async def test_a_message_before_a_violation_in_the_same_read_is_still_answered(ws_server):
    """The frame that fails the connection is held back until the messages before it
    were taken: the echo goes out, then the close with 1002 (Autobahn 3.2)."""
    _, url = ws_server
    raw = await RawClient.connect(url)
    await raw.stream.send_all(frame(1, b"first") + frame(1, b"bad", rsv=0x20))
    events = await raw.events_until_close()
    assert [e.data for e in events if isinstance(e, TextMessage)] == ["first"]
    assert close_code(events) == 1002
    await ws_still_serves(url)
