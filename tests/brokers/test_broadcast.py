"""Broadcast across processes: two rttp serve processes sharing a real redis-server."""

from __future__ import annotations

import contextlib

import pytest
import trio

import rttp
from tests.conftest import cli_process

pytestmark = pytest.mark.timeout(90)


def serving(broker: str):
    return cli_process(
        "serve",
        "tests.peers.chat_app:app",
        "--bind",
        "http://127.0.0.1:0",
        "--broker",
        broker,
        "--no-access-log",
    )


async def test_a_broadcast_reaches_every_process_once_in_order(redis_server):
    async with (
        serving(redis_server) as (a, _),
        serving(redis_server) as (b, _),
        contextlib.AsyncExitStack() as stack,
    ):
        sockets = []
        for base in (a, a, a, b, b, b):
            url = base.replace("http", "ws") + "/chat"
            ws = await stack.enter_async_context(rttp.websocket(url, ping_interval=None))
            assert await ws.receive() == "ready"
            sockets.append(ws)
        async with rttp.Client() as client:
            counts = (await client.get(f"{a}/count")).json()
        assert counts == {"here": 3, "everywhere": 6}
        messages = [f"m{i}" for i in range(30)]
        for message in messages:
            await sockets[0].text(message)
        await sockets[4].binary(b"\x00\xff")
        for ws in sockets:
            with trio.fail_after(10):
                got = [await ws.receive() for _ in range(len(messages) + 1)]
            # every message once; one sender's in its order (two senders interleave)
            assert [m for m in got if isinstance(m, str)] == messages
            assert [m for m in got if isinstance(m, bytes)] == [b"\x00\xff"]


async def test_without_a_reachable_broker_delivery_is_local():
    async with (
        serving("redis://127.0.0.1:1/0") as (a, _),
        rttp.websocket(a.replace("http", "ws") + "/chat", ping_interval=None) as ws,
    ):
        assert await ws.receive() == "ready"
        await ws.text("alone")
        with trio.fail_after(10):
            assert await ws.receive() == "alone"
