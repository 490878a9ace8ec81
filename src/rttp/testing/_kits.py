"""Conformance kits: the contract every transport and content-encoding plugin meets."""

from __future__ import annotations

import os

import trio

from .._model import URL
from ..errors import DecodingError
from ..plugin import ConnectOptions, ContentEncoding, ListenOptions, Transport

__all__ = ["check_content_encoding", "check_transport"]


def check_content_encoding(encoding: ContentEncoding) -> None:
    """Check a content encoding: round trips, chunked equality, bounded output, bad input.

    Raises AssertionError naming the broken rule.
    """
    assert isinstance(encoding.name, str), "an encoding's name must be a str"
    assert encoding.name, "an encoding needs a name"
    samples = [
        b"",
        b"a",
        b"hello world " * 1000,
        os.urandom(200_000),
        bytes(range(256)) * 64,
    ]
    for sample in samples:
        encoder = encoding.encoder()
        whole = encoder.compress(sample) + encoder.flush()
        encoder = encoding.encoder()
        pieces = b"".join(
            encoder.compress(sample[i : i + 1000]) for i in range(0, len(sample), 1000)
        )
        pieces += encoder.flush()
        for encoded in (whole, pieces):
            decoder = encoding.decoder()
            out = bytearray()
            for start in range(0, len(encoded), 777):
                piece = decoder.decode(encoded[start : start + 777], 4096)
                while piece:
                    assert len(piece) <= 4096, (
                        f"{encoding.name}: decode() returned more than max_length"
                    )
                    out += piece
                    piece = decoder.decode(b"", 4096)
            out += decoder.flush()
            assert bytes(out) == sample, f"{encoding.name}: round trip changed {len(sample)} bytes"
    # a sync flush makes everything so far decodable
    encoder = encoding.encoder()
    sync = getattr(encoder, "sync", None)
    if sync is not None:
        data = encoder.compress(b"partial data") + sync()
        decoder = encoding.decoder()
        got = decoder.decode(data, 1 << 16)
        assert got == b"partial data", f"{encoding.name}: sync() output was not decodable at once"
    # a bomb never produces more than max_length per call
    encoder = encoding.encoder()
    bomb = encoder.compress(b"\0" * (8 << 20)) + encoder.flush()
    decoder = encoding.decoder()
    assert len(decoder.decode(bomb, 1024)) <= 1024, f"{encoding.name}: output not bounded"
    # malformed input raises DecodingError and nothing else
    for garbage in (b"\xff" * 64, b"not compressed at all, clearly" * 3):
        decoder = encoding.decoder()
        try:
            piece = decoder.decode(garbage, 1 << 16)
            while piece:
                piece = decoder.decode(b"", 1 << 16)
            decoder.flush()
        except DecodingError:
            continue
        raise AssertionError(f"{encoding.name}: malformed input {garbage[:16]!r} did not raise")
    # truncated input is an error at flush time
    encoder = encoding.encoder()
    full = encoder.compress(b"x" * 10_000 + os.urandom(1000)) + encoder.flush()
    decoder = encoding.decoder()
    try:
        piece = decoder.decode(full[: len(full) // 2], 1 << 16)
        while piece:
            piece = decoder.decode(b"", 1 << 16)
        decoder.flush()
    except DecodingError:
        pass
    else:
        raise AssertionError(f"{encoding.name}: a truncated stream was accepted")


async def check_transport(
    transport: Transport,
    bind: str,
    *,
    listen_options: ListenOptions | None = None,
    connect_options: ConnectOptions | None = None,
    connect_scheme: str | None = None,
) -> None:
    """Check a transport: listen, report a reachable address, carry bytes both ways, close.

    ``connect_scheme`` replaces the bound address's scheme for connecting (for a bind
    scheme such as ``unix`` whose clients use ``http+unix``).
    """
    target = URL(bind)
    listeners = await transport.listen(target, listen_options or ListenOptions())
    assert listeners, f"{transport.name}: listen() returned no listener"
    address = transport.bound_address(listeners[0], target)
    if connect_scheme is not None:
        if address.scheme == "unix":
            address = URL(f"{connect_scheme}://{address.unix_path.replace('/', '%2F')}")  # type: ignore[union-attr]
        else:
            address = address.copy_with(scheme=connect_scheme)
    payload = os.urandom(100_000)
    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:

                async def server() -> None:
                    stream = await listeners[0].accept()
                    received = bytearray()
                    while len(received) < len(payload):
                        chunk = await stream.receive_some(65536)
                        assert chunk, f"{transport.name}: EOF before the payload arrived"
                        received += chunk
                    await stream.send_all(bytes(received[::-1]))
                    await stream.aclose()

                nursery.start_soon(server)
                client = await transport.connect(address, connect_options or ConnectOptions())
                await client.send_all(payload)
                echoed = bytearray()
                while True:
                    chunk = await client.receive_some(65536)
                    if not chunk:
                        break
                    echoed += chunk
                assert bytes(echoed) == payload[::-1], (
                    f"{transport.name}: bytes were changed in transit"
                )
                await client.aclose()
    finally:
        await transport.close_listeners(listeners, target)
