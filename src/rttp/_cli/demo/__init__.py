"""The ``rttp demo`` site: a landing page that shows each face live, on one port.

- ``/``: the page (``site/index.html``, its stylesheet and script under ``/site``,
  served by :func:`rttp.static`: no CDN, nothing from elsewhere);
- ``/chat``: a WebSocket chat with presence counts (to every worker with ``--broker``);
- ``/stats``: a WebSocket the page asks each second for this server's statistics;
- ``/stream``: an answer pushed a line at a time; ``/api/time``: JSON;
  ``/hello/{name}``: text; ``/rtml``: an RTML form, HTML for browsers.

The RTML form is also served as RTTP messages (:func:`rttp_panel`) by the Endpoint
``rttp demo`` runs beside the HTTP server.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from ... import rtml
from ..._codecs import negotiate
from ..._faces._app import App, SocketConnection
from ..._model import Request, Response
from ..._model._enums import Opcode

__all__ = ["SITE", "demo_app", "rttp_panel"]

#: the page's files (HTML, CSS, JavaScript), shipped in the package
SITE = Path(__file__).parent / "site"

#: the demo's icon: a small SVG (served as /favicon.ico, so browsers find it unasked)
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    b'<rect width="16" height="16" rx="3" fill="#5b3fd6"/>'
    b'<text x="8" y="12" font-size="10" text-anchor="middle" fill="white">r</text></svg>'
)


def _page(greeting: str) -> rtml.Page:
    return (
        rtml.Page()
        .add_text(2, 1, "trio-rttp RTML demo", color="yellow")
        .add_text(2, 3, greeting, color="lime")
        .add_text(2, 5, "Name:")
        .add_input(8, 5, "name", 16)
        .add_button(2, 7, "Greet me", href="/rtml")
        .add_link(2, 9, "Back to the demo", "/")
    )


def _memory() -> str:
    """This process's resident memory (Linux: now; elsewhere: its peak)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return f"{pages * os.sysconf('SC_PAGE_SIZE') / 2**20:.1f} MiB"
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return f"{peak / 1024:.1f} MiB (peak)"


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def demo_app(on_report: Callable[[Request], Any] | None = None) -> App:
    """The demo site. ``on_report(request)`` sees the page's report that its WebSockets
    connected (the test suite's headless browser waits for it)."""
    from ... import __version__

    app = App()
    started = time.monotonic()
    served = [0]
    versions = f"Python {platform.python_version()} · Trio {trio.__version__} · rttp {__version__}"

    @app.middleware
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        served[0] += 1
        return await call_next(request)

    def index(request: Request) -> Response:
        page = (SITE / "index.html").read_bytes()
        return Response(200, {"Content-Type": "text/html; charset=utf-8"}, page)

    def favicon(request: Request) -> Response:
        headers = {"Content-Type": "image/svg+xml", "Cache-Control": "max-age=86400"}
        return Response(200, headers, FAVICON)

    def hello(request: Request) -> str:
        return f"hello, {request.parameters['name']}\n"

    def now(request: Request) -> dict[str, object]:
        return {"unix": time.time(), "from": request.ip, "over": f"HTTP/{request.http_version}"}

    async def stream(request: Request) -> None:
        answer = request.respond(200, {"Content-Type": "text/plain; charset=utf-8"})
        for n in range(1, 11):
            await answer.send(f"line {n} of 10, sent at {time.strftime('%H:%M:%S')}\n")
            await trio.sleep(0.15)
        await answer.finish()

    def page(request: Request) -> Response:
        return negotiate(request, rtml.representations(_page("Who are you?"), title="RTML demo"))

    def greet(request: Request) -> Response:
        submission = request.value
        name = submission.vals.get("name", "") if isinstance(submission, rtml.ButtonSubmit) else ""
        return negotiate(
            request, rtml.representations(_page(f"Hello, {name or 'stranger'}!"), title="RTML demo")
        )

    async def presence() -> None:
        await app.broadcast("/chat", json.dumps({"presence": len(app.sockets("/chat"))}))

    async def chat(connection: SocketConnection, opcode: int, data: object, extra: object) -> None:
        if opcode == Opcode.open:
            welcome = f"welcome, {connection.id[:6]}: you are in"
            await connection.text(json.dumps({"text": welcome}))
            await presence()
        elif opcode == Opcode.text:  # to every worker's chatters, with --broker
            await app.broadcast("/chat", json.dumps({"text": f"{connection.id[:6]}: {data}"}))
        elif opcode == Opcode.binary and isinstance(data, (bytes, bytearray)):
            await app.broadcast("/chat", bytes(data))  # relayed as they are
        elif opcode == Opcode.close:
            await presence()

    async def stats(connection: SocketConnection, opcode: int, data: object, extra: object) -> None:
        if opcode in (Opcode.open, Opcode.text):  # the page asks once a second
            sockets = len(app.sockets("/chat")) + len(app.sockets("/stats"))
            figures = {
                "requests": served[0],
                "sockets": sockets,
                "uptime": _uptime(time.monotonic() - started),
                "memory": _memory(),
                "versions": versions,
            }
            await connection.text(json.dumps(figures))

    async def report(request: Request) -> Response:
        if on_report is not None:
            on_report(request)
        return Response(204)

    app.get("/", index)
    app.static("/site", SITE, cache_control="no-cache")
    app.get("/favicon.ico", favicon)
    app.get("/hello/{name}", hello)
    app.get("/api/time", now)
    app.get("/stream", stream)
    app.get("/rtml", page)
    app.post("/rtml", greet)
    app.get("/report", report)
    app.socket("/chat", chat)
    app.socket("/stats", stats)
    return app


def rttp_panel(
    method: str, head: dict[str, object], body: object, msg: object
) -> tuple[int, str, rtml.Page]:
    """The demo's RTTP message handler: the RTML form as a message, and its submission
    (an ``object/lua`` ``BUTTON_SUBMIT``) answered with a greeting page."""
    if method == "POST" and isinstance(body, rtml.ButtonSubmit):
        name = str(body.vals.get("name") or "stranger")
        return 200, rtml.MEDIA_TYPE, _page(f"Hello, {name}! (over RTTP)")
    return 200, rtml.MEDIA_TYPE, _page("Who are you? (over RTTP)")
