"""``table/rtml`` (RTML pages) and ``object/lua`` (their form submissions)."""

from __future__ import annotations

import json
from typing import Any

from rttp import rtml
from rttp.errors import CodecError
from rttp.plugin import DEFAULT_CODEC_LIMITS, BodyCodec, CodecLimits, hookimpl

__all__ = ["RTMLCodec", "SubmissionCodec"]


def _load(data: bytes, media_type: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CodecError(
            f"{media_type}: body is not UTF-8 (offset {exc.start})",
            status=400,
            media_type=media_type,
        ) from None
    except json.JSONDecodeError as exc:
        raise CodecError(
            f"{media_type}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            status=400,
            media_type=media_type,
        ) from None


class RTMLCodec(BodyCodec):
    """RTML pages: :class:`rttp.rtml.Page` (or a list of element objects), validated both ways."""

    media_type = rtml.MEDIA_TYPE
    aliases = ("rtml",)

    def encode(self, value: Any) -> tuple[bytes, str]:
        page = value if isinstance(value, rtml.Page) else rtml.parse_page(value)
        return page.encode(), self.media_type

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        return rtml.parse_page(_load(data, self.media_type))


class SubmissionCodec(BodyCodec):
    """``object/lua``: ``ButtonSubmit`` / ``ButtonPush`` (or their dict forms)."""

    media_type = rtml.SUBMISSION_MEDIA_TYPE

    def encode(self, value: Any) -> tuple[bytes, str]:
        if not isinstance(value, (rtml.ButtonSubmit, rtml.ButtonPush)):
            value = rtml.decode_submission(value)
        return rtml.encode_submission(value), self.media_type

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        return rtml.decode_submission(_load(data, self.media_type))


@hookimpl
def rttp_register_body_codecs(register: Any) -> None:
    """Register table/rtml and object/lua."""
    register(RTMLCodec())
    register(SubmissionCodec())
