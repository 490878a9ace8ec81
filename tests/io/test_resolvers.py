"""Resolver plugins: names to addresses for the Client and the Endpoint."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import rttp
from rttp._io.net._resolve import NameResolver, split_address
from rttp.errors import ConnectError, MessageError
from rttp.plugin import NameTable, Resolver, hookimpl
from rttp_builtin.resolvers.static import read_names


async def _host_echo(request: rttp.Request) -> rttp.Response:
    return rttp.Response(200, body=request.headers["host"])


async def test_a_name_table_sends_a_name_to_an_address_and_keeps_the_host(serve):
    _, url = await serve(_host_echo)
    async with rttp.Client(resolver={"service.internal": f"127.0.0.1:{url.port}"}) as client:
        assert (await client.get("http://service.internal/")).text == "service.internal"
        with pytest.raises(ConnectError, match=r"cannot resolve nowhere\.invalid: no resolver"):
            await client.get("http://nowhere.invalid/")


async def test_tls_through_a_resolver_checks_the_certificate_for_the_name(serve, cert_files):
    _, url = await serve(
        _host_echo,
        "https://127.0.0.1:0",
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
    )
    table = {"localhost": f"127.0.0.1:{url.port}", "other.test": f"127.0.0.1:{url.port}"}
    async with rttp.Client(resolver=table, verify=cert_files["ca"]) as client:
        assert (await client.get("https://localhost/")).text == "localhost"
        with pytest.raises(rttp.errors.TLSError):
            await client.get("https://other.test/")  # the certificate is not for that name


class _Counting(Resolver):
    name = "counting"
    priority = 20
    ttl = 60.0

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked: list[str] = []

    async def resolve(self, name: str) -> str | None:
        self.asked.append(name)
        return self.address if name.endswith(".test") else None


async def test_a_resolver_plugin_is_asked_first_and_cached(serve):
    _, url = await serve(_host_echo)
    counting = _Counting(f"127.0.0.1:{url.port}")

    class Plugin:
        name = "counting"

        @hookimpl
        def rttp_register_resolvers(self, register):
            register(counting)

    client = rttp.Client(
        plugins=[Plugin()], resolver=True, limits=rttp.Limits(max_keepalive_connections=0)
    )
    async with client:
        for _ in range(3):
            assert (await client.get("http://api.test/")).text == "api.test"
    assert counting.asked == ["api.test"]  # three connections, one question (ttl 60 s)
    assert "counting" in rttp.get_plugins([Plugin()]).resolvers


async def test_the_chain_order_and_split_address():
    first, second = NameTable({"a": "10.0.0.1"}), _Counting("10.0.0.2")
    chain = NameResolver([first, second])
    assert [r.name for r in chain.resolvers] == ["counting", "static"]  # by priority
    assert await chain.resolve("x.test") == "10.0.0.2"
    assert await chain.resolve("A") == "10.0.0.1"
    assert await chain.resolve("unknown") is None
    assert split_address("[::1]:80") == ("::1", 80)
    assert split_address("[::1]") == ("::1", None)
    assert split_address("h:99") == ("h", 99)
    assert split_address("h") == ("h", None)
    with pytest.raises(ValueError, match="resolver must be"):
        rttp.Client(resolver=42)._pool  # noqa: B018


def test_read_names_and_the_rttp_names_file(tmp_path):
    names = tmp_path / "names"
    names.write_text("# the lab\nprinter 10.0.0.9\nwiki  rttp://10.0.0.4:8080/  # with a port\n")
    assert read_names(names) == {"printer": "10.0.0.9", "wiki": "rttp://10.0.0.4:8080/"}
    (tmp_path / "bad").write_text("only-one-field\n")
    with pytest.raises(rttp.errors.PluginError, match="bad:1: expected 'name destination'"):
        read_names(tmp_path / "bad")
    code = (
        "import trio, rttp\n"
        "async def main():\n"
        "    print(await rttp.get_plugins().resolvers['static'].resolve('printer'))\n"
        "trio.run(main)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "RTTP_NAMES": str(names)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "10.0.0.9"


async def test_an_endpoint_resolves_names_through_the_resolvers():
    async with rttp.Endpoint() as server:
        server.handle_msg(lambda m, h, b, msg: (200, "text/plain", h["domain"]))
        await server.register_handler("rttp://127.0.0.1:0")
        port = server.addresses[0].port
        async with rttp.Endpoint(resolver={"lab": "127.0.0.1"}) as client:
            reply = await client.get_sync(f"lab:{port}", "/")
            assert reply.body == f"lab:{port}"  # the name is the domain the server sees
            with pytest.raises(MessageError) as info:
                await client.get_sync("unknown-lab", "/")
            assert str(info.value) == "send_fail"
            assert "unknown-lab" in info.value.detail
