"""The migration guides' code runs: each "before" (httpx, aiohttp, trio-websocket) and
"after" (rttp) pair, executed against the same peers, agrees."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

import rttp

GUIDES = Path(__file__).parents[2] / "docs" / "examples" / "migrating"


def guide(name: str) -> dict[str, Any]:
    return runpy.run_path(str(GUIDES / f"{name}.py"))


async def test_from_httpx(serve: Any) -> None:
    code = guide("from_httpx")
    _, url = await serve(code["app"])
    before = await code["with_httpx"](str(url))
    after = await code["with_rttp"](str(url))
    assert before == after == [200, {"q": "trio", "key": "k"}, 201, {"added": "pen"}, 100_000, 404]


async def test_from_httpx_testing() -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("home")

    code = guide("from_httpx")
    assert await code["asgi_in_memory"](Starlette(routes=[Route("/", home)])) == ("home", "home")
    assert await code["mocked"]() == ({"path": "/users"}, {"path": "/users"})


async def test_from_trio_websocket(serve: Any, nursery: trio.Nursery) -> None:
    code = guide("from_trio_websocket")
    _, url = await serve(code["rttp_app"]())
    rttp_url = str(url).replace("http", "ws", 1) + "/"
    port = await nursery.start(code["trio_websocket_server"])
    theirs = f"ws://127.0.0.1:{port}/"
    expected = ["echo one", "echo two"]
    for client in ("echo_twice_trio_websocket", "echo_twice_rttp"):
        for server in (rttp_url, theirs):
            assert await code[client](server) == expected, (client, server)
    nursery.cancel_scope.cancel()


@pytest.fixture
def aiohttp_server() -> Iterator[str]:
    """The guide's aiohttp server, in a process of its own (it runs on asyncio)."""
    pytest.importorskip("aiohttp")
    from ..conftest import free_loopback_port

    port = free_loopback_port()
    server = subprocess.Popen(
        [sys.executable, str(GUIDES / "from_aiohttp.py"), "serve", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_from_aiohttp(serve: Any, aiohttp_server: str) -> None:
    code = guide("from_aiohttp")
    _, url = await serve(code["rttp_app"]())
    port = int(aiohttp_server.rsplit(":", 1)[1])
    with trio.fail_after(20):
        while True:
            try:
                await (await trio.open_tcp_stream("127.0.0.1", port)).aclose()
                break
            except OSError:
                await trio.sleep(0.05)  # aiohttp is starting: poll its port
    expected = [[200, {"id": 7}], [201, {"got": {"a": 1}}], "HELLO"]
    for base in (str(url), aiohttp_server):
        assert await code["rttp_client"](base) == expected, base
        done = await trio.run_process(
            [sys.executable, str(GUIDES / "from_aiohttp.py"), "client", base],
            capture_stdout=True,
        )
        assert json.loads(done.stdout) == expected, base


PAGES = Path(__file__).parents[2] / "docs" / "migrating"


def test_every_rttp_serve_flag_in_the_uvicorn_guide_exists() -> None:
    page = (PAGES / "uvicorn.rst").read_text()
    rows = re.findall(r"\n   \* - (.*)\n     - (.*)\n", page)
    assert len(rows) > 10
    help_text = subprocess.run(
        [sys.executable, "-m", "rttp", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for _, ours in rows[1:]:  # (the first row is the header)
        for flag in re.findall(r"``(--[a-z0-9-]+)", ours):
            assert flag in help_text, f"rttp serve has no {flag} (docs/migrating/uvicorn.rst)"
    for line in re.findall(r"\n    (rttp serve .*)", page):
        for flag in re.findall(r" (--[a-z0-9-]+)", line):
            assert flag in help_text, flag


async def test_a_uvicorn_command_line_runs_a_fastapi_app(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from ..conftest import cli_process

    examples = str(Path(__file__).parents[2] / "docs" / "examples")
    async with cli_process(
        "serve",
        "asgi_fastapi:api",
        "--app-dir",
        examples,
        "--bind",
        "http://127.0.0.1:0",
        "--lifespan",
        "on",
        "--proxy-headers",
        "--timeout-keep-alive",
        "5",
        "--limit-concurrency",
        "100",
        "--no-server-header",
        "--http2",
    ) as (url, _):
        done = await trio.run_process(
            ["curl", "-sS", "--http2-prior-knowledge", f"{url}/items/3?q=x"], capture_stdout=True
        )
    assert json.loads(done.stdout) == {"item_id": 3, "q": "x"}


async def test_every_rttp_command_in_the_httpie_guide_runs(serve: Any, tmp_path: Path) -> None:
    app = rttp.App()

    @app.get("/items")
    async def found(request: rttp.Request) -> dict[str, Any]:
        return {"q": request.params.get("q"), "key": request.headers.get("x-key")}

    @app.post("/items")
    async def added(request: rttp.Request) -> dict[str, Any]:
        got = await request.read_value()  # a dict from JSON, a FormData from a form
        return {"got": dict(got)}

    @app.get("/big.bin")
    async def big(request: rttp.Request) -> bytes:
        return b"z" * 10_000

    @app.get("/private")
    async def private(request: rttp.Request) -> Any:
        if request.headers.get("authorization") != "Basic YW5hOnNlY3JldA==":
            return rttp.Response(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
        return "welcome"

    _, url = await serve(app)
    page = (PAGES / "httpie.rst").read_text()
    commands = re.findall(r"\n    (rttp .*?)\s*$", page, re.MULTILINE)
    assert len(commands) == 5
    outputs = []
    for command in commands:
        argv = command.split("#")[0].split()[1:]
        argv = [a.replace(":8000", f":{url.port}") for a in argv]
        done = await trio.run_process(
            [sys.executable, "-m", "rttp", *argv],
            stdin=subprocess.DEVNULL,  # as from a terminal: no body piped in
            capture_stdout=True,
            capture_stderr=True,
            cwd=str(tmp_path),
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout.decode())
    assert json.loads(outputs[0]) == {"q": "trio", "key": "k"}
    assert json.loads(outputs[1]) == {"got": {"name": "pen", "count": 3}}
    assert json.loads(outputs[2]) == {"got": {"name": "pen"}}
    assert (tmp_path / "big.bin").read_bytes() == b"z" * 10_000
    assert "welcome" in outputs[4]
