"""``none`` (empty body), ``text/plain`` and ``text/html`` (str, charset honoured), ``application/octet-stream`` (bytes)."""

from __future__ import annotations

from typing import Any

from rttp.errors import CodecError
from rttp.plugin import DEFAULT_CODEC_LIMITS, BodyCodec, CodecLimits, hookimpl

__all__ = ["HTMLCodec", "NoneCodec", "OctetStreamCodec", "TextCodec", "charset_of"]


def charset_of(content_type: str, default: str = "utf-8") -> str:
    """The ``charset`` parameter of a Content-Type, or ``default``."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return default


class NoneCodec(BodyCodec):
    """The seeds' ``none``: no body at all (their GET content type)."""

    media_type = "none"

    def encode(self, value: Any) -> tuple[bytes, str]:
        if value is None or value == b"" or value == "":
            return b"", "none"
        raise CodecError(
            f"a 'none' body carries no value, got {type(value).__name__}", media_type="none"
        )

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        if data:
            raise CodecError(
                f"a body declared 'none' must be empty, got {len(data)} bytes",
                status=400,
                media_type="none",
            )
        return None


class TextCodec(BodyCodec):
    """``text/plain``: a ``str``; decoding honours the charset (UTF-8 by default)."""

    media_type = "text/plain"
    aliases = ("text",)

    def encode(self, value: Any) -> tuple[bytes, str]:
        if not isinstance(value, str):
            raise CodecError(
                f"text/plain encodes a str, got {type(value).__name__}", media_type=self.media_type
            )
        return value.encode("utf-8"), "text/plain; charset=utf-8"

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        charset = charset_of(content_type)
        try:
            return data.decode(charset)
        except LookupError:
            raise CodecError(
                f"unknown charset {charset!r} in Content-Type {content_type!r}",
                status=415,
                media_type=self.media_type,
            ) from None
        except UnicodeDecodeError as exc:
            raise CodecError(
                f"body is not valid {charset}: byte {data[exc.start : exc.start + 1]!r} at offset {exc.start}",
                status=400,
                media_type=self.media_type,
            ) from None


class HTMLCodec(TextCodec):
    """``text/html``: a ``str`` document (what :func:`rttp.rtml.to_html` produces)."""

    media_type = "text/html"
    aliases = ("html",)

    def encode(self, value: Any) -> tuple[bytes, str]:
        if not isinstance(value, str):
            raise CodecError(
                f"text/html encodes a str, got {type(value).__name__}", media_type=self.media_type
            )
        return value.encode("utf-8"), "text/html; charset=utf-8"


class OctetStreamCodec(BodyCodec):
    """``application/octet-stream``: bytes as they are."""

    media_type = "application/octet-stream"
    aliases = ("bytes",)

    def encode(self, value: Any) -> tuple[bytes, str]:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value), self.media_type
        raise CodecError(
            f"octet-stream encodes bytes, got {type(value).__name__}", media_type=self.media_type
        )

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        return bytes(data)


@hookimpl
def rttp_register_body_codecs(register: Any) -> None:
    """Register none, text/plain and application/octet-stream."""
    register(NoneCodec())
    register(TextCodec())
    register(HTMLCodec())
    register(OctetStreamCodec())
