"""The HTTP/2 server against real clients: curl (h2c prior knowledge, and ALPN over
TLS), nghttp2's h2load with 100 streams on one connection, and httpx's HTTP/2 client;
HTTP/1.1 still served on the same port."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import trio

import rttp

from ..conftest import system_tool

pytest.importorskip("h2")

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]


async def curl(*args: str) -> tuple[int, bytes, str]:
    """curl's exit code, output and stderr."""
    done = await trio.run_process(
        ["curl", "-sS", *args], capture_stdout=True, capture_stderr=True, check=False
    )
    return done.returncode, done.stdout, done.stderr.decode()


async def app(request: rttp.Request) -> Any:
    if request.path == "/upload":
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return rttp.Response(200, body=f"received {size}")
    if request.path == "/big":
        return rttp.Response(200, body=b"x" * 3_000_000)
    if request.path == "/push":
        answer = request.respond(200, {"Content-Type": "text/plain"})
        for n in range(3):
            await answer.send(f"piece {n}\n")
        await answer.finish(trailers={"X-Checksum": "abc"})
        return None
    if request.path == "/fail":
        raise RuntimeError("the handler broke")
    return rttp.Response(200, body=f"hello {request.path} over HTTP/{request.http_version}")


async def test_prior_knowledge_h2c_and_http1_share_the_port(serve: Serve) -> None:
    _, url = await serve(app, http2=True)
    code, out, err = await curl("-v", "--http2-prior-knowledge", f"{url}/a")
    assert code == 0, err
    assert out == b"hello /a over HTTP/2"
    assert "< HTTP/2 200" in err
    code, out, err = await curl("-v", f"{url}/b")  # no preface: HTTP/1.1
    assert out == b"hello /b over HTTP/1.1"
    assert "< HTTP/1.1 200" in err


async def test_alpn_negotiates_h2_over_tls(serve: Serve, cert_files: dict[str, str]) -> None:
    _, url = await serve(
        app,
        "https://127.0.0.1:0",
        http2=True,
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
    )
    code, out, err = await curl("-v", "--http2", "--cacert", cert_files["ca"], f"{url}/tls")
    assert code == 0, err
    assert "ALPN: server accepted h2" in err
    assert out == b"hello /tls over HTTP/2"
    code, out, err = await curl("--http1.1", "--cacert", cert_files["ca"], f"{url}/one")
    assert out == b"hello /one over HTTP/1.1"


async def test_without_http2_the_preface_is_not_http(serve: Serve) -> None:
    _, url = await serve(app)  # http2 is off by default
    code, out, _err = await curl("-v", "--http2-prior-knowledge", f"{url}/a")
    assert code != 0
    assert b"hello" not in out


async def test_bodies_both_ways_stream_with_flow_control(serve: Serve, tmp_path: Any) -> None:
    # a 3 MB upload passes a 256 KiB stream window many times over, as does the download
    _, url = await serve(app, http2=True)
    upload = tmp_path / "up.bin"
    upload.write_bytes(b"u" * 3_000_000)
    code, out, err = await curl(
        "--http2-prior-knowledge", "--data-binary", f"@{upload}", f"{url}/upload"
    )
    assert (code, out) == (0, b"received 3000000"), err
    code, out, err = await curl("--http2-prior-knowledge", f"{url}/big")
    assert code == 0, err
    assert out == b"x" * 3_000_000


async def test_pushed_answer_with_trailers(serve: Serve) -> None:
    _, url = await serve(app, http2=True)
    async with httpx.AsyncClient(http1=False, http2=True) as client:
        response = await client.get(f"{url}/push")
    assert response.http_version == "HTTP/2"
    assert response.text == "piece 0\npiece 1\npiece 2\n"
    _code, _out, err = await curl("-v", "--http2-prior-knowledge", f"{url}/push")
    assert "x-checksum: abc" in err.lower()


async def test_head_and_expect_continue(serve: Serve) -> None:
    _, url = await serve(app, http2=True)
    code, out, err = await curl("-v", "--http2-prior-knowledge", "-I", f"{url}/big")
    assert code == 0, err
    assert "content-length: 3000000" in out.decode().lower()
    code, out, err = await curl(
        "-v",
        "--http2-prior-knowledge",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        "x" * 5000,
        f"{url}/upload",
    )
    assert out == b"received 5000", err
    assert "HTTP/2 100" in err


async def test_a_failing_handler_is_a_500_and_the_connection_goes_on(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = await serve(app, http2=True)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        async with httpx.AsyncClient(http1=False, http2=True) as client:
            failed = await client.get(f"{url}/fail")
            after = await client.get(f"{url}/after")
    assert failed.status_code == 500
    assert after.text == "hello /after over HTTP/2"
    assert "the handler broke" in caplog.text


async def test_httpx_many_concurrent_requests_on_one_connection(serve: Serve) -> None:
    running = 0
    most = 0
    gate = trio.Event()

    async def slow(request: rttp.Request) -> str:
        nonlocal running, most
        peers.add(request.client)
        running += 1
        most = max(most, running)
        if most >= 50:
            gate.set()
        with trio.move_on_after(5):
            await gate.wait()
        running -= 1
        return request.path

    peers: set[Any] = set()
    _, url = await serve(slow, http2=True)
    async with httpx.AsyncClient(http1=False, http2=True) as client:
        results: list[str] = []

        async def one(n: int) -> None:
            response = await client.get(f"{url}/{n}")
            results.append(response.text)

        async with trio.open_nursery() as nursery:
            for n in range(50):
                nursery.start_soon(one, n)
    assert sorted(results) == sorted(f"/{n}" for n in range(50))
    assert most == 50  # all fifty handlers ran at once
    assert len(peers) == 1  # on one connection


async def test_h2load_100_streams_on_one_connection(serve: Serve) -> None:
    h2load = system_tool("h2load", "nghttp2-client")
    _, url = await serve(app, http2=True, access_log=False)
    done = await trio.run_process(
        [h2load, "-n", "2000", "-c", "1", "-m", "100", f"{url}/"],
        capture_stdout=True,
        check=False,
    )
    text = done.stdout.decode()
    assert "2000 succeeded, 0 failed, 0 errored, 0 timeout" in text, text
    assert "status codes: 2000 2xx" in text, text


async def test_access_log_says_http_2_0(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    _, url = await serve(app, http2=True)
    with caplog.at_level(logging.INFO, logger="rttp.access"):
        _code, _out, _err = await curl("--http2-prior-knowledge", f"{url}/logged")
    assert '"GET /logged HTTP/2.0" 200' in caplog.text


async def test_tls_context_given_gets_alpn(serve: Serve, cert_files: dict[str, str]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_files["certfile"], cert_files["keyfile"])
    _, url = await serve(app, "https://127.0.0.1:0", http2=True, ssl_context=context)
    verify = ssl.create_default_context(cafile=cert_files["ca"])
    async with httpx.AsyncClient(http2=True, verify=verify) as client:
        response = await client.get(f"{url}/ctx")
    assert response.http_version == "HTTP/2"
    assert response.text == "hello /ctx over HTTP/2"
