"""Broadcast throughput across workers: ``python benchmarks/broadcast.py [CLIENTS MESSAGES]``.

Starts a redis-server on a free loopback port (it must be installed), two ``rttp serve``
processes of tests/peers/chat_app.py sharing it as their broker, and CLIENTS WebSocket
clients spread over them; one client sends MESSAGES texts, each broadcast to every
client. Prints JSON: deliveries per second, and whether every client got every message
in order. Loopback only, bounded by the counts.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

import trio

import rttp

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[str], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "Ready to accept connections" in line:
            return process, f"redis://127.0.0.1:{port}/0"
    raise SystemExit("redis-server did not start")


def start_worker(broker: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rttp",
            "serve",
            "tests.peers.chat_app:app",
            "--bind",
            "http://127.0.0.1:0",
            "--broker",
            broker,
            "--no-access-log",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r" on (http://\S+)", line)
        if found:
            return process, found.group(1)
    raise SystemExit("rttp serve did not start")


async def measure(bases: list[str], clients: int, messages: int) -> dict[str, float | bool]:
    async with AsyncExitStack() as stack:
        sockets = []
        for index in range(clients):
            url = bases[index % len(bases)].replace("http", "ws") + "/chat"
            ws = await stack.enter_async_context(rttp.websocket(url, ping_interval=None))
            assert await ws.receive() == "ready"
            sockets.append(ws)
        texts = [f"n{i}" for i in range(messages)]
        ok = [True] * clients

        async def collect(index: int) -> None:
            for expected in texts:
                if await sockets[index].receive() != expected:
                    ok[index] = False

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for index in range(clients):
                nursery.start_soon(collect, index)
            for text in texts:
                await sockets[0].text(text)
        elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "messages": messages,
        "deliveries_per_second": clients * messages / elapsed,
        "seconds": elapsed,
        "all_delivered_in_order": all(ok),
    }


def main() -> None:
    clients, messages = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (100, 1000)
    redis, broker = start_redis()
    workers = [start_worker(broker) for _ in range(2)]
    try:
        print(json.dumps(trio.run(measure, [url for _, url in workers], clients, messages)))
    finally:
        for process, _ in workers:
            process.terminate()
            process.wait(timeout=10)
        redis.terminate()
        redis.wait(timeout=10)


if __name__ == "__main__":
    main()
