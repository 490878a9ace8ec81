"""An encoding plugin installed next to rttp is offered by every server and client with
no code changed (the plugin guide's promise), and the suite holds with it installed.

The plugin is "installed" as pip would leave it for entry-point discovery: a
``rttp_zstd-*.dist-info`` with its ``entry_points.txt`` on ``sys.path``, in a child
interpreter, so this process's plugin set is untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

CHILD = r"""
import trio, zstandard, rttp

async def main():
    plugins = rttp.get_plugins()
    assert "zstd" in plugins.encodings, sorted(plugins.encodings)
    print("OFFERED", ",".join(plugins.offered_encodings))

    async def handler(request):
        return rttp.Response(200, {"Content-Type": "text/plain"}, body="z" * 5000)

    async with trio.open_nursery() as nursery:
        url = (await nursery.start(rttp.serve, handler, "http://127.0.0.1:0"))[0]
        stream = await trio.open_tcp_stream(url.host, url.port)
        await stream.send_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: zstd\r\nConnection: close\r\n\r\n"
        )
        reply = b""
        while chunk := await stream.receive_some(65536):
            reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        print("SERVER", [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-encoding")])
        async with rttp.Client() as client:
            response = await client.get(str(url))
            print("CLIENT", response.headers.get("content-encoding"), len(response.body))
        nursery.cancel_scope.cancel()

trio.run(main)
"""


@pytest.fixture
def zstd_installed(tmp_path: Path) -> dict[str, str]:
    """An environment in which rttp-zstd is discoverable through its entry point."""
    pytest.importorskip("zstandard", reason="zstandard is not installed")
    dist = tmp_path / "rttp_zstd-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rttp-zstd\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[rttp]\nzstd = rttp_zstd\n")
    paths = [str(tmp_path), str(ROOT / "plugins" / "rttp-zstd" / "src"), str(ROOT)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    return env


def test_an_installed_encoding_is_offered_by_default_with_no_code_changed(zstd_installed):
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=zstd_installed,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["OFFERED"] == "zstd,gzip,deflate"  # the documented preference order
    assert lines["SERVER"] == "[b'Content-Encoding: zstd']"
    assert lines["CLIENT"] == "zstd 5000"  # the client asks for it and decodes it


def test_the_client_suite_passes_with_the_plugin_installed(zstd_installed):
    """The test that hard-coded Accept-Encoding, run with zstd installed."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/io/test_client.py::test_get_from_http_server",
            "tests/io/test_connection.py",
        ],
        env=zstd_installed,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
