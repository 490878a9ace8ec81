"""``table/rtml`` (RTML pages) and ``object/lua`` (their form submissions)."""

from __future__ import annotations

from typing import Any

from rttp.plugin import DEFAULT_CODEC_LIMITS, BodyCodec, CodecLimits, hookimpl, rtml

from .json import load_json

__all__ = ["RTMLCodec", "SubmissionCodec"]


class RTMLCodec(BodyCodec):
    """RTML pages: :class:`rttp.rtml.Page` (or a list of element objects), validated both ways."""

    media_type = rtml.MEDIA_TYPE
    aliases = ("rtml",)
    python_types = (rtml.Page,)

    def encode(self, value: Any) -> tuple[bytes, str]:
        page = value if isinstance(value, rtml.Page) else rtml.parse_page(value)
        return page.encode(), self.media_type

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        return rtml.parse_page(load_json(data, self.media_type, limits))


class SubmissionCodec(BodyCodec):
    """``object/lua``: ``ButtonSubmit`` / ``ButtonPush`` (or their dict forms)."""

    media_type = rtml.SUBMISSION_MEDIA_TYPE
    python_types = (rtml.ButtonSubmit, rtml.ButtonPush)

    def encode(self, value: Any) -> tuple[bytes, str]:
        if not isinstance(value, (rtml.ButtonSubmit, rtml.ButtonPush)):
            value = rtml.decode_submission(value)
        return rtml.encode_submission(value), self.media_type

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        return rtml.decode_submission(load_json(data, self.media_type, limits))


@hookimpl
def rttp_register_body_codecs(register: Any) -> None:
    """Register table/rtml and object/lua."""
    register(RTMLCodec())
    register(SubmissionCodec())
