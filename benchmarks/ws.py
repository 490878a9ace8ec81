"""WebSocket echo benchmark pieces: servers and clients for rttp, trio-websocket and websockets.

``rttp`` serves through the core API (``accept_websocket`` in a handler), ``rttp-app``
through the routing app's socket callbacks; both frame with the default backend
(websockets' sans-I/O core), ``rttp-wsproto`` with wsproto. Compression is off
everywhere (the peers are run with ``compression=None``).

``python benchmarks/ws.py serve IMPL PORT`` runs an echo server;
``python benchmarks/ws.py client IMPL PORT SIZE SECONDS`` prints JSON with round trips per
second and MiB/s for one connection echoing SIZE-byte messages.
"""

from __future__ import annotations

import json
import sys
import time


def _rttp_options(impl: str) -> dict[str, object]:
    """No compression and the backend the row names (older code, an ``@base`` row,
    has neither keyword: wsproto and no compression were all it had)."""
    import rttp

    if not hasattr(rttp, "Deflate"):
        return {}
    backend = "wsproto" if impl.endswith("wsproto") else "auto"
    return {"compression": None, "websocket_backend": backend}


def serve(impl: str, port: int) -> None:
    if impl in ("rttp", "rttp-wsproto"):  # the core API: a handler that accepts the handshake
        import trio

        import rttp

        options = _rttp_options(impl)

        async def echo_loop(ws: rttp.WebSocket) -> None:
            async for data in ws:
                await ws.send(data)

        async def handler(request: rttp.Request) -> rttp.Response:
            return rttp.accept_websocket(request, echo_loop, max_message_size=64 << 20, **options)

        async def main_core() -> None:
            await rttp.Server(handler, f"http://127.0.0.1:{port}", access_log=False).serve()

        trio.run(main_core)
    elif impl == "rttp-app":  # the routing app's socket callbacks (send timeout watched)
        import trio

        import rttp

        options = {
            f"ws_{k}" if k == "compression" else k: v for k, v in _rttp_options(impl).items()
        }
        app = rttp.App(ws_ping_interval=None, ws_max_message_size=64 << 20, **options)

        @app.socket("/")
        async def echo(conn, opcode, data, extra):  # type: ignore[no-untyped-def]
            if opcode == rttp.Opcode.binary:
                await conn.binary(data)
            elif opcode == rttp.Opcode.text:
                await conn.text(data)

        async def main() -> None:
            await rttp.Server(app, f"http://127.0.0.1:{port}", access_log=False).serve()

        trio.run(main)
    elif impl == "trio-websocket":
        import trio
        from trio_websocket import ConnectionClosed, serve_websocket

        async def handler(request):  # type: ignore[no-untyped-def]
            ws = await request.accept()
            try:
                while True:
                    await ws.send_message(await ws.get_message())
            except ConnectionClosed:
                pass

        trio.run(
            lambda: serve_websocket(handler, "127.0.0.1", port, None, max_message_size=64 << 20)
        )
    elif impl.startswith("starlette on "):  # the asgi suite: an echo through Starlette
        from hosted import WS_SERVERS

        WS_SERVERS[impl](port)
    elif impl == "websockets":
        import asyncio

        import websockets

        async def echo(ws):  # type: ignore[no-untyped-def]
            async for message in ws:
                await ws.send(message)

        async def main() -> None:
            async with websockets.serve(
                echo, "127.0.0.1", port, max_size=64 << 20, compression=None
            ):
                await asyncio.Future()

        asyncio.run(main())
    else:
        raise SystemExit(f"unknown implementation {impl!r}")


def client(impl: str, port: int, size: int, seconds: float) -> dict[str, float]:
    payload = b"x" * size
    url = f"ws://127.0.0.1:{port}/"
    count = 0
    if impl in ("rttp", "rttp-wsproto"):
        import trio

        import rttp

        options = _rttp_options(impl)

        async def main() -> float:
            nonlocal count
            ws = await rttp.connect_websocket(url, max_message_size=64 << 20, **options)
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                await ws.send_bytes(payload)
                event = await ws.receive()
                assert isinstance(event, rttp.WebSocketMessage)
                count += 1
            elapsed = time.perf_counter() - started
            await ws.close()
            return elapsed

        elapsed = trio.run(main)
    elif impl == "trio-websocket":
        import trio
        from trio_websocket import open_websocket_url

        async def main() -> float:
            nonlocal count
            async with open_websocket_url(url, max_message_size=64 << 20) as ws:
                started = time.perf_counter()
                while time.perf_counter() - started < seconds:
                    await ws.send_message(payload)
                    await ws.get_message()
                    count += 1
                return time.perf_counter() - started

        elapsed = trio.run(main)
    else:
        import asyncio

        import websockets

        async def main() -> float:
            nonlocal count
            async with websockets.connect(url, max_size=64 << 20, compression=None) as ws:
                started = time.perf_counter()
                while time.perf_counter() - started < seconds:
                    await ws.send(payload)
                    await ws.recv()
                    count += 1
                return time.perf_counter() - started

        elapsed = asyncio.run(main())
    return {
        "round_trips_per_second": count / elapsed,
        "mib_per_second": count * size / elapsed / (1 << 20),
    }


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        print(
            json.dumps(client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
        )
