"""rttp.HTTPConnection, the one engine: both roles over memory streams, a socketpair,
TLS and real peers (curl, http.server), and every option of the seed's protocol object."""

from __future__ import annotations

import gzip
import io
import shutil
import ssl
import zlib

import pytest
import trio
import trio.testing

import rttp
from rttp.errors import ProtocolError, ReadError, RemoteProtocolError, TooLarge

BACKENDS = ["h11", "httptools"]


def _pair() -> tuple[trio.abc.Stream, trio.abc.Stream]:
    return trio.testing.memory_stream_pair()


async def _read_until(
    stream: trio.abc.Stream, marker: bytes, *, until_close: bool = False
) -> bytes:
    out = b""
    with trio.fail_after(5):
        while until_close or marker not in out:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            out += chunk
    return out


async def _answer_one(raw: bytes, **options) -> tuple[bytes, rttp.Request | None]:
    """Send ``raw`` to a server-role connection; it answers what make_response(**options)
    builds; returns the bytes the peer got (until close) and the request read."""
    client, server = _pair()
    conn = rttp.HTTPConnection(server, http_backend=options.pop("backend", None))
    seen: list[rttp.Request | None] = []
    mode = options.pop("receive_content", "bytes")

    async def serve() -> None:
        try:
            request = await conn.read_request(mode)
        except ProtocolError as exc:
            seen.append(None)
            await conn.send_error(exc)
        else:
            seen.append(request)
            assert request is not None
            await conn.send_response(conn.make_response(request, close=True, **options))
        await conn.aclose(linger=False)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await client.send_all(raw)
        out = await _read_until(client, b"", until_close=True)
    return out, seen[0]


