"""uvicorn's flags that rttp serve gained: --limit-max-requests (with jitter),
--log-config, --use-colors, and --reload-include / --reload-exclude / --reload-delay."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import trio

import rttp
from rttp._cli import reload_filter

APP = "async def app(request):\n    return 'ok'\n"


async def serve_until_exit(
    folder: Path, *flags: str, requests: int = 0, seconds: float = 30
) -> tuple[int | None, str]:
    """``rttp serve app:app FLAGS`` in ``folder``; ``requests`` GETs once it listens;
    its exit status (None if it was still running after ``seconds``) and stderr."""
    (folder / "flagapp.py").write_text(APP)
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "rttp",
            "serve",
            "flagapp:app",
            "--bind",
            "http://127.0.0.1:0",
            *flags,
        ],
        cwd=str(folder),
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stderr is not None
    said = b""
    try:
        with trio.fail_after(20):
            while b" on http://" not in said:
                chunk = await process.stderr.receive_some(4096)
                assert chunk, said
                said += chunk
        url = said.split(b" on ", 1)[1].split()[0].decode()
        async with rttp.Client() as client:
            for _ in range(requests):
                assert (await client.get(url)).text == "ok"
        with trio.move_on_after(seconds):
            while chunk := await process.stderr.receive_some(4096):
                said += chunk
            await process.wait()
    finally:
        if process.returncode is None:
            process.terminate()
            with trio.fail_after(15):
                await process.wait()
        await process.stderr.aclose()
    return process.returncode, said.decode(errors="replace")


async def test_limit_max_requests_shuts_down_after_the_last(tmp_path: Path) -> None:
    status, said = await serve_until_exit(tmp_path, "--limit-max-requests", "3", requests=3)
    assert status == 0, said
    assert "max_requests=3 reached: shutting down" in said
    assert said.count('"GET / HTTP/1.1" 200') == 3  # the last one answered too


async def test_the_jitter_adds_requests(tmp_path: Path) -> None:
    flags = ("--limit-max-requests", "2", "--limit-max-requests-jitter", "0")
    status, _ = await serve_until_exit(tmp_path, *flags, requests=2)
    assert status == 0
    assert rttp.ServerConfig(max_requests=2, max_requests_jitter=5).max_requests_jitter == 5


async def test_log_config_routes_the_logs(tmp_path: Path) -> None:
    log = tmp_path / "errors.log"
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "CONFIGURED %(levelname)s %(message)s"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "filename": str(log), "formatter": "plain"}
        },
        "loggers": {"rttp.error": {"handlers": ["file"], "level": "INFO"}},
    }
    (tmp_path / "logging.json").write_text(json.dumps(config))
    flags = ("--log-config", "logging.json", "--limit-max-requests", "1")
    status, _ = await serve_until_exit(tmp_path, *flags, requests=1)
    assert status == 0
    assert "CONFIGURED INFO max_requests=1 reached" in log.read_text()


async def test_a_broken_log_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "flagapp.py").write_text(APP)
    done = await trio.run_process(
        [sys.executable, "-m", "rttp", "serve", "flagapp:app", "--log-config", "bad.json"],
        cwd=str(tmp_path),
        capture_stderr=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("rttp serve: --log-config bad.json: ")
    assert done.stderr.count(b"\n") == 1


async def test_use_colors_colours_the_level_names(tmp_path: Path) -> None:
    once = ("--limit-max-requests", "1")
    _, coloured = await serve_until_exit(tmp_path, "--use-colors", *once, requests=1)
    _, plain = await serve_until_exit(tmp_path, "--no-use-colors", *once, requests=1)
    assert "\x1b[32mINFO\x1b[0m max_requests=1" in coloured
    assert "\x1b[" not in plain  # (and, piped, the default is no colour)
    assert "INFO max_requests=1" in plain


def test_reload_filter_includes_and_excludes(tmp_path: Path) -> None:
    from watchfiles import Change

    wanted = reload_filter(["*.txt", "templates/*"], ["skip_*.py"])
    assert wanted(Change.modified, str(tmp_path / "app.py"))
    assert wanted(Change.modified, str(tmp_path / "notes.txt"))
    assert not wanted(Change.modified, str(tmp_path / "skip_me.py"))
    assert not wanted(Change.modified, str(tmp_path / "data.csv"))
    assert not wanted(Change.modified, str(tmp_path / "__pycache__" / "app.cpython-311.pyc"))
    assert not wanted(Change.modified, str(tmp_path / ".git" / "x.py"))


async def test_fd_serves_a_socket_a_process_manager_bound(tmp_path: Path) -> None:
    import socket

    (tmp_path / "flagapp.py").write_text(APP)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "rttp", "serve", "flagapp:app", "--fd", str(fd)],
        cwd=str(tmp_path),
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        pass_fds=(fd,),
    )
    listener.close()  # the server has its own copy now
    assert process.stderr is not None
    try:
        said = b""
        with trio.fail_after(20):
            while b" on http://" not in said:
                chunk = await process.stderr.receive_some(4096)
                assert chunk, said
                said += chunk
        assert f"on http://127.0.0.1:{port}".encode() in said
        async with rttp.Client() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).text == "ok"
    finally:
        process.terminate()
        with trio.fail_after(15):
            await process.wait()
        await process.stderr.aclose()


async def test_fd_refuses_a_descriptor_that_is_no_socket(tmp_path: Path) -> None:
    (tmp_path / "flagapp.py").write_text(APP)
    done = await trio.run_process(
        [sys.executable, "-m", "rttp", "serve", "flagapp:app", "--fd", "0"],
        cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_stderr=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("rttp serve: --fd 0: ")
