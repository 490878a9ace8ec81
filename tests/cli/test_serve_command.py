"""``rttp serve`` through the real command: start-up errors, flags, proxy headers, reload."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest
import trio

import rttp
from tests.conftest import cli_process

from .conftest import ROOT, run_rttp

pytestmark = pytest.mark.timeout(60)

APP = """
import json
import rttp

async def app(request):
    return rttp.Response(200, {"Content-Type": "application/json"}, json.dumps({
        "client": request.client[0] if request.client else None,
        "scheme": request.scheme,
        "path": request.path,
        "root_path": request.root_path,
        "version": VERSION,
    }))

def create_app():
    return app

not_callable = 42
chat = rttp.App()
chat.get("/", lambda request: str(chat.ws_max_message_size))
echo = rttp.App(ws_ping_interval=None)


@echo.socket("/ws")
async def echoed(conn, opcode, data, extra):
    if opcode == rttp.Opcode.text:
        await conn.text(data)
VERSION = 1
"""


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "where_app.py").write_text(APP)
    return tmp_path


def serving(app_dir, *flags: str, target: str = "where_app:app"):
    """``rttp serve TARGET --bind http://127.0.0.1:0 FLAGS`` in ``app_dir``: (url, process)."""
    return cli_process("serve", target, "--bind", "http://127.0.0.1:0", *flags, cwd=str(app_dir))


async def one_line_failure(*args: str, cwd=ROOT) -> str:
    done = await run_rttp("serve", *args, cwd=cwd)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


