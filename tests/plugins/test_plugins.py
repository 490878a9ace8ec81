"""The plugin system: discovery, order, blocking, per-instance plugins, conformance kits."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest
import trio

import rttp
from rttp.errors import PluginError, UnsupportedScheme
from rttp.plugin import (
    ConnectOptions,
    ContentEncoding,
    ListenOptions,
    PluginWarning,
    Transport,
    hookimpl,
)
from rttp.testing import check_content_encoding, check_transport, memory_plugin
from tests.conftest import hello

BUILTINS = ["h11", "httptools", "tcp", "tls", "unix", "gzip", "deflate"]


def test_builtins_load_through_entry_points():
    plugins = rttp.get_plugins()
    names = [info.name for info in plugins.infos]
    assert set(BUILTINS) <= set(names)
    for info in plugins.infos:
        if info.name in BUILTINS:
            assert info.kind == "builtin"
            assert info.source.startswith("trio-rttp ")
    assert {"http", "https", "http+unix", "ws", "wss", "rttp", "rttps"} <= set(
        plugins.client_transports
    )
    assert {"http", "https", "unix", "tcp"} <= set(plugins.bind_transports)
    assert list(plugins.encodings)[:2] == ["deflate", "gzip"] or {"gzip", "deflate"} <= set(
        plugins.encodings
    )
    assert plugins.backend().name == "httptools"  # the faster backend wins "auto" on CPython
    assert plugins.backend("h11").name == "h11"
    assert plugins.owner("content encoding", "gzip") == "gzip"


def test_default_set_is_built_once():
    assert rttp.get_plugins() is rttp.get_plugins()


def test_disable_blocks_a_plugin_by_name():
    plugins = rttp.get_plugins(disable=["gzip"])
    assert "gzip" not in plugins.encodings
    assert "deflate" in plugins.encodings
    assert "gzip" not in [info.name for info in plugins.infos]


async def test_disabled_transport_gives_a_clear_error():
    async with rttp.Client(disable=["tls"]) as client:
        with pytest.raises(UnsupportedScheme, match="'https'"):
            await client.get("https://example.invalid/")


class Reverse(ContentEncoding):
    """A toy encoding (byte reversal) to prove third-party encodings slot in."""

    name = "reverse"

    class _Coder:
        def __init__(self) -> None:
            self.buf = b""
            self.out = b""
            self.done = False

        def compress(self, data: bytes) -> bytes:
            self.buf += data
            return b""

        def sync(self) -> bytes:
            return b""

        def flush(self) -> bytes:
            return self.buf[::-1]

        def decode(self, data: bytes, max_length: int) -> bytes:
            self.buf += data
            return b""

    def encoder(self):
        return self._Coder()

    def decoder(self):
        return self._Coder()


class ReversePlugin:
    name = "reverse-plugin"

    @hookimpl
    def rttp_register_content_encodings(self, register):
        register(Reverse())


def test_per_instance_plugins_do_not_leak_into_the_default():
    plugins = rttp.get_plugins(plugins=[ReversePlugin()])
    assert "reverse" in plugins.encodings
    assert "reverse" not in rttp.get_plugins().encodings
    assert plugins.infos[-1].kind == "instance"


def test_later_registration_wins_with_a_warning_naming_both():
    class LoudGzip(ContentEncoding):
        name = "gzip"

        def encoder(self):
            raise NotImplementedError

        def decoder(self):
            raise NotImplementedError

    class Plugin:
        name = "loud"

        @hookimpl
        def rttp_register_content_encodings(self, register):
            register(LoudGzip())

    with pytest.warns(
        PluginWarning, match="plugin 'loud' replaces plugin 'gzip' for content encoding 'gzip'"
    ):
        plugins = rttp.get_plugins(plugins=[Plugin()])
    assert isinstance(plugins.encodings["gzip"], LoudGzip)


def test_a_plugin_with_an_unknown_hook_is_refused():
    class Typo:
        name = "typo"

        @hookimpl
        def rttp_register_transport(self, register):  # missing "s"
            pass

    with pytest.raises(PluginError, match="unknown hook"):
        rttp.get_plugins(plugins=[Typo()])


def test_registering_the_wrong_kind_is_refused():
    class Wrong:
        name = "wrong"

        @hookimpl
        def rttp_register_transports(self, register):
            register("not a transport")

    with pytest.raises(PluginError, match="not a Transport"):
        rttp.get_plugins(plugins=[Wrong()])


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(PluginError, match="no protocol backend called 'nope'"):
        rttp.Server(hello, http_backend="nope")


@pytest.mark.parametrize("name", ["gzip", "deflate"])
def test_encoding_conformance(name):
    check_content_encoding(rttp.get_plugins().encodings[name])


async def test_tcp_transport_conformance():
    plugins = rttp.get_plugins()
    await check_transport(plugins.bind_transports["http"], "http://127.0.0.1:0")
    await check_transport(plugins.bind_transports["http"], "http://[::1]:0")


async def test_unix_transport_conformance(tmp_path):
    await check_transport(
        rttp.get_plugins().bind_transports["unix"],
        f"unix:{tmp_path}/kit.sock",
        connect_scheme="http+unix",
    )
    assert not (tmp_path / "kit.sock").exists()  # removed on close


async def test_tls_transport_conformance(cert_files, client_ssl):
    server_ssl = rttp.server_context(cert_files["certfile"], cert_files["keyfile"])
    await check_transport(
        rttp.get_plugins().bind_transports["https"],
        "https://127.0.0.1:0",
        listen_options=ListenOptions(ssl_context=server_ssl),
        connect_options=ConnectOptions(ssl_context=client_ssl, server_hostname="localhost"),
    )


async def test_memory_transport_conformance_and_app_round_trip(nursery):
    await check_transport(memory_plugin.transport, "memory://kit")
    server = rttp.Server(hello, "memory://app", plugins=[memory_plugin])
    addresses = await nursery.start(server.serve)
    assert str(addresses[0]) == "memory://app"
    async with rttp.Client(plugins=[memory_plugin]) as client:
        response = await client.get("memory://app/in-memory")
        assert response.text == "hello /in-memory"
    server.shutdown()


async def test_third_party_transport_via_plugins(nursery):
    """A transport for a new scheme, registered per instance, is used by the client."""

    class Loopback(Transport):
        name = "loop"
        client_schemes = frozenset({"loop"})

        def __init__(self, port: int) -> None:
            self.port = port

        async def connect(self, url, options):
            return await trio.open_tcp_stream("127.0.0.1", self.port)

    server = rttp.Server(hello, "http://127.0.0.1:0")
    addresses = await nursery.start(server.serve)

    class Plugin:
        name = "loop"

        @hookimpl
        def rttp_register_transports(self, register):
            register(Loopback(addresses[0].port))

    async with rttp.Client(plugins=[Plugin()]) as client:
        assert (await client.get("loop://anything/x")).text == "hello /x"


def test_rttp_plugins_command_lists_sources():
    out = subprocess.run(
        [sys.executable, "-m", "rttp", "plugins"], capture_output=True, text=True, check=True
    ).stdout
    for name in BUILTINS:
        assert name in out
    assert "trio-rttp 0.1.0: rttp_builtin.transports.tcp" in out
    assert "client schemes" in out
    # the columns line up, whatever the longest name (codecs-multipart, resolver-static)
    rows = [line for line in out.splitlines() if ": rttp_builtin." in line]
    kinds = {line.index(" builtin ") for line in rows}
    sources = {line.index("trio-rttp") for line in rows}
    assert len(kinds) == 1, kinds
    assert len(sources) == 1, sources


def test_tls_context_helpers(cert_files):
    context = rttp.client_context(cert_files["ca"])
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    with pytest.raises(rttp.errors.TLSError, match="cannot load TLS certificate"):
        rttp.server_context("/nonexistent.pem")


def test_the_example_plugin_distribution_meets_the_contract():
    """plugins/rttp-zstd (nox -s plugins installs and tests it) is importable
    as it stands, imports only what a plugin may, and passes the encoding kit."""
    import ast
    import sys
    from pathlib import Path

    pytest.importorskip("zstandard", reason="zstandard is not installed")
    root = Path(__file__).parents[2] / "plugins" / "rttp-zstd"
    source = root / "src" / "rttp_zstd" / "__init__.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rttp"):
            assert node.module in ("rttp.plugin", "rttp.errors"), node.module
    sys.path.insert(0, str(root / "src"))
    try:
        from rttp_zstd import ZstdEncoding

        from rttp.testing import check_content_encoding

        check_content_encoding(ZstdEncoding())
    finally:
        sys.path.remove(str(root / "src"))
        sys.modules.pop("rttp_zstd", None)
