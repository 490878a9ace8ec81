"""Instructions per request under callgrind: a measure that, unlike requests/s, does not
move with the machine's load, so a few percent can be compared honestly.

    python benchmarks/instructions.py                       # this checkout
    python benchmarks/instructions.py --baseline /tmp/base  # side by side, with ratios

Each case runs in its own process under ``valgrind --tool=callgrind`` twice, for a small
and a large number of keep-alive requests over a socketpair; the difference divided by
the difference in requests is the cost of one request, start-up excluded:

- ``server <backend>``: ``Server.serve_stream`` answering ``GET /`` with 12 bytes, the
  requests written raw (the client's side costs the same in both checkouts);
- ``client <backend>``: ``HTTPConnection`` in the client role (``send_request``,
  ``read_response``, ``read_body``) against canned answers;
- ``ws <backend>``: a 32-byte WebSocket message echoed (``accept_websocket`` on a
  loopback server, ``connect_websocket``), ``<backend>`` naming the WebSocket backend
  (``websockets`` or ``wsproto``); a "request" is one round trip.

Needs ``valgrind`` (``apt-get install valgrind``); loopback only, bounded counts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CASE = r"""
import socket, sys, trio, rttp
kind, backend, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello, world"

async def handler(request):
    return rttp.Response(200, body=b"hello, world")

async def server_case():
    a, b = socket.socketpair()
    server = rttp.Server(handler, http_backend=backend, access_log=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_stream, trio.SocketStream(trio.socket.from_stdlib_socket(a)))
        peer = trio.SocketStream(trio.socket.from_stdlib_socket(b))
        for _ in range(count):
            await peer.send_all(REQUEST)
            got = b""
            while not got.endswith(b"hello, world"):
                got += await peer.receive_some(65536)
        await peer.aclose()

async def client_case():
    a, b = socket.socketpair()
    async def answer():
        peer = trio.SocketStream(trio.socket.from_stdlib_socket(b))
        for _ in range(count):
            got = b""
            while not got.endswith(b"\r\n\r\n"):
                got += await peer.receive_some(65536)
            await peer.send_all(ANSWER)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer)
        conn = rttp.HTTPConnection(trio.SocketStream(trio.socket.from_stdlib_socket(a)), http_backend=backend)
        for _ in range(count):
            request = conn.make_request(host="bench", uri="/")
            await conn.send_request(request)
            response = await conn.read_response(request)
            await response.read()

async def ws_case():
    async def echo(ws):
        async for data in ws:
            await ws.send(data)
    async def handler(request):
        return rttp.accept_websocket(request, echo, websocket_backend=backend)
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(rttp.serve, handler, "http://127.0.0.1:0")
        url = str(addresses[0]).replace("http", "ws")
        ws = await rttp.connect_websocket(url, websocket_backend=backend)
        for _ in range(count):
            await ws.send(b"x" * 32)
            await ws.receive()
        await ws.aclose()
        nursery.cancel_scope.cancel()

trio.run({"server": server_case, "client": client_case, "ws": ws_case}[kind])
"""

SMALL, LARGE = 200, 2200


def instructions(source: Path, kind: str, backend: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONPATH": f"{source / 'src'}{os.pathsep}{source / 'plugins'}"}
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                CASE,
                kind,
                backend,
                str(count),
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=900,
        )
        for line in out.read_text().splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def per_request(source: Path, kind: str, backend: str) -> float:
    small = instructions(source, kind, backend, SMALL)
    large = instructions(source, kind, backend, LARGE)
    return (large - small) / (LARGE - SMALL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--cases", nargs="+", default=["server", "client", "ws"])
    parser.add_argument("--backends", nargs="+", default=["httptools", "h11"])
    parser.add_argument("--ws-backends", nargs="+", default=["websockets", "wsproto"])
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    here = Path(__file__).resolve().parents[1]
    print(f"{'case':<22} {'instr/request':>14} {'baseline':>14} {'ratio':>7}")
    for kind in args.cases:
        for backend in args.ws_backends if kind == "ws" else args.backends:
            ours = per_request(here, kind, backend)
            line = f"{kind + ' ' + backend:<22} {ours:>14,.0f}"
            if args.baseline is not None:
                theirs = per_request(args.baseline.resolve(), kind, backend)
                line += f" {theirs:>14,.0f} {ours / theirs:>7.3f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
