"""The client against hostile servers: redirects that change transport, trickling
framing lines, floods of interim answers, unsolicited protocol switches."""

from __future__ import annotations

import contextlib
import urllib.parse

import pytest
import trio

import rttp
from rttp.errors import RemoteProtocolError, Timeout, UnsafeRedirect
from rttp.testing import MemoryPlugin
from tests.conftest import hello


async def _serve_raw(nursery: trio.Nursery, respond) -> str:
    """A loopback server that reads one request head, then runs ``respond(stream)``."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                data += chunk
            with contextlib.suppress(trio.BrokenResourceError):
                await respond(stream)

    await nursery.start(trio.serve_listeners, handle, listeners)
    return f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"


async def _refused_as_bad_gateway(url: str, backend: str, words: str) -> None:
    """A GET of ``url`` fails with a 502-style RemoteProtocolError matching ``words``,
    and the connection is not kept for another request."""
    async with rttp.Client(http_backend=backend) as client:
        with trio.fail_after(10):
            with pytest.raises(RemoteProtocolError, match=words) as info:
                await client.get(url)
        assert info.value.status == 502
        assert client.pool.idle_connections == 0


# -- 1. a redirect never changes the transport family --------------------------------------
async def test_a_redirect_from_tcp_to_a_unix_socket_is_refused_and_never_connects(
    serve, tmp_path, nursery
):
    """The SSRF: a remote server's ``Location: http+unix://...docker.sock`` must not make
    the client talk to a local socket. The unix listener at that path sees nothing."""
    path = tmp_path / "docker.sock"
    seen: list[bool] = []
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(str(path))
    sock.listen(4)
    listener = trio.SocketListener(sock)

    async def record(stream: trio.abc.Stream) -> None:
        seen.append(True)
        await stream.aclose()

    await nursery.start(trio.serve_listeners, record, [listener])
    target = f"http+unix://{urllib.parse.quote(str(path), safe='')}/containers/json"

    async def handler(request):
        return rttp.Response(302, {"Location": target})

    _, url = await serve(handler)
    async with rttp.Client() as client:
        with pytest.raises(UnsafeRedirect, match="another kind of transport") as info:
            await client.get(f"{url}/go")
        assert target in str(info.value)
        with pytest.raises(UnsafeRedirect):
            await client.post(f"{url}/go", content=b"x")
        # the same client still reaches the socket when asked to directly
        assert seen == []
        with pytest.raises(rttp.errors.RTTPError):
            await client.get(target)
    assert seen == [True]


async def test_a_redirect_to_a_scheme_a_plugin_adds_is_refused(serve):
    """A transport plugin's scheme (here ``memory``) is no redirect target from TCP."""

    async def handler(request):
        return rttp.Response(307, {"Location": "memory://app/x"})

    _, url = await serve(handler)
    async with rttp.Client(plugins=[MemoryPlugin()]) as client:
        with pytest.raises(UnsafeRedirect, match="from http to another kind"):
            await client.get(f"{url}/go")


async def test_redirects_within_a_family_are_still_followed(serve, tmp_path):
    """http to http on another port, and a unix socket's redirect to itself, still work."""
    _, other = await serve(hello)

    async def handler(request):
        if request.path == "/go":
            return rttp.Response(302, {"Location": f"{other}/landed"})
        if request.path == "/u":
            return rttp.Response(302, {"Location": "/here"})
        return await hello(request)

    _, url = await serve(handler)
    sock = tmp_path / "app.sock"
    await serve(handler, f"unix:{sock}")
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/go")).text == "hello /landed"
        encoded = urllib.parse.quote(str(sock), safe="")
        response = await client.get(f"http+unix://{encoded}/u")
        assert response.text == "hello /here"


BACKENDS = pytest.mark.parametrize("backend", ["httptools", "h11"])


# -- 2. endless framing lines, and a whole-exchange deadline --------------------------------
@BACKENDS
async def test_an_endless_chunk_extension_is_refused_at_the_line_limit(nursery, backend):
    """``5;a=`` and then extension bytes that never end: refused once past the limit
    (64 KiB here: the client's max_response_header_size), not read for ever."""

    async def respond(stream):
        await stream.send_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=")
        for _ in range(200):  # 800 KiB of extension, in pieces
            await stream.send_all(b"b" * 4096)
        await trio.sleep_forever()

    url = await _serve_raw(nursery, respond)
    async with rttp.Client(http_backend=backend) as client:
        with trio.fail_after(10):
            with pytest.raises(RemoteProtocolError, match="chunk") as info:
                await client.get(url)
    assert info.value.status == 502


@BACKENDS
async def test_an_endless_chunk_size_line_is_refused(nursery, backend):
    async def respond(stream):
        await stream.send_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(200):
            await stream.send_all(b"0" * 4096)
        await trio.sleep_forever()

    url = await _serve_raw(nursery, respond)
    async with rttp.Client(http_backend=backend) as client:
        with trio.fail_after(10):
            with pytest.raises(RemoteProtocolError):
                await client.get(url)


