"""The ``rttp demo`` site in a real browser: headless Chromium loads the landing page,
whose script reports once both its WebSockets (the chat and the live statistics) are
open; and each route the page uses answers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

import rttp
from rttp._cli.demo import demo_app

from ..conftest import browse_until

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]


async def test_the_landing_page_connects_both_websockets(serve: Serve, tmp_path: Path) -> None:
    reported = trio.Event()
    reports: list[dict[str, str]] = []

    def on_report(request: rttp.Request) -> None:
        reports.append(dict(request.params.items()))
        reported.set()

    _, url = await serve(demo_app(on_report=on_report))
    await browse_until(f"{url}/", tmp_path / "profile", reported)
    assert reports == [{"chat": "1", "stats": "1", "page": "/"}]


async def test_the_routes_the_page_uses(serve: Serve) -> None:
    _, url = await serve(demo_app())
    async with rttp.Client(base_url=str(url)) as client:
        page = await client.get("/")
        assert page.headers["content-type"].startswith("text/html")
        assert '<meta name="viewport"' in page.text  # phones get the responsive layout
        assert 'for="message"' in page.text  # the chat's input has its label
        for asset in ("/site/demo.css", "/site/demo.js", "/favicon.ico"):
            assert (await client.get(asset)).status == 200, asset
        streamed: list[bytes] = []
        async with client.stream("GET", "/stream") as response:
            async for piece in response.stream():
                streamed.append(piece)
        assert b"".join(streamed).count(b"\n") == 10
        assert len(streamed) > 1  # it came a line at a time
        assert (await client.get("/api/time")).json()["over"] == "HTTP/1.1"
        assert "Who are you?" in (await client.get("/rtml")).text
    ws_url = str(url).replace("http", "ws", 1)
    async with await rttp.connect_websocket(ws_url + "/stats") as stats:
        figures: Any = json.loads(await anext(stats))
        assert figures["requests"] >= 8
        assert figures["sockets"] == 1
    async with (
        await rttp.connect_websocket(ws_url + "/chat") as first,
        await rttp.connect_websocket(ws_url + "/chat") as second,
    ):
        seen: list[Any] = []
        while len(seen) < 3:  # a welcome, then presence counts as the two arrive
            seen.append(json.loads(await anext(first)))
        assert {"presence": 2} in seen
        await second.send("hi")
        while True:
            message = json.loads(await anext(first))
            if "text" in message and message["text"].endswith(": hi"):
                break


async def test_the_quickstarts_https_steps_work_anywhere(tmp_path: Path) -> None:
    """The quickstart's trustme, ``rttp demo`` over https with HTTP/2 and ``rttp get``
    commands, run as written (their folder and ports moved into this test's) from an
    empty directory, which they leave empty."""
    import re
    import subprocess
    import sys

    from ..conftest import cli_process, free_loopback_port

    page = (Path(__file__).parents[2] / "docs" / "quickstart.rst").read_text()
    steps = re.search(r"write nothing into it::\n\n((?:    .*\n)+)", page)
    assert steps is not None
    commands = [line.strip() for line in steps.group(1).splitlines() if line.strip()]
    folder = str(tmp_path / "tls")
    port = free_loopback_port()
    work = tmp_path / "cwd"
    work.mkdir()
    moved = [c.replace("/tmp/rttp-tls", folder).replace("8443", str(port)) for c in commands]
    mkdir, trustme, demo, get = (command.split() for command in moved)
    assert trustme[:3] == ["python", "-m", "trustme"]
    await trio.run_process(mkdir, cwd=str(work))
    await trio.run_process([sys.executable, *trustme[1:]], cwd=str(work))
    rttp_port = free_loopback_port()
    async with cli_process(
        *demo[1:], "--rttp-bind", f"rttp://127.0.0.1:{rttp_port}", cwd=str(work)
    ):
        done = await trio.run_process(
            [sys.executable, "-m", "rttp", *get[1:]],
            cwd=str(work),
            stdin=subprocess.DEVNULL,
            capture_stdout=True,
        )
    assert json.loads(done.stdout)["over"] == "HTTP/1.1"  # rttp get speaks HTTP/1.1
    assert list(work.iterdir()) == []


async def test_rttp_send_draws_the_demos_rtml_panel() -> None:
    import subprocess
    import sys

    from ..conftest import cli_process, free_loopback_port

    rttp_port = free_loopback_port()
    bind = f"rttp://127.0.0.1:{rttp_port}"
    async with cli_process("demo", "--bind", "http://127.0.0.1:0", "--rttp-bind", bind):
        done = await trio.run_process(
            [sys.executable, "-m", "rttp", "send", f"127.0.0.1:{rttp_port}", "/"],
            stdin=subprocess.DEVNULL,
            capture_stdout=True,
            capture_stderr=True,
        )
    page = done.stdout.decode()
    assert "Who are you? (over RTTP)" in page
    assert "[Greet me]" in page  # drawn as on a terminal, not a repr
    assert "Text(" not in page
    assert "\x1b[" not in page  # piped: no colours
    assert "reply 200 okay (table/rtml)" in done.stderr.decode()
