"""``rttp serve --workers N`` and ``rttp.run(..., workers=N)``: N processes of the
pre-fork pool sharing every bind (port 0 and unix sockets too)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import trio

from tests.integration.test_peers import curl
from tests.moonbridge._app import alive

pytestmark = pytest.mark.peer

APP = """
import os
import rttp

async def app(request):
    if request.path == "/crash":
        os._exit(7)
    return rttp.Response(200, body=str(os.getpid()))
"""


async def test_workers_share_port_0_and_a_unix_socket_and_crashes_are_replaced(tmp_path, nursery):
    sock = tmp_path / "w.sock"
    (tmp_path / "wapp.py").write_text(APP)
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "rttp",
            "serve",
            "wapp:app",
            "--workers",
            "2",
            "--no-access-log",
            "--bind",
            "http://127.0.0.1:0",
            "--bind",
            f"unix:{sock}",
        ],
        stderr=subprocess.PIPE,
        cwd=str(tmp_path),
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    lines: list[str] = []
    got_line = trio.Event()

    async def pump() -> None:
        nonlocal got_line
        buffer = b""
        assert process.stderr is not None
        while chunk := await process.stderr.receive_some(65536):
            buffer += chunk
            *done, buffer = buffer.split(b"\n")
            lines.extend(line.decode() for line in done)
            got_line.set()
            got_line = trio.Event()

    async def wait_for(text: str) -> str:
        with trio.fail_after(20):
            while not any(text in line for line in lines):
                await got_line.wait()
        return next(line for line in lines if text in line)

    nursery.start_soon(pump)
    try:
        first = await wait_for("on http://")
        base = first.split(" on ")[1].split()[0]
        assert "(2 workers)" in first
        await wait_for("on unix:")
        pids: set[str] = set()
        for _ in range(40):  # the kernel spreads connections over both workers
            pids.add((await curl("-s", f"{base}/")).stdout.decode())
        over_unix = (await curl("-s", "--unix-socket", str(sock), "http://x/")).stdout.decode()
        workers = _children(process.pid)
        assert len(workers) == 2
        assert pids <= {str(pid) for pid in workers}
        assert over_unix in {str(pid) for pid in workers}
        crashed = await trio.run_process(
            ["curl", "-s", f"{base}/crash"], capture_stdout=True, check=False
        )
        assert crashed.returncode == 52  # an empty reply: the worker died (os._exit(7))
        await wait_for("exited with status 7; replacing it")
        await wait_for("started in place of a lost one")
        assert len(_children(process.pid)) == 2
        assert (await curl("-s", f"{base}/")).stdout.decode().isdigit()
    finally:
        kids = _children(process.pid)
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            code = await process.wait()
    assert code == 0
    assert not alive(kids)
    assert not sock.exists()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


async def test_rttp_run_with_workers_from_a_script(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(
        APP
        + "\nimport sys\nsys.exit(rttp.run(app, 'http://127.0.0.1:0', workers=2, access_log=False))\n"
    )
    process = await trio.lowlevel.open_process(
        [sys.executable, str(script)], stderr=subprocess.PIPE, cwd=str(tmp_path)
    )
    assert process.stderr is not None
    buffer = b""
    with trio.fail_after(20):
        while b"workers)" not in buffer:
            buffer += await process.stderr.receive_some(4096)
    base = buffer.decode().split(" on ")[1].split()[0]
    assert (await curl("-s", f"{base}/")).stdout.decode().isdigit()
    kids = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    with trio.fail_after(20):
        assert await process.wait() == 0
    assert not alive(kids)
