"""Shared fixtures: servers on loopback port 0, trustme certificates, raw-socket helpers."""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
import trio
import trustme

import rttp


@pytest.fixture
def serve(nursery: trio.Nursery) -> Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]:
    """``server, url = await serve(handler, *binds, **settings)`` on 127.0.0.1:0 by default."""

    async def start(handler: Any, *binds: str, **settings: Any) -> tuple[rttp.Server, rttp.URL]:
        server = rttp.Server(handler, *(binds or ("http://127.0.0.1:0",)), **settings)
        addresses = await nursery.start(server.serve)
        return server, addresses[0]

    return start


@pytest.fixture
async def silent_port(nursery: trio.Nursery) -> int:
    """A loopback port whose connections are accepted, then neither read nor answered."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")

    async def hold(stream: trio.SocketStream) -> None:
        async with stream:
            await trio.sleep_forever()

    await nursery.start(trio.serve_listeners, hold, listeners)
    port: int = listeners[0].socket.getsockname()[1]
    return port


@asynccontextmanager
async def cli_process(
    *args: str, cwd: str | None = None
) -> AsyncIterator[tuple[str, trio.Process]]:
    """``python -m rttp ARGS`` in a subprocess; yields the base URL it reports serving on
    and the process (SIGTERM and a wait on the way out)."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "rttp", *args], cwd=cwd, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        buffer = b""
        with trio.fail_after(20):
            while re.search(rb" on (https?://\S+)", buffer) is None:
                chunk = await process.stderr.receive_some(4096)
                assert chunk, buffer
                buffer += chunk
        found = re.search(rb" on (https?://\S+)", buffer)
        assert found is not None
        async with trio.open_nursery() as nursery:
            # keep reading its log, so that a chatty server never blocks on a full pipe
            nursery.start_soon(_drain, process.stderr)
            yield found.group(1).decode(), process
            nursery.cancel_scope.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
        with trio.fail_after(15):
            await process.wait()
        await process.stderr.aclose()


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some(65536):
        pass


@asynccontextmanager
async def running_cli(*args: str, cwd: str | None = None) -> AsyncIterator[str]:
    """``python -m rttp ARGS`` in a subprocess; yields the base URL it reports serving on."""
    async with cli_process(*args, cwd=cwd) as (url, _):
        yield url


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def cert_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Server certificate/key and CA files for localhost and 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    pem = folder / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return {"certfile": str(pem), "keyfile": str(pem), "ca": str(ca_file)}


@pytest.fixture
def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def raw_request(url: rttp.URL, data: bytes, *, read_until_close: bool = True) -> bytes:
    """Send raw bytes to a TCP server and return everything it answers until it closes."""
    stream = await trio.open_tcp_stream(url.host, url.port)
    async with stream:
        await stream.send_all(data)
        out = bytearray()
        with trio.fail_after(10):
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                out += chunk
                if not read_until_close and b"\r\n\r\n" in out:
                    break
        return bytes(out)


def status_of(raw: bytes) -> int:
    """The status code of the first response in ``raw``."""
    line = raw.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1."), raw[:200]
    return int(line.split()[1])


async def hello(request: rttp.Request) -> rttp.Response:
    """A handler that answers 'hello <path>'."""
    return rttp.Response(200, body=f"hello {request.path}")


