"""A FastAPI application hosted by rttp.asgi over real loopback sockets: JSON bodies
and validation errors, path and query parameters, multipart uploads of several MiB, a
dependency with cleanup, background tasks, an exception handler, a WebSocket route;
curl, httpx and rttp's own client as clients."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Annotated

import pytest
import trio

import rttp

pytest.importorskip("fastapi", reason="FastAPI is part of the test extra")

from fastapi import (
    BackgroundTasks,
    Depends,
    FastAPI,
    File,
    Request,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


class Teapot(Exception):
    pass


class Events(list[str]):
    """What the app did, in order; ``left`` is set when a WebSocket client leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.left = trio.Event()


def make_api(events: Events, background_done: trio.Event) -> FastAPI:
    api = FastAPI()

    async def session():
        events.append("session opened")
        try:
            yield "db-session"
        finally:
            events.append("session closed")

    @api.exception_handler(Teapot)
    async def teapot(request: Request, exc: Teapot) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=418)

    @api.get("/items/{item_id}")
    # (a default, not Annotated: the annotations are strings, and session is local)
    async def read_item(item_id: int, q: str | None = None, db: str = Depends(session)):
        events.append(f"read {item_id}")
        return {"item_id": item_id, "q": q, "db": db}

    @api.post("/items")
    async def create_item(item: Item, tasks: BackgroundTasks):
        async def audit(name: str) -> None:
            events.append(f"audited {name}")
            background_done.set()

        tasks.add_task(audit, item.name)
        return {"saved": item.name, "total": item.price * 2}

    @api.post("/files")
    async def upload(files: Annotated[list[UploadFile], File()]):
        out = []
        for upload in files:
            digest = hashlib.sha256()
            size = 0
            while chunk := await upload.read(1 << 16):
                digest.update(chunk)
                size += len(chunk)
            out.append({"name": upload.filename, "size": size, "sha256": digest.hexdigest()})
            # (FastAPI would close it after the answer, in a thread the test's end could
            # cut short: a ResourceWarning in a later test)
            await upload.close()
        return out

    @api.get("/teapot")
    async def brew():
        raise Teapot("short and stout")

    @api.websocket("/ws/{room}")
    async def chat(websocket: WebSocket, room: str):
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_json()
                await websocket.send_json({"room": room, "echo": data})
        except WebSocketDisconnect as exc:
            events.append(f"left {room} with {exc.code}")
            events.left.set()

    return api


@pytest.fixture
async def served(nursery):
    events = Events()
    background_done = trio.Event()
    app = rttp.asgi(make_api(events, background_done))
    server = rttp.Server(app, "http://127.0.0.1:0", access_log=False)
    url = (await nursery.start(server.serve))[0]
    return url, events, background_done


async def test_json_bodies_and_validation_errors(served):
    url, _, _ = served
    async with rttp.Client() as client:
        good = await client.post(f"{url}/items", json={"name": "pot", "price": 2.5})
        bad = await client.post(f"{url}/items", json={"name": "pot", "price": "cheap"})
        broken = await client.post(
            f"{url}/items", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert (good.status, good.value) == (200, {"saved": "pot", "total": 5.0})
    assert bad.status == 422
    assert bad.value["detail"][0]["loc"] == ["body", "price"]
    assert broken.status == 422


async def test_path_query_and_a_dependency_whose_cleanup_runs(served):
    url, events, _ = served
    async with rttp.Client() as client:
        got = await client.get(f"{url}/items/7?q=tea")
        wrong = await client.get(f"{url}/items/seven")
    assert got.value == {"item_id": 7, "q": "tea", "db": "db-session"}
    assert wrong.status == 422
    assert events[:3] == ["session opened", "read 7", "session closed"]


async def test_background_tasks_run_after_the_answer(served):
    url, events, background_done = served
    async with rttp.Client() as client:
        got = await client.post(f"{url}/items", json={"name": "kettle", "price": 1})
    assert got.status == 200
    with trio.fail_after(10):
        await background_done.wait()
    assert "audited kettle" in events


async def test_an_exception_handler_answers(served):
    url, _, _ = served
    async with rttp.Client() as client:
        got = await client.get(f"{url}/teapot")
    assert (got.status, got.value) == (418, {"error": "short and stout"})


async def test_multipart_uploads_of_several_mib_through_curl(served, tmp_path):
    """curl sends two files of several MiB as multipart/form-data (with Expect:
    100-continue, as curl does for large bodies); FastAPI's UploadFile reads them."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    url, _, _ = served
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(os.urandom(6 * 1024 * 1024))
    second.write_bytes(os.urandom(3 * 1024 * 1024 + 1))
    command = ["curl", "-sS", "--fail", "-F", f"files=@{first}", "-F", f"files=@{second}"]
    done = await trio.run_process(
        [*command, f"{url}/files"], capture_stdout=True, capture_stderr=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == [
        {
            "name": path.name,
            "size": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for path in (first, second)
    ]


async def test_httpx_as_a_client(served):
    httpx = pytest.importorskip("httpx")
    url, _, _ = served

    def fetch() -> tuple[int, object]:
        with httpx.Client() as client:
            answer = client.get(f"{url}/items/3", params={"q": "x"})
            return answer.status_code, answer.json()

    status, value = await trio.to_thread.run_sync(fetch)
    assert (status, value) == (200, {"item_id": 3, "q": "x", "db": "db-session"})


async def test_a_websocket_route_with_json_and_the_clients_close(served):
    url, events, _ = served
    async with await rttp.connect_websocket(f"ws://{url.host}:{url.port}/ws/kitchen") as ws:
        await ws.send('{"hello": 1}')
        echoed = await ws.receive()
        await ws.close(4001)
    assert isinstance(echoed, rttp.WebSocketMessage)
    assert json.loads(echoed.data) == {"room": "kitchen", "echo": {"hello": 1}}
    with trio.fail_after(10):
        await events.left.wait()
    assert "left kitchen with 4001" in events
