"""The ASGI extensions rttp offers a hosted app (``http.response.pathsend``, ``tls``),
the ``server`` of the scope, and ``http.disconnect`` while the app is busy: told at once
to Starlette's ``is_disconnected()``, and to an app waiting in ``receive()``."""

from __future__ import annotations

import os
import ssl

import pytest
import trio
import trio.testing

import rttp
from tests.conftest import raw_request, status_of

pytest.importorskip("starlette", reason="Starlette is part of the test extra")

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

BACKENDS = ["httptools", "h11"]
SIZE = 5 * 1024 * 1024 + 123  # several MiB, not a multiple of any piece size


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def recording(app, sent: list[str]):
    """``app``, with the type of every message it sends recorded."""

    async def wrapper(scope, receive, send):
        async def spy(message):
            sent.append(message["type"])
            await send(message)

        await app(scope, receive, spy)

    return wrapper


async def start(nursery, app, url="http://127.0.0.1:0", **settings) -> rttp.URL:
    settings.setdefault("access_log", False)
    server = rttp.Server(rttp.asgi(app, lifespan="off"), url, **settings)
    return (await nursery.start(server.serve))[0]


# -- http.response.pathsend ------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_file_response_goes_out_through_pathsend_and_sendfile(
    nursery, big_file, sendfile_calls, backend
):
    sent: list[str] = []
    app = Starlette(routes=[Route("/file", lambda request: FileResponse(big_file))])
    url = await start(nursery, recording(app, sent), http_backend=backend)
    async with rttp.Client() as client:
        response = await client.get(f"{url}/file")
        head = await client.head(f"{url}/file")
        again = await client.get(f"{url}/file")  # the connection carries on after it
    assert response.status == 200
    assert response.content == big_file.read_bytes()
    assert response.headers["content-length"] == str(SIZE)
    assert "http.response.pathsend" in sent
    assert sum(sendfile_calls) == 2 * SIZE  # by the kernel, not read through Python
    assert (head.status, head.content, head.headers["content-length"]) == (200, b"", str(SIZE))
    assert again.content == response.content


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pathsend_without_a_length_is_chunked(nursery, big_file, sendfile_calls, backend):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"<", "more_body": True})
        await send({"type": "http.response.pathsend", "path": str(big_file)})

    url = await start(nursery, app, http_backend=backend)
    async with rttp.Client() as client:
        response = await client.get(f"{url}/")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == b"<" + big_file.read_bytes()
    assert sum(sendfile_calls) == SIZE


