"""A Flask application hosted by rttp.wsgi, over real loopback sockets: routes, a
streamed generator response, an upload read from wsgi.input as it arrives, and close()
on the response iterable, even when the client goes away."""

from __future__ import annotations

import pytest
import trio

import rttp
from tests.conftest import raw_request, status_of

pytest.importorskip("flask", reason="Flask is part of the test extra")

from flask import Flask, Response, request, stream_with_context

closed = trio.Event()
closed_count: list[int] = []


def make_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello/<name>")
    def hello(name: str):
        return {"hello": name, "q": request.args.get("q"), "script": request.script_root}

    @app.post("/upload")
    def upload():
        size = pieces = 0
        while chunk := request.stream.read(65536):
            size += len(chunk)
            pieces += 1
        return f"{size} bytes in {pieces} reads"

    @app.get("/numbers")
    def numbers():
        def gen():
            for n in range(3):
                yield f"{n}\n"

        return Response(stream_with_context(gen()), mimetype="text/plain")

    @app.get("/forever")
    def forever():
        class Endless:
            def __iter__(self):
                while True:
                    yield b"x" * 65536

            def close(self):
                closed_count.append(1)
                trio.from_thread.run_sync(closed.set)

        return Response(Endless(), mimetype="application/octet-stream")

    @app.get("/boom")
    def boom():
        raise RuntimeError("the view failed")

    return app


@pytest.fixture
async def url(nursery):
    server = rttp.Server(rttp.wsgi(make_app()), "http://127.0.0.1:0", access_log=False)
    addresses = await nursery.start(server.serve)
    return addresses[0]


async def test_routes_json_and_query(url):
    async with rttp.Client() as client:
        got = await client.get(f"{url}/hello/trio?q=1")
    assert got.value == {"hello": "trio", "q": "1", "script": ""}


async def test_an_upload_is_read_from_wsgi_input_as_it_arrives(url):
    body = b"y" * (2 << 20)

    async def pieces():
        for offset in range(0, len(body), 65536):
            yield body[offset : offset + 65536]

    async with rttp.Client() as client:
        answer = await client.post(f"{url}/upload", content=pieces())
    size, _, rest = answer.text.partition(" bytes in ")
    assert int(size) == len(body)
    assert int(rest.split()[0]) > 1


async def test_a_generator_response_is_streamed_chunked(url):
    reply = await raw_request(url, b"GET /numbers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 200
    assert b"transfer-encoding: chunked" in reply.lower()
    assert reply.endswith(b"2\r\n0\n\r\n2\r\n1\n\r\n2\r\n2\n\r\n0\r\n\r\n")


async def test_close_is_called_when_the_client_goes_away(url):
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 200")
    await trio.aclose_forcefully(stream)
    with trio.fail_after(10):
        await closed.wait()
    assert closed_count == [1]


async def test_a_failing_view_is_a_500_and_the_server_goes_on(url):
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/boom")).status == 500
        assert (await client.get(f"{url}/hello/again")).status == 200


async def test_client_app_reaches_a_wsgi_app_in_memory():
    async with rttp.Client(app=make_app()) as client:
        got = await client.get("/hello/memory")
    assert got.value["hello"] == "memory"


@pytest.mark.parametrize("backend", ["httptools", "h11"])
async def test_send_file_goes_out_through_the_file_wrapper_and_sendfile(
    nursery, tmp_path, sendfile_calls, backend
):
    """Flask's send_file hands wsgi.file_wrapper a real file: the kernel sends it."""
    import os

    from flask import send_file

    data = os.urandom(3 * 1024 * 1024 + 7)
    (tmp_path / "report.bin").write_bytes(data)
    sent = sendfile_calls
    app = Flask(__name__)
    app.get("/report")(lambda: send_file(tmp_path / "report.bin"))
    server = rttp.Server(
        rttp.wsgi(app), "http://127.0.0.1:0", access_log=False, http_backend=backend
    )
    url = (await nursery.start(server.serve))[0]
    async with rttp.Client() as client:
        got = await client.get(f"{url}/report")
        again = await client.get(f"{url}/report")
    assert got.content == data
    assert got.headers["content-length"] == str(len(data))
    assert again.content == data
    assert sum(sent) == 2 * len(data)


async def test_a_file_wrapper_around_a_non_file_is_read_as_an_iterable():
    import io

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"abc" * 5000), 1000)

    async with rttp.Client(app=app) as client:
        got = await client.get("/")
    assert got.content == b"abc" * 5000


async def test_a_sized_generator_is_sent_whole_and_closed_once():
    """An answer that declares its length is collected in the app's thread (one trip
    per request); its iterable is closed once, also when it fails half-way (a 500)."""
    closes: list[str] = []

    class Body:
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def __iter__(self):
            yield b"hello, "
            if self.fail:
                raise RuntimeError("the body broke")
            yield b"world"

        def close(self) -> None:
            closes.append("closed")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "12")])
        return Body(fail=environ["PATH_INFO"] == "/fail")

    async with rttp.Client(app=app) as client:
        good = await client.get("/")
        assert closes == ["closed"]
        bad = await client.get("/fail")
    assert (good.status, good.content, good.headers["content-length"]) == (
        200,
        b"hello, world",
        "12",
    )
    assert bad.status == 500
    assert closes == ["closed", "closed"]