async def test_start_up_errors_are_one_line_with_a_fix(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        err = await one_line_failure("examples.hello:app", "--port", str(port))
        assert "Address already in use" in err
        assert "choose another --port" in err
        err = await one_line_failure("examples.hello:app", "--port", str(port), "--workers", "2")
        assert "Address already in use" in err  # the pool binds before it forks
    finally:
        taken.close()
    err = await one_line_failure("examples.hello:app", "--bind", "garbage")
    assert "has no scheme" in err
    err = await one_line_failure("examples.hello:app", "--bind", "127.0.0.1:8000")
    assert "use http://127.0.0.1:8000" in err
    err = await one_line_failure("examples.hello:app", "--bind", "ftp://127.0.0.1:21")
    assert "cannot listen on ftp://" in err
    err = await one_line_failure("examples.hello:app", "--bind", "https://127.0.0.1:0")
    assert "pass --certfile and --keyfile" in err
    err = await one_line_failure(
        "examples.hello:app", "--bind", "https://127.0.0.1:0", "--certfile", "/nonexistent.pem"
    )
    assert "--certfile '/nonexistent.pem': no such file" in err
    err = await one_line_failure("examples.hello:app", "--bind", "unix:/nonexistent-dir/x.sock")
    assert "no directory '/nonexistent-dir'" in err
    plain = tmp_path / "plain-file"
    plain.write_text("not a socket")
    err = await one_line_failure("examples.hello:app", "--bind", f"unix:{plain}")
    assert "is not a socket" in err
    assert "remove the file" in err


async def test_the_target_is_checked_before_binding(app_dir):
    err = await one_line_failure("where_app:create_app", cwd=app_dir)
    assert "pass --factory" in err
    err = await one_line_failure("where_app:not_callable", cwd=app_dir)
    assert "is a int, not a handler" in err
    async with (
        serving(app_dir, "--factory", target="where_app:create_app") as (url, _),
        rttp.Client() as client,
    ):
        assert (await client.get(url)).json()["version"] == 1


async def test_host_port_http_config_and_ws_max_size(app_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with cli_process(
        "serve",
        "where_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--http",
        "h11",
        cwd=str(app_dir),
    ) as (url, _):
        assert url == f"http://127.0.0.1:{port}"
        async with rttp.Client() as client:
            assert (await client.get(url)).status == 200
    (app_dir / "rttp.toml").write_text(
        '[rttp]\nbind = "http://127.0.0.1:0"\nkeep_alive_timeout = 0.5\nserver_header = "toml"\n'
    )
    async with (
        cli_process(
            "serve",
            "where_app:chat",
            "--config",
            "rttp.toml",
            "--ws-max-size",
            "1234",
            cwd=str(app_dir),
        ) as (url, _),
        rttp.Client() as client,
    ):
        answer = await client.get(url)
        assert (answer.text, answer.headers["server"]) == ("1234", "toml")
    (app_dir / "bad.toml").write_text("nonsense = 1\n")
    err = await one_line_failure("where_app:app", "--config", "bad.toml", cwd=app_dir)
    assert "unknown setting 'nonsense'" in err


async def test_websocket_backend_and_compression_flags(app_dir):
    """--ws picks the backend, --no-ws-compression (or the config file's
    websocket_compression = false) turns permessage-deflate off."""
    (app_dir / "ws.toml").write_text("websocket_compression = false\n")
    for flags in (["--ws", "wsproto", "--no-ws-compression"], ["--config", "ws.toml"], []):
        async with serving(app_dir, *flags, target="where_app:echo") as (url, _):
            ws = await rttp.connect_websocket(url.replace("http", "ws") + "/ws")
            await ws.send("hi")
            answer = await ws.receive()
            await ws.close()
        assert isinstance(answer, rttp.WebSocketMessage)
        assert answer.data == "hi"
        assert (ws.extensions is None) == bool(flags), flags
    done = await run_rttp("serve", "where_app:app", "--ws", "nope", cwd=app_dir)
    assert done.returncode == 2
    assert "invalid choice: 'nope'" in done.stderr.decode()


async def test_proxy_headers_only_from_trusted_peers(app_dir):
    forwarded = {"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https"}
    async with serving(app_dir, "--proxy-headers") as (url, _), rttp.Client() as client:
        seen = (await client.get(url, headers=forwarded)).json()
        assert (seen["client"], seen["scheme"]) == ("203.0.113.7", "https")
        rfc = (
            await client.get(url, headers={"Forwarded": 'for="198.51.100.2:4711";proto=https'})
        ).json()
        assert rfc["client"] == "198.51.100.2"
    async with (
        serving(app_dir, "--proxy-headers", "--forwarded-allow-ips", "10.0.0.1") as (url, _),
        rttp.Client() as client,
    ):
        seen = (await client.get(url, headers=forwarded)).json()
        assert (seen["client"], seen["scheme"]) == ("127.0.0.1", "http")  # not trusted
    async with serving(app_dir) as (url, _), rttp.Client() as client:
        seen = (await client.get(url, headers=forwarded)).json()
        assert seen["client"] == "127.0.0.1"  # off by default


async def test_root_path(app_dir):
    async with serving(app_dir, "--root-path", "/api") as (url, _), rttp.Client() as client:
        seen = (await client.get(f"{url}/api/users?x=1")).json()
        assert (seen["path"], seen["root_path"]) == ("/users", "/api")
        other = (await client.get(f"{url}/apiary")).json()
        assert (other["path"], other["root_path"]) == ("/apiary", "")


async def test_access_log_formats(app_dir):
    log = app_dir / "access.log"
    async with serving(
        app_dir, "--access-log-format", "combined", "--access-log-file", str(log)
    ) as (url, process):
        async with rttp.Client() as client:
            await client.get(
                f"{url}/x?y=1", headers={"Referer": "http://ref/", "User-Agent": "probe/1"}
            )
        process.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            await process.wait()
    (line,) = log.read_text().splitlines()
    assert '"GET /x?y=1 HTTP/1.1" 200' in line
    assert line.endswith('"http://ref/" "probe/1"')
    err = await one_line_failure("where_app:app", "--access-log-format", "%(zz)s", cwd=app_dir)
    assert "unknown atom %(zz)s" in err


async def test_an_idle_server_exits_at_once_on_ctrl_c():
    async with cli_process("serve", "examples.hello:app", "--bind", "http://127.0.0.1:0") as (
        url,
        process,
    ):
        async with rttp.Client() as client:
            assert (await client.get(url)).status == 200
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            await process.wait()
        took = time.monotonic() - started
    assert process.returncode == 0
    assert took < 1.0, took  # it took 1.4-1.8 s when the sweeper slept through the signal


async def _said_until(process: trio.Process, marker: bytes, seconds: float = 30) -> bytes:
    """What the process wrote on stderr, read until ``marker`` appears."""
    assert process.stderr is not None
    said = b""
    with trio.fail_after(seconds):
        while marker not in said:
            chunk = await process.stderr.receive_some(4096)
            assert chunk, said
            said += chunk
    return said


async def _reloading(app_dir, **options) -> trio.Process:
    """``rttp serve where_app:app --reload`` in ``app_dir``, its stderr piped."""
    return await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "rttp",
            "serve",
            "where_app:app",
            "--bind",
            "http://127.0.0.1:0",
            "--reload",
            "--reload-dir",
            str(app_dir),
        ],
        cwd=str(app_dir),
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        **options,
    )


