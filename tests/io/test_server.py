"""The server over real loopback sockets: keep-alive, pipelining, bodies, limits, timeouts.

Each limit and timeout is crossed once; the test checks the status, the message, and that
the next client is still served.
"""

from __future__ import annotations

import contextlib
import logging
import tracemalloc

import pytest
import trio

import rttp
from tests.conftest import hello, raw_request, status_of

GET = b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

BACKENDS = sorted(rttp.get_plugins().backends)


@pytest.fixture(params=BACKENDS)
def serve(request, nursery):
    """Every server test runs on every protocol backend (h11, httptools)."""
    backend = request.param

    async def start(handler, *binds, **settings):
        settings.setdefault("http_backend", backend)
        server = rttp.Server(handler, *(binds or ("http://127.0.0.1:0",)), **settings)
        addresses = await server.start(nursery)  # (the typed way)
        return server, addresses[0]

    return start


async def still_serves(url: rttp.URL) -> None:
    reply = await raw_request(url, GET)
    assert status_of(reply) == 200
    assert reply.endswith(b"hello /next")


async def test_keep_alive_and_pipelining_answer_in_order(serve):
    async def handler(request):
        if request.path == "/slow":
            await trio.sleep(0.05)
        return rttp.Response(200, body=request.path)

    _, url = await serve(handler)
    burst = (
        b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % name for name in (b"slow", b"a", b"b"))
        + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    reply = await raw_request(url, burst)
    assert reply.count(b"HTTP/1.1 200 OK") == 4
    bodies = [part.rsplit(b"\r\n\r\n", 1)[-1][:5] for part in reply.split(b"HTTP/1.1 ")[1:]]
    assert [b.split(b"HTTP")[0] for b in bodies] == [b"/slow", b"/a", b"/b", b"/last"]


