"""The HTTP/2 client against real servers: rttp's own (h2c and ALPN), nghttpd (C),
hypercorn (Python, h2 on asyncio) and Node's http2 server; many requests on one
connection, flow control both ways, timeouts and cancellation, GOAWAY mid-load, a
stream the server refuses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

import rttp
from rttp.errors import ReadTimeout

from ..conftest import free_loopback_port, system_tool

pytest.importorskip("h2")

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]


async def handler(request: rttp.Request) -> Any:
    if request.method == "POST":
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return f"received {size}"
    if request.path == "/big":
        return rttp.Response(200, body=b"y" * 3_000_000)
    if request.path == "/slow":
        await trio.sleep_forever()
    client = request.client
    return rttp.Response(200, body=f"{request.path} HTTP/{request.http_version} {client}")


async def test_many_requests_share_one_connection(serve: Serve) -> None:
    _, url = await serve(handler, http2=True, access_log=False)
    results: list[str] = []
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:

        async def one(n: int) -> None:
            response = await client.get(f"{url}/{n}")
            assert response.http_version == "2"
            results.append(response.text)

        async with trio.open_nursery() as nursery:
            for n in range(100):
                nursery.start_soon(one, n)
    assert len(results) == 100
    peers = {text.split(" ", 2)[2] for text in results}
    assert len(peers) == 1, peers  # the server saw one connection
    assert all(" HTTP/2 " in text for text in results)


async def test_alpn_over_tls_and_http1_fallback(serve: Serve, cert_files: dict[str, str]) -> None:
    tls = {"certfile": cert_files["certfile"], "keyfile": cert_files["keyfile"]}
    _, h2_url = await serve(handler, "https://127.0.0.1:0", http2=True, **tls)
    _, h1_url = await serve(handler, "https://127.0.0.1:0", **tls)  # offers http/1.1 only
    async with rttp.Client(http2=True, verify=cert_files["ca"]) as client:
        over_h2 = await client.get(f"{h2_url}/a")
        over_h1 = await client.get(f"{h1_url}/b")
    assert over_h2.http_version == "2"
    assert over_h1.http_version == "1.1"
    # a client not opened with 'async with' has no nursery for HTTP/2: HTTP/1.1
    plain = rttp.Client(http2=True, verify=cert_files["ca"])
    assert (await plain.get(f"{h2_url}/c")).http_version == "1.1"
    await plain.aclose()


async def test_bodies_both_ways_with_flow_control(serve: Serve) -> None:
    _, url = await serve(handler, http2=True)
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        posted = await client.post(f"{url}/upload", content=b"u" * 2_000_000)
        big = await client.get(f"{url}/big")
        pieces = 0
        async with client.stream("GET", f"{url}/big") as streamed:
            async for chunk in streamed.stream():
                pieces += len(chunk)

        async def body() -> Any:
            for _ in range(20):
                yield b"s" * 100_000

        streamed_upload = await client.post(f"{url}/upload", content=body())
    assert posted.text == "received 2000000"
    assert len(big.content) == 3_000_000
    assert pieces == 3_000_000
    assert streamed_upload.text == "received 2000000"


async def test_timeout_and_cancellation_reset_only_their_stream(serve: Serve) -> None:
    _, url = await serve(handler, http2=True)
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        with pytest.raises(ReadTimeout):
            await client.get(f"{url}/slow", timeout=0.3)
        with trio.move_on_after(0.2):
            await client.get(f"{url}/slow")
        after = await client.get(f"{url}/after")
    assert after.status == 200
    assert after.text.startswith("/after HTTP/2")


async def test_goaway_mid_load_finishes_or_retries_every_request(serve: Serve) -> None:
    gate = trio.Event()

    async def held(request: rttp.Request) -> str:
        await gate.wait()
        return "done"

    server, url = await serve(held, http2=True, access_log=False)
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        results: list[str] = []

        async def one() -> None:
            results.append((await client.get(f"{url}/")).text)

        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(one)
            await trio.testing.wait_all_tasks_blocked()
            server.shutdown()  # GOAWAY: the ten in flight finish
            await trio.testing.wait_all_tasks_blocked()
            gate.set()
    assert results == ["done"] * 10


async def test_the_servers_stream_limit_is_respected(serve: Serve) -> None:
    gate = trio.Event()
    most = running = 0

    async def held(request: rttp.Request) -> str:
        nonlocal most, running
        running += 1
        most = max(most, running)
        await gate.wait()
        running -= 1
        return "done"

    _, url = await serve(held, http2=True, http2_max_concurrent_streams=2, access_log=False)
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        results: list[str] = []

        async def one() -> None:
            results.append((await client.post(f"{url}/", content=b"x")).text)

        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(one)
            await trio.testing.wait_all_tasks_blocked()
            assert most == 2  # the other four wait for a stream, none is refused
            gate.set()
    assert results == ["done"] * 6


async def refusing_server(
    listener: trio.SocketListener, task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    """An HTTP/2 server (h2, by hand) that refuses the first stream it is sent
    (REFUSED_STREAM, so: not processed) and answers the others."""
    import h2.config
    import h2.connection
    import h2.events

    task_status.started()
    stream = await listener.accept()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    await stream.send_all(conn.data_to_send())
    refused = False
    async with stream:
        while data := await stream.receive_some(65536):
            for event in conn.receive_data(data):
                if type(event) is h2.events.RequestReceived:
                    if not refused:
                        refused = True
                        conn.reset_stream(event.stream_id, 7)
                    else:
                        conn.send_headers(event.stream_id, [(":status", "200")])
                        conn.send_data(event.stream_id, b"answered", end_stream=True)
            await stream.send_all(conn.data_to_send())


async def test_a_refused_stream_is_sent_again(nursery: trio.Nursery) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    await nursery.start(refusing_server, listeners[0])
    port = listeners[0].socket.getsockname()[1]
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        # a POST too: a request the server did not process may be sent again
        response = await client.post(f"http://127.0.0.1:{port}/", content=b"once")
    await listeners[0].aclose()
    assert response.text == "answered"


@pytest.fixture
def nghttpd(tmp_path: Path) -> Iterator[rttp.URL]:
    binary = system_tool("nghttpd", "nghttp2-server")
    (tmp_path / "index.html").write_bytes(b"from nghttpd")
    (tmp_path / "big.bin").write_bytes(b"n" * 2_000_000)
    port = free_loopback_port()
    process = subprocess.Popen(
        [binary, "--no-tls", "-d", str(tmp_path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield rttp.URL(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


async def concurrent_gets(client: rttp.Client, url: str, count: int) -> list[str]:
    """The texts of ``count`` GETs of ``url/0`` to ``url/<count-1>`` made at once."""
    texts: list[str] = []

    async def one(n: int) -> None:
        texts.append((await client.get(f"{url}/{n}")).text)

    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(one, n)
    return texts


async def connect_retrying(url: rttp.URL) -> None:
    with trio.fail_after(10):
        while True:
            try:
                stream = await trio.open_tcp_stream(url.host, url.port)
            except OSError:
                await trio.sleep(0.05)  # the peer process is starting: poll its port
                continue
            await stream.aclose()
            return


async def test_against_nghttpd(nghttpd: rttp.URL) -> None:
    await connect_retrying(nghttpd)
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        responses = []

        async def one() -> None:
            responses.append(await client.get(f"{nghttpd}/index.html"))

        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(one)
        big = await client.get(f"{nghttpd}/big.bin")
    assert {r.text for r in responses} == {"from nghttpd"}
    assert {r.http_version for r in responses} == {"2"}
    assert big.content == b"n" * 2_000_000


HYPERCORN_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = f"{scope['http_version']} {scope['path']} {len(body)}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer})
"""


