"""Failures on real sockets: the client's TLS options, how connection and transport
failures map onto rttp's errors, the WebSocket client's keepalive and reconnect loop,
and the ``rttp_server`` fixture applications use."""

from __future__ import annotations

import logging
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing
import trustme
from wsproto.events import CloseConnection, Ping, TextMessage

import rttp
from rttp.errors import ConnectError, ReadError, RemoteProtocolError, TLSError
from tests.conftest import accept_websocket

pytestmark = pytest.mark.peer


async def _listen(
    nursery: trio.Nursery, handler: Callable[[trio.SocketStream], Awaitable[None]]
) -> int:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    await nursery.start(trio.serve_listeners, handler, listeners)
    port: int = listeners[0].socket.getsockname()[1]
    return port


def _reset(stream: trio.SocketStream) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.socket.close()


# -- the rttp_server fixture (what applications' tests use) -------------------------------
async def test_the_rttp_server_fixture_serves_a_handler(rttp_server):
    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, body=f"{request.method} {request.path}")

    url = await rttp_server(handler)
    assert url.host == "127.0.0.1"
    async with rttp.Client() as client:
        assert (await client.post(f"{url}/x")).text == "POST /x"
    url = await rttp_server(handler, "http://[::1]:0", access_log=False)
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/v6")).text == "GET /v6"


# -- client TLS options ---------------------------------------------------------------------
async def test_verify_false_accepts_a_certificate_no_one_vouches_for(serve, cert_files):
    _, url = await serve(_hello, "https://127.0.0.1:0", certfile=cert_files["certfile"])
    async with rttp.Client() as strict:
        with pytest.raises(TLSError, match="certificate") as info:
            await strict.get(str(url))
    assert info.value.errtype == "io"
    async with rttp.Client(verify=False) as client:
        assert (await client.get(str(url))).text == "hello"


async def test_verify_may_be_a_ready_ssl_context(serve, cert_files, client_ssl):
    _, url = await serve(_hello, "https://127.0.0.1:0", certfile=cert_files["certfile"])
    async with rttp.Client(verify=client_ssl) as client:
        assert (await client.get(str(url))).text == "hello"


def test_unloadable_ca_bundle_and_client_certificate_are_named(tmp_path):
    missing = str(tmp_path / "nowhere.pem")
    with pytest.raises(TLSError, match="cannot load CA bundle") as info:
        rttp.Client(verify=missing)
    assert "nowhere.pem" in str(info.value)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(TLSError, match="cannot load client certificate"):
        rttp.Client(cert=str(tmp_path / "junk.pem"))