async def _trickle(stream, head: bytes) -> None:
    await stream.send_all(head)
    for _ in range(600):  # a byte every 20 ms: each read comes well within the read timeout
        await stream.send_all(b"a")
        await trio.sleep(0.02)


@BACKENDS
async def test_a_trickling_server_is_cut_off_by_the_total_timeout(nursery, backend):
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a="

    async def respond(stream):
        await _trickle(stream, head)

    url = await _serve_raw(nursery, respond)
    async with rttp.Client(
        http_backend=backend, timeout=rttp.Timeouts(read=5, total=0.5)
    ) as client:
        start = trio.current_time()
        with trio.fail_after(5):
            with pytest.raises(rttp.errors.TotalTimeout, match=r"total timeout 0\.5s") as info:
                await client.get(url)
        assert 0.4 < trio.current_time() - start < 3
        assert info.value.seconds == 0.5
        assert isinstance(info.value, Timeout)
        assert info.value.errtype == "io"
        # per request too, and the read timeout alone does not fire
        with trio.fail_after(5):
            with pytest.raises(rttp.errors.TotalTimeout):
                await client.get(url, timeout={"read": 5, "total": 0.3})


@BACKENDS
async def test_the_total_timeout_bounds_a_streamed_body(nursery, backend):
    """``client.stream``: the head arrives at once; the body trickles past the deadline."""

    async def respond(stream):
        await _trickle(stream, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")

    url = await _serve_raw(nursery, respond)
    async with rttp.Client(http_backend=backend, timeout={"read": 5, "total": 0.5}) as client:
        with trio.fail_after(5):
            async with client.stream("GET", url) as response:
                assert response.status == 200
                with pytest.raises(rttp.errors.TotalTimeout):
                    async for _ in response.stream():
                        pass


async def test_a_number_timeout_sets_no_total(nursery):
    """``timeout=5`` bounds each phase; a slow but steady answer within it still arrives."""
    assert rttp.Timeouts.of(5).total is None

    async def respond(stream):
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
        for byte in (b"a", b"b", b"c"):
            await trio.sleep(0.05)
            await stream.send_all(byte)

    url = await _serve_raw(nursery, respond)
    async with rttp.Client(timeout=5) as client:
        assert (await client.get(url)).body == b"abc"
    async with rttp.Client(timeout={"total": 5}) as client:
        assert (await client.get(url)).body == b"abc"


# -- 3. interim answers are capped ---------------------------------------------------------
@BACKENDS
async def test_a_flood_of_interim_answers_is_refused(nursery, backend):
    async def respond(stream):
        for _ in range(1000):
            await stream.send_all(b"HTTP/1.1 102 Processing\r\n\r\n" * 100)
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    url = await _serve_raw(nursery, respond)
    await _refused_as_bad_gateway(url, backend, "max_interim_responses=100")


@BACKENDS
async def test_interim_answers_within_the_cap_are_skipped(nursery, backend):
    async def respond(stream):
        await stream.send_all(
            b"HTTP/1.1 102 Processing\r\n\r\n" * 5
            + b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
            + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        )

    url = await _serve_raw(nursery, respond)
    async with rttp.Client(http_backend=backend, max_interim_responses=6) as client:
        assert (await client.get(url)).body == b"ok"
    async with rttp.Client(http_backend=backend, max_interim_responses=5) as client:
        with pytest.raises(RemoteProtocolError, match="max_interim_responses=5"):
            await client.get(url)


# -- 4. an unsolicited 101 -----------------------------------------------------------------
@BACKENDS
async def test_an_unsolicited_switching_protocols_is_a_protocol_error(nursery, backend):
    async def respond(stream):
        await stream.send_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            b"\x81\x05hello"
        )
        await trio.sleep_forever()

    url = await _serve_raw(nursery, respond)
    await _refused_as_bad_gateway(url, backend, r"(?i)upgrade")


# -- 18. a peer that closes before answering is an I/O failure (seed 002) -------------------
@BACKENDS
async def test_a_peer_that_closes_before_answering_is_an_io_error(nursery, backend):
    async def respond(stream):
        await stream.aclose()  # reads the request, says nothing

    url = await _serve_raw(nursery, respond)
    target = rttp.URL(url)
    stream = await trio.open_tcp_stream(target.host, target.port)
    async with rttp.HTTPConnection(stream, http_backend=backend) as conn:
        request = conn.make_request(host="x", uri="/")
        await conn.send_request(request)
        with pytest.raises(rttp.errors.ReadError) as info:
            await conn.read_response(request)
    assert info.value.errtype == "io"
    assert "without sending a response" in str(info.value)
    async with rttp.Client(http_backend=backend) as client:
        with pytest.raises(rttp.errors.ReadError):
            await client.get(url)


