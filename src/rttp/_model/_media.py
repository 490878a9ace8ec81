"""Media types and values: which codec a Content-Type names, which media type a value implies.

No I/O: codecs are passed in as a mapping of media type → codec object (the plugin
set's ``body_codecs``) and used only through ``encode``/``encode_stream``/``decode``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, Mapping
from typing import Any

from ..errors import CodecError
from ._forms import FormData, UploadFile

__all__ = [
    "default_codecs",
    "encode_value",
    "form_fields",
    "infer_media_type",
    "lookup_codec",
    "media_type_of",
    "parse_json",
]


def default_codecs() -> Mapping[str, Any]:
    """The codecs of a message built by hand (``Response(value=...)``, a client's
    ``Request``): the default plugin set's, asked for on first use. Everything the
    library builds is given its server's or client's codecs instead, so this is the one
    way from the model to the plugin system, and it is taken only when asked."""
    from .._plugins import get_plugins  # (the one import from the model upwards)

    codecs: Mapping[str, Any] = get_plugins().body_codecs
    return codecs


#: a JSON string (its contents may hold brackets that nest nothing)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_OPENERS = b"[{"
#: every byte but brackets: what json_depth drops before it counts
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (JSON text, not checked)."""
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if byte in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif byte in b"]}":
            depth -= 1
    return deepest


def parse_json(data: bytes, media_type: str = "application/json", max_depth: int = 128) -> Any:
    """Parse a UTF-8 JSON body. Invalid JSON, or nesting deeper than ``max_depth``
    (Python's parser recurses: ``[`` x 100,000 would exhaust the stack), is a
    :class:`~rttp.errors.CodecError` with status 400 naming what was wrong."""
    # more openers than the limit is the only way past it: count them before scanning
    if data.count(b"[") + data.count(b"{") > max_depth and json_depth(data) > max_depth:
        raise CodecError(
            f"{media_type}: JSON nested deeper than max_json_depth={max_depth}",
            status=400,
            media_type=media_type,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodecError(
            f"{media_type}: body is not UTF-8 (offset {exc.start})",
            status=400,
            media_type=media_type,
        ) from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise CodecError(
            f"{media_type}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            status=400,
            media_type=media_type,
        ) from None
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"{media_type}: {exc}", status=400, media_type=media_type) from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def media_type_of(content_type: str | None) -> str:
    """``"Text/HTML; charset=utf-8"`` → ``"text/html"``; ``""`` for None."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def infer_media_type(value: Any, codecs: Mapping[str, Any] | None = None) -> str:
    """The media type a handler's return value implies.

    str → text/plain; bytes → application/octet-stream; a value of a type a codec
    claims (its ``python_types``: an RTML page → table/rtml, a form submission →
    object/lua) → that codec's type; FormData → multipart/form-data when it holds files,
    else urlencoded; dict, list, numbers, booleans → application/json.
    """
    if isinstance(value, str):
        return "text/plain"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "application/octet-stream"
    if codecs is not None:
        for codec in codecs.values():
            types = getattr(codec, "python_types", ())
            if types and isinstance(value, types):
                media_type: str = codec.media_type
                return media_type
    if isinstance(value, FormData):
        if any(isinstance(v, UploadFile) for _, v in value.multi_items()):
            return "multipart/form-data"
        return "application/x-www-form-urlencoded"
    if isinstance(value, (dict, list, tuple, int, float, bool)) or value is None:
        return "application/json"
    raise CodecError(
        f"cannot infer a media type for a {type(value).__name__} value: give content_type= "
        "or return an rttp.Response"
    )


def lookup_codec(codecs: Mapping[str, Any], content_type: str) -> Any:
    """The codec for a Content-Type, or CodecError (415) naming the type and what is known."""
    media_type = media_type_of(content_type)
    codec = codecs.get(media_type)
    if codec is None:
        known = (
            ", ".join(sorted({getattr(c, "media_type", k) for k, c in codecs.items()})) or "none"
        )
        raise CodecError(
            f"unsupported Content-Type {content_type!r} (decodable: {known})",
            status=415,
            media_type=media_type,
        )
    return codec


def encode_value(
    value: Any, content_type: str | None, codecs: Mapping[str, Any]
) -> tuple[bytes | AsyncIterable[bytes], str, int | None]:
    """Encode ``value`` with the codec for ``content_type`` (inferred when None).

    Returns the body (bytes, or an async iterable for a streamed encoding), the
    Content-Type to send, and the length when known.
    """
    codec = lookup_codec(codecs, content_type or infer_media_type(value, codecs))
    streamed = codec.encode_stream(value)
    if streamed is not None:
        return streamed.chunks, streamed.content_type, streamed.length
    body, sent_type = codec.encode(value)
    if (
        content_type
        and media_type_of(content_type) == media_type_of(sent_type)
        and ";" in content_type
    ):
        sent_type = content_type  # keep parameters the caller chose
    return body, sent_type, len(body)


def form_fields(fields: Any) -> list[tuple[str, Any]]:
    """``(name, value)`` pairs from a mapping (lists for repeats) or a sequence of pairs."""
    if fields is None:
        return []
    if isinstance(fields, Mapping):
        pairs: list[tuple[str, Any]] = []
        for name, item in fields.items():
            if isinstance(item, list):
                pairs.extend((str(name), v) for v in item)
            else:
                pairs.append((str(name), item))
        return pairs
    return [(str(name), item) for name, item in fields]