@pytest.fixture
def hypercorn_h2(tmp_path: Path, cert_files: dict[str, str]) -> Iterator[rttp.URL]:
    """hypercorn serving the app above over TLS (it offers h2 by ALPN)."""
    pytest.importorskip("hypercorn")
    (tmp_path / "happ.py").write_text(HYPERCORN_APP)
    port = free_loopback_port()
    command = [sys.executable, "-m", "hypercorn", "happ:app", "--bind", f"127.0.0.1:{port}"]
    command += ["--certfile", cert_files["certfile"], "--keyfile", cert_files["keyfile"]]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield rttp.URL(f"https://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_against_hypercorn(hypercorn_h2: rttp.URL, cert_files: dict[str, str]) -> None:
    url = hypercorn_h2
    await connect_retrying(url)
    async with rttp.Client(http2=True, verify=cert_files["ca"]) as client:
        got = await client.post(f"{url}/upload", content=b"h" * 500_000)
        texts = await concurrent_gets(client, str(url), 20)
    assert got.http_version == "2"
    assert got.text == "2 /upload 500000"
    assert sorted(texts) == sorted(f"2 /{n} 0" for n in range(20))


NODE_SERVER = """
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  let size = 0;
  stream.on('data', (chunk) => { size += chunk.length; });
  stream.on('end', () => {
    stream.respond({':status': 200, 'x-seen': String(size)});
    stream.end('node ' + headers[':path']);
  });
});
server.listen(0, '127.0.0.1', () => { console.log('PORT ' + server.address().port); });
"""


@pytest.fixture
def node_h2(tmp_path: Path) -> Iterator[rttp.URL]:
    """Node's http2 server (cleartext, prior knowledge), once it says its port."""
    node = system_tool("node", "nodejs")  # installed with apt-get where it can be
    script = tmp_path / "server.js"
    script.write_text(NODE_SERVER)
    process = subprocess.Popen([node, str(script)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        yield rttp.URL(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


async def test_against_node_http2_server(node_h2: rttp.URL) -> None:
    url = node_h2
    async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
        posted = await client.post(f"{url}/up", content=b"q" * 300_000)
        texts = await concurrent_gets(client, str(url), 30)
    assert posted.headers["x-seen"] == "300000"
    assert posted.text == "node /up"
    assert sorted(texts) == sorted(f"node /{n}" for n in range(30))


async def test_redirects_cookies_and_auth_over_http2(serve: Serve) -> None:
    async def app(request: rttp.Request) -> Any:
        if request.path == "/login":
            return rttp.Response(
                302, {"Location": "/home", "Set-Cookie": "session=abc; Path=/"}, b""
            )
        return rttp.Response(
            200,
            body=f"{request.path} cookie={request.headers.get('cookie')} "
            f"auth={request.headers.get('authorization')} HTTP/{request.http_version}",
        )

    _, url = await serve(app, http2=True)
    async with rttp.Client(http2=True, http2_prior_knowledge=True, auth=("ana", "pw")) as client:
        response = await client.get(f"{url}/login")
    assert response.text.startswith("/home cookie=session=abc auth=Basic ")
    assert response.text.endswith("HTTP/2")


async def hostile_server(
    listener: trio.SocketListener, frames: bytes, task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    """An HTTP/2 server that answers its client's first request with ``frames``."""
    import h2.config
    import h2.connection

    task_status.started()
    stream = await listener.accept()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    async with stream:
        await stream.send_all(conn.data_to_send())
        with trio.move_on_after(10):
            while data := await stream.receive_some(65536):
                conn.receive_data(data)
                await stream.send_all(conn.data_to_send() + frames)
                frames = b""


@pytest.mark.parametrize("flood", ["ping", "headers"])
async def test_a_hostile_server_ends_only_its_connection(nursery: trio.Nursery, flood: str) -> None:
    from hyperframe.frame import HeadersFrame, PingFrame

    if flood == "ping":  # PING flood: the client's control-frame budget
        frames = PingFrame(0, opaque_data=b"12345678").serialize() * 1500
    else:  # a header list past max_response_header_size, decoded from a few bytes
        block = b"\x88" + b"\x40\x01x\x7f\x81\x7f" + b"y" * 20000  # literal, huge value
        frames = HeadersFrame(1, data=block, flags=["END_HEADERS"]).serialize()
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    await nursery.start(hostile_server, listeners[0], frames)
    port = listeners[0].socket.getsockname()[1]
    async with rttp.Client(
        http2=True, http2_prior_knowledge=True, max_response_header_size=8192
    ) as client:
        with pytest.raises((rttp.errors.ReadError, rttp.errors.RemoteProtocolError)):
            await client.get(f"http://127.0.0.1:{port}/", timeout=5)
    await listeners[0].aclose()
