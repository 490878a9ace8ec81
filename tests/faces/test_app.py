"""The routing app, the served-app object, the callback client and the seed 003 enums."""

from __future__ import annotations

import uuid

import pytest
import trio
import trio.lowlevel

import rttp
from rttp.errors import Cancelled
from tests.conftest import running_cli


def build_app() -> rttp.App:
    app = rttp.App(ws_ping_interval=None)

    @app.get("/")
    def index(req):
        return "index"

    @app.get("/users/{id:int}")
    def user(req):
        return {"id": req.parameters["id"]}

    @app.get("/users/me")  # registered later: the int route matches first only for numbers
    def me(req):
        return "me"

    @app.get("/files/{path:path}")
    def files(req):
        return req.parameters["path"]

    @app.get("/items/{key:uuid}")
    def item(req):
        return str(req.parameters["key"].version)

    @app.get("/price/{value:float}")
    def price(req):
        return {"double": req.parameters["value"] * 2}

    @app.post("/users")
    async def create(req):
        return {
            "status": 201,
            "body": {"created": req.value["name"]},
            "headers": {"Location": "/users/9"},
        }

    @app.put("/flag/{on}")
    def flag(req):
        return req.parameters["on"] == "yes"

    @app.delete("/users/{id:int}")
    def remove(req, res):  # the seed's (req, res) form
        res.status = 202
        res.header("X-Removed", str(req.parameters["id"]))
        res.body = "gone"

    @app.patch("/echo")
    def echo(req):
        return rttp.Response(200, {"Content-Type": "application/octet-stream"}, req.body)

    @app.get("/info")
    def info(req):
        return {
            "ip": req.ip,
            "port": req.port > 0,
            "path": req.path,
            "query": req.query,
            "method": req.method,
        }

    return app


@pytest.fixture
async def app_url(serve):
    app = build_app()
    _, url = await serve(app)
    return app, str(url)


async def test_routes_parameters_and_results(app_url):
    _app, base = app_url
    async with rttp.Client() as client:
        assert (await client.get(base + "/")).text == "index"
        assert (await client.get(base + "/users/42")).value == {"id": 42}
        assert (await client.get(base + "/users/me")).text == "me"
        assert (await client.get(base + "/files/a/b/c.txt")).text == "a/b/c.txt"
        assert (await client.get(base + f"/items/{uuid.uuid4()}")).text == "4"
        assert (await client.get(base + "/price/1.25")).value == {"double": 2.5}
        created = await client.post(base + "/users", json={"name": "ana"})
        assert (created.status, created.headers["location"], created.value) == (
            201,
            "/users/9",
            {"created": "ana"},
        )
        assert (await client.put(base + "/flag/yes")).status == 200  # True
        assert (await client.put(base + "/flag/no")).status == 400  # False
        removed = await client.delete(base + "/users/3")
        assert (removed.status, removed.headers["x-removed"], removed.text) == (202, "3", "gone")
        assert (await client.patch(base + "/echo", content=b"raw")).body == b"raw"
        info = (await client.get(base + "/info?x=1")).value
        assert info == {
            "ip": "127.0.0.1",
            "port": True,
            "path": "/info",
            "query": "x=1",
            "method": "GET",
        }


async def test_404_405_head_and_options(app_url):
    _, base = app_url
    async with rttp.Client() as client:
        missing = await client.get(base + "/nowhere")
        assert missing.status == 404
        assert "no route for /nowhere" in missing.text
        assert (await client.get(base + "/users/abc")).status == 404  # the int converter refuses
        wrong = await client.post(base + "/users/4")
        assert wrong.status == 405
        assert wrong.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
        head = await client.head(base + "/users/4")
        assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "8")
        options = await client.options(base + "/users/4")
        assert (options.status, options.headers["allow"]) == (204, "DELETE, GET, HEAD, OPTIONS")


async def test_any_runs_first_and_may_pass_on(serve):
    app = build_app()
    order: list[str] = []

    @app.any("*")
    def everything(req):
        order.append("any *")
        if req.headers.get("x-block"):
            return {"status": 403, "body": "blocked by filter"}
        return None  # pass on

    @app.any("/users/{id:int}")
    def users_filter(req):
        order.append(f"any users {req.parameters['id']}")

    _, url = await serve(app)
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/users/5")).value == {"id": 5}
        assert order == ["any *", "any users 5"]
        blocked = await client.get(f"{url}/users/5", headers={"X-Block": "1"})
        assert (blocked.status, blocked.text) == (403, "blocked by filter")
        assert order[-1] == "any *"  # the answer stopped the chain