async def test_reload_restarts_on_a_change(app_dir):
    process = await _reloading(app_dir)
    assert process.stderr is not None
    log = b""

    async def until(count: int) -> str:
        nonlocal log
        while log.count(b" on http://") < count:
            chunk = await process.stderr.receive_some(4096)
            assert chunk, log
            log += chunk
        return log.rsplit(b" on ", 1)[1].split()[0].decode()

    try:
        with trio.fail_after(30):
            url = await until(1)
            async with rttp.Client() as client:
                assert (await client.get(url)).json()["version"] == 1
                (app_dir / "where_app.py").write_text(APP.replace("VERSION = 1", "VERSION = 2"))
                url = await until(2)
                assert (await client.get(url)).json()["version"] == 2
    finally:
        process.send_signal(signal.SIGINT)
        with trio.fail_after(15):
            await process.wait()
        await process.stderr.aclose()


async def test_the_https_quickstart_recipe(tmp_path):
    """The quickstart's https lines, as written: trustme makes the files, rttp serves
    with them, and rttp get trusts the test CA."""
    await trio.run_process(
        [sys.executable, "-m", "trustme", "-i", "127.0.0.1", "localhost", "-q"],
        cwd=str(tmp_path),
        capture_stdout=True,
    )
    async with cli_process(
        "serve",
        "examples.hello:app",
        "--bind",
        "https://127.0.0.1:0",
        "--certfile",
        str(tmp_path / "server.pem"),
        "--keyfile",
        str(tmp_path / "server.key"),
    ) as (url, _):
        done = await run_rttp(
            "get", "-b", f"{url}/headers", "--cacert", str(tmp_path / "client.pem")
        )
        assert done.returncode == 0, done.stderr
        assert b'"Host"' in done.stdout


@pytest.mark.parametrize(
    ("flags", "access_log", "says"),
    [
        ([], True, True),
        (["--log-level", "debug"], True, True),
        (["--log-level", "warning"], False, False),
        (["--log-level", "error", "--access-log"], True, False),
        (["--no-access-log"], False, True),
    ],
)
async def test_log_level_warning_quiets_the_start_up_lines_and_the_access_log(
    capsys, flags, access_log, says
):
    """As uvicorn: from --log-level warning up, neither where it serves nor each answer
    is printed (an explicit --access-log still is)."""
    import os

    import trio.testing

    from rttp._cli import _serve, parser
    from rttp._cli._serve import build_server, talkative
    from rttp._cli._target import load_target

    args = parser().parse_args(
        ["serve", "examples.hello:app", "--bind", "http://127.0.0.1:0", *flags]
    )
    server = build_server(args, load_target(args.app))
    assert server.config.access_log is access_log
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_serve, server, args.app, None, talkative(args))
        await trio.testing.wait_all_tasks_blocked()  # listening, waiting for a signal
        os.kill(os.getpid(), signal.SIGINT)  # the graceful shutdown it waits for
    said = capsys.readouterr().err
    assert ("rttp: serving examples.hello:app on http://127.0.0.1:" in said) is says
    assert ("rttp: shutting down gracefully" in said) is says


