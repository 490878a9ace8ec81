"""``multipart/form-data``: streaming parse (python-multipart) and streaming encode.

Decoding yields field events as the body arrives, so a handler can stream a large file
(``request.stream_post_param``) without holding it. Limits: number of parts, size of a
part's header section, size of each part (``max_file_size``); a body that ends before
its closing boundary is a :class:`~rttp.errors.CodecError`.
"""

from __future__ import annotations

import inspect
import logging
import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from rttp.errors import CodecError, TooLarge
from rttp.plugin import (
    DEFAULT_CODEC_LIMITS,
    FIELD_END,
    BodyCodec,
    CodecLimits,
    FieldEvent,
    FieldInfo,
    StreamedBody,
    UploadFile,
    assemble_form,
    hookimpl,
)

from .forms import form_pairs

__all__ = ["MultipartCodec", "MultipartDecoder"]

MEDIA_TYPE = "multipart/form-data"
_MAX_PART_HEADER_COUNT = 32
_READ_SIZE = 65536

# python-multipart logs each parse error before raising it; we raise a CodecError that
# says the same, so its messages go to a logger of ours that is silent by default.
_parser_log = logging.getLogger("rttp.codecs.multipart.parser")
_parser_log.addHandler(logging.NullHandler())
_parser_log.propagate = False


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart Content-Type."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise CodecError(
            f"{MEDIA_TYPE} Content-Type has no boundary: {content_type!r}",
            status=400,
            media_type=MEDIA_TYPE,
        )
    if len(boundary) > 70:
        raise CodecError(
            f"{MEDIA_TYPE} boundary longer than 70 bytes", status=400, media_type=MEDIA_TYPE
        )
    return boundary


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class MultipartDecoder:
    """Turns multipart body bytes into field events, enforcing the codec limits."""

    def __init__(self, boundary: bytes, limits: CodecLimits) -> None:
        self._limits = limits
        self._events: list[FieldEvent] = []
        self._field = bytearray()
        self._value = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._parts = 0
        self._size = 0
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
            max_header_count=_MAX_PART_HEADER_COUNT,
            max_header_size=limits.max_part_header_size,
        )
        self._parser.logger = _parser_log

    # python-multipart callbacks
    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > self._limits.max_multipart_parts:
            raise TooLarge(
                f"multipart body has more than max_multipart_parts={self._limits.max_multipart_parts} parts",
                limit="max_multipart_parts",
                value=self._limits.max_multipart_parts,
            )
        self._headers = []
        self._size = 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers.append((self._field.decode("latin-1"), self._value.decode("latin-1")))
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        disposition = content_type = None
        for name, value in self._headers:
            low = name.lower()
            if low == "content-disposition":
                disposition = value
            elif low == "content-type":
                content_type = value
        if disposition is None:
            raise CodecError(
                f"part {self._parts} has no Content-Disposition", status=400, media_type=MEDIA_TYPE
            )
        kind, params = parse_options_header(disposition)
        raw_name = params.get(b"name")
        if kind.lower() != b"form-data" or raw_name is None:
            raise CodecError(
                f"part {self._parts} is not a named form-data field: {disposition!r}",
                status=400,
                media_type=MEDIA_TYPE,
            )
        filename = params.get(b"filename")
        self._events.append(
            FieldInfo(
                _text(raw_name),
                _text(filename) if filename is not None else None,
                content_type,
                tuple(self._headers),
            )
        )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        limit = self._limits.max_file_size
        if limit is not None and self._size > limit:
            raise TooLarge(
                f"a multipart part is larger than max_file_size={limit} bytes",
                limit="max_file_size",
                value=limit,
            )
        self._events.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        self._events.append(FIELD_END)

    def _end(self) -> None:
        self._ended = True

    # the FieldDecoder contract
    def feed(self, data: bytes) -> list[FieldEvent]:
        try:
            self._parser.write(data)
        except MultipartParseError as exc:
            message = str(exc)
            if "header size" in message:
                limit = self._limits.max_part_header_size
                raise TooLarge(
                    f"a multipart part's header section is larger than max_part_header_size={limit} bytes",
                    limit="max_part_header_size",
                    value=limit,
                ) from None
            raise CodecError(
                f"malformed {MEDIA_TYPE} body: {message}", status=400, media_type=MEDIA_TYPE
            ) from None
        events, self._events = self._events, []
        return events

    def finish(self) -> list[FieldEvent]:
        self._parser.finalize()
        if not self._ended:
            raise CodecError(
                f"{MEDIA_TYPE} body ended before its closing boundary (truncated)",
                status=400,
                media_type=MEDIA_TYPE,
            )
        events, self._events = self._events, []
        return events


