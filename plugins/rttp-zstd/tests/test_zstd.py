"""rttp-zstd meets the content-encoding contract, and works end to end."""

from __future__ import annotations

import trio
import zstandard
from rttp_zstd import ZstdEncoding

import rttp
from rttp.testing import check_content_encoding


def test_the_contract() -> None:
    check_content_encoding(ZstdEncoding())


def test_it_is_found_through_its_entry_point() -> None:
    assert "zstd" in rttp.get_plugins().encodings


async def test_a_server_compresses_and_a_client_decodes(nursery: trio.Nursery) -> None:
    text = "zstd " * 10_000

    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, {"Content-Type": "text/plain"}, text)

    server = rttp.Server(handler, "http://127.0.0.1:0", compress_encodings=("zstd",))
    (url,) = await nursery.start(server.serve)
    async with rttp.Client() as client:
        answer = await client.get(str(url))
        assert answer.headers["content-encoding"] == "zstd"
        assert answer.text == text
    # a peer we did not write decodes what we sent
    stream = await trio.open_tcp_stream(url.host, url.port)
    await stream.send_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: zstd\r\nConnection: close\r\n\r\n"
    )
    received = b""
    while chunk := await stream.receive_some(65536):
        received += chunk
    body = received.split(b"\r\n\r\n", 1)[1]
    if b"transfer-encoding: chunked" in received.lower().split(b"\r\n\r\n")[0]:
        pieces, rest = [], body
        while True:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            pieces.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(pieces)
    assert zstandard.ZstdDecompressor().decompressobj().decompress(body).decode() == text


def test_a_bomb_stays_bounded() -> None:
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (256 << 20))  # 256 MiB in a few KiB
    decoder = ZstdEncoding().decoder()
    out = decoder.decode(bomb, 65536)
    assert len(out) <= 65536
    assert len(decoder._output) < 16 << 20  # what waits in memory is a few MiB at most
