"""App middleware over real sockets: order, answering without the route, changing the
answer, seeing the route's exception, a prefix, the seed's any filters beside it; and
CORS: preflights answered without reaching a route, the fields of allowed answers,
credentials, regexes, refusals, and the WebSocket origin check."""

from __future__ import annotations

import pytest

import rttp


@pytest.fixture
async def serve_app(nursery):
    async def start(app: rttp.App) -> str:
        server = rttp.Server(app, "http://127.0.0.1:0", access_log=False)
        return str((await nursery.start(server.serve))[0])

    return start


def make_app(seen: list[str]) -> rttp.App:
    app = rttp.App()

    @app.get("/hello")
    async def hello(request):
        seen.append("route")
        return rttp.Response(200, body="hello")

    @app.get("/boom")
    async def boom(request):
        raise LookupError("the route failed")

    @app.get("/api/items")
    async def items(request):
        return {"items": [1, 2]}

    @app.post("/api/items")
    async def add_item(request):
        return {"added": True}

    return app


async def test_middleware_runs_in_order_and_can_change_the_answer(serve_app):
    seen: list[str] = []
    app = make_app(seen)

    @app.middleware
    async def outer(request, call_next):
        seen.append("outer in")
        response = await call_next(request)
        seen.append("outer out")
        response.headers["X-Layers"] = response.headers.get("x-layers", "") + "outer"
        return response

    @app.middleware
    async def inner(request, call_next):
        seen.append("inner in")
        response = await call_next(request)
        seen.append("inner out")
        response.headers["X-Layers"] = "inner,"
        return response

    url = await serve_app(app)
    async with rttp.Client() as client:
        got = await client.get(f"{url}/hello")
    assert (got.text, got.headers["x-layers"]) == ("hello", "inner,outer")
    assert seen == ["outer in", "inner in", "route", "inner out", "outer out"]


async def test_middleware_answers_without_the_route_and_sees_its_errors(serve_app):
    seen: list[str] = []
    app = make_app(seen)

    @app.middleware
    async def guard(request, call_next):
        if request.headers.get("authorization") != "Bearer ok":
            return rttp.Response(401, {"WWW-Authenticate": "Bearer"}, "who are you?\n")
        try:
            return await call_next(request)
        except LookupError as exc:
            return rttp.Response(503, body=f"unavailable: {exc}\n")

    url = await serve_app(app)
    async with rttp.Client() as client:
        refused = await client.get(f"{url}/hello")
        allowed = await client.get(f"{url}/hello", headers={"Authorization": "Bearer ok"})
        failed = await client.get(f"{url}/boom", headers={"Authorization": "Bearer ok"})
    assert (refused.status, refused.headers["www-authenticate"]) == (401, "Bearer")
    assert seen == ["route"]  # only the allowed request reached it
    assert allowed.text == "hello"
    assert (failed.status, failed.text) == (503, "unavailable: the route failed\n")


async def test_a_prefix_limits_a_middleware_and_any_filters_still_run(serve_app):
    seen: list[str] = []
    app = make_app(seen)

    @app.middleware(prefix="/api")
    async def api_only(request, call_next):
        response = await call_next(request)
        response.headers["X-API"] = "yes"
        return response

    @app.any("*")
    async def log_all(request):
        seen.append(f"any {request.path}")

    url = await serve_app(app)
    async with rttp.Client() as client:
        api = await client.get(f"{url}/api/items")
        other = await client.get(f"{url}/hello")
        lookalike = await client.get(f"{url}/apix")
    assert api.headers["x-api"] == "yes"
    assert "x-api" not in other.headers
    assert "x-api" not in lookalike.headers  # a prefix is whole segments
    assert seen[:2] == ["any /api/items", "any /hello"]


def test_a_middleware_prefix_is_checked():
    with pytest.raises(ValueError, match="a middleware prefix is a path like '/api', got 'api'"):
        rttp.App().middleware(prefix="api")


# -- CORS ------------------------------------------------------------------------------------
SITE = "https://site.example"


