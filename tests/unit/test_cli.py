"""The rttp command's pieces that need no network."""

from __future__ import annotations

import pytest

from rttp._cli import main
from rttp._cli._items import parse_items
from rttp._cli._serve import CLIError
from rttp._cli._target import load_target


def test_load_target_errors_are_clear():
    with pytest.raises(CLIError, match="MODULE:ATTRIBUTE"):
        load_target("no_colon")
    with pytest.raises(CLIError, match="cannot import module 'no_such_module_xyz'"):
        load_target("no_such_module_xyz:app")
    with pytest.raises(CLIError, match="has no attribute 'nope'"):
        load_target("examples.hello:nope")
    assert callable(load_target("examples.hello:app"))


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("q==1", ("query", [("q", "1")])),
        ("X-A:b:c", ("headers", [("X-A", "b:c")])),
        ("a=1", ("data", [("a", "1")])),
        ("n:=[1, 2]", ("data", [("n", [1, 2])])),
        ("u=http://x/?a==b", ("data", [("u", "http://x/?a==b")])),
        ("a\\=b=c", ("data", [("a=b", "c")])),
        ("h\\:x:y", ("headers", [("h:x", "y")])),
    ],
)
def test_request_items(item, expected):
    parsed = parse_items([item])
    assert getattr(parsed, expected[0]) == expected[1]


def test_request_item_mistakes_are_one_line(tmp_path):
    with pytest.raises(CLIError, match="not a request item"):
        parse_items(["plain"])
    with pytest.raises(CLIError, match="not valid JSON after ':='"):
        parse_items(["a:={bad"])
    with pytest.raises(CLIError, match="cannot read"):
        parse_items(["f@/nonexistent/file"])
    (tmp_path / "doc.pdf").write_bytes(b"%PDF")
    files = parse_items([f"doc@{tmp_path / 'doc.pdf'}"]).files
    assert files == [("doc", ("doc.pdf", b"%PDF", "application/pdf"))]


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
