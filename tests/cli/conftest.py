"""Running the real ``rttp`` command: in a subprocess, piped or on a pty."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import trio

ROOT = Path(__file__).parents[2]


async def run_rttp(
    *args: str, stdin: bytes | None = None, cwd: str | Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    """``python -m rttp ARGS``, its output captured; stdin is /dev/null unless given."""
    return await trio.run_process(
        [sys.executable, "-m", "rttp", *args],
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        cwd=str(cwd),
    )


async def rttp_on_a_terminal(*args: str, cwd: str | Path = ROOT) -> tuple[int, str]:
    """``python -m rttp ARGS`` with stdout and stderr on a pty: (status, what it drew)."""
    controller, terminal = pty.openpty()
    os.set_blocking(controller, False)
    drawn = bytearray()

    async def drain() -> None:
        while True:
            await trio.lowlevel.wait_readable(controller)
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal side is closed
                return
            if not chunk:
                return
            drawn.extend(chunk)

    try:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "rttp", *args],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            cwd=str(cwd),
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        )
        os.close(terminal)
        terminal = -1
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain)
                status = await process.wait()
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    return status, drawn.decode("utf-8", "replace")