# -- encoding -------------------------------------------------------------------------------
def _quote(text: str) -> str:
    """A field or file name inside a quoted-string.

    ``"`` is backslash-escaped (parsers, python-multipart included, restore it). A
    backslash is sent as is, except right before a quote or at the end, where a parser
    would read it as escaping the quote: there it is sent as ``%5C``. CR and LF can never
    appear in a header: they are sent as ``%0D``/``%0A``, as browsers do. Those three are
    not restored on the other side.
    """
    out = []
    for index, char in enumerate(text):
        if char == "\\" and (index + 1 == len(text) or text[index + 1] == '"'):
            out.append("%5C")
        elif char == '"':
            out.append('\\"')
        elif char == "\r":
            out.append("%0D")
        elif char == "\n":
            out.append("%0A")
        else:
            out.append(char)
    return "".join(out)


def _part_spec(name: str, value: Any) -> tuple[bytes, Any, int | None]:
    """The header bytes of one part, its content (bytes or a file), and its size if known."""
    filename: str | None = None
    content_type: str | None = None
    if isinstance(value, UploadFile):
        filename, content_type, content = value.filename, value.content_type, value.data
    elif isinstance(value, tuple):
        filename, content = value[0], value[1]
        content_type = value[2] if len(value) > 2 else None
    else:
        content = value
    if isinstance(content, str):
        content = content.encode("utf-8")
    elif isinstance(content, (bytearray, memoryview)):
        content = bytes(content)
    elif isinstance(content, (int, float, bool)):
        content = str(content).encode("ascii")
    elif not isinstance(content, bytes) and not hasattr(content, "read"):
        raise CodecError(
            f"multipart field {name!r}: cannot send {type(content).__name__}", media_type=MEDIA_TYPE
        )
    if filename is None and hasattr(content, "read"):
        filename = os.path.basename(str(getattr(content, "name", "upload")))
    disposition = f'form-data; name="{_quote(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quote(filename)}"'
        content_type = content_type or "application/octet-stream"
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    size: int | None
    if isinstance(content, bytes):
        size = len(content)
    elif inspect.iscoroutinefunction(getattr(content, "read", None)):
        size = None  # an async file: its size is not known without awaiting
    else:
        try:
            size = os.fstat(content.fileno()).st_size - content.tell()
        except (AttributeError, OSError, ValueError):
            size = None
    return head.encode("utf-8") + b"\r\n", content, size


class MultipartCodec(BodyCodec):
    """Fields and files: decodes to :class:`rttp.FormData`; encodes fields, bytes and files."""

    media_type = MEDIA_TYPE
    aliases = ("multipart",)

    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        decoder = self.field_decoder(content_type, limits)
        return assemble_form([*decoder.feed(data), *decoder.finish()], self.media_type)

    def field_decoder(
        self, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> MultipartDecoder:
        return MultipartDecoder(boundary_of(content_type), limits)

    def encode(self, value: Any) -> tuple[bytes, str]:
        boundary = secrets.token_hex(16)
        out = bytearray()
        for name, item in form_pairs(value, self.media_type):
            head, content, _ = _part_spec(name, item)
            if not isinstance(content, bytes):
                content = content.read()
                if isinstance(content, str):
                    content = content.encode("utf-8")
            out += b"--" + boundary.encode() + b"\r\n" + head + content + b"\r\n"
        out += b"--" + boundary.encode() + b"--\r\n"
        return bytes(out), f"{self.media_type}; boundary={boundary}"

    def encode_stream(self, value: Any) -> StreamedBody | None:
        parts = [
            (name, *_part_spec(name, item)) for name, item in form_pairs(value, self.media_type)
        ]
        if all(isinstance(content, bytes) for _, _, content, _ in parts):
            return None  # nothing to stream: encode() is simpler
        boundary = secrets.token_hex(16).encode()
        length: int | None = len(b"--" + boundary + b"--\r\n")
        for _, head, _, size in parts:
            if size is None or length is None:
                length = None
            else:
                length += len(b"--" + boundary + b"\r\n") + len(head) + size + 2

        async def chunks() -> AsyncIterator[bytes]:
            for _, head, content, _ in parts:
                yield b"--" + boundary + b"\r\n" + head
                if isinstance(content, bytes):
                    yield content
                else:
                    while True:
                        piece = content.read(_READ_SIZE)
                        if hasattr(piece, "__await__"):
                            piece = await piece
                        if not piece:
                            break
                        yield piece.encode("utf-8") if isinstance(piece, str) else piece
                yield b"\r\n"
            yield b"--" + boundary + b"--\r\n"

        return StreamedBody(chunks(), f"{self.media_type}; boundary={boundary.decode()}", length)


@hookimpl
def rttp_register_body_codecs(register: Any) -> None:
    """Register multipart/form-data."""
    register(MultipartCodec())
