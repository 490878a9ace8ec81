"""Running a Moonbridge application script in a subprocess for the tests: its log read
line by line as the events the tests wait on, its port, its workers (``ps``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

PRELUDE = """
import logging, os, sys
import trio
from rttp import moonbridge
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(message)s")

def say(*parts):
    # one write per line: the workers share stderr, and print() writes its parts one by
    # one, so another process's line could land inside this one
    os.write(2, (" ".join(map(str, parts)) + "\\n").encode())
"""


class App:
    """A running application: its process, its port, and its log as events."""

    def __init__(
        self, process: trio.Process, port: int | None, lines: trio.MemoryReceiveChannel[str]
    ) -> None:
        self.process = process
        self.port = port
        self._lines = lines
        self.seen: list[str] = []

    async def expect(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        """The next log line matching ``pattern`` (fails after ``timeout`` seconds)."""
        with trio.fail_after(timeout):
            async for line in self._lines:
                self.seen.append(line)
                found = re.search(pattern, line)
                if found:
                    return found
        raise AssertionError(f"the log ended before {pattern!r}: {self.seen[-20:]}")

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    async def ask(self, text: str = "hi") -> str:
        """Send a line, get the worker's answer line."""
        stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        async with stream:
            await stream.send_all(text.encode() + b"\n")
            answer = b""
            with trio.fail_after(10):
                while not answer.endswith(b"\n"):
                    chunk = await stream.receive_some(1024)
                    if not chunk:
                        break
                    answer += chunk
        return answer.decode().strip()


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


@asynccontextmanager
async def running(
    tmp_path: Path, source: str | Path, *, listen_line: bool = True, cli: bool = False
) -> AsyncIterator[App]:
    """Run ``source`` as a script (``cli``: through ``rttp moonbridge APP.py``); a
    ``source`` that is a Path is run as it is, through the command."""
    if isinstance(source, Path):
        script, cli = source, True
    else:
        script = tmp_path / "app.py"
        script.write_text(PRELUDE + textwrap.dedent(source))
    command = ["-m", "rttp", "moonbridge", str(script)] if cli else [str(script)]
    process = await trio.lowlevel.open_process(
        [sys.executable, *command],
        stderr=subprocess.PIPE,
        cwd=str(tmp_path),
        env={**os.environ, "PORT": "0"},
    )
    send, receive = trio.open_memory_channel[str](1000)

    async def pump() -> None:
        assert process.stderr is not None
        buffer = b""
        async with send:
            while chunk := await process.stderr.receive_some(65536):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    await send.send(line.decode(errors="replace"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pump)
        app = App(process, None, receive)
        if listen_line:
            found = await app.expect(r"listening on tcp [^ ]*:(\d+)")
            app.port = int(found.group(1))
        try:
            yield app
        finally:
            kids = app.workers()
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            with trio.fail_after(20):
                await process.wait()
            assert not alive(kids), "workers left behind"
            nursery.cancel_scope.cancel()