@contextmanager
def peer_process(script: str, *args: str) -> Iterator[rttp.URL]:
    """``python tests/peers/SCRIPT ARGS`` in a subprocess, which prints ``PORT <n>`` once
    it listens on 127.0.0.1; yields its base URL, and terminates it on the way out."""
    from pathlib import Path

    path = Path(__file__).parent / "peers" / script
    process = subprocess.Popen(
        [sys.executable, str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("PORT "), f"{script} did not start: {line!r}"
        yield rttp.URL(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


def system_tool(command: str, package: str) -> str:
    """The path of ``command``, installed with apt-get (as root) when missing; the test
    is skipped, saying how to install it, when it cannot be."""
    import os
    import shutil

    found = shutil.which(command)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "install", "-y", "-q", package], ["apt-get", "update", "-q"]):
            subprocess.run(step, capture_output=True, check=False, timeout=600)
            found = shutil.which(command)
            if found:
                break
        if found is None:  # after the update
            subprocess.run(
                ["apt-get", "install", "-y", "-q", package],
                capture_output=True,
                check=False,
                timeout=600,
            )
            found = shutil.which(command)
    if found is None:
        pytest.skip(f"{command} is not installed and cannot be here (apt-get install {package})")
    return found


def free_loopback_port() -> int:
    """A port nothing listens on at 127.0.0.1 (for servers that cannot be given port 0)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis(port: int, folder: Any) -> subprocess.Popen[str]:
    """redis-server on 127.0.0.1:``port`` (installed if it can be), once it says it is
    ready; no persistence, its files in ``folder``."""
    binary = system_tool("redis-server", "redis-server")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:  # ready when it says so
        if "Ready to accept connections" in line:
            return process
    process.stdout.close()
    raise AssertionError("redis-server exited before it was ready")


def stop_redis(process: subprocess.Popen[str]) -> None:
    """Stop a redis-server started by :func:`start_redis`."""
    process.kill()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the session: its ``redis://`` URL."""
    port = free_loopback_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(process)


@pytest.fixture(scope="session")
def peer_server() -> Iterator[rttp.URL]:
    """Python's http.server on 127.0.0.1 in a subprocess: a server we did not write."""
    with peer_process("http_server.py") as url:
        yield url


async def accept_websocket(stream: trio.abc.Stream, then: bytes = b"") -> Any:
    """A raw wsproto server side: read the handshake, send the 101 (and ``then``, raw
    frames); the wsproto connection, for the test to go on with."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request

    ws = WSConnection(ConnectionType.SERVER)
    while True:
        ws.receive_data(await stream.receive_some(65536))
        if any(isinstance(e, Request) for e in ws.events()):
            await stream.send_all(ws.send(AcceptConnection()) + then)
            return ws


@pytest.fixture
def sendfile_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bytes each os.sendfile call sent (os's own, spied on)."""
    calls: list[int] = []
    import os

    real = os.sendfile

    def spy(out: int, fd: int, offset: int, count: int) -> int:
        sent = real(out, fd, offset, count)
        calls.append(sent)
        return sent

    monkeypatch.setattr(os, "sendfile", spy)
    return calls


async def browse_until(
    url: str, profile: Any, done: trio.Event, seconds: float = 60, flags: tuple[str, ...] = ()
) -> None:
    """Headless Chromium (installed with apt-get where it can be, else the test is
    skipped) loads ``url`` and runs until ``done`` is set (by the page's report to the
    server), at most ``seconds``; its profile lives in the folder ``profile``. The flags
    keep it off the network beyond loopback."""
    import functools

    chromium = system_tool("chromium", "chromium")
    command = [
        chromium,
        *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
        *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
        f"--user-data-dir={profile}",
        *flags,
        url,
    ]
    run = functools.partial(
        trio.run_process,
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    async with trio.open_nursery() as browser:
        process = await browser.start(run)
        try:
            with trio.fail_after(seconds):
                await done.wait()
        finally:
            process.kill()


class ProcessLog:
    """What a process says (stdout and stderr together), read by a task as it comes:
    ``text``, and :meth:`wait_for` a line (its log is the signal, never a sleep)."""

    def __init__(self) -> None:
        self.text = bytearray()
        self.more = trio.Event()  # set when the text grows or the output ends, then replaced
        self.ended = False

    async def wait_for(self, needle: bytes) -> None:
        """Return once the output holds ``needle``; AssertionError if it ends first."""
        while True:
            more = self.more
            if needle in self.text:
                return
            if self.ended:
                raise AssertionError(f"the process ended without saying {needle!r}: {self.text!r}")
            await more.wait()


async def start_logged(
    nursery: trio.Nursery, command: list[str]
) -> tuple[trio.Process, ProcessLog]:
    """``command`` started, its output read into a :class:`ProcessLog` by a task in
    ``nursery`` (so that a chatty process never blocks on a full pipe)."""
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    log = ProcessLog()

    async def read() -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.receive_some(65536):
            log.text += chunk
            log.more.set()
            log.more = trio.Event()
        log.ended = True
        log.more.set()

    nursery.start_soon(read)
    return process, log