def _split(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


# -- both roles, several streams -----------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
async def test_server_role_over_a_memory_stream_keeps_alive_and_ends_at_eof(backend):
    client, server = _pair()
    conn = rttp.HTTPConnection(server, http_backend=backend)
    paths: list[str] = []

    async def serve() -> None:
        while (request := await conn.read_request("bytes")) is not None:
            paths.append(request.path)
            await conn.send_response(conn.make_response(request, content=b"hi " + request.body))
        await conn.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        await client.send_all(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        first = await _read_until(client, b"hi abc")
        await client.send_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        second = await _read_until(client, b"hi ")
        await client.send_eof()
        assert await _read_until(client, b"", until_close=True) == b""
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 6\r\n" in first
    assert second.endswith(b"\r\n\r\nhi ")
    assert paths == ["/a", "/b"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_client_role_against_the_server_role(backend):
    a, b = _pair()
    client = rttp.HTTPConnection(a, http_backend=backend)
    server = rttp.HTTPConnection(b, http_backend=backend)

    async def serve() -> None:
        request = await server.read_request("bytes")
        assert request is not None
        assert request.headers["host"] == "example.org"
        await server.send_response(server.make_response(request, content=request.body[::-1]))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        request = client.make_request(host="example.org", method="PUT", uri="/x", content=b"abc")
        await client.send_request(request)
        response = await client.read_response(request)
        assert response.status == 200
        assert await response.read() == b"cba"
    assert client.next_cycle()


async def test_both_roles_over_a_socketpair():
    left, right = trio.socket.socketpair()
    client = rttp.HTTPConnection(trio.SocketStream(left))
    server = rttp.HTTPConnection(trio.SocketStream(right))

    async def serve() -> None:
        request = await server.read_request(None)  # the body is read and discarded
        assert request is not None
        assert request.body == b""
        await server.send_response(server.make_response(request, content="done"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        request = client.make_request(host="x", method="POST", content=b"z" * 100_000)
        await client.send_request(request)
        response = await client.read_response(request)
        assert await response.read() == b"done"
    await client.aclose()
    await server.aclose()


async def test_server_role_over_tls_sees_https(ca):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    a, b = _pair()
    client = rttp.HTTPConnection(trio.SSLStream(a, client_ctx, server_hostname="localhost"))
    server = rttp.HTTPConnection(trio.SSLStream(b, server_ctx, server_side=True))
    schemes: list[str] = []

    async def serve() -> None:
        request = await server.read_request()
        assert request is not None
        schemes.append(request.url.scheme)
        await server.send_response(server.make_response(request, content=b"secret"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        request = client.make_request(host="localhost", uri="/tls")
        await client.send_request(request)
        response = await client.read_response(request)
        assert await response.read() == b"secret"
    assert schemes == ["https"]


@pytest.mark.peer
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_server_role_answers_curl(nursery):
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    async def handle(stream: trio.SocketStream) -> None:
        async with rttp.HTTPConnection(stream) as conn:
            while (request := await conn.read_request("bytes")) is not None:
                await conn.send_response(
                    conn.make_response(
                        request,
                        content=f"{request.method} {request.path} {request.body.decode()}" * 50,
                        content_type="text/plain",
                    )
                )

    await nursery.start(trio.serve_listeners, handle, listeners)
    result = await trio.run_process(
        ["curl", "-s", "--compressed", "-d", "x=1", f"http://127.0.0.1:{port}/form"],
        capture_stdout=True,
    )
    assert result.stdout.decode() == "POST /form x=1" * 50


@pytest.mark.peer
async def test_client_role_against_python_http_server(peer_server):
    stream = await trio.open_tcp_stream(peer_server.host, peer_server.port)
    async with rttp.HTTPConnection(stream, where=f"127.0.0.1:{peer_server.port}") as conn:
        request = conn.make_request(host=f"127.0.0.1:{peer_server.port}", uri="/chunked")
        await conn.send_request(request)
        response = await conn.read_response(request)
        assert await response.read() == b"one two three"
        # the same connection carries the next exchange
        request = conn.make_request(
            host=f"127.0.0.1:{peer_server.port}", uri="/redirect?code=301&to=/hello"
        )
        await conn.send_request(request)
        response = await conn.read_response(request)
        await response.read()
        assert response.status == 301
        assert response.redirect_location == f"http://127.0.0.1:{peer_server.port}/hello"
        request = conn.make_request(host=f"127.0.0.1:{peer_server.port}", uri="/gzip")
        await conn.send_request(request)
        response = await conn.read_response(request)
        assert await response.read() == b"gzipped " * 1000  # compress=True asked and decoded


# -- the seed's options ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
async def test_max_line_size_at_its_minimum_and_crossed(backend):
    with pytest.raises(ValueError, match="max_line_size must be an int of at least 1024"):
        rttp.HTTPConnection(_pair()[0], max_line_size=1023)

    async def status(raw: bytes) -> tuple[int, str]:
        conn = rttp.HTTPConnection(await _loaded(raw), max_line_size=1024, http_backend=backend)
        try:
            request = await conn.read_request("bytes")
        except ProtocolError as exc:
            return exc.status, str(exc)
        assert request is not None
        return 200, ""

    long_target = b"/" + b"a" * 1100
    assert (await status(b"GET /" + b"a" * 990 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))[0] == 200
    code, message = await status(b"GET " + long_target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert code == 414
    assert "1024" in message
    code, message = await status(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * 1100 + b"\r\n\r\n"
    )
    assert code == 431
    assert "max_line_size=1024" in message
    assert (await status(b"GET / HTTP/1.1\r\nHost: x\r\nX-Ok: " + b"v" * 900 + b"\r\n\r\n"))[
        0
    ] == 200
    code, message = await status(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 1500
    )
    assert code == 400
    assert "max_line_size=1024" in message


@pytest.mark.parametrize("backend", BACKENDS)
async def test_allowed_methods_answer_405_with_allow(backend):
    out, _ = await _answer_one(
        b"DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n",
        backend=backend,
        allowed_methods={"get": True, "head": True, "post": False},
        content=b"never",
    )
    line, headers, body = _split(out)
    assert line == "HTTP/1.1 405 Method Not Allowed"
    assert headers["allow"] == "GET, HEAD"
    assert b"DELETE" in body
    assert b"never" not in body
    out, _ = await _answer_one(
        b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n", allowed_methods=["GET"], content=b"ok"
    )
    assert out.endswith(b"\r\n\r\nok")


TEXT = b"compress me " * 200  # 2,400 bytes


@pytest.mark.parametrize(
    ("accept", "content_type", "body", "compress", "expected"),
    [
        ("gzip, deflate", "text/plain", TEXT, True, "gzip"),
        ("deflate", "text/plain", TEXT, True, "deflate"),
        ("gzip;q=0, deflate", "text/plain", TEXT, True, "deflate"),
        ("gzip;q=0", "text/plain", TEXT, True, None),
        ("gzip", "image/png", TEXT, True, None),
        ("gzip", "text/plain", TEXT[:999], True, None),
        ("gzip", "text/plain", TEXT[:1000], True, "gzip"),
        ("gzip", "text/plain", TEXT, False, None),
        (None, "text/plain", TEXT, True, None),
    ],
)
async def test_compression_follows_the_seeds_rules(accept, content_type, body, compress, expected):
    accept_line = f"Accept-Encoding: {accept}\r\n".encode() if accept else b""
    out, _ = await _answer_one(
        b"GET / HTTP/1.1\r\nHost: x\r\n" + accept_line + b"\r\n",
        content=body,
        content_type=content_type,
        compress=compress,
    )
    _, headers, sent = _split(out)
    assert headers.get("content-encoding") == expected
    if expected == "gzip":
        assert gzip.decompress(sent) == body
    elif expected == "deflate":
        assert zlib.decompress(sent) == body
    else:
        assert sent == body


@pytest.mark.parametrize("backend", BACKENDS)
async def test_each_receive_content_mode(backend):
    raw = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    _, request = await _answer_one(raw, backend=backend, receive_content="bytes")
    assert request is not None
    assert request.body == b"abcde"
    _, request = await _answer_one(raw, backend=backend, receive_content=None)
    assert request is not None
    assert request.body == b""
    chunks: list[bytes] = []
    _, request = await _answer_one(raw, backend=backend, receive_content=chunks.append)
    assert b"".join(chunks) == b"abcde"
    got: list[bytes] = []

    async def reader(chunk: bytes) -> None:
        await trio.lowlevel.checkpoint()
        got.append(chunk)

    _, request = await _answer_one(raw, backend=backend, receive_content=reader)
    assert b"".join(got) == b"abcde"
    streamed: list[bytes] = []
    client, server = _pair()
    conn = rttp.HTTPConnection(server, http_backend=backend)
    await client.send_all(raw)
    request = await conn.read_request()  # "stream": the caller reads it
    assert request is not None
    assert request.is_streaming
    async for chunk in request.stream():
        streamed.append(chunk)
    assert b"".join(streamed) == b"abcde"
    with pytest.raises(ValueError, match="receive_content must be"):
        await rttp.HTTPConnection(await _loaded(raw)).read_request("text")


async def _loaded(raw: bytes) -> trio.abc.Stream:
    """The server end of a memory stream pair the peer has already sent ``raw`` on."""
    client, server = _pair()
    await client.send_all(raw)
    return server


async def _chunks():
    for part in (b"one ", b"two ", b"three"):
        await trio.lowlevel.checkpoint()
        yield part


@pytest.mark.parametrize("backend", BACKENDS)
async def test_content_as_bytes_iterator_and_file_with_content_size(backend, tmp_path):
    request_line = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    out, _ = await _answer_one(request_line, backend=backend, content=_chunks())
    _, headers, body = _split(out)
    assert headers["transfer-encoding"] == "chunked"
    assert body == b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"
    out, _ = await _answer_one(request_line, backend=backend, content=_chunks(), content_size=13)
    _, headers, body = _split(out)
    assert headers["content-length"] == "13"
    assert "transfer-encoding" not in headers
    assert body == b"one two three"
    path = tmp_path / "file.bin"
    path.write_bytes(b"0123456789" * 10_000)
    with path.open("rb") as file:
        file.seek(10)
        out, _ = await _answer_one(request_line, backend=backend, content=file)
    _, headers, body = _split(out)
    assert headers["content-length"] == str(100_000 - 10)
    assert body == (b"0123456789" * 10_000)[10:]
    out, _ = await _answer_one(request_line, backend=backend, content=io.BytesIO(b"in memory"))
    assert _split(out)[2].endswith(b"in memory\r\n0\r\n\r\n")
    conn = rttp.HTTPConnection(await _loaded(request_line))
    request = await conn.read_request()
    with pytest.raises(ValueError, match="content_size=3 does not match the 4 bytes"):
        conn.make_response(request, content=b"four", content_size=3)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_close_makes_it_the_last_answer(backend):
    client, server = _pair()
    conn = rttp.HTTPConnection(server, http_backend=backend)
    await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    request = await conn.read_request()
    assert request is not None
    await conn.send_response(conn.make_response(request, content=b"bye", close=True))
    assert await conn.read_request() is None  # the pipelined request is never read
    out = await _read_until(client, b"bye")
    assert b"Connection: close\r\n" in out


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
async def test_errtype_protocol_for_a_violation(backend):
    client, server = _pair()
    conn = rttp.HTTPConnection(server, http_backend=backend)
    await client.send_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with pytest.raises(RemoteProtocolError) as info:
        await conn.read_request()
    assert info.value.errtype == "protocol"
    assert info.value.status == 400
    assert conn.closing
    assert TooLarge("x").errtype == "protocol"


class _Broken(trio.abc.Stream):
    async def send_all(self, data):
        raise trio.BrokenResourceError("reset by peer")

    async def wait_send_all_might_not_block(self):
        pass

    async def receive_some(self, max_bytes=None):
        raise trio.BrokenResourceError("reset by peer")

    async def aclose(self):
        pass


async def test_errtype_io_for_a_broken_connection():
    conn = rttp.HTTPConnection(_Broken(), where="peer.example:80")
    with pytest.raises(ReadError) as info:
        await conn.read_request()
    assert info.value.errtype == "io"
    assert "peer.example:80" in str(info.value)
    client = rttp.HTTPConnection(_Broken())
    request = client.make_request(host="x")
    await client.send_request(request)  # an early answer may still be readable
    with pytest.raises(ReadError):
        await client.read_response(request)
    assert rttp.errors.ReadTimeout("t").errtype == "io"
    assert rttp.errors.CodecError("c").errtype is None


# -- piece by piece, and detach -------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_send_head_send_data_finish(backend, method):
    client, server = _pair()
    conn = rttp.HTTPConnection(server, http_backend=backend)
    await client.send_all(f"{method} / HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    request = await conn.read_request()
    assert request is not None
    await conn.send_head(200, [("Content-Type", "text/plain")])
    with pytest.raises(RuntimeError, match="send_head"):
        await conn.send_head(200)
    await conn.send_data(b"piece one, ")
    await conn.send_data(b"piece two")
    await conn.finish()
    await conn.finish()  # twice is fine
    out = await _read_until(client, b"0\r\n\r\n" if method == "GET" else b"\r\n\r\n")
    _, headers, body = _split(out)
    if method == "GET":
        assert headers["transfer-encoding"] == "chunked"
        assert body == b"b\r\npiece one, \r\n9\r\npiece two\r\n0\r\n\r\n"
    else:
        assert body == b""


async def test_detach_hands_over_the_bytes_after_the_head():
    client, server = _pair()
    conn = rttp.HTTPConnection(server)
    await client.send_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly bytes"
    )
    request = await conn.read_request()
    assert request is not None
    answer = rttp.Response(101, [("Upgrade", "echo"), ("Connection", "Upgrade")])

    async def on_upgrade(stream):  # pragma: no cover - the test drives the stream itself
        pass

    answer.on_upgrade = on_upgrade
    await conn.send_response(answer)
    assert conn.upgraded
    stream = conn.detach()
    assert await stream.receive_some(100) == b"early bytes"  # the 101 goes out first
    assert (await _read_until(client, b"\r\n\r\n")).startswith(b"HTTP/1.1 101 ")
    with pytest.raises(RuntimeError, match="detached already"):
        conn.detach()


class _Recording(trio.abc.Stream):
    """Forwards to ``inner``, keeping every object passed to send_all."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.sends: list = []

    async def send_all(self, data):
        self.sends.append(data)
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self):
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes=None):
        return await self.inner.receive_some(max_bytes)

    async def aclose(self):
        await self.inner.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_large_body_goes_out_uncopied_in_pieces_each_timed(backend, autojump_clock):
    """An 8 MiB body to a client reading 64 KiB every 0.1 s (12.8 s in all): each 256 KiB
    piece is timed (the write timeout of 1 s bounds the time without progress, not the
    whole transfer), and no piece is a copy of the handler's bytes."""
    from rttp._io.engine._answering import JOIN_MAX, WRITE_PIECE

    body = bytes(range(256)) * (8 << 12)  # 8 MiB
    client, server_end = trio.testing.lockstep_stream_pair()  # no buffering at all
    recording = _Recording(server_end)
    conn = rttp.HTTPConnection(recording, http_backend=backend, timeout=1.0)
    got = bytearray()

    async def slow_reader() -> None:
        await client.send_all(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while True:
            chunk = await client.receive_some(65536)
            if not chunk:
                return
            got.extend(chunk)
            await trio.sleep(0.1)  # a slow client, on the virtual clock

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slow_reader)
        request = await conn.read_request()
        assert request is not None
        await conn.send_response(conn.make_response(request, content=body))
        await conn.aclose()
    assert got.endswith(body)
    assert len(body) > JOIN_MAX
    pieces = [s for s in recording.sends if isinstance(s, memoryview)]
    assert pieces
    assert all(piece.obj is body for piece in pieces)  # views of the handler's bytes
    assert max(len(s) for s in recording.sends) <= WRITE_PIECE