async def test_registering_none_removes_and_handlers_lists(serve):
    app = build_app()
    app.get("/", None)
    assert ("GET", "/") not in [(h.method, h.path) for h in app.handlers()]

    @app.socket("/live")
    def live(conn, opcode, data, extra):
        pass

    listed = [(h.method, h.path) for h in app.handlers()]
    assert ("GET", "/users/{id:int}") in listed
    assert ("SOCKET", "/live") in listed
    assert app.handlers()[0].callback is not None
    _, url = await serve(app)
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/")).status == 404
    with pytest.raises(ValueError, match="unknown converter 'date'"):
        app.get("/d/{when:date}", lambda r: None)
    with pytest.raises(ValueError, match="must start with '/'"):
        app.get("relative", lambda r: None)


async def test_route_may_upgrade_explicitly(serve):
    app = rttp.App(ws_ping_interval=None)
    events: list = []

    @app.get("/join")
    def join(req):
        if req.headers.get("x-token") != "secret":
            return {"status": 401, "body": "token please"}
        return req.upgrade()

    @app.socket("/join")
    async def joined(conn, opcode, data, extra):
        events.append(opcode)
        if opcode == rttp.Opcode.text:
            await conn.text("welcome " + data)

    _, url = await serve(app)
    ws_url = str(url).replace("http", "ws") + "/join"
    with pytest.raises(rttp.errors.WebSocketRejected) as info:
        await rttp.connect_websocket(ws_url)
    assert info.value.status == 401
    async with rttp.websocket(ws_url, {"X-Token": "secret"}, ping_interval=None) as ws:
        await ws.text("ana")
        assert await ws.receive() == "welcome ana"
    with pytest.raises(rttp.RTTPError, match="cannot be upgraded"):
        rttp.Request("GET", "/plain").upgrade()


