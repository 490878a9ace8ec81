"""The ``http2`` suite: every row driven by nghttp2's ``h2load``, so one tool measures
both protocols.

- rttp over HTTP/2 (prior knowledge, h2c): 10 connections x 10 streams, and 1
  connection x 100 streams (a latency stall shows as the second far below the first);
- rttp over HTTP/1.1 on the same server (``h2load --h1``, 100 connections): what
  HTTP/2 costs over HTTP/1.1 at the same concurrency;
- hypercorn's HTTP/2 on Trio and on asyncio, on the same minimal ASGI app;
- ``nghttpd`` (C, nghttp2's own server) as the native ceiling.

Also the memory of 200 idle HTTP/2 connections beside 200 idle HTTP/1.1 ones. Each
server is pinned to CPU 0 and h2load to CPU 1; rounds are interleaved and the ratios
paired within a round. ``apt-get install nghttp2-client nghttp2-server`` first.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: row -> how h2load drives it: (connections, streams per connection, --h1)
LOADS = {
    "10x10": (10, 10, False),
    "1x100": (1, 100, False),
    "h1 100": (100, 1, True),
}
ROWS = {
    "rttp (http2)": ["10x10", "1x100", "h1 100"],
    "hypercorn h2 (trio)": ["10x10", "1x100"],
    "hypercorn h2 (asyncio)": ["10x10", "1x100"],
    "bare trio+h2": ["10x10", "1x100"],
    "nghttpd": ["10x10", "1x100"],
}


def hypercorn_asyncio(port: int) -> None:
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    from servers import asgi_app

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    asyncio.run(serve(asgi_app, config))  # type: ignore[arg-type]


def bare_trio_h2(port: int) -> None:
    """trio + h2 with no features (one task per connection, h2's checks off as rttp
    has them): what the h2 library itself allows in Python, the ceiling of any
    server built on it."""
    import contextlib
    import functools

    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import trio
    from servers import BODY

    config = h2.config.H2Configuration(
        client_side=False,
        header_encoding=None,
        validate_inbound_headers=False,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )
    head = [(b":status", b"200"), (b"content-type", b"text/plain"), (b"content-length", b"13")]

    async def handle(stream: trio.SocketStream) -> None:
        with contextlib.suppress(trio.BrokenResourceError, h2.exceptions.ProtocolError):
            await answer(stream)

    async def answer(stream: trio.SocketStream) -> None:
        conn = h2.connection.H2Connection(config=config)
        conn.initiate_connection()
        await stream.send_all(conn.data_to_send())
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if type(event) is h2.events.RequestReceived:
                    conn.send_headers(event.stream_id, head)
                    conn.send_data(event.stream_id, BODY, end_stream=True)
            out = conn.data_to_send()
            if out:
                await stream.send_all(out)

    trio.run(functools.partial(trio.serve_tcp, handle, port, host="127.0.0.1"))


#: the rows servers.py runs (hypercorn's Trio row is the plain suite's)
H2_SERVERS = {"hypercorn h2 (asyncio)": hypercorn_asyncio, "bare trio+h2": bare_trio_h2}


def _h2load(port: int, load: str, seconds: float) -> dict[str, float]:
    connections, streams, h1 = LOADS[load]
    command = [
        "h2load",
        "-c",
        str(connections),
        "-m",
        str(streams),
        "-D",
        str(max(1, round(seconds))),
    ]
    command += ["--warm-up-time", "1"] + (["--h1"] if h1 else [])
    command.append(f"http://127.0.0.1:{port}/")
    if shutil.which("taskset"):
        command = ["taskset", "-c", "1", *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    failed = re.search(r"(\d+) failed", out)
    return {
        "rps": float(rate.group(1)) if rate else 0.0,
        "failed": float(failed.group(1)) if failed else -1.0,
    }


def _start(name: str) -> tuple[subprocess.Popen[bytes], int]:
    from run import HERE, free_port, pinned, start_server, wait_listening
    from servers import BODY

    if name not in ("nghttpd", "bare trio+h2"):  # (those two speak only HTTP/2)
        impl = "hypercorn (trio)" if name == "hypercorn h2 (trio)" else name
        return start_server(impl)
    port = free_port()
    if name == "nghttpd":
        folder = Path(tempfile.mkdtemp(prefix="rttp-bench-nghttpd-"))
        (folder / "index.html").write_bytes(BODY)
        command = ["nghttpd", "--no-tls", "-d", str(folder), str(port)]
    else:
        command = [sys.executable, str(HERE / "servers.py"), name, str(port)]
    process = subprocess.Popen(
        pinned(0, command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if wait_listening(port, 20):
        return process, port
    process.kill()
    raise RuntimeError(f"{name} did not start")


def idle_h2_memory(count: int = 200) -> dict[str, float]:
    """rttp's resident set per idle HTTP/2 connection (preface and SETTINGS exchanged,
    one request answered) and per idle HTTP/1.1 connection, on one server."""
    import h2.config
    import h2.connection
    from run import rss_kib, start_server, stop

    process, port = start_server("rttp (http2)")
    held: list[socket.socket] = []
    try:
        time.sleep(0.5)
        result: dict[str, float] = {}
        for label in ("http1", "http2"):
            before = rss_kib(process.pid)
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", port))
                if label == "http1":
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                else:
                    conn = h2.connection.H2Connection(h2.config.H2Configuration())
                    conn.initiate_connection()
                    stream_id = conn.get_next_available_stream_id()
                    headers = [(":method", "GET"), (":scheme", "http"), (":path", "/")]
                    conn.send_headers(stream_id, [*headers, (":authority", "x")], end_stream=True)
                    sock.sendall(conn.data_to_send())
                sock.recv(65536)
                held.append(sock)
            time.sleep(1.0)
            result[f"{label}_idle_kib_per_connection"] = (rss_kib(process.pid) - before) / count
        return result
    finally:
        for sock in held:
            sock.close()
        stop(process)


def client_h2(seconds: float, rounds: int) -> dict[str, Any]:
    """50 tasks over one HTTP/2 connection to nghttpd (the C server, so that the client
    is what is measured): rttp's client against httpx's, paired per round."""
    from run import measure, paired_ratio, stop

    if not shutil.which("nghttpd"):
        print("HTTP/2 client rows skipped: nghttpd is not installed (nghttp2-server)")
        return {}
    samples: dict[str, list[float]] = {"rttp h2": [], "httpx h2": []}
    for _ in range(rounds):
        process, port = _start("nghttpd")
        try:
            for impl in samples:
                result = measure("clients.py", impl, port, 50, seconds)
                samples[impl].append(result["requests_per_second"])
        finally:
            stop(process)
    report = {impl: statistics.median(values) for impl, values in samples.items()}
    ratio = paired_ratio(samples["rttp h2"], samples["httpx h2"])
    print(f"HTTP/2 client, 50 tasks on one connection to nghttpd: rttp {report['rttp h2']:.0f}")
    print(f"  req/s, httpx {report['httpx h2']:.0f} req/s: {ratio:.2f}x")
    return {"rps": report, "rttp / httpx": ratio}


def http2_suite(seconds: float, rounds: int, only: list[str] | None = None) -> dict[str, Any]:
    """Every row's loads, ``rounds`` interleaved rounds; medians, ratios and memory."""
    from run import paired_ratio, stop

    if not shutil.which("h2load"):
        print("http2 suite skipped: h2load is not installed (apt-get install nghttp2-client)")
        return {}
    names = [n for n in ROWS if only is None or n in only]
    if "nghttpd" in names and not shutil.which("nghttpd"):
        names.remove("nghttpd")
    samples: dict[str, dict[str, list[float]]] = {n: {load: [] for load in ROWS[n]} for n in names}
    for _ in range(rounds):
        for name in names:
            process, port = _start(name)
            try:
                for load in ROWS[name]:
                    measured = _h2load(port, load, seconds)
                    if measured["failed"]:
                        print(f"  {name} {load}: {measured['failed']:.0f} failed requests")
                    samples[name][load].append(measured["rps"])
            finally:
                stop(process)
    ours = samples.get("rttp (http2)", {})
    report: dict[str, Any] = {"rps": {}, "ratios": {}}
    print(f"\nHTTP/2 (h2load), requests/s, median of {rounds} rounds of {seconds:.0f} s")
    for name in names:
        for load, values in samples[name].items():
            median = statistics.median(values)
            report["rps"][f"{name} {load}"] = median
            print(f"  {name:24} {load:8} {median:10.0f}")
    if ours:
        ratios = report["ratios"]
        ratios["h2 10x10 / h1 100"] = paired_ratio(ours["10x10"], ours["h1 100"])
        ratios["h2 1x100 / h2 10x10"] = paired_ratio(ours["1x100"], ours["10x10"])
        for name in names:
            if name != "rttp (http2)":
                ratios[f"rttp / {name} 10x10"] = paired_ratio(ours["10x10"], samples[name]["10x10"])
        print("ratios:")
        for label, value in ratios.items():
            print(f"  {label:36} {value:6.2f}x")
        report["memory"] = idle_h2_memory()
        print("idle memory:", {k: round(v, 1) for k, v in report["memory"].items()})
    if only is None or "client" in only:
        report["client"] = client_h2(seconds, rounds)
    return report
