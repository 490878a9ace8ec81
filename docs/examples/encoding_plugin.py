"""A content-encoding plugin, whole: raw DEFLATE (no zlib header) as ``x-deflate-raw``,
on the standard library's zlib. The suite runs rttp's conformance kit on it."""

from __future__ import annotations

import zlib

from rttp.errors import DecodingError
from rttp.plugin import ContentEncoding, hookimpl


class RawDeflateEncoder:
    """The streaming compressor: ``compress`` may buffer, ``sync`` makes everything so
    far decodable (a streamed body's pieces), ``flush`` ends the stream."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(wbits=-15)

    def compress(self, data: bytes) -> bytes:
        return self._zlib.compress(data)

    def sync(self) -> bytes:
        return self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def flush(self) -> bytes:
        return self._zlib.flush(zlib.Z_FINISH)


class RawDeflateDecoder:
    """The streaming decompressor with *bounded output*: ``decode(data, max_length)``
    returns at most ``max_length`` bytes and keeps the input it has not used, so a
    decompression bomb is read a bounded piece at a time (the client's
    ``max_decoded_size`` and ``max_decompression_ratio`` stop it)."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(wbits=-15)
        self._pending = b""

    def decode(self, data: bytes, max_length: int) -> bytes:
        source = self._pending + data
        try:
            out = self._zlib.decompress(source, max_length)
        except zlib.error as exc:
            raise DecodingError(f"x-deflate-raw: malformed data: {exc}") from None
        self._pending = self._zlib.unconsumed_tail  # what max_length held back
        return out

    def flush(self) -> bytes:
        """At the end of the body: a stream that stopped short is an error, not a
        shorter body."""
        if not self._zlib.eof:
            raise DecodingError("x-deflate-raw: the stream ended before its last block")
        return self._zlib.flush()


class RawDeflate(ContentEncoding):
    """``Content-Encoding: x-deflate-raw``; not offered by default (an experiment: it is
    decoded when a peer sends it, never asked for)."""

    name = "x-deflate-raw"
    offer = False

    def encoder(self) -> RawDeflateEncoder:
        return RawDeflateEncoder()

    def decoder(self) -> RawDeflateDecoder:
        return RawDeflateDecoder()


@hookimpl
def rttp_register_content_encodings(register):  # type: ignore[no-untyped-def]
    """The hook pluggy calls: register the encoding (once per plugin set)."""
    register(RawDeflate())