async def test_an_app_request_is_freed_when_answered_not_left_in_a_cycle(serve):
    # a request left in a reference cycle waits for the garbage collector, whose full
    # passes (tens of ms with a busy server's objects) stall every connection
    import gc

    app = build_app()
    _, url = await serve(app)
    async with rttp.Client() as client:
        await client.get(f"{url}/")  # the connection and the pool, made before counting
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(20):
                assert (await client.get(f"{url}/")).text == "index"
            gc.collect()
            left = [o for o in gc.garbage if isinstance(o, rttp.Request)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert left == []


async def test_stream_routes_leave_the_body_to_the_handler(serve):
    app = rttp.App()

    @app.post("/upload", stream=True)
    async def upload(req):
        received = 0
        req.stream_post_param("file", lambda *chunk: None)
        async for chunk in req.stream():
            received += len(chunk)
        return {"received": received}

    _, url = await serve(app)
    async with rttp.Client() as client:
        response = await client.post(f"{url}/upload", content=b"x" * 100_000)
    assert response.value == {"received": 100_000}


async def test_an_app_runs_under_rttp_serve(tmp_path):
    module = tmp_path / "seedapp.py"
    module.write_text(
        "import rttp\n"
        "app = rttp.App(ws_ping_interval=None)\n"
        "@app.get('/hello/{name}')\n"
        "def hello(req):\n"
        "    return f\"hello {req.parameters['name']}\"\n"
        "@app.socket('/echo')\n"
        "async def echo(conn, opcode, data, extra):\n"
        "    if opcode == rttp.Opcode.text:\n"
        "        await conn.text(data)\n"
    )
    async with running_cli(
        "serve", "seedapp:app", "--bind", "http://127.0.0.1:0", cwd=str(tmp_path)
    ) as base:
        curl = await trio.run_process(["curl", "-sS", f"{base}/hello/curl"], capture_stdout=True)
        assert curl.stdout == b"hello curl"
        async with rttp.websocket(base.replace("http", "ws") + "/echo", ping_interval=None) as ws:
            await ws.text("round trip")
            assert await ws.receive() == "round trip"


# -- the served-app object -------------------------------------------------------------------
async def test_served_app_lifecycle():
    app = build_app()
    async with app.serve(0) as served:
        assert served.active
        assert served.port > 0
        assert served.handlers() == app.handlers()
        assert served.sockets("/none") == []
        async with rttp.Client() as client:
            assert (await client.get(f"{served.url}/")).text == "index"
            taken = app.serve(served.port)
            async with trio.open_nursery() as nursery:
                assert await taken.start(nursery) is False  # the port is in use
            assert "in use" in str(taken.error)
            await served.stop()
            assert not served.active
            with pytest.raises(rttp.errors.ConnectError):
                await client.get(f"{served.url}/")
            assert await served.start()  # it can start again
            assert (await client.get(f"{served.url}/")).text == "index"
    assert not served.active


async def test_served_app_through_nursery_start(nursery):
    served = await nursery.start(build_app().serve(0).run)
    assert served.active
    async with rttp.Client() as client:
        assert (await client.get(f"{served.url}/users/1")).value == {"id": 1}
    await served.stop()


# -- the callback client ---------------------------------------------------------------------
async def test_http_callback_progress_and_cancel(serve):
    big = b"d" * 1_000_000

    async def handler(request):
        if request.path == "/big":
            return rttp.Response(200, {"Content-Type": "application/octet-stream"}, big)
        return rttp.Response(200, body=f"{request.method} {await request.read()!r} {request.query}")

    _, url = await serve(handler)
    results: list = []
    ticks: list = []
    async with rttp.Client() as client:
        result = await client.http(
            f"{url}/echo",
            results.append,
            method="post",
            body="payload",
            params={"a": "1"},
            progress=lambda *args: ticks.append(args),
        )
        assert result is results[0]
        assert (result.status, result.reason, result.text) == (200, "OK", "POST b'payload' a=1")
        assert result.url == f"{url}/echo?a=1"
        assert ticks[-1][2:] == (7, 7)  # upload total and sent
        downloads: list = []
        with pytest.raises(Cancelled):
            await client.http(
                f"{url}/big",
                progress=lambda dl_total, dl_now, up_total, up_now: (
                    downloads.append((dl_total, dl_now)) or dl_now < 200_000
                ),
            )
        assert downloads[0][0] == 1_000_000
        assert 0 < downloads[-1][1] < 1_000_000  # stopped mid-download
        assert client.pool.connections_in_use == 0


async def test_stream_chunks_reports_each_chunk_then_the_status(serve):
    async def handler(request):
        async def parts():
            for n in range(3):
                yield f"chunk{n};".encode()
                await trio.lowlevel.checkpoint()

        return rttp.Response(200, {"Content-Type": "application/octet-stream"}, parts())

    _, url = await serve(handler)
    calls: list = []
    async with rttp.Client() as client:
        final = await client.stream_chunks(
            str(url), lambda r: calls.append((r.status, r.body, r.headers.get("transfer-encoding")))
        )
        assert final.status == 200
        assert [c[0] for c in calls] == [100] * (len(calls) - 1) + [200]
        assert b"".join(c[1] for c in calls[:-1]) == b"chunk0;chunk1;chunk2;"
        assert calls[0][2] == "chunked"
        stopped: list = []
        result = await client.stream_chunks(str(url), lambda r: stopped.append(r.status) or False)
        assert stopped == [100]  # False cancelled: no final call
        assert result.status == 100
        assert client.pool.connections_in_use == 0


# -- enums -------------------------------------------------------------------------------------
def test_enums():
    assert rttp.Method("get") is rttp.Method.get
    assert rttp.Method.get == "GET"
    assert rttp.Method.option is rttp.Method.options
    assert rttp.Status(404).phrase == "Not Found"
    assert rttp.Status.from_phrase("i'm a teapot") == 418
    assert rttp.Status.NOT_FOUND == 404
    with pytest.raises(ValueError, match="no HTTP status"):
        rttp.Status.from_phrase("Not Real")
    assert [
        int(o)
        for o in (
            rttp.Opcode.continuation,
            rttp.Opcode.text,
            rttp.Opcode.binary,
            rttp.Opcode.close,
            rttp.Opcode.ping,
            rttp.Opcode.pong,
        )
    ] == [0, 1, 2, 8, 9, 10]
    assert rttp.Closure.normal == 1000
    assert rttp.Closure.unexpected_condition == 1011
    assert rttp.Closure(1009).name == "message_too_big"


async def test_an_app_called_directly_answers_readable_responses():
    """``await app(rttp.Request(...))`` tests an App without a socket; every way of
    reading the answer works (read() used to raise StreamConsumed on a value=)."""
    app = rttp.App()

    @app.get("/x")
    async def x(request: rttp.Request) -> dict[str, int]:
        return {"a": 1}

    @app.post("/echo")
    async def echo(request: rttp.Request) -> bytes:
        return await request.read()

    answer = await app(rttp.Request("GET", "/x"))
    assert answer.status == 200
    assert await answer.read() == b'{"a":1}'
    assert answer.json() == {"a": 1}
    assert answer.headers["content-type"].startswith("application/json")
    streamed = await app(rttp.Request("GET", "/x"))
    assert b"".join([chunk async for chunk in streamed.stream()]) == b'{"a":1}'
    echoed = await app(rttp.Request("POST", "/echo", body=b"hi"))
    assert await echoed.read() == b"hi"
    assert (await app(rttp.Request("GET", "/nope"))).status == 404