async def test_a_broken_app_module_is_one_line_with_its_location(tmp_path):
    """A syntax error, or an exception while the module is imported, is one line that
    says the file, the line and what is wrong (no traceback)."""
    (tmp_path / "typo.py").write_text("import rttp\nasync def app(request)\n    return 1\n")
    (tmp_path / "fails.py").write_text("import rttp\nsettings = {}\nport = settings['port']\n")
    err = await one_line_failure("typo:app", cwd=tmp_path)
    assert err.startswith("rttp serve: typo.py, line 2: expected ':'")
    err = await one_line_failure("fails:app", cwd=tmp_path)
    assert "importing 'fails' failed at fails.py, line 3: KeyError: 'port'" in err


async def test_demo_and_static_offer_only_the_options_that_apply():
    for command in ("demo", "static"):
        shown = (await run_rttp(command, "--help")).stdout.decode()
        for flag in ("--factory", "--reload", "--interface", "--lifespan", "--wsgi-threads"):
            assert flag not in shown, (command, flag)
        assert "--workers" in shown


async def test_the_demo_names_its_rttp_port():
    """The RTTP panel's address is printed with its port, the default one included."""
    import re
    import sys

    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "rttp",
            "demo",
            "--bind",
            "http://127.0.0.1:0",
            "--rttp-bind",
            "rttp://127.0.0.1:0",
        ],
        stderr=subprocess.PIPE,
        cwd=str(ROOT),
    )
    assert process.stderr is not None
    try:
        said = await _said_until(process, b"serving the demo")
    finally:
        process.terminate()
        await process.wait()
    assert re.search(rb"RTTP messages on rttp://127\.0\.0\.1:\d+\n", said), said


def test_an_rttp_address_shows_its_default_port_too():
    from rttp._cli import rttp_address

    assert rttp_address(rttp.URL("rttp://127.0.0.1:10080")) == "rttp://127.0.0.1:10080"
    assert rttp_address(rttp.URL("http://[::1]:5000")) == "rttp://[::1]:5000"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's `cmd &` leaves it


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_reload_stops_with_its_server_even_when_sigint_came_in_ignored(app_dir, stop):
    process = await _reloading(app_dir, preexec_fn=_ignore_sigint)
    assert process.stderr is not None
    try:
        said = await _said_until(process, b" on http://")
        url = said.split(b" on ", 1)[1].split()[0].decode()
        async with rttp.Client() as client:
            assert (await client.get(url)).status == 200
        process.send_signal(stop)
        with trio.fail_after(20):
            await process.wait()  # the supervisor stopped...
        async with rttp.Client() as client:
            with pytest.raises(rttp.errors.ConnectError):  # ...and its server with it
                await client.get(url)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.stderr.aclose()


ENV_APP = """
import os
import rttp

async def app(request):
    return rttp.Response(200, body=os.environ.get("GREETING", "unset"))
"""


async def test_uvicorn_flags_env_file_app_dir_backlog_and_server_header(tmp_path):
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "envapp.py").write_text(ENV_APP)
    (tmp_path / ".env").write_text("GREETING=hello from .env\n")
    async with (
        cli_process(
            "serve",
            "envapp:app",
            "--app-dir",
            "apps",
            "--env-file",
            ".env",
            "--backlog",
            "16",
            "--no-server-header",
            "--bind",
            "http://127.0.0.1:0",
            cwd=str(tmp_path),
        ) as (url, _),
        rttp.Client() as client,
    ):
        got = await client.get(url)
    assert got.text == "hello from .env"
    assert "server" not in got.headers
    missing = await run_rttp("serve", "envapp:app", "--env-file", "nope.env", cwd=tmp_path)
    assert missing.returncode == 2
    assert b"--env-file 'nope.env': no such file" in missing.stderr


