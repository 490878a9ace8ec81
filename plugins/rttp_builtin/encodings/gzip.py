"""The ``gzip`` content encoding (also answers to ``x-gzip``)."""

from __future__ import annotations

import zlib
from typing import Any

from rttp.plugin import ContentEncoding, Decoder, Encoder, hookimpl

from ._zlib import ZlibDecoder, ZlibEncoder

__all__ = ["GzipEncoding"]


class GzipEncoding(ContentEncoding):
    """gzip framing (RFC 1952) around deflate."""

    name = "gzip"
    preference = 20

    def __init__(self, level: int = 6) -> None:
        self.level = level

    def encoder(self) -> Encoder:
        return ZlibEncoder(16 + zlib.MAX_WBITS, self.level)

    def decoder(self) -> Decoder:
        return ZlibDecoder("gzip", 16 + zlib.MAX_WBITS)


class XGzipEncoding(GzipEncoding):
    """``x-gzip``, the old spelling of gzip."""

    name = "x-gzip"
    offer = False  # an alias: decoded, never offered


@hookimpl
def rttp_register_content_encodings(register: Any) -> None:
    """Register gzip."""
    register(GzipEncoding())
    register(XGzipEncoding())
