"""A bundled Trio load generator for when wrk is not installed.

``python benchmarks/loadgen.py PORT CONNECTIONS SECONDS`` prints JSON: requests/s, p50, p99 (ms).
Each connection sends one keep-alive GET at a time and times its answer.
"""

from __future__ import annotations

import json
import sys

import trio

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def worker(port: int, deadline: float, latencies: list[float]) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        while trio.current_time() < deadline:
            started = trio.current_time()
            await stream.send_all(REQUEST)
            buffer = b""
            while True:
                buffer += await stream.receive_some(65536)
                head_end = buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    continue
                length = 0
                for line in buffer[:head_end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(buffer) >= head_end + 4 + length:
                    break
            latencies.append(trio.current_time() - started)


async def main(port: int, connections: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    deadline = trio.current_time() + seconds
    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(worker, port, deadline, latencies)
    latencies.sort()
    count = len(latencies)
    return {
        "requests_per_second": count / seconds,
        "p50_ms": latencies[count // 2] * 1000 if count else 0.0,
        "p99_ms": latencies[int(count * 0.99)] * 1000 if count else 0.0,
    }


if __name__ == "__main__":
    print(json.dumps(trio.run(main, int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))))
