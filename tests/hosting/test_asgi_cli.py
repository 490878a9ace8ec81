"""``rttp serve module:app`` hosts ASGI applications: the interface is told by the app's
shape (or forced with ``--interface``), and ``--lifespan`` controls the lifespan."""

from __future__ import annotations

import shutil

import pytest
import trio

import rttp
from tests.cli.conftest import run_rttp
from tests.conftest import cli_process

pytest.importorskip("fastapi", reason="FastAPI is part of the test extra")

APPS = """
import contextlib
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


class Item(BaseModel):
    name: str
    price: float


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"db": "ready"}


api = FastAPI(lifespan=lifespan)


@api.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@api.post("/items")
async def create_item(item: Item):
    return {"saved": item.name, "total": item.price * 2}


async def hello(request):
    return PlainTextResponse(f"hello from starlette, state {request.state.db}")


site = Starlette(routes=[Route("/", hello)], lifespan=lifespan)


@contextlib.asynccontextmanager
async def broken_lifespan(app):
    raise RuntimeError("the database is down")
    yield


broken = Starlette(routes=[], lifespan=broken_lifespan)


def wsgi_app(environ, start_response):
    start_response("200 OK", [])
    return [b"hi"]
"""


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "asgi_apps.py").write_text(APPS)
    return tmp_path


async def test_fastapi_is_recognised_and_served(app_dir):
    async with (
        cli_process("serve", "asgi_apps:api", "--bind", "http://127.0.0.1:0", cwd=str(app_dir)) as (
            url,
            _,
        ),
        rttp.Client() as client,
    ):
        got = await client.get(f"{url}/items/5?q=x")
        assert (got.status, got.value) == (200, {"item_id": 5, "q": "x"})
        made = await client.post(f"{url}/items", json={"name": "pen", "price": 1.5})
        assert made.value == {"saved": "pen", "total": 3.0}
        invalid = await client.post(f"{url}/items", json={"name": "pen"})
        assert invalid.status == 422  # FastAPI's validation error, as the app answers it
        assert invalid.value["detail"][0]["loc"] == ["body", "price"]
        assert (await client.get(f"{url}/items/not-a-number")).status == 422


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_starlette_with_lifespan_state_reaches_curl(app_dir):
    async with cli_process(
        "serve", "asgi_apps:site", "--bind", "http://127.0.0.1:0", cwd=str(app_dir)
    ) as (url, _):
        done = await trio.run_process(["curl", "-sS", url + "/"], capture_stdout=True)
        assert done.stdout == b"hello from starlette, state ready"


async def test_a_failed_startup_is_one_line_and_a_failure(app_dir):
    done = await run_rttp("serve", "asgi_apps:broken", "--bind", "http://127.0.0.1:0", cwd=app_dir)
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "the database is down" in err
    assert "Traceback" not in err


async def test_lifespan_off_skips_it_and_interface_can_be_forced(app_dir):
    async with (
        cli_process(
            "serve",
            "asgi_apps:api",
            "--interface",
            "asgi3",
            "--lifespan",
            "off",
            "--bind",
            "http://127.0.0.1:0",
            cwd=str(app_dir),
        ) as (url, _),
        rttp.Client() as client,
    ):
        assert (await client.get(f"{url}/items/1")).status == 200


async def test_a_wsgi_app_is_recognised_and_served(app_dir):
    async with (
        cli_process(
            "serve", "asgi_apps:wsgi_app", "--bind", "http://127.0.0.1:0", cwd=str(app_dir)
        ) as (url, _),
        rttp.Client() as client,
    ):
        answer = await client.get(url)
        assert (answer.status, answer.text) == (200, "hi")


ASGI2_APP = """
class App:
    def __init__(self, scope):
        assert scope["type"] in ("http", "lifespan")
        self.scope = scope

    async def __call__(self, receive, send):
        if self.scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = ("asgi2 " + self.scope["path"]).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
"""


@pytest.mark.parametrize("interface", ["auto", "asgi2"])
async def test_an_asgi2_app_is_served(app_dir, interface):
    (app_dir / "old_app.py").write_text(ASGI2_APP)
    async with (
        cli_process(
            "serve",
            "old_app:App",
            "--interface",
            interface,
            "--bind",
            "http://127.0.0.1:0",
            cwd=str(app_dir),
        ) as (url, _),
        rttp.Client() as client,
    ):
        answer = await client.get(f"{url}/legacy")
        assert (answer.status, answer.text) == (200, "asgi2 /legacy")


async def test_wsgi_threads_is_checked_before_binding(app_dir):
    done = await run_rttp("serve", "asgi_apps:wsgi_app", "--wsgi-threads", "0", cwd=app_dir)
    err = done.stderr.decode()
    assert done.returncode == 2
    assert "threads must be an int of at least 1, got 0" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("app", ["asgi_apps:site", "asgi_apps:wsgi_app"])
async def test_workers_serve_hosted_apps_each_with_its_lifespan(app_dir, app):
    """``--workers 2`` forks before Trio starts: each worker hosts the app and runs its
    lifespan (the state reaches every request)."""
    async with (
        cli_process(
            "serve", app, "--workers", "2", "--bind", "http://127.0.0.1:0", cwd=str(app_dir)
        ) as (url, _),
        rttp.Client() as client,
    ):
        answers = [await client.get(f"{url}/", headers={"Connection": "close"}) for _ in range(6)]
    expected = "hello from starlette, state ready" if "site" in app else "hi"
    assert [(a.status, a.text) for a in answers] == [(200, expected)] * 6
