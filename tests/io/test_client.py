"""The client: against our server and against Python's http.server (a server we did not write)."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import time

import pytest
import trio

import rttp
from rttp._io.client import _pool
from rttp._io.net._sockinfo import raw_socket
from rttp.errors import (
    ConnectError,
    ConnectTimeout,
    DecodingError,
    LocalProtocolError,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TLSError,
    TooLarge,
    TooManyRedirects,
    TransportError,
    UnsafeRedirect,
    UnsupportedScheme,
    WriteTimeout,
)
from rttp.plugin import ConnectOptions, PluginWarning, Transport, hookimpl
from tests.conftest import hello

pytestmark = pytest.mark.peer


# -- against http.server ------------------------------------------------------------------
async def test_get_from_http_server(peer_server):
    async with rttp.Client() as client:
        response = await client.get(str(peer_server) + "/hello")
        assert response.status == 200
        assert response.reason == "OK"
        assert response.text == "hello from http.server"
        assert response.url == peer_server.join("/hello")
        headers = (await client.get(str(peer_server) + "/headers")).json()
        assert headers["Host"] == peer_server.netloc
        # every offered encoding, most preferred first (zstd too when its plugin is installed)
        assert headers["Accept-Encoding"] == ", ".join(rttp.get_plugins().offered_encodings)
        assert headers["User-Agent"].startswith("trio-rttp/")


async def test_keep_alive_reuses_one_connection(peer_server):
    async with rttp.Client() as client:
        for _ in range(3):
            assert (await client.get(str(peer_server) + "/hello")).status == 200
        assert client.pool.idle_connections == 1
        assert client.pool.connections_in_use == 0


async def test_server_closing_is_handled(peer_server):
    async with rttp.Client() as client:
        assert (await client.get(str(peer_server) + "/close")).text == "closing"
        assert client.pool.idle_connections == 0
        assert (await client.get(str(peer_server) + "/hello")).status == 200


async def test_chunked_and_gzip_from_http_server(peer_server):
    async with rttp.Client() as client:
        assert (await client.get(str(peer_server) + "/chunked")).body == b"one two three"
        response = await client.get(str(peer_server) + "/gzip")
        assert response.headers["content-encoding"] == "gzip"
        assert response.body == b"gzipped " * 1000


async def test_bomb_from_http_server_is_refused(peer_server):
    async with rttp.Client() as client:
        with pytest.raises(DecodingError, match="decompression bomb"):
            await client.get(str(peer_server) + "/bomb")
        assert client.pool.connections_in_use == 0


async def test_post_bytes_json_and_form(peer_server):
    async with rttp.Client() as client:
        assert (await client.post(str(peer_server) + "/echo", content=b"raw")).body == b"raw"
        response = await client.post(str(peer_server) + "/echo", json={"a": [1, 2]})
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"a": [1, 2]}
        response = await client.put(str(peer_server) + "/echo", data={"k": "v w", "n": ["1", "2"]})
        assert response.text == "k=v+w&n=1&n=2"


async def test_head_from_http_server(peer_server):
    async with rttp.Client() as client:
        response = await client.head(str(peer_server) + "/hello")
        assert response.headers["content-length"] == "22"
        assert response.body == b""


async def test_read_timeout(peer_server):
    async with rttp.Client(timeout=0.3) as client:
        with pytest.raises(ReadTimeout, match=r"read timeout 0\.3s"):
            await client.get(str(peer_server) + "/slow?delay=2")
        assert client.pool.connections_in_use == 0


async def test_redirect_chain_and_limit(peer_server, serve):
    base = str(peer_server)
    async with rttp.Client() as client:
        response = await client.get(f"{base}/redirect?to=/hello")
        assert response.text == "hello from http.server"
        assert [r.status for r in response.history] == [302]
        response = await client.get(f"{base}/redirect?to=/hello", follow_redirects=False)
        assert response.status == 302
        assert response.is_redirect

    async def loop(request):
        return rttp.Response(302, {"Location": request.path})

    _, url = await serve(loop)
    async with rttp.Client(max_redirects=3) as client:
        with pytest.raises(TooManyRedirects, match="max_redirects=3"):
            await client.get(str(url) + "/again")
        assert client.pool.connections_in_use == 0


async def test_redirect_303_becomes_get_and_307_keeps_post(serve):
    async def handler(request):
        body = await request.read()
        if request.path == "/303":
            return rttp.Response(303, {"Location": "/seen"})
        if request.path == "/307":
            return rttp.Response(307, {"Location": "/seen"})
        return rttp.Response(200, body=f"{request.method} {body.decode()}")

    _, url = await serve(handler)
    async with rttp.Client() as client:
        assert (await client.post(str(url) + "/303", content=b"data")).text == "GET "
        assert (await client.post(str(url) + "/307", content=b"data")).text == "POST data"


async def test_cross_origin_redirect_strips_credentials(serve):
    seen = {}

    async def target(request):
        seen.update(request.headers)
        return rttp.Response(200, body="landed")

    _, other = await serve(target)

    async def origin(request):
        return rttp.Response(302, {"Location": str(other) + "/landing"})

    _, url = await serve(origin)
    async with rttp.Client() as client:
        response = await client.get(
            str(url) + "/go",
            headers={
                "Authorization": "Bearer secret",
                "Cookie": "sid=1",
                "Proxy-Authorization": "x",
                "X-Keep": "1",
            },
        )
    assert response.text == "landed"
    assert "authorization" not in seen
    assert "cookie" not in seen
    assert "proxy-authorization" not in seen
    assert seen["x-keep"] == "1"
    assert seen["host"] == other.netloc


async def test_same_origin_redirect_keeps_credentials(serve):
    seen = {}

    async def handler(request):
        if request.path == "/go":
            return rttp.Response(302, {"Location": "/landing"})
        seen.update(request.headers)
        return rttp.Response(200)

    _, url = await serve(handler)
    async with rttp.Client() as client:
        await client.get(str(url) + "/go", headers={"Authorization": "Bearer secret"})
    assert seen["authorization"] == "Bearer secret"


async def _serve_https(serve, handler, cert_files) -> rttp.URL:
    _, url = await serve(
        handler,
        "https://127.0.0.1:0",
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
    )
    return url


async def test_https_is_never_downgraded(serve, cert_files):
    async def handler(request):
        return rttp.Response(302, {"Location": "http://127.0.0.1:1/plain"})

    url = await _serve_https(serve, handler, cert_files)
    async with rttp.Client(verify=cert_files["ca"]) as client:
        with pytest.raises(UnsafeRedirect, match="from https to plain http"):
            await client.get(str(url) + "/")


async def test_a_redirect_to_another_host_name_on_the_same_port_strips_credentials(serve):
    """The origin is scheme, host and port: ``localhost`` is not ``127.0.0.1`` even on the
    same server and port. A 307 re-sends the POST and its body, without the credentials."""
    seen: list[tuple[str, dict, bytes]] = []

    async def handler(request):
        body = await request.read()
        seen.append((request.headers["host"], dict(request.headers), body))
        if request.path == "/go":
            return rttp.Response(307, {"Location": f"http://localhost:{request.url.port}/land"})
        return rttp.Response(200, body="landed")

    _, url = await serve(handler)
    async with rttp.Client() as client:
        response = await client.post(
            f"http://127.0.0.1:{url.port}/go",
            content=b"payload",
            headers={"Authorization": "Basic c2VjcmV0", "Cookie": "sid=2", "X-Keep": "k"},
        )
    assert response.text == "landed"
    [(first_host, first, _), (host, landed, body)] = seen
    assert first_host == f"127.0.0.1:{url.port}"
    assert first["authorization"] == "Basic c2VjcmV0"
    assert host == f"localhost:{url.port}"
    assert "authorization" not in landed
    assert "cookie" not in landed
    assert landed["x-keep"] == "k"
    assert body == b"payload"


async def test_an_https_redirect_to_plain_http_never_connects(serve, cert_files, nursery):
    """The downgrade is refused before any connection: a plain listener at the Location
    sees nothing, for a 307 POST as for a 302 GET."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    accepted: list[bool] = []
    probe_in = trio.Event()

    async def record(stream: trio.SocketStream) -> None:
        accepted.append(True)
        probe_in.set()
        await stream.aclose()

    await nursery.start(trio.serve_listeners, record, listeners)
    plain = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}/plain"

    async def handler(request):
        return rttp.Response(307 if request.method == "POST" else 302, {"Location": plain})

    url = await _serve_https(serve, handler, cert_files)
    async with rttp.Client(verify=cert_files["ca"]) as client:
        with pytest.raises(UnsafeRedirect) as info:
            await client.post(str(url) + "/go", content=b"secret form")
        assert plain in str(info.value)
        with pytest.raises(UnsafeRedirect):
            await client.get(str(url) + "/go")
    async with await trio.open_tcp_stream("127.0.0.1", listeners[0].socket.getsockname()[1]):
        pass  # the listener works: this connection is the first it ever got
    with trio.fail_after(5):
        await probe_in.wait()
    assert accepted == [True]


