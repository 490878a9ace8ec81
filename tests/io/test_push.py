"""Push-style answers: ``request.respond(status, headers)`` starts the answer and the
handler sends its body piece by piece, over real sockets, on both parser backends."""

from __future__ import annotations

import logging
import shutil

import pytest
import trio

import rttp
from rttp.errors import LocalProtocolError, TransportError
from tests.conftest import hello, raw_request, status_of
from tests.io import test_server

serve = test_server.serve  # every test here runs on each parser backend
still_serves = test_server.still_serves

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


async def curl(*args: str) -> bytes:
    result = await trio.run_process(
        ["curl", "-sS", "--max-time", "10", *args], capture_stdout=True, capture_stderr=True
    )
    return result.stdout


async def pieces(request: rttp.Request) -> None:
    """Three pieces, chunked (no Content-Length), or sized when ``?sized``."""
    if request.path == "/next":
        await request.respond(200).send(b"hello /next")
        return
    headers = {"Content-Type": "text/plain"}
    if "sized" in request.query:
        headers["Content-Length"] = "15"
    answer = request.respond(200, headers)
    for word in ("one, ", "two, ", "three"):
        await answer.send(word)
    await answer.finish()


@needs_curl
async def test_a_chunked_push_answer_reaches_curl(serve):
    _, url = await serve(pieces)
    head = await curl("-i", "--raw", f"{url}/")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    assert head.endswith(b"5\r\nthree\r\n0\r\n\r\n")  # each piece its own chunk
    assert await curl(f"{url}/") == b"one, two, three"


@needs_curl
async def test_a_sized_push_answer_reaches_curl(serve):
    _, url = await serve(pieces)
    head = await curl("-i", "--raw", f"{url}/?sized")
    assert b"content-length: 15\r\n" in head.lower()
    assert b"chunked" not in head.lower()
    assert head.endswith(b"\r\n\r\none, two, three")


