"""Deployment behind a real nginx (deploy/nginx.conf): two rttp serve processes behind
it, WebSocket upgrades through it, a broadcast across both, and proxy headers believed
from nginx only."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

import rttp
from tests.conftest import cli_process, free_loopback_port, system_tool

pytestmark = pytest.mark.timeout(90)

CONF = Path(__file__).parents[2] / "deploy" / "nginx.conf"


@contextlib.asynccontextmanager
async def nginx(tmp_path: Path, upstreams: list[str]):
    binary = system_tool("nginx", "nginx-light")
    port = free_loopback_port()
    text = (
        CONF.read_text()
        .replace("@LISTEN@", f"127.0.0.1:{port}")
        .replace("@UPSTREAM@", " ".join(f"server {u};" for u in upstreams))
        .replace("@PREFIX@", str(tmp_path))
        .replace("@BIND@", "proxy_bind 127.0.0.2;")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    process = await trio.lowlevel.open_process(
        [binary, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.DEVNULL
    )
    try:
        with trio.fail_after(15):
            while True:  # nginx says nothing when it is up: wait for its port
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                except OSError:
                    await trio.sleep(0.05)
                    continue
                await stream.aclose()
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        with trio.fail_after(10):
            await process.wait()


def worker(broker: str):
    return cli_process(
        "serve",
        "tests.peers.chat_app:app",
        "--bind",
        "http://127.0.0.1:0",
        "--broker",
        broker,
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.2",
        "--no-access-log",
    )


async def test_behind_nginx(tmp_path, redis_server):
    broker = redis_server.rsplit("/", 1)[0] + "/3"
    async with (
        worker(broker) as (one, _),
        worker(broker) as (two, _),
        nginx(tmp_path, [u.removeprefix("http://") for u in (one, two)]) as front,
        rttp.Client() as client,
    ):
        # both workers answer through nginx; the client is the one nginx saw, not a
        # claim the client made itself
        seen = [
            (await client.get(f"{front}/whoami", headers={"X-Forwarded-For": "6.6.6.6"})).json()
            for _ in range(6)
        ]
        assert len({s["pid"] for s in seen}) == 2  # round robin over both workers
        assert {s["client"] for s in seen} == {"127.0.0.1"}
        assert {s["scheme"] for s in seen} == {"http"}  # X-Forwarded-Proto from nginx
        # straight to a worker (not from nginx), the headers are not believed
        spoof = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}
        direct = (await client.get(f"{one}/whoami", headers=spoof)).json()
        assert (direct["client"], direct["scheme"]) == ("127.0.0.1", "http")
        # WebSockets through nginx, spread over both workers, broadcast to all of them
        async with contextlib.AsyncExitStack() as stack:
            sockets = []
            for _ in range(4):
                ws = await stack.enter_async_context(
                    rttp.websocket(front.replace("http", "ws") + "/chat", ping_interval=None)
                )
                assert await ws.receive() == "ready"
                sockets.append(ws)
            counts = (await client.get(f"{one}/count")).json()
            assert counts["everywhere"] == 4
            assert 0 < counts["here"] < 4  # nginx spread them over the two workers
            await sockets[0].text("through nginx")
            for ws in sockets:
                with trio.fail_after(10):
                    assert await ws.receive() == "through nginx"


async def test_nginx_keeps_its_connections_to_rttp_alive(tmp_path):
    """The upstream keep-alive works: ten requests through nginx arrive over a couple of
    connections (the access log names each connection's peer port), not ten."""
    log = tmp_path / "rttp-access.log"  # (nginx writes its own access.log there)
    async with (
        cli_process(
            "serve",
            "tests.peers.chat_app:app",
            "--bind",
            "http://127.0.0.1:0",
            "--access-log-format",
            "%(h)s",
            "--access-log-file",
            str(log),
        ) as (one, process),
        nginx(tmp_path, [one.removeprefix("http://")]) as front,
        rttp.Client() as client,
    ):
        for _ in range(10):
            assert (await client.get(f"{front}/whoami")).status == 200
        process.send_signal(signal.SIGINT)  # the log is flushed on the way out
        with trio.fail_after(10):
            await process.wait()
    peers = log.read_text().split()
    assert len(peers) == 10
    assert all(peer.startswith("127.0.0.2:") for peer in peers)  # from nginx (proxy_bind)
    assert len(set(peers)) <= 2, peers  # reused, not one connection per request


async def test_the_demo_chat_reaches_every_worker(redis_server):
    """rttp demo --workers 2 --broker: visitors spread over both workers all see a
    message (the kernel spreads connections over the workers' shared socket)."""
    broker = redis_server.rsplit("/", 1)[0] + "/4"
    async with (
        cli_process(
            "demo",
            "--bind",
            "http://127.0.0.1:0",
            "--workers",
            "2",
            "--broker",
            broker,
            "--no-access-log",
        ) as (base, _),
        contextlib.AsyncExitStack() as stack,
    ):
        sockets = []
        for _ in range(8):
            ws = await stack.enter_async_context(
                rttp.websocket(base.replace("http", "ws") + "/chat", ping_interval=None)
            )
            assert (await said(ws)).startswith("welcome")
            sockets.append(ws)
        await sockets[0].text("hello all")
        for ws in sockets:
            with trio.fail_after(10):
                assert (await said(ws)).endswith(": hello all")


async def said(ws: Any) -> str:
    """The next chat line the demo sends ``ws`` (its presence counts skipped)."""
    while True:
        message = json.loads(await ws.receive())
        if "text" in message:
            return str(message["text"])
