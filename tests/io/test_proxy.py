"""The client through a real HTTP proxy (tinyproxy, installed with apt-get where it can
be): plain http forwarded in absolute form, https through a CONNECT tunnel with TLS to
the origin inside, proxy credentials sent only to the proxy, 407s and refusals as
ProxyError, and the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) as httpx reads it.
The NO_PROXY and mount rules are also checked as a table."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import pytest
import trio

import rttp
from rttp._proto._proxyrules import ProxyRules, no_proxy_matches
from tests.conftest import free_loopback_port, start_logged, system_tool


async def _start_tinyproxy(nursery, folder, auth: str | None = None) -> tuple[trio.Process, str]:
    """tinyproxy in the foreground, once its log says it accepts connections."""
    binary = system_tool("tinyproxy", "tinyproxy")
    port = free_loopback_port()
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        "Allow 127.0.0.1",
        "LogLevel Info",
        "MaxClients 20",
        'ViaProxyName "test-proxy"',
    ]
    if auth:
        user, _, password = auth.partition(":")
        lines.append(f"BasicAuth {user} {password}")
    conf = folder / "tinyproxy.conf"
    conf.write_text("\n".join(lines) + "\n")
    process, log = await start_logged(nursery, [binary, "-d", "-c", str(conf)])
    with trio.fail_after(10):
        await log.wait_for(b"Accepting connections")
    return process, f"http://127.0.0.1:{port}"


def _tls_server(handler: rttp.Handler, cert_files: dict[str, str]) -> rttp.Server:
    """An https origin on a free loopback port (certificate for localhost)."""
    return rttp.Server(
        handler,
        "https://127.0.0.1:0",
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
        access_log=False,
    )


@contextlib.asynccontextmanager
async def _running_tinyproxy(nursery, folder, auth: str | None = None) -> AsyncIterator[str]:
    process, url = await _start_tinyproxy(nursery, folder, auth)
    try:
        yield url
    finally:
        process.kill()
        await process.wait()


@pytest.fixture
async def tinyproxy(nursery, tmp_path) -> AsyncIterator[str]:
    async with _running_tinyproxy(nursery, tmp_path) as url:
        yield url


@pytest.fixture
async def auth_proxy(nursery, tmp_path) -> AsyncIterator[str]:
    async with _running_tinyproxy(nursery, tmp_path, auth="alice:s3cret") as url:
        yield url


@pytest.fixture
async def origins(nursery, cert_files):
    """A plain and a TLS origin that report the fields each request arrived with."""
    seen: list[dict[str, str | None]] = []

    async def handler(request: rttp.Request) -> rttp.Response:
        seen.append(
            {
                "via": request.headers.get("via"),
                "proxy-authorization": request.headers.get("proxy-authorization"),
                "target": request.target,
            }
        )
        return rttp.Response(200, body=f"origin saw {request.path}")

    plain = rttp.Server(handler, "http://127.0.0.1:0", access_log=False)
    secure = _tls_server(handler, cert_files)
    plain_url = (await nursery.start(plain.serve))[0]
    secure_url = (await nursery.start(secure.serve))[0]
    return plain_url, f"https://localhost:{secure_url.port}", seen


async def test_plain_http_is_forwarded_in_absolute_form(tinyproxy, origins):
    plain, _, seen = origins
    async with rttp.Client(proxy=tinyproxy, trust_env=False) as client:
        got = await client.get(f"{plain}/through?x=1")
        again = await client.get(f"{plain}/again")  # the proxy connection is reused
    assert (got.status, got.text) == (200, "origin saw /through")
    assert again.status == 200
    assert "test-proxy" in (seen[0]["via"] or "")  # it came through the proxy
    assert seen[0]["target"] == "/through?x=1"  # the proxy made it origin-form again


async def test_https_goes_through_a_connect_tunnel(tinyproxy, origins, client_ssl):
    _, secure, seen = origins
    async with rttp.Client(proxy=tinyproxy, verify=client_ssl, trust_env=False) as client:
        got = await client.get(f"{secure}/secret")
    assert (got.status, got.text) == (200, "origin saw /secret")
    assert seen[0]["via"] is None  # a tunnel: the proxy cannot see (or mark) the request


async def test_credentials_go_only_to_the_proxy(auth_proxy, origins, client_ssl):
    plain, secure, seen = origins
    with_credentials = auth_proxy.replace("http://", "http://alice:s3cret@")
    async with rttp.Client(proxy=with_credentials, verify=client_ssl, trust_env=False) as client:
        forwarded = await client.get(f"{plain}/fwd")
        tunnelled = await client.get(f"{secure}/tun")
    assert (forwarded.status, tunnelled.status) == (200, 200)
    assert [s["proxy-authorization"] for s in seen] == [None, None]


async def test_a_proxy_that_wants_credentials_says_so(auth_proxy, origins, client_ssl):
    plain, secure, _ = origins
    async with rttp.Client(proxy=auth_proxy, verify=client_ssl, trust_env=False) as client:
        forwarded = await client.get(f"{plain}/fwd")
        with pytest.raises(rttp.errors.ProxyError) as refused:
            await client.get(f"{secure}/tun")
    assert forwarded.status == 407  # the proxy's own answer to a forwarded request
    error = refused.value
    assert (error.status, error.reason) == (407, "auth")
    assert error.proxy == auth_proxy.removeprefix("http://")
    assert "refused the tunnel to localhost:" in str(error)
    assert "wants credentials" in str(error)


async def test_a_proxy_that_is_not_there_is_named(origins):
    plain, _, _ = origins
    nowhere = f"http://127.0.0.1:{free_loopback_port()}"
    async with rttp.Client(proxy=nowhere, trust_env=False) as client:
        with pytest.raises(rttp.errors.ConnectError) as failed:
            await client.get(f"{plain}/")
    assert f"through proxy 127.0.0.1:{nowhere.rsplit(':', 1)[1]}" in str(failed.value)


async def test_the_environment_is_read_and_no_proxy_honoured(tinyproxy, origins, monkeypatch):
    plain, _, seen = origins
    monkeypatch.setenv("HTTP_PROXY", tinyproxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with rttp.Client() as client:
        await client.get(f"{plain}/env")
    async with rttp.Client(trust_env=False) as client:
        await client.get(f"{plain}/ignored")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    async with rttp.Client() as client:
        await client.get(f"{plain}/excluded")
    assert [s["via"] is not None for s in seen] == [True, False, False]


async def test_rttp_get_takes_a_proxy(tinyproxy, origins):
    from tests.cli.conftest import run_rttp

    plain, _, seen = origins
    done = await run_rttp("get", f"{plain}/cli", "--proxy", tinyproxy)
    assert done.returncode == 0, done.stderr
    assert b"origin saw /cli" in done.stdout
    assert seen[0]["via"] is not None


@pytest.mark.parametrize(
    ("entries", "host", "port", "excluded"),
    [
        (["*"], "anything.example", 80, True),
        (["example.org"], "example.org", 80, True),
        (["example.org"], "api.example.org", 80, True),
        (["example.org"], "badexample.org", 80, False),
        ([".example.org"], "api.example.org", 443, True),
        (["10.0.0.0/8"], "10.1.2.3", 80, True),
        (["10.0.0.0/8"], "11.1.2.3", 80, False),
        (["192.168.1.5"], "192.168.1.5", 80, True),
        (["::1"], "::1", 80, True),
        (["example.org:8080"], "example.org", 8080, True),
        (["example.org:8080"], "example.org", 80, False),
        (["10.0.0.0/8"], "example.org", 80, False),
    ],
)
def test_no_proxy_table(entries, host, port, excluded):
    assert no_proxy_matches(entries, host, port) is excluded


def test_mounts_pick_the_most_specific_and_none_means_direct():
    rules = ProxyRules(
        mounts={
            "all://": "http://general:3128",
            "https://": "http://secure:3128",
            "all://*.internal": None,
            "http://special.example:8080": "https://special-proxy:443",
        },
        environ={"HTTP_PROXY": "http://env:1", "NO_PROXY": "skip.example"},  # not used
    )
    assert rules.for_url("http", "example.org", 80) == "http://general:3128"
    assert rules.for_url("https", "example.org", 443) == "http://secure:3128"
    assert rules.for_url("wss", "example.org", 443) == "http://secure:3128"
    assert rules.for_url("https", "db.internal", 443) is None
    assert rules.for_url("http", "special.example", 8080) == "https://special-proxy:443"
    assert rules.for_url("http", "skip.example", 80) == "http://general:3128"
    from_env = ProxyRules(environ={"HTTP_PROXY": "http://env:1", "NO_PROXY": "skip.example"})
    assert from_env.for_url("http", "example.org", 80) == "http://env:1"
    assert from_env.for_url("http", "skip.example", 80) is None
    assert from_env.for_url("https", "example.org", 443) is None
    assert (
        ProxyRules(environ={"https_proxy": "proxy:3128"}).for_url("https", "x", 443)
        == "http://proxy:3128"
    )
    assert ProxyRules(proxy="http://p:1", environ={"NO_PROXY": "*"}).for_url("http", "x", 80)
    with pytest.raises(ValueError, match="a proxy URL's scheme is one of"):
        ProxyRules(proxy="ftp://p:21")


async def test_the_environment_gives_netrc_credentials_and_ca_files(
    nursery, tmp_path, monkeypatch, cert_files
):
    """trust_env: a .netrc entry authenticates a host named without credentials (not
    one that has its own), and SSL_CERT_FILE is a CA bundle to verify with; without
    trust_env, neither is read."""
    seen: list[str | None] = []

    async def handler(request: rttp.Request) -> rttp.Response:
        seen.append(request.headers.get("authorization"))
        return rttp.Response(200, body="ok")

    server = _tls_server(handler, cert_files)
    url = (await nursery.start(server.serve))[0]
    (tmp_path / "netrc").write_text("machine localhost login alice password s3cret\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("SSL_CERT_FILE", cert_files["ca"])
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    origin = f"https://localhost:{url.port}"
    async with rttp.Client() as client:  # verify=True: the CA comes from SSL_CERT_FILE
        assert (await client.get(f"{origin}/")).status == 200
        await client.get(f"{origin}/", auth=("bob", "other"))
    async with rttp.Client(trust_env=False, verify=cert_files["ca"]) as client:
        await client.get(f"{origin}/")
    async with rttp.Client(trust_env=False) as client:  # SSL_CERT_FILE not read
        with pytest.raises(rttp.errors.TLSError) as untrusted:
            await client.get(f"{origin}/")
    assert untrusted.value.reason == "verify"
    assert seen[0] == "Basic YWxpY2U6czNjcmV0"  # alice:s3cret
    assert seen[1] == "Basic Ym9iOm90aGVy"  # its own credentials win
    assert seen[2] is None  # trust_env=False: no .netrc


async def test_a_websocket_goes_through_the_tunnel(tinyproxy, nursery, cert_files, client_ssl):
    async def echo(ws: rttp.WebSocket) -> None:
        async for data in ws:
            await ws.send(data)

    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.accept_websocket(request, echo)

    server = _tls_server(handler, cert_files)
    url = (await nursery.start(server.serve))[0]
    target = f"wss://localhost:{url.port}/"
    async with await rttp.connect_websocket(
        target, proxy=tinyproxy, verify=client_ssl, trust_env=False
    ) as ws:
        await ws.send("through the tunnel")
        event = await ws.receive()
    assert event.data == "through the tunnel"


async def test_an_https_proxy_is_reached_over_tls(tinyproxy, nursery, origins, cert_files, ca):
    """A TLS front (trio's SSL listener, relaying bytes) before tinyproxy stands for an
    https:// proxy: the client speaks TLS to it, then its requests as usual."""
    import ssl

    plain, _, seen = origins
    proxy_port = int(tinyproxy.rsplit(":", 1)[1])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_files["certfile"], cert_files["keyfile"])

    async def relay(client: trio.SSLStream) -> None:
        upstream = await trio.open_tcp_stream("127.0.0.1", proxy_port)

        async def pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                while data := await source.receive_some(65536):
                    await sink.send_all(data)
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await sink.aclose()

        async with trio.open_nursery() as pumps:
            pumps.start_soon(pump, client, upstream)
            pumps.start_soon(pump, upstream, client)

    listeners = await nursery.start(
        functools.partial(trio.serve_ssl_over_tcp, relay, 0, context, host="127.0.0.1")
    )
    front = listeners[0].transport_listener.socket.getsockname()[1]
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with rttp.Client(
        proxy=f"https://localhost:{front}", verify=client_context, trust_env=False
    ) as client:
        got = await client.get(f"{plain}/over-tls")
    assert (got.status, got.text) == (200, "origin saw /over-tls")
    assert seen[0]["via"] is not None