async def test_a_pipelining_client_does_not_hold_the_scheduler(serve):
    """Answers to pipelined requests that one receive brought each pass through the
    scheduler (only the first may skip its pass, the next receive making it): another
    connection is served in the middle of a burst, not after all of it."""
    order: list[str] = []

    async def handler(request):
        order.append(request.path)
        return rttp.Response(200, body=b"ok")

    _, url = await serve(handler)
    burst_client = await trio.open_tcp_stream(url.host, url.port)
    other = await trio.open_tcp_stream(url.host, url.port)
    async with burst_client, other:
        for stream, path in ((burst_client, b"/warm"), (other, b"/warm")):
            await stream.send_all(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
            assert (await stream.receive_some(4096)).endswith(b"ok")
        count = 600  # (about 24 KiB of requests: one receive)
        await burst_client.send_all(b"GET /burst HTTP/1.1\r\nHost: x\r\n\r\n" * count)
        await other.send_all(b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await other.receive_some(4096)).endswith(b"ok")
        answered = b""
        while answered.count(b"HTTP/1.1 200") < count:
            answered += await burst_client.receive_some(65536)
    assert order.index("/other") < len(order) - 1 - count // 2  # well inside the burst


async def test_pipelined_burst_has_bounded_memory(serve):
    """A client that pipelines without reading is held back by TCP: the server does not read ahead."""

    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        return rttp.Response(200, body="x" * 1000)

    _, url = await serve(handler)
    stream = await trio.open_tcp_stream(url.host, url.port)
    burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
    sent = 0
    tracemalloc.start()
    try:
        with trio.move_on_after(1.0):  # the test's length, not a wait for anything
            while sent < 200 << 20:
                await stream.send_all(burst)
                sent += len(burst)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # what the server allocated (all Python memory here) stayed small: it stopped reading
    # while its answers piled up, so TCP held the client back long before 200 MiB
    assert peak < 16 << 20, f"{peak} bytes allocated at the peak, {sent} bytes sent"
    assert sent < 200 << 20
    await stream.aclose()
    await still_serves(url)


async def test_head_has_headers_but_no_body(serve):
    _, url = await serve(lambda r: _const(rttp.Response(200, body="0123456789")))
    reply = await raw_request(url, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Content-Length: 10" in reply
    assert reply.endswith(b"\r\n\r\n")


async def _const(response):
    return response


async def test_head_closes_a_streamed_body_it_does_not_send(serve):
    closed = trio.Event()

    class Body:
        def __aiter__(self):
            return self

        async def __anext__(self):
            return b"never sent"

        async def aclose(self):
            closed.set()

    _, url = await serve(lambda r: _const(rttp.Response(200, body=Body())))
    reply = await raw_request(url, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"never sent" not in reply
    with trio.fail_after(5):
        await closed.wait()  # the handler's generator was closed, not left to the GC


async def test_expect_100_continue(serve):
    async def handler(request):
        return rttp.Response(200, body=await request.read())

    _, url = await serve(handler)
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        with trio.fail_after(5):
            interim = await stream.receive_some(1000)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        await stream.send_all(b"hello")
        with trio.fail_after(5):
            final = await stream.receive_some(1000)
        assert final.startswith(b"HTTP/1.1 200 OK")
        assert final.endswith(b"hello")


async def test_expect_100_not_sent_when_body_unread(serve):
    _, url = await serve(hello)
    reply = await raw_request(
        url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    assert b"100 Continue" not in reply
    assert status_of(reply) == 200
    assert b"Connection: close" in reply


async def test_chunked_upload_and_download(serve):
    async def handler(request):
        chunks = [chunk async for chunk in request.stream()]

        async def back():
            for chunk in chunks:
                yield chunk.upper()

        return rttp.Response(200, {"Content-Type": "application/octet-stream"}, back())

    _, url = await serve(handler)
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    reply = await raw_request(
        url,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + body,
    )
    assert b"Transfer-Encoding: chunked" in reply
    assert b"HELLO" in reply
    assert b" WORLD" in reply
    assert reply.endswith(b"0\r\n\r\n")


async def test_unread_body_is_drained_for_keep_alive(serve):
    _, url = await serve(hello)
    reply = await raw_request(
        url,
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + GET,
    )
    assert reply.count(b"200 OK") == 2


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "max_request_line=8190"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n",
            431,
            "max_header_size=16384",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: v\r\n" % i for i in range(150))
            + b"\r\n",
            431,
            "max_header_count=100",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            "smuggling",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "Transfer-Encoding",
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "header"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version"),
        (b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n", 501, "CONNECT"),
        (b"GET nonsense HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "chunk"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n", 417, "Expect"),
    ],
    ids=[
        "414",
        "431-size",
        "431-count",
        "cl+te",
        "501-te",
        "obs-fold",
        "space-colon",
        "505",
        "connect",
        "target",
        "chunk",
        "417",
    ],
)
async def test_hostile_requests_get_status_and_server_keeps_serving(serve, data, status, words):
    async def handler(request):
        await request.read()
        return await hello(request)

    _, url = await serve(handler)
    reply = await raw_request(url, data)
    assert status_of(reply) == status
    assert words.encode() in reply
    assert b"Connection: close" in reply
    await still_serves(url)


async def test_body_over_limit_declared_is_413(serve):
    _, url = await serve(hello, max_body_size=100)
    reply = await raw_request(
        url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + b"x" * 101
    )
    assert status_of(reply) == 413
    assert b"max_body_size=100" in reply
    await still_serves(url)


async def test_body_over_limit_chunked_is_413(serve):
    async def handler(request):
        await request.read()
        return await hello(request)

    _, url = await serve(handler, max_body_size=100)
    chunk = b"40\r\n" + b"x" * 64 + b"\r\n"
    reply = await raw_request(
        url,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk * 3
        + b"0\r\n\r\n",
    )
    assert status_of(reply) == 413
    assert b"max_body_size=100" in reply
    await still_serves(url)


async def test_slow_headers_get_408_and_close(serve):
    _, url = await serve(hello, header_timeout=0.3)
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        with trio.fail_after(5):
            reply = b""
            while chunk := await stream.receive_some(1000):
                reply += chunk
    assert status_of(reply) == 408
    assert b"header_timeout=0.3" in reply
    await still_serves(url)


async def test_slowloris_byte_at_a_time_is_cut_by_the_header_timeout(serve):
    _, url = await serve(hello, header_timeout=0.5)
    stream = await trio.open_tcp_stream(url.host, url.port)
    started = trio.current_time()
    async with stream:
        with trio.fail_after(5):
            try:
                for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000:
                    await stream.send_all(bytes([byte]))
                    await trio.sleep(0.02)
            except trio.BrokenResourceError:
                pass
    assert trio.current_time() - started < 2.0
    await still_serves(url)


async def test_stalled_body_gets_408(serve):
    async def handler(request):
        await request.read()
        return await hello(request)

    _, url = await serve(handler, body_timeout=0.3)
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        with trio.fail_after(5):
            reply = b""
            while chunk := await stream.receive_some(1000):
                reply += chunk
    assert status_of(reply) == 408
    assert b"body_timeout=0.3" in reply
    await still_serves(url)


async def test_handler_timeout_is_503(serve):
    async def handler(request):
        if request.path == "/slow":
            await trio.sleep_forever()
        return rttp.Response(200, body=f"hello {request.path}")

    _, url = await serve(handler, handler_timeout=0.3)
    reply = await raw_request(url, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(reply) == 503
    assert b"handler_timeout=0.3" in reply
    await still_serves(url)


async def test_idle_keep_alive_connection_is_closed(serve):
    _, url = await serve(hello, keep_alive_timeout=0.3)
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(5):
            reply = b""
            while chunk := await stream.receive_some(1000):
                reply += chunk
    assert reply.count(b"200 OK") == 1  # answered, then closed for idleness


async def test_handler_exception_is_500_with_traceback_logged(serve, caplog):
    async def handler(request):
        if request.path == "/boom":
            raise RuntimeError("kaboom")
        return rttp.Response(200, body=f"hello {request.path}")

    _, url = await serve(handler)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        reply = await raw_request(url, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
    assert status_of(reply) == 500
    assert b"kaboom" not in reply  # the traceback never goes to the peer
    assert reply.count(b"200 OK") == 1  # the same connection served the next request
    record = next(r for r in caplog.records if r.name == "rttp.error")
    assert "GET /boom" in record.getMessage()
    assert "kaboom" in caplog.text


async def test_invalid_response_header_from_handler_is_500(serve, caplog):
    async def handler(request):
        return rttp.Response(200, {"X-Evil": "a\r\nSet-Cookie: pwned=1"})

    _, url = await serve(handler)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 500
    assert b"pwned" not in reply
    assert "invalid response" in caplog.text


async def test_refused_upgrade_closes_the_connection(serve):
    _, url = await serve(hello)
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = await raw_request(
        url,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        + smuggled,
    )
    assert reply.count(b"HTTP/1.1") == 1
    assert b"/smuggled" not in reply
    await still_serves(url)


async def test_accepted_upgrade_hands_over_the_stream(serve):
    async def handler(request):
        async def on_upgrade(stream):
            data = await stream.receive_some(100)
            await stream.send_all(b"echo:" + data)

        response = rttp.Response(101, {"Upgrade": "echo", "Connection": "Upgrade"})
        response.on_upgrade = on_upgrade
        return response

    _, url = await serve(handler)
    reply = await raw_request(
        url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly"
    )
    assert reply.startswith(b"HTTP/1.1 101 ")
    assert reply.endswith(b"echo:early")


async def test_access_log_one_line_per_request(serve, caplog):
    _, url = await serve(hello)
    with caplog.at_level(logging.INFO, logger="rttp.access"):
        await raw_request(url, b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
    lines = [r.getMessage() for r in caplog.records if r.name == "rttp.access"]
    assert len(lines) == 2
    assert '"GET /x HTTP/1.1" 200' in lines[0]
    assert lines[0].startswith("127.0.0.1:")


async def test_graceful_shutdown_finishes_in_flight_request(serve):
    started = trio.Event()
    proceed = trio.Event()

    async def handler(request):
        started.set()
        await proceed.wait()
        return rttp.Response(200, body="finished")

    server, url = await serve(handler, shutdown_grace=5)
    replies = []

    async def client():
        replies.append(await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client)
            await started.wait()
            server.shutdown()
            await server.stopped_accepting.wait()
            with pytest.raises(OSError, match="connect"):  # refused during the drain, not lost
                await trio.open_tcp_stream(url.host, url.port)
            proceed.set()  # the request in flight finishes
    assert status_of(replies[0]) == 200
    assert replies[0].endswith(b"finished")
    assert b"Connection: close" in replies[0]


async def test_graceful_shutdown_cancels_after_grace(serve):
    started = trio.Event()

    async def handler(request):
        started.set()
        await trio.sleep_forever()

    server, url = await serve(handler, shutdown_grace=0.2)

    async def client():
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply == b""  # cancelled: connection closed without an answer

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client)
            await started.wait()
            server.shutdown()


async def test_serve_function_reports_addresses_and_stops_on_trigger(nursery):
    stop = trio.Event()
    done = trio.Event()

    async def run(task_status=trio.TASK_STATUS_IGNORED):
        await rttp.serve(
            hello, "http://127.0.0.1:0", shutdown_trigger=stop.wait, task_status=task_status
        )
        done.set()

    addresses = await nursery.start(run)
    assert addresses[0].scheme == "http"
    assert addresses[0].port > 0
    await still_serves(addresses[0])
    stop.set()
    with trio.fail_after(5):
        await done.wait()


async def test_ipv6_and_multiple_binds(serve):
    server, _ = await serve(hello, "http://127.0.0.1:0", "http://[::1]:0")
    assert len(server.addresses) == 2
    assert server.addresses[1].host == "::1"
    async with rttp.Client() as client:
        for address in server.addresses:
            response = await client.get(str(address) + "/v6")
            assert response.text == "hello /v6"


async def test_http10_request(serve):
    _, url = await serve(hello)
    reply = await raw_request(url, b"GET /old HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert reply.endswith(b"hello /old")


async def test_http10_keep_alive(serve):
    """An HTTP/1.0 request asking for keep-alive gets an answer that says so, and the
    connection serves the next request (both backends: h11 itself would close)."""

    async def handler(request):
        if request.path == "/streamed":

            async def parts():
                yield b"no length"

            return rttp.Response(200, {}, parts())
        return rttp.Response(200, {}, f"hello {request.path}")

    _, url = await serve(handler)
    keep = b"Connection: keep-alive\r\n\r\n"
    reply = await raw_request(
        url,
        b"GET /a HTTP/1.0\r\n" + keep + b"GET /b HTTP/1.0\r\n" + keep + b"GET /c HTTP/1.0\r\n\r\n",
    )
    answers = reply.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert [a.rsplit(b"\r\n\r\n", 1)[1] for a in answers] == [b"hello /a", b"hello /b", b"hello /c"]
    assert [a.count(b"Connection: keep-alive\r\n") for a in answers] == [1, 1, 0]
    assert b"Connection: close\r\n" in answers[2]

    # a body without a length ends with the connection, keep-alive or not
    reply = await raw_request(
        url, b"GET /streamed HTTP/1.0\r\n" + keep + b"GET /b HTTP/1.0\r\n" + keep
    )
    assert reply.count(b"HTTP/1.1 200") == 1
    assert b"Connection: close\r\n" in reply
    assert reply.endswith(b"\r\n\r\nno length")


async def test_compression_negotiated_with_vary(serve):
    text = "compress me " * 200

    async def handler(request):
        return rttp.Response(200, {"Content-Type": "text/plain"}, text)

    _, url = await serve(handler)
    reply = await raw_request(
        url,
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0, deflate\r\nConnection: close\r\n\r\n",
    )
    assert b"Content-Encoding: deflate" in reply
    assert b"Vary: Accept-Encoding" in reply
    plain = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Content-Encoding" not in plain
    assert plain.endswith(text.encode())


async def test_small_or_incompressible_bodies_are_not_compressed(serve):
    async def handler(request):
        if request.path == "/png":
            return rttp.Response(200, {"Content-Type": "image/png"}, b"\x89PNG" * 1000)
        return rttp.Response(200, {"Content-Type": "text/plain"}, "tiny")

    _, url = await serve(handler)
    for path in (b"/png", b"/tiny"):
        reply = await raw_request(
            url,
            b"GET %s HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
            % path,
        )
        assert b"Content-Encoding" not in reply


async def test_gzip_request_body_is_decoded_and_bomb_refused(serve):
    import gzip

    async def handler(request):
        body = await request.read()
        if request.path == "/next":
            return await hello(request)
        return rttp.Response(200, body=f"{len(body)} {request.headers.get('content-encoding')}")

    _, url = await serve(handler)
    payload = gzip.compress(b"a" * 5000)
    reply = await raw_request(
        url,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % len(payload)
        + payload,
    )
    assert reply.endswith(b"5000 None")
    bomb = gzip.compress(b"\0" * (30 << 20))
    reply = await raw_request(
        url,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        % len(bomb)
        + bomb,
    )
    assert status_of(reply) == 400
    assert b"decompression bomb" in reply
    reply = await raw_request(
        url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx"
    )
    assert status_of(reply) == 415
    assert b"'br'" in reply
    await still_serves(url)


async def test_every_response_has_a_reason_phrase(serve):
    async def handler(request):
        return rttp.Response(int(request.path[1:]))

    _, url = await serve(handler)
    for code, reason in ((299, b"Unknown"), (418, b"I'm a Teapot"), (404, b"Not Found")):
        reply = await raw_request(
            url, b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % code
        )
        assert reply.startswith(b"HTTP/1.1 %d %s\r\n" % (code, reason))


@pytest.mark.parametrize(
    ("size", "request_bytes", "filler"),
    [
        # one large answer, written in pieces; the client keeps sending other bytes
        (16 << 20, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", b"x" * 1000),
        # whole answers, each small enough for one write with its head, to a client that
        # pipelines requests: once the socket's buffers are full the write that must
        # wait is timed
        (60 << 10, b"", b"GET /whole HTTP/1.1\r\nHost: x\r\n\r\n" * 20),
    ],
    ids=["large-answer", "pipelined-whole-answers"],
)
async def test_write_timeout_drops_a_client_that_never_reads(serve, size, request_bytes, filler):
    body = b"w" * size

    async def handler(request):
        if request.path == "/next":
            return await hello(request)
        return rttp.Response(200, {"Content-Type": "application/octet-stream"}, body)

    _, url = await serve(handler, write_timeout=0.3)
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(request_bytes)

        # never read; keep writing until the server drops us (a reset breaks our sends)
        async def write_until_dropped():
            while True:
                await stream.send_all(filler)

        with trio.fail_after(10), pytest.raises(trio.BrokenResourceError):
            await write_until_dropped()
    await still_serves(url)


async def test_oversized_chunk_extension_is_refused(serve):
    async def handler(request):
        await request.read()
        return await hello(request)

    _, url = await serve(handler)
    reply = await raw_request(
        url,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;"
        + b"e" * 100_000
        + b"\r\nabc\r\n0\r\n\r\n",
    )
    assert status_of(reply) == 400
    assert b"chunk header" in reply
    await still_serves(url)


async def test_error_answer_survives_an_upload_in_progress_then_linger_ends(serve):
    """413 while the client is still uploading: the answer arrives (no reset destroys it),
    the server half-closes, drains for linger_timeout, then closes for good."""
    _, url = await serve(hello, max_body_size=1000, linger_timeout=0.5)
    stream = await trio.open_tcp_stream(url.host, url.port)
    reply = bytearray()
    upload_broke: list[float] = []

    async def upload():
        try:
            await stream.send_all(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"
            )
            while True:  # ~6 MB/s: well under the 16 MiB drain budget within the linger time
                await stream.send_all(b"u" * 65536)
                await trio.sleep(0.01)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            upload_broke.append(trio.current_time())

    start = trio.current_time()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(upload)
            while chunk := await stream.receive_some(65536):
                reply.extend(chunk)
            answered = trio.current_time()
    await stream.aclose()
    assert status_of(bytes(reply)) == 413
    assert b"max_body_size=1000" in reply
    assert answered - start < 0.5  # the answer came at once
    # the server kept draining the upload for about linger_timeout, then closed
    assert 0.4 < upload_broke[0] - start < 5
    await still_serves(url)


async def test_reuse_port_lets_two_servers_share_a_port(serve):
    async def first(request):
        return rttp.Response(200, body="first")

    async def second(request):
        return rttp.Response(200, body="second")

    _, url = await serve(first, "http://127.0.0.1:0", reuse_port=True)
    await serve(second, f"http://127.0.0.1:{url.port}", reuse_port=True)
    seen = set()
    for _ in range(64):  # the kernel hashes connections over both: one alone has p = 2**-63
        seen.add((await raw_request(url, GET)).rsplit(b"\r\n\r\n", 1)[1])
    assert seen == {b"first", b"second"}
    with pytest.raises(rttp.errors.BindError, match="cannot listen"):
        await serve(hello, f"http://127.0.0.1:{url.port}")  # without reuse_port: in use


async def test_workers_cannot_fork_inside_trio_and_say_what_to_do(nursery):
    with pytest.raises(ValueError, match="workers must be an int >= 1, got 0"):
        rttp.ServerConfig(workers=0)
    server = rttp.Server(hello, "http://127.0.0.1:0", workers=4)
    with pytest.raises(RuntimeError, match="rttp serve --workers"):
        await nursery.start(server.serve)


async def test_reason_phrase_injection_is_never_sent(serve, caplog):
    async def handler(request):
        return rttp.Response(200, reason="OK\r\nSet-Cookie: pwned=1")

    _, url = await serve(handler)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 500
    assert b"pwned" not in reply
    assert "invalid reason phrase" in caplog.text


# -- head semantics, once for both backends (rttp._proto._head) ------------------------------
@pytest.mark.parametrize("connection", [b"Upgrade, xclose", b"Upgrade, closed", b"upgrade"])
async def test_bytes_after_a_refused_upgrade_are_never_parsed(serve, connection):
    """Connection is a list of tokens: ``xclose`` is not ``close`` (the h11 backend once
    matched substrings and answered the smuggled second request on an open connection)."""
    _, url = await serve(hello)
    reply = await raw_request(
        url,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: " + connection + b"\r\nUpgrade: h2c\r\n\r\n"
        b"GET /after-refused-upgrade HTTP/1.1\r\nHost: x\r\n\r\n",
    )  # raw_request reads until the server closes: a connection left open fails here
    assert reply.count(b"HTTP/1.1 ") == 1
    assert b"after-refused-upgrade" not in reply
    await still_serves(url)


@pytest.mark.parametrize(
    "lengths",
    [
        b"Content-Length: 3, 4",
        b"Content-Length: 3\r\nContent-Length: 4",
        b"Content-Length: 3, 3",
        b"Content-Length: 3\r\nContent-Length: 3",
    ],
    ids=["conflicting-list", "conflicting-fields", "listed", "repeated"],
)
async def test_conflicting_content_lengths_are_refused(serve, lengths):
    """A repeated or listed Content-Length is a 400 on both backends, even with equal
    values (RFC 9110 lets a recipient accept those; llhttp refuses them, and the h11
    backend, whose h11 would merge them, refuses them too, so the two never disagree)."""
    _, url = await serve(hello)
    reply = await raw_request(
        url, b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + lengths + b"\r\n\r\nabc"
    )
    assert status_of(reply) == 400
    assert b"Content-Length" in reply
    await still_serves(url)


@pytest.mark.parametrize("logged", [True, False], ids=["access-log", "no-access-log"])
async def test_malformed_request_lines_belong_to_the_access_log(serve, caplog, logged):
    """``access_log=False`` silences the ``<malformed request>`` lines too (a fuzz run
    once produced 19,356 of them); when logged, the line carries the status."""
    _, url = await serve(hello, access_log=logged)
    with caplog.at_level(logging.INFO, logger="rttp.access"):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert status_of(reply) == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "rttp.access"]
    if logged:
        assert len(lines) == 1
        assert "<malformed request>" in lines[0]
        assert lines[0].endswith(" 400")
    else:
        assert lines == []
    await still_serves(url)


async def test_shutdown_refuses_new_clients_and_finishes_accepted_requests(serve):
    """Graceful shutdown closes the listeners first: a client arriving during the drain
    is refused (it used to be accepted, then reset when the drain ended), and the
    request in flight still gets its answer."""
    entered, release = trio.Event(), trio.Event()

    async def slow(request):
        if request.path == "/slow":
            entered.set()
            await release.wait()
        return rttp.Response(200, body="done " + request.path)

    server, url = await serve(slow, shutdown_grace=30)
    async with await trio.open_tcp_stream(url.host, url.port) as in_flight:
        await in_flight.send_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(5):
            await entered.wait()
            server.shutdown()
            await server.stopped_accepting.wait()  # before the drain, not after it
        with pytest.raises(OSError, match="failed") as refused:
            await trio.open_tcp_stream(url.host, url.port)  # refused, not accepted and lost
        assert any(
            isinstance(e, ConnectionRefusedError) for e in refused.value.__cause__.exceptions
        )
        release.set()
        answer = b""
        with trio.fail_after(5):
            while b"done /slow" not in answer:
                chunk = await in_flight.receive_some(65536)
                assert chunk, answer
                answer += chunk
    assert status_of(answer) == 200


async def test_max_connections_closes_the_oldest_idle_then_waits(serve):
    """Past ``max_connections`` the oldest idle keep-alive connection is closed for the
    newcomer; with every connection busy, the newcomer waits (accepted, not served)
    until one ends, and is then served."""
    busy = 0
    both_busy = trio.Event()
    release = trio.Event()
    late_seen = False

    async def handler(request):
        nonlocal busy, late_seen
        if request.path == "/busy":
            busy += 1
            if busy == 2:
                both_busy.set()
            await release.wait()
        if request.path == "/late":
            late_seen = True
        return rttp.Response(200, body="ok " + request.path)

    server, url = await serve(handler, max_connections=2)

    async def ask(stream: trio.abc.Stream, path: str) -> bytes:
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while not answer.endswith(path.encode()):
            chunk = await stream.receive_some(65536)
            if not chunk:
                return answer
            answer += chunk
        return answer

    with trio.fail_after(10):
        first = await trio.open_tcp_stream(url.host, url.port)
        second = await trio.open_tcp_stream(url.host, url.port)
        assert (await ask(first, "/a")).endswith(b"ok /a")  # now idle, the oldest
        assert (await ask(second, "/b")).endswith(b"ok /b")
        third = await trio.open_tcp_stream(url.host, url.port)
        assert (await ask(third, "/c")).endswith(b"ok /c")  # a slot was made for it
        # one idle connection was closed for it (the one idle longest, to the sweeper's
        # tick: both went idle within one), and the other lives on
        answers = [await ask(first, "/d"), await ask(second, "/d")]
        assert sorted(a.endswith(b"ok /d") for a in answers) == [False, True]
        survivor = second if answers[1].endswith(b"ok /d") else first
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, survivor, "/busy")
            nursery.start_soon(ask, third, "/busy")
            await both_busy.wait()
            fourth = await trio.open_tcp_stream(url.host, url.port)
            nursery.start_soon(ask, fourth, "/late")
            await trio.testing.wait_all_tasks_blocked(0.05)
            assert not late_seen  # every slot busy: the newcomer is held
            release.set()
        assert late_seen
    for stream in (first, second, third, fourth):
        await stream.aclose()
    assert server.config.connection_limit == 2
    assert rttp.ServerConfig().connection_limit > 16  # the open-file limit less 64


async def test_a_bare_lf_in_a_response_header_is_never_sent(serve, caplog):
    """Without a CR, a LF still splits a header on the wire (``X-Evil: a`` then
    ``Set-Cookie: pwned=1``): the handler's answer is refused and replaced by a 500."""

    async def evil(request):
        if request.path != "/":
            return await hello(request)
        return rttp.Response(200, [(b"X-Evil", b"a\nSet-Cookie: pwned=1")], "no")

    _, url = await serve(evil)
    with caplog.at_level(logging.ERROR, logger="rttp.error"):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 500
    assert b"pwned" not in reply
    await still_serves(url)


async def test_an_unread_body_past_the_drain_budget_closes_the_connection(serve):
    """A handler that answers without reading a 5 MiB body: the server discards at most
    1 MiB to keep the connection, then closes it, instead of waiting for the rest."""
    _, url = await serve(hello, body_timeout=30)
    answer = b""
    async with await trio.open_tcp_stream(url.host, url.port) as stream:

        async def send() -> None:
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.send_all(
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5242880\r\n\r\n"
                    + b"z" * (2 << 20)  # 2 MiB of the 5: the rest never comes
                )

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            with trio.fail_after(5):  # without the budget: the drain waits for body_timeout
                while chunk := await stream.receive_some(65536):
                    answer += chunk
    assert status_of(answer) == 200
    assert b"Connection: close" in answer or answer.endswith(b"hello /")
    await still_serves(url)


async def test_lingering_after_an_error_stops_at_its_byte_budget(serve):
    """After an error answer the server reads and discards what the client still sends,
    so the answer is not destroyed by a reset; but at most 16 MiB of it, even while
    linger_timeout lasts (30 s here): a client that never stops sending is cut off."""
    _, url = await serve(hello, max_body_size=1024, linger_timeout=30)
    sent = 0
    async with await trio.open_tcp_stream(url.host, url.port) as stream:
        await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
        with trio.fail_after(20), contextlib.suppress(trio.BrokenResourceError):
            while sent < 96 << 20:  # bounded: 96 MiB at most
                await stream.send_all(b"z" * (1 << 20))
                sent += 1 << 20
    assert sent < 64 << 20  # cut off near the 16 MiB budget (plus socket buffers)
    await still_serves(url)
