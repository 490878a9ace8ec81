"""The ``zstd`` content encoding, through the zstandard package.

zstandard's streaming decompressor returns all the output of what it is fed, and a few
bytes of zstd can stand for megabytes. So the decoder feeds it small slices, doubling
them while the output stays modest and halving them when it bursts, and keeps the
surplus for later calls: each ``decode`` returns at most ``max_length`` bytes, and what
waits in memory stays within a few MiB whatever the input claims.
"""

from __future__ import annotations

from typing import Any

import zstandard

from rttp.errors import DecodingError
from rttp.plugin import ContentEncoding, Decoder, Encoder, hookimpl

__all__ = ["ZstdEncoding"]

_MIN_SLICE = 16
_MAX_SLICE = 65536


class _ZstdEncoder:
    def __init__(self, level: int) -> None:
        self._compressor = zstandard.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._compressor.compress(data)

    def sync(self) -> bytes:
        return self._compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def flush(self) -> bytes:
        return self._compressor.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class _ZstdDecoder:
    def __init__(self) -> None:
        self._decompressor = zstandard.ZstdDecompressor().decompressobj()
        self._input = bytearray()
        self._output = bytearray()
        self._slice = _MIN_SLICE * 4

    def _pump(self, wanted: int) -> None:
        """Feed slices until ``wanted`` bytes are out or the input is used up."""
        while len(self._output) < wanted and self._input:
            piece = bytes(self._input[: self._slice])
            del self._input[: self._slice]
            try:
                out = self._decompressor.decompress(piece)
            except zstandard.ZstdError as exc:
                raise DecodingError(f"malformed zstd data: {exc}") from exc
            self._output += out
            if len(out) > 4 * max(wanted, 1):
                self._slice = max(_MIN_SLICE, self._slice // 4)  # a burst: slow down
            elif self._slice < _MAX_SLICE:
                self._slice *= 2

    def decode(self, data: bytes, max_length: int) -> bytes:
        self._input += data
        self._pump(max_length)
        out = bytes(self._output[:max_length])
        del self._output[:max_length]
        return out

    def flush(self) -> bytes:
        # the caller has drained decode() already, so little or no input is left here
        self._pump(len(self._output) + _MAX_SLICE)
        if self._input or not self._decompressor.eof:
            raise DecodingError("truncated zstd data: the frame did not end")
        out = bytes(self._output)
        self._output.clear()
        return out


class ZstdEncoding(ContentEncoding):
    """``zstd`` (RFC 8878). ``level`` is the compression level (3, zstd's default)."""

    name = "zstd"
    preference = 30  # smaller and faster than gzip: preferred when the peer accepts it

    def __init__(self, level: int = 3) -> None:
        self.level = level

    def encoder(self) -> Encoder:
        return _ZstdEncoder(self.level)

    def decoder(self) -> Decoder:
        return _ZstdDecoder()


@hookimpl
def rttp_register_content_encodings(register: Any) -> None:
    """Register zstd."""
    register(ZstdEncoding())