async def test_a_preflight_is_answered_without_the_route(serve_app):
    seen: list[str] = []
    app = make_app(seen)
    app.middleware(
        rttp.CORS(allow_origins=[SITE], allow_methods=["GET", "POST"], allow_headers=["X-Token"])
    )
    url = await serve_app(app)
    preflight = {"Origin": SITE, "Access-Control-Request-Method": "POST"}
    async with rttp.Client() as client:
        ok = await client.options(
            f"{url}/api/items", headers=preflight | {"Access-Control-Request-Headers": "x-token"}
        )
        bad_origin = await client.options(
            f"{url}/api/items", headers=preflight | {"Origin": "https://evil.example"}
        )
        bad_method = await client.options(
            f"{url}/api/items", headers=preflight | {"Access-Control-Request-Method": "DELETE"}
        )
        bad_header = await client.options(
            f"{url}/api/items", headers=preflight | {"Access-Control-Request-Headers": "x-other"}
        )
    assert ok.status == 204
    assert ok.headers["access-control-allow-origin"] == SITE
    assert ok.headers["access-control-allow-methods"] == "GET, POST"
    assert ok.headers["access-control-allow-headers"] == "x-token"
    assert ok.headers["access-control-max-age"] == "600"
    assert "Origin" in ok.headers["vary"]
    assert seen == []
    assert bad_origin.status == 400
    assert "origin 'https://evil.example'" in bad_origin.text
    assert "method 'DELETE'" in bad_method.text
    assert "headers x-other" in bad_header.text


async def test_allowed_answers_carry_the_fields_and_others_do_not(serve_app):
    app = make_app([])
    app.middleware(
        rttp.CORS(
            allow_origins=[SITE],
            allow_origin_regex=r"https://[a-z]+\.preview\.example",
            expose_headers=["X-Total"],
        )
    )
    url = await serve_app(app)
    async with rttp.Client() as client:
        allowed = await client.get(f"{url}/hello", headers={"Origin": SITE})
        by_regex = await client.get(
            f"{url}/hello", headers={"Origin": "https://pr.preview.example"}
        )
        other = await client.get(f"{url}/hello", headers={"Origin": "https://evil.example"})
        same_origin = await client.get(f"{url}/hello")
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert allowed.headers["access-control-expose-headers"] == "X-Total"
    assert allowed.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in allowed.headers
    assert by_regex.headers["access-control-allow-origin"] == "https://pr.preview.example"
    assert "access-control-allow-origin" not in other.headers
    assert other.text == "hello"  # answered; the browser will not show it to the script
    assert "access-control-allow-origin" not in same_origin.headers


async def test_any_origin_is_a_star_unless_credentials_are_allowed(serve_app):
    open_app, with_cookies = make_app([]), make_app([])
    open_app.middleware(rttp.CORS(allow_origins=["*"]))
    with_cookies.middleware(rttp.CORS(allow_origins=["*"], allow_credentials=True))
    open_url, cookie_url = await serve_app(open_app), await serve_app(with_cookies)
    async with rttp.Client() as client:
        star = await client.get(f"{open_url}/hello", headers={"Origin": SITE})
        echoed = await client.get(f"{cookie_url}/hello", headers={"Origin": SITE})
    assert star.headers["access-control-allow-origin"] == "*"
    assert "vary" not in star.headers
    assert echoed.headers["access-control-allow-origin"] == SITE
    assert echoed.headers["access-control-allow-credentials"] == "true"


async def test_a_websocket_from_an_origin_not_allowed_is_refused(serve_app):
    app = rttp.App()

    @app.socket("/ws")
    async def echo(conn, opcode, data, extra):
        if opcode == rttp.Opcode.text:
            await conn.text(data)

    app.middleware(rttp.CORS(allow_origins=[SITE]))
    url = (await serve_app(app)).replace("http://", "ws://")
    with pytest.raises(rttp.errors.WebSocketRejected) as refused:
        await rttp.connect_websocket(f"{url}/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    async with await rttp.connect_websocket(f"{url}/ws", headers={"Origin": SITE}) as ws:
        await ws.send("hi")
        event = await ws.receive()
    assert event.data == "hi"


def test_origins_are_a_list():
    with pytest.raises(TypeError, match="allow_origins takes a list of origins, got 'x'"):
        rttp.CORS(allow_origins="x")
