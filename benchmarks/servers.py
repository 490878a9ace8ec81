"""The contenders, each serving the same 13-byte answer on 127.0.0.1:PORT.

``python benchmarks/servers.py NAME PORT``; NAME is one of :data:`SERVERS`.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

BODY = b"Hello, world!"


def rttp_server(port: int, backend: str, access_log: bool = False, http2: bool = False) -> None:
    """One rttp server; with ``access_log``, its access log on as ``rttp serve`` has it
    (the default format, batched to a file)."""
    import contextlib
    import os
    import tempfile

    import trio

    import rttp

    async def app(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, [(b"Content-Type", b"text/plain")], BODY)

    async def main() -> None:
        log = os.path.join(tempfile.gettempdir(), f"rttp-bench-access-{port}.log")
        # (access_log_file only when logging: an @base row may predate the setting)
        extra: dict[str, object] = {"access_log_file": log} if access_log else {}
        if http2:  # (only when asked: an @base row may predate the setting)
            extra["http2"] = True
        server = rttp.Server(
            app, f"http://127.0.0.1:{port}", http_backend=backend, access_log=access_log, **extra
        )
        try:
            await server.serve()
        finally:
            if access_log:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(log)

    trio.run(main)


def rttp_app_route(port: int) -> None:
    """An :class:`rttp.App` with one GET route giving the same answer as the Starlette
    app's route: the hosting overhead measured against routing in rttp itself."""
    import trio

    import rttp

    app = rttp.App()

    @app.get("/")
    async def hello(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, [(b"Content-Type", b"text/plain; charset=utf-8")], BODY)

    trio.run(rttp.Server(app, f"http://127.0.0.1:{port}", access_log=False).serve)


def rttp_workers(port: int, workers: int) -> None:
    """The pre-fork pool: ``workers`` processes sharing the listening socket."""
    import rttp

    async def app(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, [(b"Content-Type", b"text/plain")], BODY)

    rttp.run(app, f"http://127.0.0.1:{port}", workers=workers, access_log=False)


def bare_trio_h11(port: int) -> None:
    """trio + h11 with no features: the loop the issue measures against."""
    import h11
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data:
                    return
                conn.receive_data(data)
            elif isinstance(event, h11.EndOfMessage):
                out = conn.send(
                    h11.Response(
                        status_code=200,
                        headers=[("Content-Type", "text/plain"), ("Content-Length", "13")],
                    )
                )
                out += conn.send(h11.Data(data=BODY)) + conn.send(h11.EndOfMessage())
                await stream.send_all(out)
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
            elif not isinstance(event, (h11.Request, h11.Data)):
                return

    trio.run(functools.partial(trio.serve_tcp, handle, port, host="127.0.0.1"))


def bare_trio_httptools(port: int) -> None:
    """trio + httptools with a minimal request object and no features: the parser's ceiling."""
    import httptools
    import trio

    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" + BODY

    class Parsed:
        def __init__(self) -> None:
            self.done: list[tuple[bytes, list[tuple[bytes, bytes]]]] = []
            self.url = b""
            self.headers: list[tuple[bytes, bytes]] = []

        def on_url(self, url: bytes) -> None:
            self.url = url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

        def on_message_complete(self) -> None:
            self.done.append((self.url, self.headers))
            self.headers = []

    async def handle(stream: trio.SocketStream) -> None:
        parsed = Parsed()
        parser = httptools.HttpRequestParser(parsed)
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            parser.feed_data(data)
            if parsed.done:
                out = answer * len(parsed.done)
                parsed.done.clear()
                await stream.send_all(out)

    trio.run(functools.partial(trio.serve_tcp, handle, port, host="127.0.0.1"))


def bare_trio_stream(port: int) -> None:
    """trio with no HTTP parsing at all: one canned answer per request head seen."""
    import trio

    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" + BODY

    async def handle(stream: trio.SocketStream) -> None:
        pending = b""
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            pending += data
            count = pending.count(b"\r\n\r\n")
            if count:
                pending = pending[pending.rfind(b"\r\n\r\n") + 4 :]
                await stream.send_all(answer * count)

    trio.run(functools.partial(trio.serve_tcp, handle, port, host="127.0.0.1"))


async def asgi_app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def rttp_asgi(port: int) -> None:
    """The same minimal ASGI application uvicorn and hypercorn serve, hosted by rttp."""
    import trio

    import rttp

    server = rttp.Server(rttp.asgi(asgi_app), f"http://127.0.0.1:{port}", access_log=False)
    trio.run(server.serve)


def hypercorn_trio(port: int) -> None:
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    trio.run(serve, asgi_app, config)


def uvicorn_server(port: int, http: str) -> None:
    import uvicorn

    uvicorn.run(
        asgi_app,
        host="127.0.0.1",
        port=port,
        http=http,
        log_level="error",
        access_log=False,
        loop="asyncio",
    )


def aiohttp_server(port: int) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


SERVERS = {
    "rttp (httptools)": lambda port: rttp_server(port, "httptools"),
    "rttp (h11)": lambda port: rttp_server(port, "h11"),
    # HTTP/2 on (prior knowledge on cleartext), HTTP/1.1 still on the same port
    "rttp (http2)": lambda port: rttp_server(port, "httptools", http2=True),
    # the access log on, as rttp serve has it by default: its cost beside the row above
    "rttp (httptools, access log)": lambda port: rttp_server(port, "httptools", True),
    # not pinned to one core (run.py): the workers and the load generator share both
    "rttp 1 proc (unpinned)": lambda port: rttp_workers(port, 1),
    "rttp 2 proc (unpinned)": lambda port: rttp_workers(port, 2),
    "bare trio+h11": bare_trio_h11,
    "bare trio+httptools": bare_trio_httptools,
    "bare trio stream": bare_trio_stream,
    # the minimal ASGI app below, hosted: against uvicorn and hypercorn on the same app
    "rttp (asgi)": rttp_asgi,
    # an App route giving Starlette's answer: the asgi suite's hosting overhead
    "rttp App route": rttp_app_route,
    "hypercorn (trio)": hypercorn_trio,
    "uvicorn (h11)": lambda port: uvicorn_server(port, "h11"),
    "uvicorn (httptools)": lambda port: uvicorn_server(port, "httptools"),
    "aiohttp": aiohttp_server,
}

#: the rows of the plain server suite (the asgi suite's, below, are run.py --suites asgi)
PLAIN = list(SERVERS)
sys.path.insert(0, str(Path(__file__).parent))
from files import FILE_SERVERS  # noqa: E402
from hosted import HOSTED  # noqa: E402

from http2 import H2_SERVERS  # noqa: E402

SERVERS.update(HOSTED)
SERVERS.update(FILE_SERVERS)
SERVERS.update(H2_SERVERS)

if __name__ == "__main__":
    SERVERS[sys.argv[1]](int(sys.argv[2]))
