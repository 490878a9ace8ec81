"""``application/json`` and the seeds' ``table`` (Lua tables; JSON on the wire)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rttp.errors import CodecError
from rttp.plugin import DEFAULT_CODEC_LIMITS, BodyCodec, CodecLimits, hookimpl, parse_json

__all__ = ["JSONCodec", "TableCodec", "load_json"]

_SCALARS = (str, int, float, bool, type(None))


def _check(value: Any, path: str, media_type: str) -> None:
    """Refuse what JSON would silently change: non-str keys, sets, objects."""
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CodecError(
                    f"{media_type}: key {key!r} at {path or 'the top'} is not a str",
                    media_type=media_type,
                )
            _check(item, f"{path}.{key}", media_type)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", media_type)
        return
    raise CodecError(
        f"{media_type}: cannot encode {type(value).__name__} at {path or 'the top'}",
        media_type=media_type,
    )


class JSONCodec(BodyCodec):
    """``application/json``: dict, list, str, int, float, bool, None."""

    media_type = "application/json"
    aliases: ClassVar[tuple[str, ...]] = ("json", "text/json")

    def encode(self, value: Any) -> tuple[bytes, str]:
        _check(value, "", self.media_type)
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:
            raise CodecError(f"{self.media_type}: {exc}", media_type=self.media_type) from None
        return text.encode("utf-8"), self.media_type

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        return load_json(data, self.media_type, limits)


def load_json(data: bytes, media_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS) -> Any:
    """Parse a UTF-8 JSON body within ``limits.max_json_depth``; errors are CodecErrors
    (400) naming line and column, or the depth limit."""
    return parse_json(data, media_type, limits.max_json_depth)


class TableCodec(JSONCodec):
    """``table``: the seeds' Lua-table bodies, carried as JSON."""

    media_type = "table"
    aliases = ()


@hookimpl
def rttp_register_body_codecs(register: Any) -> None:
    """Register application/json and table."""
    register(JSONCodec())
    register(TableCodec())
