"""The ``deflate`` content encoding: zlib framing (RFC 1950); raw deflate is accepted when decoding."""

from __future__ import annotations

import zlib
from typing import Any

from rttp.plugin import ContentEncoding, Decoder, Encoder, hookimpl

from ._zlib import ZlibDecoder, ZlibEncoder

__all__ = ["DeflateEncoding"]


class DeflateEncoding(ContentEncoding):
    """HTTP ``deflate``."""

    name = "deflate"
    preference = 10

    def __init__(self, level: int = 6) -> None:
        self.level = level

    def encoder(self) -> Encoder:
        return ZlibEncoder(zlib.MAX_WBITS, self.level)

    def decoder(self) -> Decoder:
        return ZlibDecoder("deflate", zlib.MAX_WBITS, raw_fallback=True)


@hookimpl
def rttp_register_content_encodings(register: Any) -> None:
    """Register deflate."""
    register(DeflateEncoding())
