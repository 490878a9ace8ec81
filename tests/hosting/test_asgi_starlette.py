"""A Starlette application hosted by rttp.asgi, over real loopback sockets: the scope,
streamed request and response bodies, HEAD, trailers, lifespan with state, and the
answers to an app that fails."""

from __future__ import annotations

import contextlib
import logging

import pytest
import trio

import rttp
from tests.conftest import raw_request, status_of

starlette = pytest.importorskip("starlette", reason="Starlette is part of the test extra")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402


def make_app(events: list[str] | None = None) -> Starlette:
    async def scope_route(request: Request) -> JSONResponse:
        scope = request.scope
        return JSONResponse(
            {
                "method": scope["method"],
                "path": scope["path"],
                "raw_path": scope["raw_path"].decode(),
                "query": scope["query_string"].decode(),
                "root": scope["root_path"],
                "http_version": scope["http_version"],
                "scheme": scope["scheme"],
                "client": scope["client"][0] if scope["client"] else None,
                "asgi": scope["asgi"],
                "header": request.headers.get("x-test"),
                "state": getattr(request.state, "greeting", None),
            }
        )

    async def upload(request: Request) -> PlainTextResponse:
        size = pieces = 0
        async for chunk in request.stream():
            size += len(chunk)
            pieces += bool(chunk)
        return PlainTextResponse(f"{size} bytes in {pieces} pieces")

    async def numbers(request: Request) -> StreamingResponse:
        async def gen():
            for n in range(3):
                yield f"{n}\n"

        return StreamingResponse(gen(), media_type="text/plain")

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("the app failed")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if events is not None:
            events.append("startup")
        yield {"greeting": "hello from lifespan"}
        if events is not None:
            events.append("shutdown")

    return Starlette(
        routes=[
            Route("/scope/{rest:path}", scope_route),
            Route("/upload", upload, methods=["POST"]),
            Route("/numbers", numbers),
            Route("/boom", boom),
        ],
        lifespan=lifespan,
    )


@pytest.fixture
def hosted(nursery):
    async def start(app, **settings):
        settings.setdefault("access_log", False)
        server = rttp.Server(rttp.asgi(app), "http://127.0.0.1:0", **settings)
        addresses = await nursery.start(server.serve)
        return addresses[0]

    return start


async def test_the_scope_is_the_asgi_http_scope(hosted):
    url = await hosted(make_app())
    async with rttp.Client() as client:
        response = await client.get(f"{url}/scope/a%20b/c?x=1&y=2", headers={"X-Test": "yes"})
    assert response.status == 200
    assert response.value == {
        "method": "GET",
        "path": "/scope/a b/c",
        "raw_path": "/scope/a%20b/c",
        "query": "x=1&y=2",
        "root": "",
        "http_version": "1.1",
        "scheme": "http",
        "client": "127.0.0.1",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "header": "yes",
        "state": "hello from lifespan",
    }


async def test_root_path_is_in_the_scope_and_in_the_path(hosted):
    url = await hosted(make_app(), root_path="/api")
    async with rttp.Client() as client:
        response = await client.get(f"{url}/api/scope/x")
    assert (response.value["root"], response.value["path"]) == ("/api", "/api/scope/x")


async def test_a_large_upload_is_streamed_to_the_app_in_pieces(hosted):
    url = await hosted(make_app())
    body = b"x" * (3 << 20)

    async def pieces():
        for offset in range(0, len(body), 65536):
            yield body[offset : offset + 65536]

    async with rttp.Client() as client:
        response = await client.post(f"{url}/upload", content=pieces())
    size, _, rest = response.text.partition(" bytes in ")
    assert int(size) == len(body)
    assert int(rest.split()[0]) > 1  # handed over as it came, not as one buffer