async def test_a_client_certificate_is_presented_to_a_server_that_asks(
    nursery, ca: trustme.CA, cert_files, tmp_path
):
    """``cert=(certfile, keyfile)``: a server requiring client certificates sees ours."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_cert = ca.issue_cert("client@example.org")
    pem = tmp_path / "client.pem"
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    peers: list[object] = []

    async def handler(stream: trio.SocketStream) -> None:
        tls = trio.SSLStream(stream, server_ctx, server_side=True)
        try:
            await tls.do_handshake()
            peers.append(tls.getpeercert())
            await tls.receive_some(65536)
            await tls.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except trio.BrokenResourceError:
            peers.append(None)  # the handshake failed: no certificate
        finally:
            await trio.aclose_forcefully(tls)

    port = await _listen(nursery, handler)
    async with rttp.Client(verify=cert_files["ca"], cert=(str(pem), str(pem))) as client:
        assert (await client.get(f"https://127.0.0.1:{port}/")).text == "ok"
    assert ("email", "client@example.org") in peers[0]["subjectAltName"]  # type: ignore[index]
    async with rttp.Client(verify=cert_files["ca"]) as client:  # no certificate to show
        with trio.fail_after(5), pytest.raises((TLSError, ReadError, RemoteProtocolError)):
            await client.get(f"https://127.0.0.1:{port}/")
    assert peers[-1] is None


# -- the error map --------------------------------------------------------------------------
async def test_a_name_that_does_not_resolve_is_a_connect_error():
    async with rttp.Client() as client:
        with pytest.raises(ConnectError, match="cannot resolve") as info:
            await client.get("http://no-such-host.invalid/")
    assert "no-such-host.invalid" in str(info.value)
    assert info.value.errtype == "io"


@pytest.mark.parametrize("backend", sorted(rttp.get_plugins().backends))
@pytest.mark.parametrize("when", ["before-the-head", "mid-body"])
async def test_a_reset_mid_exchange_is_an_io_error_and_the_client_recovers(nursery, backend, when):
    served = 0

    async def handler(stream: trio.SocketStream) -> None:
        nonlocal served
        served += 1
        await stream.receive_some(65536)
        if served == 1:
            if when == "mid-body":
                await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                await trio.testing.wait_all_tasks_blocked()
            _reset(stream)
            return
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await stream.aclose()

    port = await _listen(nursery, handler)
    url = f"http://127.0.0.1:{port}/"
    async with rttp.Client(http_backend=backend) as client:
        with trio.fail_after(5), pytest.raises((ReadError, RemoteProtocolError)) as info:
            await client.post(url, content=b"x")  # a POST: never retried
        assert info.value.errtype in ("io", "protocol")
        assert client.pool.connections_in_use == 0
        assert client.pool.idle_connections == 0
        assert (await client.get(url)).text == "ok"


async def test_a_peer_that_does_not_speak_tls_is_a_tls_error(nursery):
    async def handler(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)  # the ClientHello
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await stream.aclose()

    port = await _listen(nursery, handler)
    async with rttp.Client() as client:
        with trio.fail_after(5), pytest.raises(TLSError, match="TLS handshake with") as info:
            await client.get(f"https://127.0.0.1:{port}/")
    assert f"127.0.0.1:{port}" in str(info.value)


async def test_a_peer_that_hangs_up_during_the_tls_handshake_is_named(nursery):
    async def handler(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        _reset(stream)

    port = await _listen(nursery, handler)
    async with rttp.Client() as client:
        with trio.fail_after(5), pytest.raises((ConnectError, TLSError)) as info:
            await client.get(f"https://127.0.0.1:{port}/")
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "during setup" in str(info.value) or "TLS handshake" in str(info.value)


# -- the WebSocket client's keepalive and reconnect loop ----------------------------------
async def test_no_pong_within_ping_timeout_drops_the_connection(nursery, caplog):
    pinged = trio.Event()

    async def never_pongs(stream: trio.SocketStream) -> None:
        ws = await accept_websocket(stream)
        async with stream:
            while data := await stream.receive_some(65536):
                ws.receive_data(data)
                if any(isinstance(e, Ping) for e in ws.events()):
                    pinged.set()  # and no pong, ever

    port = await _listen(nursery, never_pongs)
    closed: list[tuple[int, str]] = []
    dropped = trio.Event()

    def on_close(code: int, reason: str) -> None:
        closed.append((code, reason))
        dropped.set()

    ws = rttp.websocket(f"ws://127.0.0.1:{port}/", ping_interval=0.05, ping_timeout=0.1)
    ws.add("close", "record", on_close)
    with caplog.at_level(logging.INFO):
        async with ws:
            with trio.fail_after(5):
                await pinged.wait()
                await dropped.wait()
    assert closed[0][0] == 1006
    assert any("no pong" in r.getMessage() for r in caplog.records)


async def test_reconnect_goes_on_after_a_failed_attempt(nursery, caplog):
    """The server drops the first connection, refuses the next handshake (503), and
    accepts the third: the client reconnects through the failure and works again."""
    attempts = 0
    reopened = trio.Event()

    async def flaky(stream: trio.SocketStream) -> None:
        nonlocal attempts
        attempts += 1
        async with stream:
            if attempts == 2:
                await stream.receive_some(65536)
                await stream.send_all(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
                return
            ws = await accept_websocket(stream)
            if attempts == 1:
                await stream.send_all(ws.send(CloseConnection(code=1012, reason="restart")))
                return
            while data := await stream.receive_some(65536):
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, TextMessage):
                        await stream.send_all(ws.send(TextMessage(data=event.data)))
                    elif isinstance(event, CloseConnection):
                        await stream.send_all(ws.send(event.response()))
                        return

    port = await _listen(nursery, flaky)
    opened = 0

    def on_open() -> None:
        nonlocal opened
        opened += 1
        if opened == 2:
            reopened.set()

    ws = rttp.websocket(
        f"ws://127.0.0.1:{port}/", ping_interval=None, reconnect=True, reconnect_delay=0.01
    )
    ws.add("open", "count", on_open)
    with caplog.at_level(logging.INFO):
        async with ws:
            with trio.fail_after(5):
                await reopened.wait()
            await ws.text("back")
            with trio.fail_after(5):
                assert await ws.receive() == "back"
    assert attempts == 3
    assert any("reconnecting" in r.getMessage() and "503" in r.getMessage() for r in caplog.records)


async def _hello(request: rttp.Request) -> rttp.Response:
    return rttp.Response(200, body="hello")
