"""``rttp get --print WHAT`` (HTTPie's letters) and the warning a piped 4xx or 5xx gets
on stderr."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import rttp

from .conftest import run_rttp

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]


async def echo(request: rttp.Request) -> rttp.Response:
    if request.path == "/missing":
        return rttp.Response(404, {"Content-Type": "text/plain"}, b"nothing here\n")
    body = await request.read()
    return rttp.Response(200, {"Content-Type": "text/plain", "X-Seen": str(len(body))}, b"answer")


async def test_print_chooses_each_part(serve: Serve) -> None:
    _, url = await serve(echo)
    done = await run_rttp("post", f"{url}/echo", "-d", "question", "--print", "HBhb")
    out = done.stdout.decode()
    assert out.index("POST /echo HTTP/1.1") < out.index("question") < out.index("HTTP/1.1 200")
    assert out.rstrip().endswith("answer")
    assert "content-length: 8" in out.lower()  # the request as it went on the wire
    only_head = (await run_rttp("post", f"{url}/echo", "-d", "question", "-p", "h")).stdout
    assert only_head.decode().startswith("HTTP/1.1 200")
    assert b"answer" not in only_head
    assert b"question" not in only_head
    request_body = (await run_rttp("post", f"{url}/echo", "-d", "question", "-p", "B")).stdout
    assert request_body.strip() == b"question"


async def test_print_refuses_other_letters(serve: Serve) -> None:
    _, url = await serve(echo)
    done = await run_rttp("get", f"{url}/echo", "--print", "hx")
    assert done.returncode == 2
    assert b"use the letters H (request head)" in done.stderr


async def test_a_piped_error_answer_warns_on_stderr(serve: Serve) -> None:
    _, url = await serve(echo)
    done = await run_rttp("get", f"{url}/missing")
    assert done.returncode == 4
    assert done.stdout == b"nothing here\n"  # the body, exact, for the pipe
    assert done.stderr == b"rttp get: warning: HTTP 404 Not Found\n"
    fine = await run_rttp("get", f"{url}/echo")
    assert fine.stderr == b""