# -- against our server -------------------------------------------------------------------
async def test_streaming_download_and_upload_with_progress(serve):
    async def handler(request):
        received = 0
        async for chunk in request.stream():
            received += len(chunk)

        async def body():
            for _ in range(20):
                yield b"x" * 10_000

        return rttp.Response(200, {"Content-Length": "200000", "X-Received": str(received)}, body())

    _, url = await serve(handler)

    async def upload():
        for _ in range(10):
            yield b"u" * 5000

    events = []
    async with (
        rttp.Client() as client,
        client.stream(
            "POST",
            str(url),
            content=upload(),
            progress=lambda *args: events.append(args),
        ) as response,
    ):
        assert response.headers["x-received"] == "50000"
        total = 0
        async for chunk in response.stream():
            total += len(chunk)
    assert total == 200_000
    assert events[-1] == (200_000, 200_000, None, 50_000)
    uploads = [e[3] for e in events]
    assert uploads == sorted(uploads)
    assert any(0 < e[1] < 200_000 for e in events)  # reported while downloading


async def test_progress_false_cancels(serve):
    async def handler(request):
        return rttp.Response(200, body=b"z" * 1_000_000)

    _, url = await serve(handler)
    async with rttp.Client() as client:
        with pytest.raises(rttp.errors.Cancelled, match="progress callback"):
            await client.get(str(url), progress=lambda dl_total, dl_now, *_: dl_now < 100_000)
        assert client.pool.connections_in_use == 0