async def test_a_file_shorter_than_its_length_closes_the_connection(nursery, tmp_path, caplog):
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 10)

    async def app(scope, receive, send):
        headers = [(b"content-length", b"100")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": str(small)})

    url = await start(nursery, app)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # read until closed
    assert status_of(reply) == 200
    assert reply.endswith(b"\r\n\r\n" + b"x" * 10)  # what there was, then the close
    assert "ended 90 bytes short of its Content-Length" in caplog.text
    again = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(again) == 200  # the server goes on


# -- over TLS: the file read in pieces, and the tls extension ---------------------------------
@pytest.fixture
def mutual_tls(ca, cert_files):
    """A server context that asks for a client certificate, and a client that has one."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_files["certfile"], cert_files["keyfile"])
    server.verify_mode = ssl.CERT_OPTIONAL
    ca.configure_trust(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    ca.issue_cert("client.example.org").configure_cert(client)
    return server, client


async def test_over_tls_the_scope_has_the_tls_extension_and_files_still_go_out(
    nursery, big_file, mutual_tls, sendfile_calls
):
    server_context, client_context = mutual_tls

    async def tls(request: Request) -> JSONResponse:
        extension = dict(request.scope["extensions"]["tls"])
        extension["client_cert_chain"] = [
            pem.splitlines()[0] for pem in extension["client_cert_chain"]
        ]
        return JSONResponse(extension | {"server": request.scope["server"]})

    app = Starlette(
        routes=[Route("/tls", tls), Route("/file", lambda request: FileResponse(big_file))]
    )
    url = await start(nursery, app, "https://127.0.0.1:0", ssl_context=server_context)
    async with rttp.Client(verify=client_context) as client:
        seen = (await client.get(f"https://localhost:{url.port}/tls")).value
        response = await client.get(f"https://localhost:{url.port}/file")
    assert seen["tls_version"] in (0x0303, 0x0304)
    assert isinstance(seen["cipher_suite"], int)
    assert 0 < seen["cipher_suite"] < 0x10000
    assert seen["client_cert_chain"] == ["-----BEGIN CERTIFICATE-----"]
    # trustme names the client in its subject's OU and O (RFC 4514, most specific first)
    assert seen["client_cert_name"].startswith("OU=Testing cert")
    assert ",O=trustme" in seen["client_cert_name"]
    assert seen["client_cert_error"] is None
    assert seen["server"] == ["127.0.0.1", url.port]
    assert response.content == big_file.read_bytes()
    assert sendfile_calls == []  # TLS: read in pieces, encrypted by the stream


async def test_the_tls_extension_follows_each_requests_scheme_on_one_connection(
    nursery, mutual_tls
):
    # the connection's TLS facts are looked up once; whether a request's scope offers
    # them is its own scheme's call (a trusted proxy may say it came over plain http)
    server_context, client_context = mutual_tls

    async def scope(request: Request) -> JSONResponse:
        scope = request.scope
        return JSONResponse({"scheme": scope["scheme"], "tls": "tls" in scope["extensions"]})

    app = Starlette(routes=[Route("/", scope)])
    url = await start(
        nursery, app, "https://127.0.0.1:0", ssl_context=server_context, proxy_headers=True
    )
    async with rttp.Client(verify=client_context) as client:
        target = f"https://localhost:{url.port}/"
        first = (await client.get(target, headers={"X-Forwarded-Proto": "http"})).value
        second = (await client.get(target)).value
    assert first == {"scheme": "http", "tls": False}
    assert second == {"scheme": "https", "tls": True}


async def test_over_plain_tcp_there_is_no_tls_extension_and_server_is_the_address(nursery):
    async def scope(request: Request) -> JSONResponse:
        return JSONResponse(
            {"extensions": sorted(request.scope["extensions"]), "server": request.scope["server"]}
        )

    url = await start(nursery, Starlette(routes=[Route("/", scope)]))
    async with rttp.Client() as client:
        seen = (await client.get(f"{url}/")).value
    assert seen == {
        "extensions": ["http.response.pathsend", "http.response.trailers"],
        "server": ["127.0.0.1", url.port],
    }


# -- http.disconnect while the app is busy ---------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
async def test_is_disconnected_turns_true_when_the_client_hangs_up(nursery, backend):
    polls: list[bool] = []
    gone = trio.Event()
    waiting = trio.Event()

    async def long_job(request: Request) -> PlainTextResponse:
        while not await request.is_disconnected():
            polls.append(False)
            waiting.set()
            await trio.sleep(0.01)  # the app's own pace of work, not the test's
        gone.set()
        return PlainTextResponse("never read")

    url = await start(nursery, Starlette(routes=[Route("/job", long_job)]), http_backend=backend)
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET /job HTTP/1.1\r\nHost: x\r\n\r\n")
    with trio.fail_after(10):
        await waiting.wait()
    await stream.aclose()
    with trio.fail_after(10):
        await gone.wait()
    assert polls  # it was connected while the client was
    reply = await raw_request(url, b"GET /job2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 404


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_app_waiting_in_receive_hears_the_client_leave(nursery, backend):
    said: list[str] = []
    gone = trio.Event()
    waiting = trio.Event()

    async def app(scope, receive, send):
        said.append((await receive())["type"])  # the (empty) body
        waiting.set()
        said.append((await receive())["type"])  # nothing more: until the client leaves
        gone.set()

    url = await start(nursery, app, http_backend=backend)
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with trio.fail_after(10):
        await waiting.wait()
    await trio.aclose_forcefully(stream)
    with trio.fail_after(10):
        await gone.wait()
    assert said == ["http.request", "http.disconnect"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_request_pipelined_while_the_app_listens_is_served_after_it(nursery, backend):
    """Bytes read while the app waits for the client to leave belong to the next
    request: they are kept for it, and it is answered."""
    waiting = trio.Event()
    go = trio.Event()

    async def app(scope, receive, send):
        await receive()
        async with trio.open_nursery() as inner:

            async def listen() -> None:
                await receive()  # http.disconnect: once the answer is complete

            inner.start_soon(listen)
            if scope["path"] == "/first":
                waiting.set()
                await go.wait()
            body = scope["path"].encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

    url = await start(nursery, app, http_backend=backend)
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
    with trio.fail_after(10):
        await waiting.wait()
    await stream.send_all(b"GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await trio.testing.wait_all_tasks_blocked()  # the app's listener has read it by now
    go.set()
    reply = b""
    with trio.fail_after(10):
        while chunk := await stream.receive_some(65536):
            reply += chunk
    await stream.aclose()
    assert reply.count(b"HTTP/1.1 200") == 2
    assert reply.endswith(b"/second")
