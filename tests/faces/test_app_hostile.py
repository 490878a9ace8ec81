"""Route matching against paths an attacker shapes: a trailing newline, other scripts'
digits. A proxy rule such as nginx's ``location = /admin { deny all; }`` relies on the
App matching whole paths and each converter taking exactly what it documents."""

from __future__ import annotations

import pytest

import rttp
from tests.conftest import raw_request, status_of


def _app() -> rttp.App:
    app = rttp.App()
    seen: list[object] = []
    app.seen = seen  # type: ignore[attr-defined]

    @app.get("/admin")
    def admin(req):
        seen.append(req.path)
        return "admin"

    @app.get("/users/{id:int}")
    def user(req):
        seen.append(req.parameters["id"])
        return {"id": req.parameters["id"]}

    @app.get("/price/{value:float}")
    def price(req):
        seen.append(req.parameters["value"])
        return str(req.parameters["value"])

    @app.get("/files/{rest:path}")
    def files(req):
        return req.parameters["rest"]

    return app


@pytest.mark.parametrize(
    "target",
    [
        b"/admin%0A",
        b"/admin%0a",
        b"/admin%0D%0A",
        b"/users/5%0a",
        b"/users/%d9%a1%d9%a2",  # Arabic-Indic 1 2
        b"/users/%ef%bc%95",  # a full-width 5
        b"/users/%e0%a5%ab",  # Devanagari 5
        b"/price/%d9%a1.5",
        b"/price/1.5%0a",
    ],
)
async def test_paths_that_only_look_like_a_route_are_404(serve, target):
    app = _app()
    _, url = await serve(app)
    reply = await raw_request(
        url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_of(reply) == 404, reply[:120]
    assert app.seen == []  # type: ignore[attr-defined]


async def test_the_routes_still_match_what_they_document(serve):
    app = _app()
    _, url = await serve(app)
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/admin")).text == "admin"
        assert (await client.get(f"{url}/users/-12")).json() == {"id": -12}
        assert (await client.get(f"{url}/price/2.50")).text == "2.5"
        assert (await client.get(f"{url}/files/a/b")).text == "a/b"
        assert (await client.get(f"{url}/files/a/b%0Ac")).status == 404
    assert app.seen == ["/admin", -12, 2.5]  # type: ignore[attr-defined]


async def test_a_star_filter_sees_every_path_even_one_with_a_newline(serve):
    """``any("*")`` (an auth filter, say) must run for paths no route matches too."""
    app = rttp.App()
    filtered: list[str] = []

    @app.any("*")
    def guard(req):
        filtered.append(req.path)
        return rttp.Response(403)

    @app.get("/admin")
    def admin(req):
        return "admin"

    _, url = await serve(app)
    reply = await raw_request(
        url, b"GET /admin%0A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_of(reply) == 403
    assert filtered == ["/admin\n"]