async def test_gzip_round_trip_with_our_server(serve):
    text = "roundtrip " * 5000

    async def handler(request):
        return rttp.Response(200, {"Content-Type": "text/plain"}, text)

    _, url = await serve(handler)
    async with rttp.Client() as client:
        response = await client.get(str(url))
        assert response.headers["content-encoding"] == "gzip"
        assert response.text == text
        raw = await client.get(str(url), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers


async def test_cancel_mid_download_leaks_no_connection(serve):
    sent_first = trio.Event()
    server_saw_close = trio.Event()

    async def handler(request):
        if request.path == "/ok":
            return rttp.Response(200, body="ok")

        async def body():
            try:
                yield b"first chunk"
                sent_first.set()
                while True:
                    await trio.sleep(0.01)
                    yield b"more"
            finally:
                server_saw_close.set()

        return rttp.Response(200, body=body())

    _, url = await serve(handler)
    got: list[bytes] = []
    async with rttp.Client() as client:
        with trio.CancelScope() as scope:
            async with client.stream("GET", str(url)) as response:
                async for chunk in response.stream():
                    got.append(chunk)
                    scope.cancel()  # mid-body: the rest is still coming
        assert scope.cancelled_caught
        assert got[0].startswith(b"first chunk")
        assert client.pool.connections_in_use == 0
        assert client.pool.idle_connections == 0
        with trio.fail_after(5):
            await server_saw_close.wait()
        assert (await client.get(str(url) + "/ok")).text == "ok"


@pytest.mark.parametrize("where", ["connect", "send", "read_head", "read_body"])
async def test_cancellation_at_every_phase_returns_the_slot(serve, where):
    """Cancelled once the request is in the named phase (an event says so, not a timer):
    the pool slot comes back, and the server saw exactly what that phase had sent."""
    gate = trio.Event()
    reached = trio.Event()
    handled: list[str] = []

    async def handler(request):
        handled.append(request.path)
        if where in ("send", "read_head"):
            if where == "read_head":
                reached.set()  # the request is in; the client waits for the head
            await gate.wait()

        async def body():
            yield b"head"
            reached.set()  # the head and a first piece are out; the rest waits
            await gate.wait()
            yield b"tail"

        return rttp.Response(200, body=body())

    _, url = await serve(handler)

    class Stuck(Transport):
        name = "stuck"
        client_schemes = frozenset({"http"})

        async def connect(self, url, options):
            reached.set()
            await trio.sleep_forever()

    class StuckPlugin:
        name = "stuck"

        @hookimpl
        def rttp_register_transports(self, register):
            register(Stuck())

    plugins = [StuckPlugin()] if where == "connect" else []
    if plugins:
        with pytest.warns(PluginWarning, match="replaces plugin 'tcp'"):
            client = rttp.Client(plugins=plugins, limits=rttp.Limits(max_connections=1))
    else:
        client = rttp.Client(limits=rttp.Limits(max_connections=1))

    async def slow_upload():
        yield b"a"
        reached.set()  # the head and a first piece of the body went out
        await trio.sleep_forever()

    async with client, trio.open_nursery() as nursery:
        finished: list[bool] = []

        async def request() -> None:
            if where == "send":
                await client.post(str(url), content=slow_upload())
            else:
                await client.get(str(url))
            finished.append(True)

        nursery.start_soon(request)
        with trio.fail_after(5):
            await reached.wait()
        assert client.pool.connections_in_use == 1
        nursery.cancel_scope.cancel()
    assert not finished
    assert client.pool.connections_in_use == 0
    assert handled == ([] if where == "connect" else ["/"])
    gate.set()


async def test_pool_timeout(serve):
    release = trio.Event()

    async def handler(request):
        async def body():
            yield b"x"
            await release.wait()

        return rttp.Response(200, body=body())

    _, url = await serve(handler)
    async with rttp.Client(
        limits=rttp.Limits(max_connections=1), timeout=rttp.Timeouts(pool=0.2)
    ) as client:
        async with client.stream("GET", str(url)):
            with pytest.raises(PoolTimeout, match="max_connections=1"):
                await client.get(str(url))
            # a request's own pool timeout is the one it waits for
            with pytest.raises(PoolTimeout, match=r"pool timeout 0\.1s"):
                await client.get(str(url), timeout=rttp.Timeouts(pool=0.1))
        release.set()


async def test_connect_timeout_and_refused():
    class Slow(Transport):
        name = "slow"
        client_schemes = frozenset({"slow"})

        async def connect(self, url, options: ConnectOptions):
            await trio.sleep(10)

    class SlowPlugin:
        name = "slow"

        @hookimpl
        def rttp_register_transports(self, register):
            register(Slow())

    async with rttp.Client(plugins=[SlowPlugin()], timeout=rttp.Timeouts(connect=0.2)) as client:
        with pytest.raises(ConnectTimeout, match=r"connect timeout 0\.2s"):
            await client.get("slow://nowhere:1/")
    # a request's own timeout overrides the client's for the connect phase too
    async with rttp.Client(plugins=[SlowPlugin()]) as client:
        with pytest.raises(ConnectTimeout, match=r"connect timeout 0\.3s"):
            await client.get("slow://nowhere:1/", timeout=rttp.Timeouts(connect=0.3))
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    async with rttp.Client() as client:
        with pytest.raises(ConnectError, match="refused"):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_write_timeout(silent_port):
    async def huge():
        while True:
            yield b"w" * 65536

    async with rttp.Client(timeout=rttp.Timeouts(write=0.3)) as client:
        with pytest.raises(WriteTimeout, match=r"write timeout 0\.3s"):
            await client.post(f"http://127.0.0.1:{silent_port}/", content=huge())
        assert client.pool.connections_in_use == 0


async def test_stale_pooled_connection_is_retried(serve):
    async def handler(request):
        return rttp.Response(200, body="fresh")

    _, url = await serve(handler, keep_alive_timeout=0.2)
    async with rttp.Client() as client:
        assert (await client.get(str(url))).text == "fresh"
        [pooled] = [c for conns in client.pool._idle.values() for c in conns]
        sock = raw_socket(pooled.stream)
        with trio.fail_after(5):
            await trio.lowlevel.wait_readable(sock)  # the server's FIN: the idle one is stale
        assert await sock.recv(1, socket.MSG_PEEK) == b""
        assert (await client.get(str(url))).text == "fresh"  # retried on a new connection
        assert client.pool.idle_connections == 1


async def test_sending_side_refuses_injection(serve):
    _, url = await serve(hello)
    async with rttp.Client() as client:
        with pytest.raises(LocalProtocolError, match="invalid value"):
            await client.get(str(url), headers={"X-A": "a\r\nInjected: 1"})
        with pytest.raises(LocalProtocolError, match="invalid header name"):
            await client.get(str(url), headers={"X A": "1"})
        with pytest.raises(LocalProtocolError, match="invalid method"):
            await client.request("GE T", str(url))
        with pytest.raises(LocalProtocolError, match=r"invalid value"):
            await client.get(str(url), headers={"X-A": "a\x00b"})
        assert client.pool.connections_in_use == 0


GOOD_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@contextlib.asynccontextmanager
async def answering_once(answer: bytes):
    """A loopback server whose first connection reads one request and gets ``answer``
    (canned, possibly hostile bytes); later connections get a good answer. Yields the
    base URL."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]

    async def serve_all():
        reply = answer
        while True:
            stream = await listener.accept()
            async with stream:
                await stream.receive_some(65536)
                with contextlib.suppress(trio.BrokenResourceError):
                    await stream.send_all(reply)
            reply = GOOD_ANSWER

    async with listener, trio.open_nursery() as nursery:
        nursery.start_soon(serve_all)
        yield f"http://127.0.0.1:{port}/"
        nursery.cancel_scope.cancel()


async def recovers(client: rttp.Client, url: str) -> None:
    """After a refused answer: nothing held or pooled, and the next request works."""
    assert client.pool.connections_in_use == 0
    assert client.pool.idle_connections == 0  # the connection with the bad answer is gone
    with trio.fail_after(5):
        assert (await client.get(url)).text == "ok"


async def test_oversized_response_header_is_refused():
    answer = b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n"
    async with (
        answering_once(answer) as url,
        rttp.Client(max_response_header_size=8192) as client,
    ):
        with pytest.raises(TooLarge, match="max_response_header_size=8192"):
            await client.get(url)
        await recovers(client, url)


async def test_malformed_response_is_a_protocol_error():
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"
    async with answering_once(answer) as url, rttp.Client() as client:
        with pytest.raises(RemoteProtocolError) as info:
            await client.get(url)
        await recovers(client, url)
    assert info.value.status == 502


async def test_policies_enforce_https_and_disabled(serve):
    _, url = await serve(hello)
    async with rttp.Client(enforce_https=True) as client:
        with pytest.raises(UnsupportedScheme, match="enforce_https"):
            await client.get(str(url))
    async with rttp.Client(disabled=True) as client:
        with pytest.raises(TransportError, match="disabled"):
            await client.get(str(url))
    async with rttp.Client() as client:
        with pytest.raises(UnsupportedScheme, match="gopher"):
            await client.get("gopher://h/")


async def test_base_url_params_and_default_headers(serve):
    async def handler(request):
        return rttp.Response(200, body=json.dumps([request.target, request.headers.get("x-app")]))

    _, url = await serve(handler)
    async with rttp.Client(
        base_url=str(url) + "/api/", headers={"X-App": "1"}, params={"k": "v"}
    ) as client:
        response = await client.get("items", params={"page": 2})
        assert response.json() == ["/api/items?k=v&page=2", "1"]


async def test_errors_inside_the_client_block_are_not_wrapped(serve):
    with pytest.raises(KeyError):
        async with rttp.Client():
            raise KeyError("mine")


# -- TLS and unix sockets -----------------------------------------------------------------
async def test_https_with_trusted_ca(serve, cert_files):
    _, url = await serve(
        hello, "https://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
    )
    assert url.scheme == "https"
    async with rttp.Client(verify=cert_files["ca"]) as client:
        response = await client.get(str(url) + "/secure")
        assert response.text == "hello /secure"
        response = await client.get(f"https://localhost:{url.port}/sni")
        assert response.text == "hello /sni"


async def test_https_verification_failure_is_clear(serve, cert_files):
    _, url = await serve(
        hello, "https://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
    )
    async with rttp.Client() as client:  # system CAs do not know the test CA
        with pytest.raises(TLSError, match="certificate verification failed") as info:
            await client.get(str(url))
        assert info.value.verify_failed
        assert client.pool.connections_in_use == 0
    async with rttp.Client(verify=False) as client:
        assert (await client.get(str(url))).status == 200


async def test_server_tls_context_is_modern(cert_files):
    import ssl

    context = rttp.server_context(cert_files["certfile"], cert_files["keyfile"])
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    for cipher in context.get_ciphers():
        if cipher["protocol"] == "TLSv1.2":
            assert cipher["aead"], cipher["name"]


async def test_unix_socket_round_trip(serve, tmp_path):
    path = tmp_path / "app.sock"
    _, url = await serve(hello, f"unix:{path}")
    assert url.unix_path == str(path)
    encoded = str(path).replace("/", "%2F")
    async with rttp.Client() as client:
        response = await client.get(f"http+unix://{encoded}/over-unix")
        assert response.text == "hello /over-unix"


async def test_unix_stale_socket_replaced_live_one_refused(serve, tmp_path):
    import socket

    path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: stale
    await serve(hello, f"unix:{path}")
    with pytest.raises(rttp.errors.BindError, match="live server"):
        await serve(hello, f"unix:{path}")
    regular = tmp_path / "file.sock"
    regular.write_text("not a socket")
    with pytest.raises(rttp.errors.BindError, match="not a socket"):
        await serve(hello, f"unix:{regular}")


async def test_gzip_response_streaming_keeps_chunks_prompt(serve):
    got_first = trio.Event()

    async def handler(request):
        async def body():
            yield b"first " * 300
            await got_first.wait()
            yield b"second " * 300

        return rttp.Response(200, {"Content-Type": "text/plain"}, body())

    _, url = await serve(handler)
    async with rttp.Client() as client, client.stream("GET", str(url)) as response:
        assert response.headers["content-encoding"] == "gzip"
        chunks = []
        async for chunk in response.stream():
            chunks.append(chunk)
            got_first.set()
    assert b"".join(chunks) == b"first " * 300 + b"second " * 300


async def test_decoded_size_limit(serve):
    async def handler(request):
        return rttp.Response(
            200,
            {"Content-Type": "text/plain", "Content-Encoding": "gzip"},
            gzip.compress(b"y" * 100_000),
        )

    _, url = await serve(handler)
    async with rttp.Client(max_decoded_size=10_000) as client:
        with pytest.raises(DecodingError, match="max_decoded_size=10000"):
            await client.get(str(url))


async def test_cancel_during_tls_handshake_returns_the_slot(nursery):
    """A server that accepts TCP but never speaks TLS: cancelling the handshake (once the
    server holds the ClientHello) frees the slot."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    hello_in = trio.Event()
    received: list[bytes] = []

    async def hold(stream: trio.SocketStream) -> None:
        async with stream:
            received.append(await stream.receive_some(65536))
            hello_in.set()
            await trio.sleep_forever()

    await nursery.start(trio.serve_listeners, hold, listeners)
    port = listeners[0].socket.getsockname()[1]
    async with rttp.Client(limits=rttp.Limits(max_connections=1)) as client:
        with trio.CancelScope() as scope:
            nursery.start_soon(_cancel_on, hello_in, scope)
            await client.get(f"https://127.0.0.1:{port}/")
        assert scope.cancelled_caught
        assert received[0][:1] == b"\x16"  # a TLS handshake record: the phase was reached
        assert client.pool.connections_in_use == 0


async def _cancel_on(event: trio.Event, scope: trio.CancelScope) -> None:
    with trio.fail_after(5):
        await event.wait()
    scope.cancel()


async def test_pool_key_separates_schemes_on_one_port(serve):
    """A pooled plain connection is never reused for https to the same host and port."""
    _, url = await serve(hello)
    async with rttp.Client() as client:
        assert (await client.get(str(url))).status == 200
        assert client.pool.idle_connections == 1
        with pytest.raises(TLSError):
            await client.get(f"https://127.0.0.1:{url.port}/")
        assert client.pool.idle_connections == 1  # the plain one is still there, untouched
        assert (await client.get(str(url))).status == 200


async def test_too_many_response_header_fields_is_refused():
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(50))
    answer = b"HTTP/1.1 200 OK\r\n" + fields + b"Content-Length: 0\r\n\r\n"
    async with answering_once(answer) as url, rttp.Client(max_response_header_count=20) as client:
        with pytest.raises(TooLarge, match="max_response_header_count=20") as info:
            await client.get(url)
        assert info.value.status == 502
        await recovers(client, url)