async def test_a_streaming_response_is_chunked_and_head_gets_no_body(hosted):
    url = await hosted(make_app())
    reply = await raw_request(url, b"GET /numbers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 200
    assert b"transfer-encoding: chunked" in reply.lower()
    assert reply.endswith(b"2\r\n0\n\r\n2\r\n1\n\r\n2\r\n2\n\r\n0\r\n\r\n")
    head = await raw_request(url, b"HEAD /numbers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(head) == 200
    assert head.endswith(b"\r\n\r\n")


async def test_an_app_that_raises_gets_a_500_and_the_server_goes_on(hosted, caplog):
    url = await hosted(make_app())
    with caplog.at_level(logging.ERROR):
        async with rttp.Client() as client:
            response = await client.get(f"{url}/boom")
            assert response.status == 500
            assert (await client.get(f"{url}/scope/next")).status == 200
    assert "the app failed" in caplog.text
    # Starlette sends its error page, then re-raises: the answer is complete, so the
    # connection carries the next request (it is not cut)
    reply = await raw_request(
        url,
        b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /scope/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert reply.count(b"HTTP/1.1 500 ") == 1
    assert reply.count(b"HTTP/1.1 200 OK") == 1
    assert b'"path":"/scope/after"' in reply


async def test_an_app_that_returns_without_answering_is_a_500_naming_it(hosted, caplog):
    async def silent(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        return None

    url = await hosted(silent)
    with caplog.at_level(logging.ERROR, logger="rttp.asgi"):
        async with rttp.Client() as client:
            response = await client.get(f"{url}/")
    assert response.status == 500
    assert "the application sent no response" in response.text
    assert "returned without answering GET /" in caplog.text


async def test_trailers_go_after_a_chunked_body(hosted):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"data", "more_body": False})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"42")]})

    url = await hosted(app)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.endswith(b"4\r\ndata\r\n0\r\nx-sum: 42\r\n\r\n")


async def test_lifespan_runs_startup_before_serving_and_shutdown_after(nursery):
    events: list[str] = []
    server = rttp.Server(rttp.asgi(make_app(events)), "http://127.0.0.1:0", access_log=False)
    stopped = trio.Event()

    async def serve(task_status=trio.TASK_STATUS_IGNORED):
        await server.serve(task_status=task_status)
        stopped.set()

    addresses = await nursery.start(serve)
    assert events == ["startup"]
    async with rttp.Client() as client:
        assert (await client.get(f"{addresses[0]}/scope/x")).value["state"] == "hello from lifespan"
    server.shutdown()
    with trio.fail_after(10):
        await stopped.wait()  # serve() returns after the drain and the app's shutdown
    assert events == ["startup", "shutdown"]


async def test_a_failed_startup_stops_the_server_with_the_apps_reason():
    async def app(scope, receive, send):
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    server = rttp.Server(rttp.asgi(app), "http://127.0.0.1:0")
    with pytest.raises(rttp.errors.LifespanFailed, match="startup failed: no database"):
        await server.serve()  # one error with the app's reason, not a group


async def test_the_client_going_away_is_a_disconnect_for_receive(hosted):
    seen: list[str] = []
    done = trio.Event()

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
        except OSError as exc:  # ASGI 2.4: an OSError subclass
            seen.append(type(exc).__name__)
            seen.append((await receive())["type"])
            done.set()
            raise

    url = await hosted(app)
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await stream.receive_some(65536)
    await trio.aclose_forcefully(stream)
    with trio.fail_after(10):
        await done.wait()
    assert seen == ["ClientDisconnected", "http.disconnect"]


async def test_client_app_reaches_an_asgi_app_in_memory():
    """``rttp.Client(app=asgi_app)`` goes through the real engine with no socket, as
    httpx's ASGITransport does."""
    async with rttp.Client(app=make_app()) as client:
        response = await client.get("/scope/in-memory?z=1")
        upload = await client.post("/upload", content=b"y" * 100_000)
    assert (response.status, response.value["path"], response.value["query"]) == (
        200,
        "/scope/in-memory",
        "z=1",
    )
    assert upload.text.startswith("100000 bytes in ")


