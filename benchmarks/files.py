"""The ``files`` suite's contenders: the same directory served by rttp.static,
aiohttp's static handler and nginx (``sendfile on``), the ceiling.

The directory is :data:`FILES` (``run.py --suites files`` fills it: an ``index.html``,
which the start-up check asks for as ``/``, a 1 MiB and a 100 MiB file). servers.py
takes its rows from :data:`FILE_SERVERS`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

#: the directory every row serves
FILES = Path(tempfile.gettempdir()) / "rttp-bench-files"
#: the files measured, by name, and their sizes
SIZES = {"1m.bin": 1 << 20, "100m.bin": 100 << 20}


def make_files() -> None:
    """Fill :data:`FILES` (once: files of the right size are kept)."""
    FILES.mkdir(exist_ok=True)
    (FILES / "index.html").write_text("<h1>files</h1>")
    block = os.urandom(1 << 20)
    for name, size in SIZES.items():
        path = FILES / name
        if path.exists() and path.stat().st_size == size:
            continue
        with open(path, "wb") as out:
            for _ in range(size // len(block)):
                out.write(block)


def on_rttp(port: int) -> None:
    import trio

    import rttp

    server = rttp.Server(rttp.static(FILES), f"http://127.0.0.1:{port}", access_log=False)
    trio.run(server.serve)


def on_aiohttp(port: int) -> None:
    from aiohttp import web

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(FILES / "index.html")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_static("/", FILES)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


NGINX_CONF = """
worker_processes 1;
daemon off;
master_process off;
error_log {folder}/error.log error;
pid {folder}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def on_nginx(port: int) -> None:
    """nginx in the foreground, one worker (``apt-get install nginx``)."""
    folder = Path(tempfile.mkdtemp(prefix="rttp-bench-nginx-"))
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(folder=folder, port=port, root=FILES))
    os.execvp("nginx", ["nginx", "-c", str(conf), "-p", str(folder)])


FILE_SERVERS = {
    "files on rttp": on_rttp,
    "files on aiohttp": on_aiohttp,
    "files on nginx": on_nginx,
}


def have_nginx() -> bool:
    try:
        subprocess.run(["nginx", "-v"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True
