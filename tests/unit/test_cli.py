"""The rttp command's pieces that need no network."""

from __future__ import annotations

import io

import pytest

from rttp._cli import _load_app, _ProgressBar, main


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only():
    tty = FakeTTY()
    bar = _ProgressBar(tty)
    bar(1_000_000, 500_000, None, 0)
    bar.finish()
    assert "[###############---------------]  50% 500000/1000000 bytes" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    pipe = io.StringIO()
    quiet = _ProgressBar(pipe)
    quiet(1_000_000, 500_000, None, 0)
    assert pipe.getvalue() == ""


def test_small_downloads_draw_nothing():
    tty = FakeTTY()
    bar = _ProgressBar(tty)
    bar(1000, 1000, None, 0)
    assert tty.getvalue() == ""


def test_load_app_errors_are_clear():
    with pytest.raises(SystemExit, match="MODULE:ATTRIBUTE"):
        _load_app("no_colon")
    with pytest.raises(SystemExit, match="cannot import module 'no_such_module_xyz'"):
        _load_app("no_such_module_xyz:app")
    with pytest.raises(SystemExit, match="has no attribute 'nope'"):
        _load_app("examples.hello:nope")
    assert callable(_load_app("examples.hello:app"))


def test_get_reports_connection_errors_with_exit_code_2(capsys):
    assert main(["get", "http://127.0.0.1:1/"]) == 2
    assert "refused" in capsys.readouterr().err


def test_malformed_url_is_reported_before_anything_starts(capsys):
    assert main(["get", "http://bad host:port/"]) == 2
    assert "malformed URL 'http://bad host:port/'" in capsys.readouterr().err


async def test_the_first_signal_drains_and_a_second_forces_the_exit():
    """SIGINT starts a graceful drain (and says so); a second SIGINT during it exits at
    once with 130 and no traceback (it used to print a 30-line ExceptionGroup, exit 1)."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import trio

    root = Path(__file__).parents[2]
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "rttp",
            "serve",
            "tests.peers.slow_app:app",
            "--bind",
            "http://127.0.0.1:0",
            "--grace",
            "60",
            "--no-access-log",
        ],
        cwd=str(root),
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    err = b""

    async def until(marker: bytes) -> None:
        nonlocal err
        while marker not in err:
            chunk = await process.stderr.receive_some(4096)
            assert chunk, err
            err += chunk

    try:
        with trio.fail_after(20):
            await until(b" on http://")
            url = err.split(b" on ")[1].split()[0].decode()
            host, port = url.removeprefix("http://").rsplit(":", 1)
            hanging = await trio.open_tcp_stream(host, int(port))
            await hanging.send_all(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
            process.send_signal(signal.SIGINT)
            await until(b"shutting down gracefully")
            process.send_signal(signal.SIGINT)
            await process.wait()
            while chunk := await process.stderr.receive_some(4096):
                err += chunk
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.stderr.aclose()
    assert process.returncode == 130
    assert b"Traceback" not in err
    assert b"stopped at once" in err
    await hanging.aclose()