async def test_a_streaming_response_whose_client_leaves_is_not_an_error(hosted, caplog):
    """Starlette turns the OSError of a send into its ClientDisconnect: the server takes
    it for what it is (the client left), logs no error, and serves the next client."""
    started = trio.Event()

    class Endless:  # (an iterator, not an async generator: Starlette abandons it)
        def __aiter__(self):
            return self

        async def __anext__(self) -> bytes:
            started.set()
            return b"x" * 65536

    async def endless(request: Request) -> StreamingResponse:
        return StreamingResponse(Endless())

    app = Starlette(routes=[Route("/endless", endless), Route("/scope/{rest:path}", endless)])
    url = await hosted(app)
    with caplog.at_level(logging.ERROR):
        stream = await trio.open_tcp_stream(url.host, url.port)
        await stream.send_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        await stream.receive_some(65536)
        await trio.aclose_forcefully(stream)
        with trio.fail_after(10):
            await started.wait()
        reply = await raw_request(
            url, b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    assert status_of(reply) == 404
    assert "failed" not in caplog.text


async def test_a_streaming_response_waits_for_a_slow_reader(hosted):
    """Backpressure: the app's generator runs only as far ahead of the client as the
    socket buffers hold, never the whole answer into memory."""
    import trio.testing

    total = 64 * 1024 * 1024
    piece = b"x" * 65536
    produced = [0]

    class Pieces:  # (an iterator, not an async generator: the app abandons it)
        def __aiter__(self):
            return self

        async def __anext__(self) -> bytes:
            if produced[0] >= total:
                raise StopAsyncIteration
            produced[0] += len(piece)
            return piece

    async def big(request: Request) -> StreamingResponse:
        return StreamingResponse(Pieces())

    url = await hosted(Starlette(routes=[Route("/big", big)]))
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    received = 0
    while received < 1024 * 1024:
        received += len(await stream.receive_some(65536))
    await trio.testing.wait_all_tasks_blocked()  # the server waits for the reader now
    ahead = produced[0] - received
    assert ahead < 16 * 1024 * 1024, ahead  # socket buffers, not the 64 MiB answer
    assert produced[0] < total
    await trio.aclose_forcefully(stream)


async def test_response_headers_as_any_bytes_like_pairs_are_sent_as_given(hosted):
    # the spec's byte strings, as lists, a tuple, bytearrays and memoryviews: all sent
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        kind = scope["path"]
        if kind == "/bytearray":
            headers = [(bytearray(b"x-kind"), bytearray(b"bytearray"))]
        elif kind == "/lists":
            headers = ([b"x-kind", b"lists"],)
        else:
            headers = [(memoryview(b"x-kind"), memoryview(b"memoryview"))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": bytearray(b"body")})

    url = await hosted(app)
    for kind in ("bytearray", "lists", "memoryview"):
        reply = await raw_request(
            url, f"GET /{kind} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        assert status_of(reply) == 200
        assert f"x-kind: {kind}\r\n".encode() in reply
        assert reply.endswith(b"\r\n\r\nbody")


async def test_response_headers_that_are_not_bytes_are_the_apps_error_a_500(hosted, caplog):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [("x-a", "b")]})
        await send({"type": "http.response.body", "body": b"never"})

    url = await hosted(app)
    with caplog.at_level(logging.ERROR):
        reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 500
    assert b"never" not in reply
    assert "string argument without an encoding" in caplog.text


async def test_every_request_of_a_kept_alive_connection_gets_its_own_scope(hosted):
    # the server address is looked up once per connection; the rest is each request's
    seen: list[dict] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        seen.append(scope)
        if scope["path"] == "/a":
            scope["extensions"]["mine"] = {}  # an app writing into its scope
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    url = await hosted(app)
    reply = await raw_request(
        url,
        b"GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    first, second = seen
    assert (first["path"], first["query_string"]) == ("/a", b"x=1")
    assert (second["path"], second["query_string"]) == ("/b", b"")
    assert first["server"] == second["server"] == (url.host, url.port)
    assert "mine" not in second["extensions"]
    assert first["extensions"] is not second["extensions"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        # the app's own, right: kept where it is, as it is
        ([(b"content-length", b"4"), (b"x-a", b"1")], b"content-length: 4\r\nx-a: 1\r\n"),
        # wrong, or said twice (once right): the server's one true length instead
        ([(b"content-length", b"99"), (b"x-a", b"1")], b"x-a: 1\r\n"),
        ([(b"content-length", b"4"), (b"Content-Length", b"5")], b""),
        ([(b"content-length", b"4"), (b"content-length", b"4")], b""),
    ],
)
async def test_a_whole_answer_carries_exactly_one_true_content_length(hosted, given, sent):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": given})
        await send({"type": "http.response.body", "body": b"body"})

    url = await hosted(app)
    reply = await raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert body == b"body"
    assert head.lower().count(b"content-length:") == 1
    assert b"content-length: 4" in head.lower()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n" + sent)


async def test_a_body_before_the_start_is_the_apps_error_a_500(hosted, caplog):
    """``http.response.body`` before ``http.response.start`` raises in the app's
    ``send`` (whole or in pieces), so the app fails before answering: a 500."""
    failures: list[str] = []

    async def early(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        more = scope["path"] == "/pieces"
        try:
            await send({"type": "http.response.body", "body": b"x", "more_body": more})
        except RuntimeError as exc:
            failures.append(str(exc))
            raise

    url = await hosted(early)
    with caplog.at_level(logging.ERROR):
        async with rttp.Client() as client:
            for path in ("/whole", "/pieces"):
                assert (await client.get(f"{url}{path}")).status == 500
    assert failures == ["http.response.body sent before http.response.start"] * 2
