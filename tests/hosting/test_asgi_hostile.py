"""Hostile input reaches a hosted ASGI application only after the same checks as an
rttp handler: every request of the backend kit's hostile corpus gets the server's
status, the connection closes, and the next client is served; a body past
max_body_size while the app streams receive() is the server's 413, not the app's 500."""

from __future__ import annotations

import re

import pytest

import rttp
from rttp.testing import HOSTILE_REQUESTS
from tests.conftest import raw_request

pytest.importorskip("starlette", reason="Starlette is part of the test extra")

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

calls: list[str] = []


async def anything(request: Request) -> PlainTextResponse:
    calls.append(request.url.path)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return PlainTextResponse(f"{size}")


app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST", "HEAD"])])


@pytest.fixture
async def url(nursery):
    server = rttp.Server(rttp.asgi(app), "http://127.0.0.1:0", access_log=False, max_body_size=100)
    return (await nursery.start(server.serve))[0]


def _statuses(reply: bytes) -> list[int]:
    """The status of every answer in ``reply`` (a body may run into the next answer)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", reply)]


@pytest.mark.parametrize("case", sorted(HOSTILE_REQUESTS))
async def test_the_hostile_corpus_is_refused_before_the_app(url, case):
    data, status, _words = HOSTILE_REQUESTS[case]
    calls.clear()
    reply = await raw_request(url, data)  # read until the server closes
    statuses = _statuses(reply)
    assert statuses[-1] == status, reply[-300:]  # the server's refusal, not the app's answer
    assert 500 not in statuses  # a broken body reaches the app as the client gone, never
    # as an error of its own; a refused head never reaches it at all
    assert len(calls) >= statuses.count(200)
    ok = await raw_request(url, b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _statuses(ok) == [200]


async def test_a_body_past_the_limit_is_the_servers_413_not_the_apps_500(url):
    async def pieces():
        for _ in range(10):
            yield b"x" * 50

    async with rttp.Client() as client:
        answer = await client.post(f"{url}/upload", content=pieces())
    assert answer.status == 413
    assert "max_body_size=100" in answer.text
