"""The ``asgi`` suite's contenders: the same framework applications (a minimal
Starlette app, a FastAPI JSON route, a Flask app, a Starlette WebSocket echo) served by
rttp and by the servers their users run them on today.

Each row is ``APP on SERVER``; ``python benchmarks/servers.py "starlette on rttp" PORT``
runs one (servers.py takes its rows from :data:`HOSTED`). The apps are built on first
use, so that the plain rows never import a framework; ``hosted:starlette_app`` and the
like are import targets for granian, which loads its app itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BODY = "Hello, world!"


def make_starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse(BODY)

    async def echo(websocket: Any) -> None:
        from starlette.websockets import WebSocketDisconnect

        await websocket.accept()
        try:
            while True:
                message = await websocket.receive_bytes()
                await websocket.send_bytes(message)
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[Route("/", hello), WebSocketRoute("/", echo)])


def make_fastapi() -> Any:
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/")
    async def hello() -> dict[str, str]:
        return {"message": BODY}

    return api


def make_flask() -> Any:
    from flask import Flask

    app = Flask("bench")

    @app.get("/")
    def hello() -> str:
        return BODY

    return app


APPS: dict[str, Callable[[], Any]] = {
    "starlette": make_starlette,
    "fastapi": make_fastapi,
    "flask": make_flask,
}


def __getattr__(name: str) -> Any:
    """``starlette_app`` and the like: the app, built (granian's import target)."""
    if name.endswith("_app") and name[:-4] in APPS:
        return APPS[name[:-4]]()
    raise AttributeError(name)


# -- the servers ----------------------------------------------------------------------------
def on_rttp(app: str, port: int) -> None:
    import trio

    import rttp

    built = APPS[app]()
    handler = rttp.wsgi(built) if app == "flask" else rttp.asgi(built, lifespan="off")
    server = rttp.Server(handler, f"http://127.0.0.1:{port}", access_log=False)
    trio.run(server.serve)


def on_bare_trio(app: str, port: int) -> None:
    from bare_asgi import serve

    serve(APPS[app](), port)


def on_uvicorn(app: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        APPS[app](),
        host="127.0.0.1",
        port=port,
        http="httptools",
        ws="websockets",
        log_level="error",
        access_log=False,
        lifespan="off",
    )


def on_hypercorn(app: str, port: int, worker: str) -> None:
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    if worker == "trio":
        import trio
        from hypercorn.trio import serve as serve_trio

        trio.run(serve_trio, APPS[app](), config)
    else:
        import asyncio

        from hypercorn.asyncio import serve as serve_asyncio

        asyncio.run(serve_asyncio(APPS[app](), config))


def on_granian(app: str, port: int) -> None:
    from granian import Granian

    Granian(
        f"hosted:{app}_app",
        address="127.0.0.1",
        port=port,
        interface="wsgi" if app == "flask" else "asgi",
        workers=1,
        log_enabled=False,
    ).serve()


def on_gunicorn(app: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Bench(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "sync")
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", "error")

        def load(self) -> Any:
            return APPS[app]()

    Bench().run()


def on_waitress(app: str, port: int) -> None:
    import waitress

    waitress.serve(APPS[app](), host="127.0.0.1", port=port, _quiet=True)


def _row(server: Callable[..., None], app: str, *extra: str) -> Callable[[int], None]:
    return lambda port: server(app, port, *extra)


#: the asgi suite's rows, by app: its rttp row first (the one the ratios are taken to)
GROUPS: dict[str, dict[str, Callable[[int], None]]] = {
    app: {
        f"{app} on rttp": _row(on_rttp, app),
        f"{app} on uvicorn": _row(on_uvicorn, app),
        f"{app} on hypercorn (trio)": _row(on_hypercorn, app, "trio"),
        f"{app} on hypercorn (asyncio)": _row(on_hypercorn, app, "asyncio"),
        f"{app} on granian": _row(on_granian, app),
        # the ceiling of a Trio host (bare_asgi.py): what rttp's engine costs above it
        f"{app} on bare trio": _row(on_bare_trio, app),
    }
    for app in ("starlette", "fastapi")
}
GROUPS["flask"] = {
    "flask on rttp": _row(on_rttp, "flask"),
    "flask on gunicorn (sync)": _row(on_gunicorn, "flask"),
    "flask on waitress": _row(on_waitress, "flask"),
    "flask on granian": _row(on_granian, "flask"),
}
HOSTED = {name: row for group in GROUPS.values() for name, row in group.items()}

#: the WebSocket echo through Starlette, by server (ws.py serves them)
WS_SERVERS = {
    "starlette on rttp": lambda port: on_rttp("starlette", port),
    "starlette on uvicorn": lambda port: on_uvicorn("starlette", port),
    "starlette on hypercorn (trio)": lambda port: on_hypercorn("starlette", port, "trio"),
}
