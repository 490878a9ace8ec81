"""Real peers against our server: curl, httpx, aiohttp; and `rttp serve` as a process."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

import rttp
from tests.conftest import running_cli

pytestmark = pytest.mark.peer

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
BIG = "trio-rttp " * 10_000


async def app(request: rttp.Request) -> rttp.Response:
    if request.path == "/echo":
        body = await request.read()
        content_type = request.headers.get("content-type", "application/octet-stream")
        return rttp.Response(200, {"Content-Type": content_type, "X-Length": str(len(body))}, body)
    if request.path == "/big":
        return rttp.Response(200, {"Content-Type": "text/plain"}, BIG)
    if request.path == "/stream":

        async def parts():
            for number in range(3):
                yield f"part{number};".encode()

        return rttp.Response(200, {"Content-Type": "text/plain"}, parts())
    return rttp.Response(200, body=f"text at {request.path}")


async def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert shutil.which("curl"), "curl is part of the machine image"
    return await trio.run_process(
        ["curl", "-sS", "--max-time", "20", *args], capture_stdout=True, capture_stderr=True
    )


# -- curl -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", sorted(rttp.get_plugins().backends))
async def test_curl_http10_keep_alive(serve, backend):
    """curl speaking HTTP/1.0 with keep-alive reuses the connection for the second URL."""
    _, url = await serve(app, http_backend=backend)
    result = await curl(
        "-v", "--http1.0", "-H", "Connection: keep-alive", f"{url}/big", f"{url}/big"
    )
    assert result.stdout == BIG.encode() * 2
    assert b"Re-using existing connection" in result.stderr, result.stderr.decode()[-2000:]


async def test_curl_compressed_and_plain(serve):
    _, url = await serve(app)
    result = await curl("--compressed", "-D", "-", f"{url}/big")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert body.decode() == BIG
    plain = await curl(f"{url}/big")
    assert plain.stdout.decode() == BIG


async def test_curl_head_http10_and_chunked_upload(serve):
    _, url = await serve(app)
    head = await curl("-I", f"{url}/big")
    assert b"Content-Length: 100000" in head.stdout
    old = await curl("--http1.0", f"{url}/x")
    assert old.stdout == b"text at /x"
    upload = await curl(
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        "chunked body",
        f"{url}/echo",
        "-D",
        "-",
    )
    assert upload.stdout.endswith(b"chunked body")
    assert b"X-Length: 12" in upload.stdout


async def test_curl_large_upload_with_expect_100(serve, tmp_path):
    _, url = await serve(app)
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(3 << 20))  # curl sends Expect: 100-continue over 1 MiB
    result = await curl(
        "-v",
        "--data-binary",
        f"@{payload}",
        "-H",
        "Content-Type: application/octet-stream",
        f"{url}/echo",
        "-o",
        str(tmp_path / "back.bin"),
    )
    assert b"Expect: 100-continue" in result.stderr
    assert b"HTTP/1.1 100 Continue" in result.stderr
    assert (tmp_path / "back.bin").read_bytes() == payload.read_bytes()


async def test_curl_unix_socket(serve, tmp_path):
    await serve(app, f"unix:{tmp_path}/app.sock")
    result = await curl("--unix-socket", str(tmp_path / "app.sock"), "http://localhost/over-unix")
    assert result.stdout == b"text at /over-unix"


async def test_curl_https_with_cacert(serve, cert_files):
    _, url = await serve(
        app, "https://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
    )
    result = await curl("--cacert", cert_files["ca"], "-v", f"https://localhost:{url.port}/tls")
    assert result.stdout == b"text at /tls"
    assert b"ALPN: server accepted http/1.1" in result.stderr
    assert b"TLSv1.3" in result.stderr or b"TLSv1.2" in result.stderr
    refused = await trio.run_process(
        ["curl", "-sS", f"https://localhost:{url.port}/"], capture_stderr=True, check=False
    )
    assert refused.returncode == 60  # curl: peer certificate cannot be authenticated


# -- httpx (on trio, through anyio) ---------------------------------------------------------
async def test_httpx_against_our_server(serve, cert_files, tmp_path):
    _, url = await serve(app)
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/big")
        assert response.headers["content-encoding"] == "gzip"
        assert response.text == BIG

        async def parts():
            yield b"from "
            yield b"httpx"

        response = await client.post(f"{url}/echo", content=parts())
        assert response.text == "from httpx"
        responses = [await client.get(f"{url}/k{i}") for i in range(5)]  # keep-alive
        assert [r.text for r in responses] == [f"text at /k{i}" for i in range(5)]
        response = await client.get(f"{url}/stream")
        assert response.text == "part0;part1;part2;"

    _, secure = await serve(
        app, "https://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
    )
    context = ssl.create_default_context(cafile=cert_files["ca"])
    async with httpx.AsyncClient(verify=context) as client:
        assert (await client.get(f"https://localhost:{secure.port}/s")).text == "text at /s"

    await serve(app, f"unix:{tmp_path}/httpx.sock")
    transport = httpx.AsyncHTTPTransport(uds=str(tmp_path / "httpx.sock"))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("http://localhost/u")).text == "text at /u"


# -- aiohttp (asyncio, in its own process) --------------------------------------------------
async def test_aiohttp_against_our_server(serve):
    _, url = await serve(app)
    result = await trio.run_process(
        [sys.executable, str(HERE.parent / "peers" / "aiohttp_client.py"), str(url)],
        capture_stdout=True,
    )
    report = json.loads(result.stdout)
    assert report["get"] == [200, "text at /text", None]
    assert report["gzip"] == ["gzip", len(BIG), "trio-rttp"]
    assert report["chunked_post"] == [200, "upload"]
    assert report["json_post"] == [200, {"x": 1}]
    assert report["stream"] == [200, "part0;part1;part2;"]


# -- rttp serve as a real process -----------------------------------------------------------
async def test_rttp_serve_command_with_curl(tmp_path, cert_files):
    sock = tmp_path / "cli.sock"
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "rttp",
            "serve",
            "examples.hello:app",
            "--bind",
            "http://127.0.0.1:0",
            "--bind",
            f"unix:{sock}",
            "--bind",
            "https://127.0.0.1:0",
            "--certfile",
            cert_files["certfile"],
            "--keyfile",
            cert_files["keyfile"],
        ],
        cwd=str(ROOT),
        stderr=subprocess.PIPE,
    )
    try:
        addresses: list[str] = []
        buffer = b""
        with trio.fail_after(20):
            while len(addresses) < 3:
                chunk = await process.stderr.receive_some(4096)
                assert chunk, buffer.decode()
                buffer += chunk
                addresses = [
                    line.rsplit(" on ", 1)[1]
                    for line in buffer.decode().splitlines()
                    if " serving " in line
                ]
        http = next(a for a in addresses if a.startswith("http://"))
        https = rttp.URL(next(a for a in addresses if a.startswith("https://")))

        compressed = await curl("--compressed", "-D", "-", f"{http}/big")
        assert b"Content-Encoding: gzip" in compressed.stdout
        assert compressed.stdout.endswith(b"trio-rttp " * 10)
        over_unix = await curl("--unix-socket", str(sock), "http://localhost/headers")
        assert json.loads(over_unix.stdout)["Host"] == "localhost"
        secure = await curl("--cacert", cert_files["ca"], f"https://localhost:{https.port}/")
        assert b"Hello from trio-rttp" in secure.stdout
        echoed = await curl("--data-binary", "ping", f"{http}/echo")
        assert echoed.stdout == b"ping"
    finally:
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(15):
            code = await process.wait()
        await process.stderr.aclose()
    assert code == 0
    assert not sock.exists()  # the socket file is cleaned up on shutdown


async def _idle_connection(url: rttp.URL) -> trio.SocketStream:
    """A connection that got one answer and stays open (keep-alive)."""
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 200")
    return stream


@pytest.mark.parametrize(
    "flags",
    [("--timeout-keep-alive", "0.2"), ("--timeout-keep-alive", "30", "--max-connections", "1")],
    ids=["timeout-keep-alive", "max-connections"],
)
async def test_rttp_serve_keep_alive_and_connection_flags(flags):
    """``--timeout-keep-alive 0.2`` closes an idle connection well before the default 5 s;
    with ``--max-connections 1`` a newcomer gets the slot of the idle one, which is closed."""
    async with running_cli(
        "serve",
        "tests.peers.slow_app:app",
        "--bind",
        "http://127.0.0.1:0",
        "--no-access-log",
        *flags,
        cwd=str(ROOT),
    ) as base:
        url = rttp.URL(base)
        async with await _idle_connection(url) as first:
            with trio.fail_after(2):
                if "--max-connections" in flags:
                    async with await _idle_connection(url):
                        assert await first.receive_some(65536) == b""
                else:
                    assert await first.receive_some(65536) == b""


def test_gzip_helper_is_stdlib_compatible():
    # what our server sends decodes with the standard library too
    from rttp_builtin.encodings.gzip import GzipEncoding

    encoder = GzipEncoding().encoder()
    data = (
        encoder.compress(b"std" * 100) + encoder.sync() + encoder.compress(b"lib") + encoder.flush()
    )
    assert gzip.decompress(data) == b"std" * 100 + b"lib"


async def test_rttp_demo_serves_routes_chat_and_rtml():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))  # a free port for the RTTP panel (the demo prints it too)
    rttp_port = probe.getsockname()[1]
    probe.close()
    async with running_cli(
        "demo", "--bind", "http://127.0.0.1:0", "--rttp-bind", f"rttp://127.0.0.1:{rttp_port}"
    ) as base:
        async with rttp.Endpoint() as endpoint:  # the RTTP panel: the form as messages
            form = await endpoint.get_sync(f"127.0.0.1:{rttp_port}", "/")
            assert form.header["content_type"] == "table/rtml"
            assert "Who are you? (over RTTP)" in [e.text for e in form.body]
            greeted = await endpoint.post_sync(
                f"127.0.0.1:{rttp_port}", "/", "object/lua", rttp.rtml.ButtonSubmit({"name": "Ada"})
            )
            assert "Hello, Ada! (over RTTP)" in [e.text for e in greeted.body]
        async with rttp.Client() as client:
            index = await client.get(base + "/")
            script = (await client.get(base + "/site/demo.js")).text
            assert 'new WebSocket(wsURL("/chat"))' in script
            assert 'fetch("/api/time")' in script
            for face in ("WebSocket chat", "A streaming answer", "A JSON route", "An RTML page"):
                assert face in index.text  # each face, live on the page
            assert 'href="/rtml"' in index.text
            icon = await client.get(base + "/favicon.ico")
            assert (icon.status, icon.headers["content-type"]) == (200, "image/svg+xml")
            assert (await client.get(base + "/hello/you")).text == "hello, you\n"
            assert "unix" in (await client.get(base + "/api/time")).value
            html = await client.get(base + "/rtml", headers={"Accept": "text/html"})
            assert 'name="name"' in html.text
            page = await client.get(base + "/rtml", headers={"Accept": "table/rtml"})
            assert page.value[0].text == "trio-rttp RTML demo"
            greeted = await client.post(
                base + "/rtml",
                value=rttp.rtml.ButtonSubmit({"name": "Ada"}),
                headers={"Accept": "table/rtml"},
            )
            assert greeted.value[1].text == "Hello, Ada!"
        async with rttp.websocket(base.replace("http", "ws") + "/chat", ping_interval=None) as ws:
            assert json.loads(await ws.receive())["text"].startswith("welcome")
            assert json.loads(await ws.receive()) == {"presence": 1}
            await ws.text("hi")
            assert json.loads(await ws.receive())["text"].endswith(": hi")
            await ws.binary(b"\x00\x01\xfe")
            assert await ws.receive() == b"\x00\x01\xfe"  # binary frames are relayed
