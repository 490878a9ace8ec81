"""The client through a real SOCKS5 proxy (dante's danted, installed with apt-get where
it can be): plain http and https (names resolved here with socks5://, by the proxy with
socks5h://), a WebSocket, and the proxy's refusal as a ProxyError naming its reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

import rttp
from tests.conftest import ProcessLog, free_loopback_port, start_logged, system_tool

pytest.importorskip("socksio", reason="socksio is part of the test extra")

DANTE_CONF = """
logoutput: stderr
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect }}
"""


class Proxy(str):
    """The proxy's ``host:port``, with its log (each connection it made)."""

    log: ProcessLog


@pytest.fixture
async def socks_proxy(nursery, tmp_path) -> AsyncIterator[Proxy]:
    """danted in the foreground, one process, once its log says it runs."""
    binary = system_tool("danted", "dante-server")
    port = free_loopback_port()
    conf = tmp_path / "danted.conf"
    conf.write_text(DANTE_CONF.format(port=port))
    command = [binary, "-f", str(conf), "-N", "1", "-p", str(tmp_path / "danted.pid")]
    process, log = await start_logged(nursery, command)
    try:
        with trio.fail_after(10):
            await log.wait_for(b"running")
    except AssertionError as exc:
        pytest.skip(f"danted could not start here: {exc}")
    proxy = Proxy(f"127.0.0.1:{port}")
    proxy.log = log
    try:
        yield proxy
    finally:
        process.terminate()
        await process.wait()


@pytest.fixture
async def origins(nursery, cert_files):
    seen: list[str] = []

    async def handler(request: rttp.Request) -> rttp.Response:
        seen.append(request.path)
        return rttp.Response(200, body=f"origin saw {request.path}")

    plain = rttp.Server(handler, "http://127.0.0.1:0", access_log=False)
    secure = rttp.Server(
        handler,
        "https://127.0.0.1:0",
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
        access_log=False,
    )
    plain_url = (await nursery.start(plain.serve))[0]
    secure_url = (await nursery.start(secure.serve))[0]
    return plain_url, secure_url.port, seen


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_http_and_https_through_socks5(socks_proxy, origins, client_ssl, scheme):
    plain, secure_port, seen = origins
    proxy = f"{scheme}://{socks_proxy}"
    async with rttp.Client(proxy=proxy, verify=client_ssl, trust_env=False) as client:
        got = await client.get(f"{plain}/plain")
        tls = await client.get(f"https://localhost:{secure_port}/tls")
    assert (got.text, tls.text) == ("origin saw /plain", "origin saw /tls")
    assert seen == ["/plain", "/tls"]
    with trio.fail_after(5):  # the proxy logs each connection it made, on its own pipe
        await socks_proxy.log.wait_for(f".{plain.port}".encode())
        await socks_proxy.log.wait_for(f".{secure_port}".encode())


async def test_a_websocket_through_socks5(socks_proxy, nursery):
    async def echo(ws: rttp.WebSocket) -> None:
        async for data in ws:
            await ws.send(data)

    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.accept_websocket(request, echo)

    server = rttp.Server(handler, "http://127.0.0.1:0", access_log=False)
    url = (await nursery.start(server.serve))[0]
    target = f"ws://127.0.0.1:{url.port}/"
    async with await rttp.connect_websocket(
        target, proxy=f"socks5://{socks_proxy}", trust_env=False
    ) as ws:
        await ws.send("socks")
        event = await ws.receive()
    assert event.data == "socks"


async def test_the_proxys_refusal_is_a_proxy_error(socks_proxy):
    closed = free_loopback_port()
    async with rttp.Client(proxy=f"socks5://{socks_proxy}", trust_env=False) as client:
        with pytest.raises(rttp.errors.ProxyError) as refused:
            await client.get(f"http://127.0.0.1:{closed}/")
    error = refused.value
    assert error.reason == "refused"
    assert error.proxy == socks_proxy
    assert f"refused the connection to 127.0.0.1:{closed}" in str(error)