class _Monotonic:
    """The pool's clock (``time.monotonic``), moved on by a test instead of slept through."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


async def test_keepalive_expiry_and_idle_cap(serve, monkeypatch):
    async def handler(request):
        return rttp.Response(200, body=str(request.client[1]))  # the client's port

    _, url = await serve(handler, keep_alive_timeout=30)
    clock = _Monotonic()
    monkeypatch.setattr(_pool, "time", clock)
    async with rttp.Client(limits=rttp.Limits(keepalive_expiry=0.2)) as client:
        first = (await client.get(str(url))).text
        clock.offset = 0.19
        assert (await client.get(str(url))).text == first  # reused while fresh
        clock.offset += 0.21
        assert (await client.get(str(url))).text != first  # expired: a new connection

    release = trio.Event()
    all_arrived = trio.Event()
    arrived = 0

    async def slow(request):
        nonlocal arrived
        arrived += 1
        if arrived == 4:
            all_arrived.set()
        await release.wait()
        return rttp.Response(200)

    _, slow_url = await serve(slow)
    async with rttp.Client(limits=rttp.Limits(max_keepalive_connections=2)) as client:
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(client.get, str(slow_url))
            with trio.fail_after(5):
                await all_arrived.wait()  # four connections are in use at once
            assert client.pool.connections_in_use == 4
            release.set()
        assert client.pool.idle_connections == 2  # the other two were closed, not kept


async def test_cookie_jar_keeps_scopes_and_deletes(serve):
    seen: list = []

    async def handler(request):
        seen.append((request.path, request.headers.get("cookie")))
        if request.path == "/login":
            return rttp.Response(
                200,
                [
                    ("Set-Cookie", "sid=abc; Path=/"),
                    ("Set-Cookie", "admin=1; Path=/admin"),
                    ("Set-Cookie", "tls=only; Path=/; Secure"),
                ],
            )
        if request.path == "/logout":
            return rttp.Response(200, [("Set-Cookie", "sid=; Max-Age=0; Path=/")])
        return rttp.Response(200)

    _, url = await serve(handler)
    base = str(url)
    async with rttp.Client(cookies={"pref": "dark"}) as client:
        await client.get(base + "/login")
        assert client.cookies.get("sid") == "abc"
        await client.get(base + "/page")
        await client.get(base + "/admin/panel")
        await client.get(base + "/logout")
        await client.get(base + "/after")
        assert client.cookies.get("sid") is None
    cookies = dict(seen)
    assert cookies["/login"] == "pref=dark"
    assert "sid=abc" in cookies["/page"]
    assert "admin=1" not in cookies["/page"]  # path-scoped
    assert "admin=1" in cookies["/admin/panel"]
    assert "tls=only" not in cookies["/page"]  # Secure: never over plain http
    assert "sid" not in (cookies["/after"] or "")  # deleted by Max-Age=0


async def test_cookies_stay_on_their_domain_across_redirects(serve):
    seen: dict = {}

    async def other(request):
        seen["other"] = request.headers.get("cookie")
        return rttp.Response(200)

    _, other_url = await serve(other)

    async def origin(request):
        if request.path == "/go":
            return rttp.Response(
                302,
                [
                    ("Set-Cookie", "sid=secret; Path=/"),
                    ("Location", f"http://localhost:{other_url.port}/land"),
                ],
            )
        return rttp.Response(200)

    _, url = await serve(origin)
    async with rttp.Client() as client:
        await client.get(f"{url}/go")  # 127.0.0.1 sets a cookie, then sends us to localhost
        assert client.cookies.get("sid") == "secret"
    assert seen["other"] is None


@pytest.mark.parametrize("backend", ["h11", "httptools"])
@pytest.mark.parametrize(
    ("start", "words"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Long: ", "max_response_header_size"),
        (b"HTTP/1.1 200 ", "max_"),
    ],
    ids=["header-line", "status-line"],
)
async def test_an_endless_response_head_is_cut_off(backend, start, words, serve):
    """A server that never ends a header line (or the status line) is refused once the
    head passes its limit, on both backends, and the client goes on working (the
    httptools client used to count a field only once it ended, and read forever)."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    sent = 0

    async def endless():
        nonlocal sent
        stream = await listener.accept()
        async with stream:
            await stream.receive_some(65536)
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(start)
                while sent < 64 << 20:  # bounded: 64 MiB at most, if never refused
                    await stream.send_all(b"a" * 65536)
                    sent += 65536

    _, good = await serve(hello)
    async with (
        listener,
        trio.open_nursery() as nursery,
        rttp.Client(max_response_header_size=8192, http_backend=backend) as client,
    ):
        nursery.start_soon(endless)
        with trio.fail_after(10), pytest.raises(TooLarge, match=words) as info:
            await client.get(f"http://127.0.0.1:{port}/")
        assert info.value.status == 502
        assert sent < 1 << 20  # refused within the first MiB, not after reading forever
        assert client.pool.idle_connections == 0  # the connection was not kept
        assert (await client.get(f"{good}/next")).text == "hello /next"


