"""A small Moonbridge application, ported: ``rttp moonbridge examples/moonbridge_app.py``.

As in Moonbridge's example, the documents are loaded before ``listen()``: that code runs
once, in the supervisor, and every worker inherits the loaded state. After the fork,
each worker's globals are its own (a hit counter here counts per worker).
"""

from __future__ import annotations

import os

from rttp import moonbridge

# loaded once, before any worker exists: every worker starts with it in memory
DOCUMENTS = {
    "": b"<h1>Hello from a Moonbridge-style worker</h1><p><a href='form'>a form</a></p>",
    "form": b"<form method='post' action='greet'><input name='name'><button>Go</button></form>",
}
hits = 0  # per worker, after the fork


async def request_handler(request: moonbridge.HttpRequest) -> None:
    """Serve DOCUMENTS, greet a posted name, and say which worker answered."""
    global hits
    hits += 1
    if request.path == "greet" and request.method == "POST":
        await request.process_request_body()  # the body is read before it is used
        name = str(request.post_params.get("name") or "stranger")
        request.send_status("200 OK")
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        await request.send_data(f"Hello, {name}! (worker {os.getpid()}, request {hits})\n")
        return
    document = DOCUMENTS.get(request.path or "")
    if document is None:
        request.send_status("404 Not Found")
        request.send_header("Content-Type", "text/plain")
        await request.send_data("no such document\n")
        return
    request.send_status("200 OK")
    request.send_header("Content-Type", "text/html; charset=utf-8")
    request.send_header("Content-Length", str(len(document)))
    await request.send_data(document)


http = moonbridge.generate_handler(
    request_handler,
    static_headers=["X-Powered-By: trio-rttp moonbridge"],
    request_body_size_limit=1 << 20,
)


async def connect(socket: moonbridge.Socket) -> bool:
    """Connections go to the HTTP handler; the interval timer logs a line."""
    if socket.interval == "heartbeat":
        print(f"worker {os.getpid()} is alive ({hits} requests)", flush=True)
        return True
    return bool(await http(socket))


moonbridge.listen(
    {"proto": "tcp", "host": "127.0.0.1", "port": int(os.environ.get("PORT", "8080"))},
    {"proto": "interval", "name": "heartbeat", "delay": 30},
    connect=connect,
    pre_fork=1,
    min_fork=2,
    max_fork=8,
)
