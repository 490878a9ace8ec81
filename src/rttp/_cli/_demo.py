"""The ``rttp demo`` app: HTTP routes, a WebSocket chat and an RTML page, on one port."""

from __future__ import annotations

import time

from .. import rtml
from .._codecs import negotiate
from .._faces._app import App, SocketConnection
from .._model import Request, Response
from .._model._enums import Opcode

__all__ = ["demo_app", "rttp_panel"]

INDEX = """<!doctype html>
<meta charset="utf-8"><title>trio-rttp demo</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<style>body{font:16px/1.4 system-ui,sans-serif;max-width:46em;margin:2em auto}
#log{height:12em;overflow:auto;border:1px solid #ccc;padding:.5em;list-style:none}</style>
<h1>trio-rttp demo</h1>
<p>One process, one port, the library's faces side by side:</p>
<ul>
<li><b>the routing app</b> (<code>rttp.App</code>): per-method routes with typed path
parameters, handlers that return values, WebSocket paths with broadcast;</li>
<li><b>RTML</b>: pages of text, links, inputs and buttons at character positions, shown
to a browser as HTML and to <code>rttp browse</code> on a terminal;</li>
<li><b>RTTP messages</b> (<code>rttp.Endpoint</code>): request/reply messages with ids,
carried over HTTP;</li>
<li><b>WebSockets</b>: the chat below, text and binary frames.</li>
</ul>
<h2>HTTP routes</h2>
<ul>
<li><a href="/hello/browser">/hello/{name}</a>: a text answer with a path parameter</li>
<li><a href="/api/time">/api/time</a>: JSON (a dict returned by the handler)</li>
<li><a href="/rtml">/rtml</a>: an RTML page, shown to browsers as HTML (try the form)</li>
<li><a href="#chat">the chat</a>: a WebSocket on <code>/chat</code>, below</li>
</ul>
<h2>RTTP messages</h2>
<p>An <code>rttp.Endpoint</code> serves the same RTML form as messages (its address is
printed at start): <code>rttp send rttp://127.0.0.1:10080 /</code>.</p>
<h2>WebSocket chat (open this page twice)</h2>
<ul id="log"></ul>
<form id="chat"><input id="msg" autocomplete="off" placeholder="say something"> <button>send</button>
<button type="button" id="bin">send 4 random bytes</button></form>
<script>
const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/chat");
ws.binaryType = "arraybuffer";
const log = document.getElementById("log");
const show = (text) => { const li = document.createElement("li"); li.textContent = text; log.appendChild(li); log.scrollTop = log.scrollHeight; };
ws.onmessage = (e) => {
  if (typeof e.data === "string") { show(e.data); return; }
  const bytes = Array.from(new Uint8Array(e.data), (b) => b.toString(16).padStart(2, "0"));
  show(`[binary frame, ${bytes.length} bytes: ${bytes.slice(0, 16).join(" ")}]`);
};
document.getElementById("chat").onsubmit = (e) => { e.preventDefault(); const m = document.getElementById("msg"); ws.send(m.value); m.value = ""; };
document.getElementById("bin").onclick = () => ws.send(crypto.getRandomValues(new Uint8Array(4)));
</script>
"""


#: the demo's icon: a small SVG (served as /favicon.ico, so browsers find it unasked)
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    b'<rect width="16" height="16" rx="3" fill="#d9534f"/>'
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
        .add_link(2, 9, "Back to the index", "/")
    )


def demo_app() -> App:
    """The demo application."""
    app = App()

    def index(request: Request) -> Response:
        return Response(200, {"Content-Type": "text/html; charset=utf-8"}, INDEX)

    def hello(request: Request) -> str:
        return f"hello, {request.parameters['name']}\n"

    def now(request: Request) -> dict[str, object]:
        return {"unix": time.time(), "from": request.ip}

    def page(request: Request) -> Response:
        return negotiate(request, rtml.representations(_page("Who are you?"), title="RTML demo"))

    def greet(request: Request) -> Response:
        submission = request.value
        name = submission.vals.get("name", "") if isinstance(submission, rtml.ButtonSubmit) else ""
        return negotiate(
            request, rtml.representations(_page(f"Hello, {name or 'stranger'}!"), title="RTML demo")
        )

    async def chat(connection: SocketConnection, opcode: int, data: object, extra: object) -> None:
        if opcode == Opcode.open:
            await connection.text(f"welcome, {connection.id[:6]}")
        elif opcode == Opcode.text:  # to every worker's chatters, with --broker
            await app.broadcast("/chat", f"{connection.id[:6]}: {data}")
        elif opcode == Opcode.binary and isinstance(data, (bytes, bytearray)):
            await app.broadcast("/chat", bytes(data))  # relayed as they are: shown as bytes

    def favicon(request: Request) -> Response:
        headers = {"Content-Type": "image/svg+xml", "Cache-Control": "max-age=86400"}
        return Response(200, headers, FAVICON)

    app.get("/", index)
    app.get("/favicon.ico", favicon)
    app.get("/hello/{name}", hello)
    app.get("/api/time", now)
    app.get("/rtml", page)
    app.post("/rtml", greet)
    app.socket("/chat", chat)
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
