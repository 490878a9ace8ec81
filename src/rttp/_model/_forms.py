"""Form data: the decoded body of a urlencoded or multipart/form-data request.

:class:`FormData` is an ordered multi-dict of field name → ``str`` (plain fields) or
:class:`UploadFile` (file parts). It offers the Moonbridge views: the first value
(``form["a"]``, ``post_params``), every value (``form.get_all``, ``post_params_list``)
and the file metadata (``form.metadata``, ``post_metadata``/``post_metadata_list``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Union

from ..errors import CodecError

__all__ = [
    "DEFAULT_CODEC_LIMITS",
    "FIELD_END",
    "CodecLimits",
    "FieldEvent",
    "FieldInfo",
    "FormAssembler",
    "FormData",
    "FormValue",
    "UploadFile",
    "assemble_form",
]


@dataclass(frozen=True)
class FieldInfo:
    """What is known about a field when it starts: name, and for files the file name and type."""

    name: str
    filename: str | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def metadata(self) -> dict[str, str | None]:
        """The seed's metadata table: ``{"field_name", "file_name", "content_type"}``."""
        return {
            "field_name": self.name,
            "file_name": self.filename,
            "content_type": self.content_type,
        }


@dataclass(frozen=True)
class CodecLimits:
    """Limits a codec enforces while decoding a request body (crossing one is a 413).

    ``None`` means no limit of that kind (the body-size limit still applies).
    """

    max_form_fields: int = 1000
    max_multipart_parts: int = 1000
    max_part_header_size: int = 16384
    max_file_size: int | None = None
    #: the deepest nesting of arrays and objects a JSON body may have (400 past it):
    #: Python's parser recurses, so ``[`` x 100,000 would exhaust the stack
    max_json_depth: int = 128


#: The default codec limits.
DEFAULT_CODEC_LIMITS: Final = CodecLimits()


class _FieldEnd:
    """Marks the end of a field in a :class:`FieldDecoder`'s events."""

    _instance: _FieldEnd | None = None

    def __new__(cls) -> _FieldEnd:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "FIELD_END"


#: The end of a field in a :class:`FieldDecoder`'s events.
FIELD_END: Final = _FieldEnd()

FieldEvent = Union[FieldInfo, bytes, _FieldEnd]


@dataclass
class UploadFile:
    """An uploaded file part held in memory (stream big uploads with ``stream_post_param``)."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def size(self) -> int:
        """The number of bytes."""
        return len(self.data)

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (undecodable bytes replaced)."""
        return self.data.decode("utf-8", errors="replace")


FormValue = Union[str, UploadFile]


class FormData(Mapping[str, FormValue]):
    """Ordered multi-dict of form fields; ``form["name"]`` is the first value."""

    __slots__ = ("_items",)

    def __init__(
        self, items: Iterable[tuple[str, FormValue]] | Mapping[str, FormValue] | None = None
    ) -> None:
        if items is None:
            self._items: list[tuple[str, FormValue]] = []
        elif isinstance(items, Mapping):
            self._items = list(items.items())
        else:
            self._items = list(items)

    def add(self, name: str, value: FormValue) -> None:
        """Append a field."""
        self._items.append((name, value))

    def __getitem__(self, name: str) -> FormValue:
        for key, value in self._items:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key for key, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(key for key, _ in self._items))

    def get_all(self, name: str) -> list[FormValue]:
        """Every value of ``name``, in order."""
        return [value for key, value in self._items if key == name]

    def multi_items(self) -> list[tuple[str, FormValue]]:
        """Every ``(name, value)`` pair, in order."""
        return list(self._items)

    @property
    def params(self) -> dict[str, FormValue]:
        """The first value of each field (the seed's ``post_params``)."""
        out: dict[str, FormValue] = {}
        for key, value in self._items:
            out.setdefault(key, value)
        return out

    @property
    def params_list(self) -> dict[str, list[FormValue]]:
        """Every value of each field (the seed's ``post_params_list``)."""
        out: dict[str, list[FormValue]] = {}
        for key, value in self._items:
            out.setdefault(key, []).append(value)
        return out

    def metadata(self, name: str) -> dict[str, str | None] | None:
        """File name and content type of the first file called ``name`` (``post_metadata``)."""
        for value in self.get_all(name):
            if isinstance(value, UploadFile):
                return {"file_name": value.filename, "content_type": value.content_type}
        return None

    def metadata_list(self, name: str) -> list[dict[str, str | None]]:
        """File name and content type of every file called ``name`` (``post_metadata_list``)."""
        return [
            {"file_name": value.filename, "content_type": value.content_type}
            for value in self.get_all(name)
            if isinstance(value, UploadFile)
        ]

    @property
    def files(self) -> list[UploadFile]:
        """Every file part, in order."""
        return [value for _, value in self._items if isinstance(value, UploadFile)]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FormData):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self.params == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


class FormAssembler:
    """Builds a :class:`FormData` from field events, one event at a time."""

    __slots__ = ("_chunks", "_info", "form", "media_type")

    def __init__(self, media_type: str = "") -> None:
        self.form = FormData()
        self.media_type = media_type
        self._info: FieldInfo | None = None
        self._chunks: list[bytes] = []

    def add(self, event: FieldEvent) -> None:
        """Take one event."""
        if isinstance(event, FieldInfo):
            self._info, self._chunks = event, []
        elif isinstance(event, bytes):
            self._chunks.append(event)
        elif self._info is not None:
            info, self._info = self._info, None
            data = b"".join(self._chunks)
            self._chunks = []
            if info.filename is None:
                try:
                    self.form.add(info.name, data.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise CodecError(
                        f"field {info.name!r} is not valid UTF-8 (offset {exc.start})",
                        status=400,
                        media_type=self.media_type,
                    ) from None
            else:
                self.form.add(
                    info.name,
                    UploadFile(info.name, info.filename, info.content_type, data, info.headers),
                )


def assemble_form(events: Iterable[FieldEvent], media_type: str = "") -> FormData:
    """Collect field events into a :class:`FormData` (plain fields as str, files as UploadFile)."""
    assembler = FormAssembler(media_type)
    for event in events:
        assembler.add(event)
    return assembler.form