@pytest.mark.parametrize("backend", ["h11", "httptools"])
async def test_buffered_bodies_stop_at_max_body_size_and_streams_do_not(backend, serve):
    """An endless chunked answer stops at ``max_body_size`` for ``client.get`` (httpx's
    hole: it read past 3 GB); ``client.stream`` reads what the caller asks for."""
    produced = 0

    async def endless(request):
        if request.path == "/ok":
            return rttp.Response(200, body="ok")

        async def chunks():
            nonlocal produced
            while produced < 64 << 20:  # bounded: 64 MiB at most
                produced += 65536
                yield b"z" * 65536

        return rttp.Response(200, body=chunks())

    _, url = await serve(endless)
    async with rttp.Client(max_body_size=1 << 20, http_backend=backend) as client:
        with trio.fail_after(10), pytest.raises(TooLarge) as info:
            await client.get(f"{url}/endless")
        assert info.value.limit == "max_body_size"
        assert "max_body_size=1048576" in str(info.value)
        assert produced < 8 << 20  # stopped near the limit, not at the end
        assert client.pool.idle_connections == 0
        async with client.stream("GET", f"{url}/endless") as response:
            total = 0
            async for chunk in response.stream():
                total += len(chunk)
                if total > 2 << 20:
                    break
        assert total > 2 << 20  # streams are not capped
        assert (await client.get(f"{url}/ok")).status == 200
    unlimited = rttp.Client(max_body_size=None)
    assert unlimited.config.max_body_size is None