# -- redirects: what is followed, and what the next request carries -------------------------
async def test_max_redirects_is_the_number_followed(serve):
    async def chain(request):
        left = int(request.path.rsplit("/", 1)[1])
        if left == 0:
            return rttp.Response(200, body="landed")
        return rttp.Response(302, {"Location": f"/r/{left - 1}"})

    _, url = await serve(chain)
    async with rttp.Client(max_redirects=3) as client:
        response = await client.get(f"{url}/r/3")
        assert response.text == "landed"
        assert len(response.history) == 3
        with pytest.raises(rttp.errors.TooManyRedirects, match="max_redirects=3"):
            await client.get(f"{url}/r/4")


@pytest.mark.parametrize(
    ("status", "method", "then"),
    [
        (303, "POST", "GET"),
        (303, "PUT", "GET"),
        (303, "HEAD", "HEAD"),
        (301, "POST", "GET"),
        (302, "POST", "GET"),
        (302, "PUT", "PUT"),
        (307, "POST", "POST"),
        (308, "PUT", "PUT"),
    ],
)
async def test_the_method_and_body_after_a_redirect(serve, status, method, then):
    seen: list[tuple[str, rttp.Headers, bytes]] = []

    async def handler(request):
        body = await request.read()
        if request.path == "/go":
            return rttp.Response(status, {"Location": "/landed"})
        seen.append((request.method, request.headers, body))
        return rttp.Response(200, body="ok")

    _, url = await serve(handler, decode_request_bodies=False)  # the fields as they came
    head = method == "HEAD"
    async with rttp.Client() as client:
        response = await client.request(
            method,
            f"{url}/go",
            content=None if head else b"payload",
            headers={}
            if head
            else {
                "Content-Type": "text/plain",
                "Content-Encoding": "identity",
                "Content-Length": "7",  # given by the caller: dropped with the body too
            },
        )
    assert response.status == 200
    landed_method, headers, body = seen[0]
    assert landed_method == then
    if then == method and not head:  # the body goes again, framed as before
        assert body == b"payload"
        assert headers["content-length"] == "7"
        assert headers["content-type"] == "text/plain"
    else:  # changed to GET (or a HEAD): no body, and nothing that described one
        assert body == b""
        for name in ("content-length", "content-type", "transfer-encoding", "content-encoding"):
            assert name not in headers, name


async def test_the_host_header_follows_the_redirect(serve):
    hosts: list[str] = []

    async def landing(request):
        hosts.append(request.headers["host"])
        return rttp.Response(200, body="ok")

    _, other = await serve(landing)

    async def go(request):
        return rttp.Response(302, {"Location": f"{other}/x"})

    _, url = await serve(go)
    async with rttp.Client() as client:
        await client.get(f"{url}/go", headers={"Host": f"{url.netloc}"})
    assert hosts == [other.netloc]


async def test_a_url_without_a_scheme_is_named_as_such():
    async with rttp.Client() as client:
        with pytest.raises(rttp.errors.UnsupportedScheme, match="the URL has no scheme"):
            await client.get("not a url")


async def test_a_refused_connection_says_where_in_fields(tmp_path):
    """``ConnectError.host``/``.port`` (a unix socket: its path, no port), so code can
    branch on them without reading the message."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    async with rttp.Client() as client:
        with pytest.raises(rttp.errors.ConnectError) as info:
            await client.get(f"http://127.0.0.1:{port}/")
        assert (info.value.reason, info.value.host, info.value.port) == (
            "refused",
            "127.0.0.1",
            port,
        )
        path = tmp_path / "nobody.sock"
        with pytest.raises(rttp.errors.ConnectError) as info:
            await client.get(f"http+unix://{urllib.parse.quote(str(path), safe='')}/")
        assert (info.value.host, info.value.port) == (str(path), None)
    with pytest.raises(rttp.errors.ConnectError) as info:
        await rttp.moonbridge.tcpconnect("127.0.0.1", port)
    assert (info.value.host, info.value.port) == ("127.0.0.1", port)


async def test_raise_for_status_gives_the_status_as_a_field(serve):
    async def teapot(request):
        return rttp.Response(418)

    _, url = await serve(teapot)
    async with rttp.Client() as client:
        response = await client.get(str(url))
    with pytest.raises(rttp.errors.HTTPStatusError) as info:
        response.raise_for_status()
    assert info.value.status == 418
    assert info.value.response is response
    assert rttp.HTTPStatusError is rttp.errors.HTTPStatusError


def test_a_certificate_without_its_key_says_to_give_the_key(tmp_path, ca):
    cert = ca.issue_cert("localhost")
    certfile = tmp_path / "cert.pem"
    certfile.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    with pytest.raises(rttp.errors.TLSError, match=r"no private key .* --keyfile") as info:
        rttp.server_context(str(certfile))
    assert info.value.reason == "certificate"
    both = tmp_path / "both.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(both))
    assert rttp.server_context(str(both)) is not None  # one PEM with both is fine
