"""Request handles (seed 001): status, progress, cancel, finish, and each 6xx provoked for real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

import rttp
from rttp import HANDLE_CODES, status_for_error
from rttp.errors import ConnectError, TLSError, TransportError

pytestmark = pytest.mark.timeout(30)


def answering(response: rttp.Response):
    """A server handler that always answers ``response``."""

    async def handler(request: rttp.Request) -> rttp.Response:
        return response

    return handler


def fed_body() -> tuple[trio.MemorySendChannel[bytes], Any]:
    """A response body the test feeds chunk by chunk: (the channel, the body)."""
    send, receive = trio.open_memory_channel[bytes](0)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in receive:
            yield chunk

    return send, body()


async def test_status_and_progress_against_a_streaming_server(serve):
    send, body = fed_body()

    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, {"Content-Length": "30000"}, body)

    _, url = await serve(handler)
    async with rttp.Client() as client:
        handle = client.start_get(f"{url}/big", headers={"X-Test": "1"})
        assert handle.status == "running"
        assert handle.progress() == (-1, 0)
        for sent in (10_000, 20_000):
            await send.send(b"x" * 10_000)
            await trio.testing.wait_all_tasks_blocked()
            assert handle.progress() == (30_000, sent)
            assert handle.status == "running"
        await send.send(b"y" * 10_000)
        await send.aclose()
        await handle.wait()
        assert handle.status == "done"
        assert handle.progress() == (30_000, 30_000)
        body_bytes, status = await handle.finish()  # the seed's two values
        assert (len(body_bytes), status) == (30_000, 200)
        assert handle.headers["content-length"] == "30000"  # the headers stay on the handle
        assert handle.status == "dead"
        assert handle.progress() is None
        assert await handle.finish() is None  # dead: nothing more
        handle.cancel()  # does nothing once dead


async def test_cancel_leaves_no_connection_behind(serve):
    send, body = fed_body()

    async def streaming(request: rttp.Request) -> rttp.Response:
        if request.path == "/next":
            return rttp.Response(200, body=b"again")
        return rttp.Response(200, body=body)

    _, url = await serve(streaming)
    async with rttp.Client() as client:
        handle = client.start("GET", str(url))
        await send.send(b"first")
        await trio.testing.wait_all_tasks_blocked()
        assert handle.progress() == (-1, 5)
        assert client.pool.connections_in_use == 1
        handle.cancel()
        assert handle.status == "dead"
        assert handle.progress() is None
        await handle.wait()
        assert await handle.finish() is None
        assert client.pool.connections_in_use == 0
        assert client.pool.idle_connections == 0  # closed, not pooled mid-body
        # the client and the server go on
        assert await client.start_get(f"{url}/next").finish() == (b"again", 200)


async def test_start_post_forms_multipart_raw_and_verbs(serve):
    async def echo(request: rttp.Request) -> rttp.Response:
        body = await request.read()
        kind = request.headers.get("content-type", "").split(";")[0]
        return rttp.Response(
            200, body=f"{request.method} {kind} {len(body)}".encode() + b"|" + body
        )

    _, url = await serve(echo)
    async with rttp.Client() as client:
        form = await client.start_post(str(url), {"a": "1", "b": "two"}).finish()
        assert form[0] == b"POST application/x-www-form-urlencoded 9|a=1&b=two"
        raw = await client.start_post(str(url), "raw text", verb="put").finish()
        assert raw[0] == b"PUT text/plain 8|raw text"
        parts = await client.start_post(
            str(url), [("field", "v"), ("file", b"\x00data", "d.bin", "application/octet-stream")]
        ).finish()
        text = parts[0].decode("latin-1")
        assert text.startswith("POST multipart/form-data")
        assert 'name="field"' in text
        deleted = await client.start_get(str(url), verb="DELETE").finish()
        assert deleted[0].startswith(b"DELETE")
        started = await client.start("PATCH", str(url), [("X-A", "1")], b"p").finish()
        assert started[0] == b"PATCH  1|p"


async def finish_status(client: rttp.Client, url: str) -> tuple[int, rttp.RTTPError | None]:
    handle = client.start_get(url)
    result = await handle.finish()
    assert result is not None
    assert len(result) == 2  # the seed's body, status
    assert result[0] == b""
    assert handle.headers is not None
    assert list(handle.headers.items()) == []
    return result[1], handle.error


async def test_each_6xx_code_provoked(serve, silent_port, cert_files):
    async with rttp.Client() as client:
        # 607: a closed port
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()
        assert (await finish_status(client, f"http://127.0.0.1:{port}/"))[0] == 607
        # 602: a name that does not resolve
        code, error = await finish_status(client, "http://nonexistent.invalid/")
        assert code == 602
        assert isinstance(error, ConnectError)
        assert error.reason == "dns"
        # 606: a malformed URL
        assert (await finish_status(client, "http://[::1/"))[0] == 606
        # 601: a scheme no transport serves
        assert (await finish_status(client, "gopher://127.0.0.1/"))[0] == 601
    # 609: a certificate no CA we trust signed
    _, tls_url = await serve(
        answering(rttp.Response(200)),
        "https://127.0.0.1:0",
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
    )
    async with rttp.Client() as client:
        code, error = await finish_status(client, str(tls_url))
        assert code == 609
        assert isinstance(error, TLSError)
        assert error.reason == "verify"
        assert error.verify_failed
    # 605: a server that never answers
    async with rttp.Client(timeout=0.2) as client:
        assert (await finish_status(client, f"http://127.0.0.1:{silent_port}/"))[0] == 605
    # 611: a redirect loop
    _, loop_url = await serve(answering(rttp.Response(302, {"Location": "/again"})))
    async with rttp.Client(max_redirects=3) as client:
        assert (await finish_status(client, str(loop_url)))[0] == 611
    # 601: plain http while enforce_https is on; 604: networking disabled
    async with rttp.Client(enforce_https=True) as client:
        assert (await finish_status(client, str(loop_url)))[0] == 601
    async with rttp.Client(disabled=True) as client:
        code, error = await finish_status(client, str(loop_url))
        assert code == 604
        assert isinstance(error, TransportError)
        assert error.reason == "disabled"


async def test_603_for_a_malformed_response(nursery):
    async def garbage(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await stream.send_all(b"HTTP/1.1 abc nonsense\r\n\r\n")
        await stream.aclose()

    listeners = await nursery.start(trio.serve_tcp, garbage, 0)
    port = listeners[0].socket.getsockname()[1]
    async with rttp.Client() as client:
        assert (await finish_status(client, f"http://127.0.0.1:{port}/"))[0] == 603


def test_the_code_table_and_the_mapping_cover_each_other():
    assert set(HANDLE_CODES) >= {600, 601, 602, 603, 604, 605, 606, 607, 609, 611, 612}
    assert status_for_error(ValueError("not ours")) == 600
    assert status_for_error(TLSError("x", reason="handshake")) == 612
    assert status_for_error(TLSError("x", reason="cafile")) == 618
