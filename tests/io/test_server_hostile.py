"""Hardening of the server against requests that an audit found let through: each is
refused on both parser backends with the status and message, the connection closes, and
the next client is served."""

from __future__ import annotations

import logging
import re

import pytest
import trio

import rttp
from tests.conftest import hello, raw_request, status_of
from tests.io import test_server

serve = test_server.serve  # the fixture: every test here runs on each parser backend
still_serves = test_server.still_serves


async def _echo_body(request):
    if request.path == "/next":
        return await hello(request)
    body = await request.read()
    return rttp.Response(200, body=b"got %d" % len(body))


# -- 5. HTTP/1.0 with Transfer-Encoding -----------------------------------------------------
async def test_http10_with_transfer_encoding_is_refused_and_the_pipelined_request_is_not_served(
    serve,
):
    """RFC 9112 §6.1: the framing of such a message is faulty. The pipelined request
    behind it is never answered (a smuggling vector), as nginx does."""
    _, url = await serve(_echo_body)
    reply = await raw_request(
        url,
        b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /headers HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert status_of(reply) == 400
    assert b"HTTP/1.0" in reply
    assert b"Transfer-Encoding in an HTTP/1.0 request" in reply
    assert len(re.findall(rb"(?:^|\n)HTTP/1\.[01] [0-9]{3} ", reply)) == 1  # one answer
    await still_serves(url)


# -- 7. the Host value ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "host",
    [b"a b@evil", b"a@b", b"a\x7fb", b"x/y", b"[::1", b"host:80x", b'"quoted"', b"a\\b"],
    ids=["space-at", "userinfo", "del", "slash", "open-bracket", "bad-port", "quote", "backslash"],
)
async def test_an_invalid_host_is_refused(serve, host):
    _, url = await serve(hello)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert status_of(reply) == 400
    # llhttp refuses a DEL in any field value itself, before the Host rule
    assert b"invalid Host header" in reply or b"header value char" in reply
    assert b"Connection: close" in reply
    await still_serves(url)


@pytest.mark.parametrize(
    "host",
    [b"example.org", b"example.org:8080", b"[::1]:8000", b"127.0.0.1", b"xn--bcher-kva.de", b""],
)
async def test_valid_hosts_are_served(serve, host):
    _, url = await serve(hello)
    reply = await raw_request(
        url, b"GET /ok HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    )
    assert status_of(reply) == 200


# -- 9. deeply nested JSON ------------------------------------------------------------------
@pytest.mark.parametrize("read", ["json", "read_value"])
async def test_deeply_nested_json_is_a_400_naming_the_limit_without_a_traceback(
    serve, caplog, read
):
    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        if read == "json":
            await request.read()
            return {"got": type(request.json()).__name__}
        return {"got": type(await request.read_value()).__name__}

    _, url = await serve(handler)
    for depth, status in ((128, 200), (129, 400), (100_000, 400)):
        body = b"[" * depth + b"]" * depth
        with caplog.at_level(logging.ERROR, logger="rttp"):
            reply = await raw_request(
                url,
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
            )
        assert status_of(reply) == status, (depth, reply[:200])
        if status == 400:
            assert b"max_json_depth=128" in reply
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await still_serves(url)


async def test_the_json_depth_limit_is_a_setting(serve):
    async def handler(request):
        await request.read()
        return {"n": len(request.json())}

    _, url = await serve(handler, max_json_depth=3)
    for body, status in ((b"[[[1]]]", 200), (b"[[[[1]]]]", 400), (b'["[[[[[["]', 200)):
        reply = await raw_request(
            url,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        )
        assert status_of(reply) == status, body


# -- 12. shutdown: a request already on its way on an idle keep-alive connection -------------
async def test_a_request_sent_to_an_idle_connection_at_shutdown_is_answered_with_close(serve):
    """The keep-alive race: the client sends on a connection the server is about to
    close as idle. At shutdown idle connections stay open for a moment, so the request
    is answered (with Connection: close) instead of meeting a closed socket."""
    server, url = await serve(hello, shutdown_grace=5)
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while not first.endswith(b"hello /one"):
            first += await stream.receive_some(4096)
        assert b"Connection: close" not in first
        server.shutdown()
        with trio.fail_after(5):
            await server.stopped_accepting.wait()  # the listeners are closed: draining
        await stream.send_all(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        second = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some(4096):
                second += chunk
    assert second.startswith(b"HTTP/1.1 200 ")
    assert b"Connection: close" in second
    assert second.endswith(b"hello /two")


async def test_content_encoding_identity_is_no_encoding_both_ways(serve):
    """``Content-Encoding: identity`` made the decoder chain empty, and reading the body
    failed with an IndexError (a 500 and a traceback); the client had the same fault."""

    async def echo(request):
        body = await request.read()
        return rttp.Response(200, {"Content-Encoding": "identity"}, body=body)

    _, url = await serve(echo)
    reply = await raw_request(
        url,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: identity\r\nContent-Length: 5\r\n"
        b"Connection: close\r\n\r\nhello",
    )
    assert status_of(reply) == 200
    assert reply.endswith(b"hello")
    async with rttp.Client() as client:
        response = await client.post(
            str(url), content=b"again", headers={"Content-Encoding": "identity"}
        )
        assert (response.status, response.body) == (200, b"again")


async def test_a_500_says_its_phrase_once(serve, caplog):
    async def broken(request):
        raise RuntimeError("kaboom")

    _, url = await serve(broken)
    with caplog.at_level(logging.CRITICAL, logger="rttp"):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 500
    assert reply.endswith(b"\r\n\r\n500 Internal Server Error\n")
    assert b"kaboom" not in reply  # the traceback stays in the log


@pytest.mark.parametrize(
    ("fields", "settings"),
    [
        ({"Connection": "close"}, {}),  # the handler's own field
        ({"connection": "Close"}, {}),  # in any case
        ({}, {"default_headers": (("Connection", "close"),)}),  # the server's default
    ],
    ids=["handler", "handler-lower", "default"],
)
async def test_an_answer_that_says_connection_close_closes(serve, fields, settings):
    """A whole answer whose own fields say ``Connection: close`` is the connection's
    last: a pipelined request behind it is never answered (the writer reads the fields
    of such an answer, however short the common path is; an answer that says close on a
    connection the server keeps would desynchronise whatever sits in front)."""

    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, fields, b"bye")

    _, url = await serve(handler, access_log=False, **settings)
    pipelined = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = await raw_request(url, pipelined)
    assert reply.count(b"HTTP/1.1 200") == 1, reply
    assert reply.endswith(b"bye")
    assert b"\r\nDate: " in reply  # (a framing field is not mistaken for the others)