@needs_curl
async def test_a_head_request_gets_the_head_only_and_the_connection_stays_usable(serve):
    _, url = await serve(pieces)
    head = await curl("-I", f"{url}/?sized")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"content-length: 15" in head.lower()
    reply = await raw_request(
        url,
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    first, second = reply.split(b"HTTP/1.1 200 OK")[1:]
    assert first.endswith(b"\r\n\r\n")  # no body, not even the end chunk
    assert second.endswith(b"b\r\nhello /next\r\n0\r\n\r\n")


async def test_each_piece_leaves_as_soon_as_it_is_sent(serve):
    """The client reads the first piece while the handler still waits to send the
    second: nothing is buffered behind the head."""
    go_on = trio.Event()

    async def handler(request):
        answer = request.respond(200, {"Content-Type": "text/plain"})
        await answer.send(b"first ")
        await go_on.wait()
        await answer.send(b"second")

    _, url = await serve(handler)
    async with rttp.Client() as client, client.stream("GET", f"{url}/") as response:
        stream = response.stream()
        assert await stream.__anext__() == b"first "
        go_on.set()
        assert [piece async for piece in stream] == [b"second"]  # finished by the server


async def test_async_with_finishes_with_trailers(serve):
    async def handler(request):
        async with request.respond(200, {"Trailer": "X-Checksum"}) as answer:
            await answer.send(b"data")
            await answer.finish(trailers={"X-Checksum": "abc123"})

    _, url = await serve(handler)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.endswith(b"4\r\ndata\r\n0\r\nX-Checksum: abc123\r\n\r\n")


async def test_trailers_on_a_sized_answer_are_refused_and_the_connection_closes(serve, caplog):
    caught: list[BaseException] = []

    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        answer = request.respond(200, {"Content-Length": "4"})
        await answer.send(b"data")
        try:
            await answer.finish(trailers={"X-Checksum": "abc123"})
        except LocalProtocolError as exc:
            caught.append(exc)
            raise

    _, url = await serve(handler)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # no close asked
    assert status_of(reply) == 200
    assert reply.endswith(b"\r\n\r\ndata")
    assert caught
    assert "trailer" in str(caught[0]).lower()
    await still_serves(url)


async def test_a_handler_that_raises_after_starting_cuts_the_connection_and_is_logged(
    serve, caplog
):
    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        answer = request.respond(200)
        await answer.send(b"partial")
        raise RuntimeError("the database went away")

    _, url = await serve(handler)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        reply = await raw_request(url, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(reply) == 200
    assert reply.endswith(b"7\r\npartial\r\n")  # no end chunk: the client sees it cut short
    assert "handler for GET /boom failed after its answer started (7 body bytes sent)" in (
        caplog.text
    )
    assert "the database went away" in caplog.text
    await still_serves(url)


async def test_a_client_that_disconnects_mid_answer_stops_the_handler(serve):
    """The handler's next send raises (a TransportError): it learns the client left
    instead of writing into the void, and the server serves the next client."""
    outcome: list[BaseException] = []
    stopped = trio.Event()

    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        answer = request.respond(200)
        try:
            while True:
                await answer.send(b"x" * 65536)
        except BaseException as exc:
            outcome.append(exc)
            stopped.set()
            raise

    _, url = await serve(handler)
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 200 OK")
    await trio.aclose_forcefully(stream)
    with trio.fail_after(10):
        await stopped.wait()
    assert isinstance(outcome[0], TransportError)
    await still_serves(url)


async def test_an_answer_left_open_is_finished_by_the_server(serve):
    async def handler(request):
        await request.respond(200).send(b"left open")

    _, url = await serve(handler)
    reply = await raw_request(
        url,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert reply.count(b"9\r\nleft open\r\n0\r\n\r\n") == 2  # finished, and kept alive


async def test_a_response_returned_after_pushing_is_logged_and_ignored(serve, caplog):
    async def handler(request):
        await request.respond(200).send(b"pushed")
        return rttp.Response(500, body="lost")

    _, url = await serve(handler)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 200
    assert b"lost" not in reply
    assert "after answering with request.respond(); it was ignored" in caplog.text


async def test_an_app_route_can_push_and_a_second_respond_is_refused(serve):
    app = rttp.App()
    refused: list[str] = []

    @app.get("/feed")
    async def feed(request):
        answer = request.respond(200, {"Content-Type": "text/plain"})
        try:
            request.respond(500)
        except RuntimeError as exc:
            refused.append(str(exc))
        await answer.send("from the app")

    _, url = await serve(app)
    async with rttp.Client() as client:
        response = await client.get(f"{url}/feed")
    assert (response.status, response.text) == (200, "from the app")
    assert refused == ["the answer to GET /feed has started already"]


def test_respond_needs_a_request_a_server_received():
    with pytest.raises(RuntimeError, match="was not received by a server"):
        rttp.Request("GET", "http://example.org/").respond(200)


async def test_a_push_answer_longer_than_its_content_length_is_refused(serve):
    caught: list[BaseException] = []

    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        answer = request.respond(200, {"Content-Length": "3"})
        try:
            await answer.send(b"four")
        except LocalProtocolError as exc:
            caught.append(exc)
            raise

    _, url = await serve(handler)
    await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert caught
    await still_serves(url)


async def test_a_feed_may_wait_longer_than_write_timeout_between_pieces(serve):
    """write_timeout bounds each piece's write; the wait between pieces is the
    handler's (handler_timeout, none by default), so an event feed is not cut."""

    async def handler(request):
        answer = request.respond(200, {"Content-Type": "text/event-stream"})
        await answer.send("data: 1\n\n")
        await trio.sleep(0.5)  # the feed's quiet time, 2.5 write timeouts
        await answer.send("data: 2\n\n")

    _, url = await serve(handler, write_timeout=0.2)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.endswith(b"data: 2\n\n\r\n0\r\n\r\n")


async def test_handler_timeout_after_the_answer_started_cuts_instead_of_a_503(serve):
    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        await request.respond(200).send(b"begun")
        await trio.sleep_forever()

    _, url = await serve(handler, handler_timeout=0.2)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(reply) == 200
    assert reply.endswith(b"5\r\nbegun\r\n")
    assert b"503" not in reply
    await still_serves(url)
