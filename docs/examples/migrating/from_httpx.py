"""From httpx to rttp.Client: the same calls side by side. Both halves run in the test
suite against one server and must agree."""

from __future__ import annotations

from typing import Any

import httpx

import rttp
import rttp.testing

# -- the service both clients call ------------------------------------------------------
app = rttp.App()


@app.get("/items")
async def items(request: rttp.Request) -> dict[str, Any]:
    return {"q": request.params.get("q"), "key": request.headers.get("x-key")}


@app.post("/items")
async def add(request: rttp.Request) -> rttp.Response:
    body = await request.read_value()  # decoded by the codec its Content-Type names
    return rttp.Response(201, value={"added": body["name"]})


@app.get("/big")
async def big(request: rttp.Request) -> bytes:
    return b"b" * 100_000


# -- before: httpx ----------------------------------------------------------------------
async def with_httpx(base: str) -> list[Any]:
    async with httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=5) as client:
        found = await client.get("/items", params={"q": "trio"}, headers={"X-Key": "k"})
        added = await client.post("/items", json={"name": "pen"})
        async with client.stream("GET", "/big") as response:
            size = sum([len(chunk) async for chunk in response.aiter_bytes()])
        try:
            (await client.get("/missing")).raise_for_status()
        except httpx.HTTPStatusError as exc:
            missing = exc.response.status_code
    return [found.status_code, found.json(), added.status_code, added.json(), size, missing]


# -- after: rttp ------------------------------------------------------------------------
async def with_rttp(base: str) -> list[Any]:
    # redirects are followed by default; timeout= takes seconds or rttp.Timeouts(...)
    async with rttp.Client(base_url=base, timeout=5) as client:
        found = await client.get("/items", params={"q": "trio"}, headers={"X-Key": "k"})
        added = await client.post("/items", json={"name": "pen"})
        async with client.stream("GET", "/big") as response:
            size = sum([len(chunk) async for chunk in response.stream()])
        try:
            (await client.get("/missing")).raise_for_status()
        except rttp.errors.HTTPStatusError as exc:
            missing = exc.status
    return [found.status, found.json(), added.status, added.json(), size, missing]


# -- testing without a server -------------------------------------------------------------
async def asgi_in_memory(asgi_app: Any) -> tuple[str, str]:
    """httpx's ASGITransport, and rttp's Client(app=...), which runs the real engine."""
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = (await client.get("/")).text
    async with rttp.Client(app=rttp.asgi(asgi_app)) as client:  # base_url: testserver
        after = (await client.get("/")).text
    return before, after


async def mocked() -> tuple[Any, Any]:
    """httpx.MockTransport, and rttp.testing.MockTransport: answers from a function."""

    def answer_httpx(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"path": request.url.path})

    def answer_rttp(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, value={"path": request.path})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer_httpx)) as client:
        before = (await client.get("http://api.example/users")).json()
    mock = rttp.testing.MockTransport(answer_rttp)
    async with rttp.Client(plugins=[mock]) as client:
        after = (await client.get("http://api.example/users")).json()
    return before, after
