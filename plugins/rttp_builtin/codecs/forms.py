"""``application/x-www-form-urlencoded``: an ordered multi-dict of fields, streamed field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from rttp.errors import CodecError, TooLarge
from rttp.plugin import (
    DEFAULT_CODEC_LIMITS,
    FIELD_END,
    BodyCodec,
    CodecLimits,
    FieldEvent,
    FieldInfo,
    FormData,
    QueryParams,
    UploadFile,
    assemble_form,
    hookimpl,
)

__all__ = ["UrlencodedCodec", "UrlencodedDecoder", "form_pairs"]

MEDIA_TYPE = "application/x-www-form-urlencoded"
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def form_pairs(value: Any, media_type: str) -> list[tuple[str, Any]]:
    """``(name, value)`` pairs from a FormData, a mapping (lists for repeats) or pairs."""
    if isinstance(value, FormData):
        return value.multi_items()
    if isinstance(value, Mapping):
        pairs: list[tuple[str, Any]] = []
        for name, item in value.items():
            if isinstance(item, (list, tuple)) and not _is_file_spec(item):
                pairs.extend((str(name), v) for v in item)
            else:
                pairs.append((str(name), item))
        return pairs
    if isinstance(value, (list, tuple)):
        return [(str(pair[0]), pair[1]) for pair in value]
    raise CodecError(
        f"{media_type} encodes a mapping or (name, value) pairs, got {type(value).__name__}",
        media_type=media_type,
    )


def _is_file_spec(item: Any) -> bool:
    return (
        isinstance(item, tuple)
        and 2 <= len(item) <= 3
        and isinstance(item[0], str)
        and not isinstance(item[1], str)
    )


class UrlencodedDecoder:
    """Splits the body at ``&`` as it arrives; each complete field becomes three events."""

    def __init__(self, limits: CodecLimits) -> None:
        self._limits = limits
        self._buffer = b""
        self._offset = 0  # body offset of self._buffer[0]
        self._fields = 0

    def feed(self, data: bytes) -> list[FieldEvent]:
        self._buffer += data
        head, sep, rest = self._buffer.rpartition(b"&")
        if not sep:
            return []
        events = self._fields_of(head)
        self._offset += len(head) + 1
        self._buffer = rest
        return events

    def finish(self) -> list[FieldEvent]:
        events = self._fields_of(self._buffer)
        self._offset += len(self._buffer)
        self._buffer = b""
        return events

    def _fields_of(self, segment: bytes) -> list[FieldEvent]:
        events: list[FieldEvent] = []
        position = self._offset
        for piece in segment.split(b"&"):
            start = position
            position += len(piece) + 1
            if not piece:
                continue
            bad = _BAD_PERCENT.search(piece)
            if bad is not None:
                raise CodecError(
                    f"{MEDIA_TYPE}: bad percent-encoding {piece[bad.start() : bad.start() + 3]!r} "
                    f"at offset {start + bad.start()}",
                    status=400,
                    media_type=MEDIA_TYPE,
                )
            self._fields += 1
            if self._fields > self._limits.max_form_fields:
                raise TooLarge(
                    f"form has more than max_form_fields={self._limits.max_form_fields} fields",
                    limit="max_form_fields",
                    value=self._limits.max_form_fields,
                )
            raw_name, _, raw_value = piece.partition(b"=")
            name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
            try:
                name = name_bytes.decode("utf-8")
            except UnicodeDecodeError:
                raise CodecError(
                    f"{MEDIA_TYPE}: field name at offset {start} is not valid UTF-8",
                    status=400,
                    media_type=MEDIA_TYPE,
                ) from None
            events += [FieldInfo(name), unquote_to_bytes(raw_value.replace(b"+", b" ")), FIELD_END]
        return events


class UrlencodedCodec(BodyCodec):
    """Form fields as an ordered multi-dict (:class:`rttp.FormData`)."""

    media_type = MEDIA_TYPE
    aliases = ("form",)

    def encode(self, value: Any) -> tuple[bytes, str]:
        pairs = form_pairs(value, self.media_type)
        for name, item in pairs:
            if isinstance(item, (UploadFile, bytes, tuple)):
                raise CodecError(
                    f"field {name!r} holds a file: send files as multipart/form-data",
                    media_type=self.media_type,
                )
        return str(QueryParams(pairs)).encode("ascii"), self.media_type

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        decoder = UrlencodedDecoder(limits)
        return assemble_form([*decoder.feed(data), *decoder.finish()], self.media_type)

    def field_decoder(
        self, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> UrlencodedDecoder:
        return UrlencodedDecoder(limits)


@hookimpl
def rttp_register_body_codecs(register: Any) -> None:
    """Register application/x-www-form-urlencoded."""
    register(UrlencodedCodec())
