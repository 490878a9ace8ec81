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


async def test_a_killed_worker_drops_out_of_the_count(redis_server, monkeypatch):
    monkeypatch.setenv("RTTP_TEST_PRESENCE", "0.2")  # presence lives 0.6 s
    broker = redis_server.rsplit("/", 1)[0] + "/2"  # a database of its own: a clean count
    async with (
        serving(broker) as (a, _),
        serving(broker) as (b, doomed),
        contextlib.AsyncExitStack() as stack,
    ):
        for base in (a, b, b):
            url = base.replace("http", "ws") + "/chat"
            ws = await stack.enter_async_context(rttp.websocket(url, ping_interval=None))
            assert await ws.receive() == "ready"
        async with rttp.Client() as client:
            assert (await client.get(f"{a}/count")).json()["everywhere"] == 3
            doomed.kill()  # no goodbye: only the expiry can tell
            await doomed.wait()
            with trio.fail_after(10):
                while (await client.get(f"{a}/count")).json()["everywhere"] != 1:  # noqa: ASYNC110 - a TTL expires
                    await trio.sleep(0.2)


async def test_local_delivery_goes_on_while_redis_is_down_and_resumes(tmp_path):
    """An outage: the broker's connection logs and retries, broadcasts are delivered
    locally meanwhile, and once Redis is back they cross processes again."""
    from tests.conftest import free_loopback_port, start_redis, stop_redis

    port = free_loopback_port()
    redis = start_redis(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        async with (
            serving(url) as (a, _),
            serving(url) as (b, _),
            rttp.websocket(a.replace("http", "ws") + "/chat", ping_interval=None) as on_a,
            rttp.websocket(b.replace("http", "ws") + "/chat", ping_interval=None) as on_b,
        ):
            assert await on_a.receive() == "ready"
            assert await on_b.receive() == "ready"
            await on_a.text("before")
            with trio.fail_after(10):
                assert await on_a.receive() == "before"
                assert await on_b.receive() == "before"
            stop_redis(redis)
            await on_a.text("during")  # the publish fails: delivered locally
            with trio.fail_after(10):
                assert await on_a.receive() == "during"
            redis.stdout.close()  # type: ignore[union-attr]
            redis = start_redis(port, tmp_path)
            with trio.fail_after(30):  # both resubscribe (heartbeat, then backoff)
                attempt = 0
                while True:
                    attempt += 1
                    await on_a.text(f"after {attempt}")
                    with trio.move_on_after(2):
                        got = await on_b.receive()
                        break
            assert got.startswith("after ")
    finally:
        stop_redis(redis)


async def test_a_connection_held_by_another_worker_is_reached_by_id(redis_server):
    async with (
        serving(redis_server) as (a, _),
        serving(redis_server) as (b, _),
        rttp.websocket(a.replace("http", "ws") + "/chat", ping_interval=None) as on_a,
        rttp.websocket(b.replace("http", "ws") + "/chat", ping_interval=None) as on_b,
    ):
        assert await on_a.receive() == "ready"
        assert await on_b.receive() == "ready"
        await on_b.text("whoami")
        b_id = await on_b.receive()
        await on_a.text(f"to {b_id} hello over there")
        with trio.fail_after(10):
            got = await on_b.receive()
        assert got.endswith(": hello over there")


async def test_a_thousand_broadcasts_to_a_hundred_clients_lose_nothing(redis_server):
    """1,000 messages from one sender, 100 clients over 2 workers: 100,000 deliveries,
    each client's in the sender's order (the throughput is a nox -s bench figure)."""
    async with (
        serving(redis_server) as (a, _),
        serving(redis_server) as (b, _),
        contextlib.AsyncExitStack() as stack,
    ):
        clients = []
        for index in range(100):
            base = a if index % 2 == 0 else b
            url = base.replace("http", "ws") + "/chat"
            ws = await stack.enter_async_context(rttp.websocket(url, ping_interval=None))
            assert await ws.receive() == "ready"
            clients.append(ws)
        messages = [f"n{i}" for i in range(1000)]
        received: list[list[str]] = [[] for _ in clients]

        async def collect(index: int) -> None:
            for _ in messages:
                received[index].append(await clients[index].receive())

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for index in range(len(clients)):
                    nursery.start_soon(collect, index)
                for message in messages:
                    await clients[0].text(message)
        assert all(got == messages for got in received)