async def test_tls_flags_ask_for_client_certificates_and_decrypt_the_key(tmp_path, ca):
    from cryptography.hazmat.primitives import serialization

    issued = ca.issue_cert("localhost", "127.0.0.1")
    (tmp_path / "cert.pem").write_bytes(b"".join(b.bytes() for b in issued.cert_chain_pems))
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    (tmp_path / "key.pem").write_bytes(encrypted)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with cli_process(
        "serve",
        "examples.hello:app",
        "--bind",
        "https://127.0.0.1:0",
        "--certfile",
        str(tmp_path / "cert.pem"),
        "--keyfile",
        str(tmp_path / "key.pem"),
        "--ssl-keyfile-password",
        "s3cret",
        "--ssl-ca-certs",
        str(tmp_path / "ca.pem"),
        "--ssl-cert-reqs",
        "2",
        "--ssl-ciphers",
        "ECDHE+AESGCM",
    ) as (url, _):
        port = url.rsplit(":", 1)[1]
        without = ssl.create_default_context()
        ca.configure_trust(without)
        with_cert = ssl.create_default_context()
        ca.configure_trust(with_cert)
        ca.issue_cert("client@example.org").configure_cert(with_cert)
        async with rttp.Client(verify=with_cert) as client:
            assert (await client.get(f"https://localhost:{port}/")).status == 200
        async with rttp.Client(verify=without) as client:
            with pytest.raises(rttp.errors.TransportError):  # no certificate: refused
                await client.get(f"https://localhost:{port}/")


def test_ws_ping_flags_reach_an_app_and_are_refused_for_other_handlers():
    from rttp._cli import parser
    from rttp._cli._serve import CLIError, build_server

    app = rttp.App()
    args = parser().parse_args(
        ["serve", "x:app", "--ws-ping-interval", "0", "--ws-ping-timeout", "7"]
    )
    build_server(args, app)
    assert (app.ws_ping_interval, app.ws_ping_timeout) == (None, 7.0)

    async def plain(request):
        return rttp.Response(200)

    with pytest.raises(CLIError, match=r"--ws-ping-timeout applies to an rttp\.App"):
        build_server(parser().parse_args(["serve", "x:app", "--ws-ping-timeout", "7"]), plain)


async def test_header_flags_add_fields_the_answer_does_not_set(nursery):
    async with (
        cli_process(
            "serve",
            "examples.hello:app",
            "--bind",
            "http://127.0.0.1:0",
            "--header",
            "X-Frame-Options: DENY",
            "--header",
            "X-Served-By:rttp-test",
        ) as (url, _),
        rttp.Client() as client,
    ):
        got = await client.get(url)
    assert got.headers["x-frame-options"] == "DENY"
    assert got.headers["x-served-by"] == "rttp-test"

    async def own(request):
        return rttp.Response(200, {"X-Frame-Options": "SAMEORIGIN"}, b"mine")

    server = rttp.Server(
        own,
        "http://127.0.0.1:0",
        access_log=False,
        default_headers=(("X-Frame-Options", "DENY"), ("X-Extra", "1")),
    )
    address = (await nursery.start(server.serve))[0]
    async with rttp.Client() as client:
        mine = await client.get(address)
    assert mine.headers.get_all("x-frame-options") == ["SAMEORIGIN"]  # its own wins
    assert mine.headers["x-extra"] == "1"
    bad = await run_rttp("serve", "examples.hello:app", "--header", "no colon here")
    assert bad.returncode == 2
    assert b"--header must look like 'Name: value'" in bad.stderr
