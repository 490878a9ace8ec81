"""Client benchmark pieces: GET loops for rttp, httpx (trio), aiohttp and bare trio clients.

``python benchmarks/clients.py IMPL PORT TASKS SECONDS`` prints JSON requests/s for TASKS
concurrent tasks each sending keep-alive GETs to http://127.0.0.1:PORT/.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any


def run(impl: str, port: int, tasks: int, seconds: float) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/"
    count = 0
    if impl == "aiohttp":
        import asyncio

        import aiohttp

        async def amain() -> float:
            nonlocal count
            connector = aiohttp.TCPConnector(limit=tasks)
            async with aiohttp.ClientSession(connector=connector) as session:
                started = time.perf_counter()

                async def loop() -> None:
                    nonlocal count
                    while time.perf_counter() - started < seconds:
                        async with session.get(url) as response:
                            await response.read()
                        count += 1

                await asyncio.gather(*(loop() for _ in range(tasks)))
                return time.perf_counter() - started

        elapsed = asyncio.run(amain())
        return {"requests_per_second": count / elapsed}

    import trio

    started = 0.0

    async def in_tasks(loop: Callable[[], Awaitable[None]]) -> float:
        """Run ``loop`` in every task; the seconds they took (imports and set-up excluded)."""
        nonlocal started
        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(loop)
        return time.perf_counter() - started

    async def tmain() -> float:
        async def gets(client: Any) -> None:  # rttp's and httpx's clients share the call
            nonlocal count
            while time.perf_counter() - started < seconds:
                await client.get(url)
                count += 1

        if impl == "rttp":
            import rttp

            async with rttp.Client(limits=rttp.Limits(max_keepalive_connections=tasks)) as client:
                return await in_tasks(functools.partial(gets, client))
        elif impl == "httpx":
            import httpx

            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=tasks)) as client:
                return await in_tasks(functools.partial(gets, client))
        elif impl == "rttp h2":  # every task over one HTTP/2 connection (prior knowledge)
            import rttp

            async with rttp.Client(http2=True, http2_prior_knowledge=True) as client:
                return await in_tasks(functools.partial(gets, client))
        elif impl == "httpx h2":
            import httpx

            async with httpx.AsyncClient(http1=False, http2=True) as client:
                return await in_tasks(functools.partial(gets, client))
        elif impl == "bare trio+httptools":  # one connection per task, no features: the ceiling
            import httptools

            class Parsed:
                def __init__(self) -> None:
                    self.headers: list[tuple[bytes, bytes]] = []
                    self.body: list[bytes] = []
                    self.done = False

                def on_header(self, name: bytes, value: bytes) -> None:
                    self.headers.append((name, value))

                def on_body(self, body: bytes) -> None:
                    self.body.append(body)

                def on_message_complete(self) -> None:
                    self.done = True

            async def loop() -> None:
                nonlocal count
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
                while time.perf_counter() - started < seconds:
                    parsed = Parsed()
                    parser = httptools.HttpResponseParser(parsed)
                    await stream.send_all(request)
                    while not parsed.done:
                        parser.feed_data(await stream.receive_some(65536))
                    parser.get_status_code()
                    b"".join(parsed.body)
                    count += 1
                await stream.aclose()

            return await in_tasks(loop)
        elif impl == "bare trio+h11":  # one connection per task, nothing else
            import h11

            async def loop() -> None:
                nonlocal count
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                conn = h11.Connection(h11.CLIENT)
                while time.perf_counter() - started < seconds:
                    await stream.send_all(
                        conn.send(
                            h11.Request(method="GET", target="/", headers=[("Host", "127.0.0.1")])
                        )
                        + conn.send(h11.EndOfMessage())
                    )
                    while True:
                        event = conn.next_event()
                        if event is h11.NEED_DATA:
                            conn.receive_data(await stream.receive_some(65536))
                        elif isinstance(event, h11.EndOfMessage):
                            break
                    conn.start_next_cycle()
                    count += 1
                await stream.aclose()

            return await in_tasks(loop)
        raise SystemExit(f"unknown client {impl!r}")

    elapsed = trio.run(tmain)
    return {"requests_per_second": count / elapsed}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))))