@pytest.mark.parametrize("backend", ["h11", "httptools"])
@pytest.mark.parametrize(
    ("status_line", "words"),
    [
        (b"HTTP/2.0 200 OK", "HTTP/2.0, not HTTP/1.1 or 1.0"),
        (b"HTTP/1.1 099 Odd", "status"),
    ],
    ids=["http2-version", "status-099"],
)
async def test_odd_status_lines_are_named(backend, status_line, words):
    answer = status_line + b"\r\nContent-Length: 2\r\n\r\nhi"
    async with answering_once(answer) as url, rttp.Client(http_backend=backend) as c:
        with trio.fail_after(5), pytest.raises(RemoteProtocolError) as info:
            await c.get(url)
        await recovers(c, url)
    assert info.value.status == 502
    assert words in str(info.value)
    assert "closed" not in str(info.value)  # not the misleading "closed without a response"
    if words == "status":
        assert "99" in str(info.value)


@pytest.mark.parametrize("backend", ["h11", "httptools"])
async def test_bytes_after_a_response_never_answer_the_next_request(backend):
    """A pooled connection with unread bytes after a complete response is not reused:
    ``smuggled`` must never come back as the answer to the second request."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    connections = 0

    async def server():
        nonlocal connections
        while True:
            stream = await listener.accept()
            connections += 1
            async with stream:
                await stream.receive_some(65536)
                if connections == 1:
                    await stream.send_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
                    )
                    with contextlib.suppress(trio.BrokenResourceError):
                        await stream.receive_some(65536)  # until the client hangs up
                else:
                    await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")

    async with listener, trio.open_nursery() as nursery, rttp.Client(http_backend=backend) as c:
        nursery.start_soon(server)
        with trio.fail_after(5):
            assert (await c.get(f"http://127.0.0.1:{port}/a")).text == "first"
            assert (await c.get(f"http://127.0.0.1:{port}/b")).text == "second"
        assert connections == 2
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
async def test_only_idempotent_requests_are_retried_on_a_stale_connection(method, retried):
    """A pooled connection the server closes after reading the next request, without
    answering: a GET is retried once on a new connection; a POST never is (the server
    may have acted on it), and the caller gets the error."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    seen: list[bytes] = []

    async def server():
        first = True
        while True:
            stream = await listener.accept()
            async with stream:
                data = await stream.receive_some(65536)
                seen.append(data.split(b" ", 1)[0])
                await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none")
                data = await stream.receive_some(65536)
                if data:
                    seen.append(data.split(b" ", 1)[0])
                    if not first:  # on a fresh connection: answer it
                        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
                first = False  # the first connection closes without an answer

    async with listener, trio.open_nursery() as nursery, rttp.Client() as client:
        nursery.start_soon(server)
        base = f"http://127.0.0.1:{port}/"
        with trio.fail_after(5):
            assert (await client.request(method, base, content=b"x")).text == "one"
            if retried:
                assert (await client.request(method, base, content=b"x")).text == "one"
            else:
                with pytest.raises((RemoteProtocolError, ReadError)):
                    await client.request(method, base, content=b"x")
        nursery.cancel_scope.cancel()
    sent = seen.count(method.encode())
    assert sent == (3 if retried else 2)  # the POST went out exactly once more, never twice
