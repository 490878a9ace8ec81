"""Streaming zlib coders shared by the gzip and deflate plugins (bounded output per call)."""

from __future__ import annotations

import zlib

from rttp.errors import DecodingError

__all__ = ["ZlibDecoder", "ZlibEncoder"]


class ZlibEncoder:
    """A compressor for one body (gzip or zlib framing, chosen by ``wbits``)."""

    __slots__ = ("_obj",)

    def __init__(self, wbits: int, level: int = 6) -> None:
        self._obj = zlib.compressobj(level, zlib.DEFLATED, wbits)

    def compress(self, data: bytes) -> bytes:
        """Compress a chunk."""
        return self._obj.compress(data)

    def sync(self) -> bytes:
        """Everything so far, decodable now (Z_SYNC_FLUSH)."""
        return self._obj.flush(zlib.Z_SYNC_FLUSH)

    def flush(self) -> bytes:
        """Finish the stream."""
        return self._obj.flush()


class ZlibDecoder:
    """A decompressor that never returns more than ``max_length`` bytes per call.

    ``name`` is the coding token, for messages. For ``deflate`` the zlib wrapper is
    expected, and a raw deflate stream (as some servers send) is accepted too.
    Concatenated gzip members are decoded one after the other.
    """

    __slots__ = (
        "_multi_member",
        "_name",
        "_obj",
        "_pending",
        "_raw_fallback",
        "_started",
        "_wbits",
    )

    def __init__(self, name: str, wbits: int, *, raw_fallback: bool = False) -> None:
        self._name = name
        self._wbits = wbits
        self._obj = zlib.decompressobj(wbits)
        self._pending = b""
        self._started = False
        self._raw_fallback = raw_fallback
        self._multi_member = wbits > 15

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Feed ``data`` and return at most ``max_length`` decoded bytes."""
        buf = self._pending + data if self._pending else data
        if not buf and self._obj.eof:
            return b""
        try:
            out = self._obj.decompress(buf, max_length)
        except zlib.error as exc:
            if self._raw_fallback and not self._started:
                self._raw_fallback = False
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._pending = b""
                return self.decode(buf, max_length)
            raise DecodingError(f"invalid {self._name} data: {exc}") from exc
        self._started = True
        self._pending = self._obj.unconsumed_tail
        if self._obj.eof and self._obj.unused_data:
            rest = self._obj.unused_data
            if self._multi_member and rest[:2] == b"\x1f\x8b":
                self._obj = zlib.decompressobj(self._wbits)
                self._pending = rest
            elif rest.strip(b"\x00"):
                raise DecodingError(
                    f"{len(rest)} bytes of unexpected data after the end of the {self._name} stream"
                )
        return out

    def flush(self) -> bytes:
        """At the end of the body: what remains; a truncated stream is an error."""
        tail = self._obj.flush()
        if self._started and not self._obj.eof:
            raise DecodingError(
                f"the {self._name} stream ended before its end marker (truncated body)"
            )
        return tail
