"""RTML documents: the elements, the page, and parsing with errors that name the element."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ..errors import CodecError

__all__ = [
    "COLORS",
    "Button",
    "DomLink",
    "Element",
    "Input",
    "Link",
    "MAX_COORDINATE",
    "MEDIA_TYPE",
    "Page",
    "SUBMISSION_MEDIA_TYPE",
    "Text",
    "parse_page",
]

MEDIA_TYPE = "table/rtml"
SUBMISSION_MEDIA_TYPE = "object/lua"

#: The 16 colours, in palette order, with their seed numbers (powers of two) and RGB.
COLORS: dict[str, tuple[int, str]] = {
    "white": (1, "#f0f0f0"),
    "orange": (2, "#f2b233"),
    "magenta": (4, "#e57fd8"),
    "lightBlue": (8, "#99b2f2"),
    "yellow": (16, "#dede6c"),
    "lime": (32, "#7fcc19"),
    "pink": (64, "#f2b2cc"),
    "gray": (128, "#4c4c4c"),
    "lightGray": (256, "#999999"),
    "cyan": (512, "#4c99b2"),
    "purple": (1024, "#b266e5"),
    "blue": (2048, "#3366cc"),
    "brown": (4096, "#7f664c"),
    "green": (8192, "#57a64e"),
    "red": (16384, "#cc4c4c"),
    "black": (32768, "#111111"),
}
_COLOR_BY_NUMBER = {number: name for name, (number, _) in COLORS.items()}
_COLOR_BY_LOWER = {name.lower(): name for name in COLORS}
#: Largest coordinate accepted (pages are screens, not canvases).
MAX_COORDINATE = 1000


def _color(value: Any, index: int, kind: str, field_name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int) and value in _COLOR_BY_NUMBER:
        return _COLOR_BY_NUMBER[value]
    elif isinstance(value, str) and value.lower() in _COLOR_BY_LOWER:
        return _COLOR_BY_LOWER[value.lower()]
    raise _invalid(index, kind, field_name, f"is not one of the 16 colours: {value!r}")


def _invalid(index: int, kind: str, field_name: str, problem: str) -> CodecError:
    where = f"element {index} ({kind})" if kind else f"element {index}"
    return CodecError(
        f"RTML {where}: field {field_name!r} {problem}", status=400, media_type=MEDIA_TYPE
    )


@dataclass
class Element:
    """Fields every element has. ``x`` and ``y`` are 1-based character cells."""

    type: ClassVar[str] = ""
    x: int
    y: int
    text: str | None = None
    color: str | None = None
    bg_color: str | None = None
    id: str | int | None = None

    _extra_fields: ClassVar[tuple[str, ...]] = ()

    def to_wire(self) -> dict[str, Any]:
        """The element as the JSON object sent on the wire."""
        out: dict[str, Any] = {"type": self.type, "x": self.x, "y": self.y}
        for wire, attr in (
            ("text", "text"),
            ("color", "color"),
            ("bgColor", "bg_color"),
            ("id", "id"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[wire] = value
        for name in self._extra_fields:
            value = getattr(self, name)
            if value is not None and value is not False:
                out[name] = value
        return out

    @property
    def width(self) -> int:
        """Cells the element covers on its row."""
        return len(self.text or "")


@dataclass
class Text(Element):
    """Plain text."""

    type: ClassVar[str] = "TEXT"


@dataclass
class Link(Element):
    """A link to a path on the same domain."""

    type: ClassVar[str] = "LINK"
    href: str = "/"
    _extra_fields: ClassVar[tuple[str, ...]] = ("href",)


@dataclass
class DomLink(Element):
    """A link to a full URL (another domain)."""

    type: ClassVar[str] = "DOM-LINK"
    href: str = ""
    _extra_fields: ClassVar[tuple[str, ...]] = ("href",)


@dataclass
class Input(Element):
    """A text input of ``len`` cells; ``hide`` masks it; ``next`` names the following input."""

    type: ClassVar[str] = "INPUT"
    name: str = ""
    len: int = 10
    hide: bool = False
    next: str | None = None
    _extra_fields: ClassVar[tuple[str, ...]] = ("name", "len", "hide", "next")

    @property
    def width(self) -> int:
        return self.len


@dataclass
class Button(Element):
    """A button: ``SUBMIT`` posts the inputs, ``PUSH`` posts its own id."""

    type: ClassVar[str] = "BUTTON"
    action: str = "SUBMIT"
    href: str | None = None
    _extra_fields: ClassVar[tuple[str, ...]] = ("action", "href")


_TYPES: dict[str, type[Element]] = {cls.type: cls for cls in (Text, Link, DomLink, Input, Button)}
_COMMON = {"type", "x", "y", "text", "color", "bgColor", "id"}


class Page(Sequence[Element]):
    """An RTML page: elements in drawing order, with a builder.

    ``page = Page().add_text(1, 1, "Hello").add_link(1, 3, "Home", "/")``
    """

    def __init__(self, elements: Iterable[Element] = ()) -> None:
        self.elements: list[Element] = list(elements)

    def __getitem__(self, index: Any) -> Any:
        return self.elements[index]

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self) -> Iterator[Element]:
        return iter(self.elements)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Page):
            return self.elements == other.elements
        return NotImplemented

    __hash__: ClassVar[None]  # type: ignore[assignment]  # pages are mutable: unhashable
    __hash__ = None

    def __repr__(self) -> str:
        return f"Page({self.elements!r})"

    def add(self, element: Element) -> Page:
        """Append an element (validated) and return the page, for chaining."""
        parse_page([*[e.to_wire() for e in self.elements], element.to_wire()])
        self.elements.append(element)
        return self

    def add_text(self, x: int, y: int, text: str, **style: Any) -> Page:
        """Append a TEXT element."""
        return self.add(Text(x, y, text, **_style(style)))

    def add_link(self, x: int, y: int, text: str, href: str, **style: Any) -> Page:
        """Append a LINK to a path on the same domain."""
        return self.add(Link(x, y, text, href=href, **_style(style)))

    def add_dom_link(self, x: int, y: int, text: str, href: str, **style: Any) -> Page:
        """Append a DOM-LINK to a full URL."""
        return self.add(DomLink(x, y, text, href=href, **_style(style)))

    def add_input(
        self,
        x: int,
        y: int,
        name: str,
        len: int = 10,
        *,
        hide: bool = False,
        next: str | None = None,
        text: str | None = None,
        **style: Any,
    ) -> Page:
        """Append an INPUT field."""
        return self.add(
            Input(x, y, text, name=name, len=len, hide=hide, next=next, **_style(style))
        )

    def add_button(
        self,
        x: int,
        y: int,
        text: str,
        action: str = "SUBMIT",
        href: str | None = None,
        **style: Any,
    ) -> Page:
        """Append a BUTTON (``SUBMIT`` or ``PUSH``; a PUSH button needs ``id=``)."""
        return self.add(Button(x, y, text, action=action, href=href, **_style(style)))

    def to_wire(self) -> list[dict[str, Any]]:
        """The page as the JSON list sent on the wire."""
        return [element.to_wire() for element in self.elements]

    def encode(self) -> bytes:
        """The page as ``table/rtml`` bytes."""
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _style(style: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(style)
    if "bgColor" in out:
        out["bg_color"] = out.pop("bgColor")
    return out


def _int_field(raw: Mapping[str, Any], name: str, index: int, kind: str, minimum: int) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(index, kind, name, f"must be an integer, got {value!r}")
    if not minimum <= value <= MAX_COORDINATE:
        raise _invalid(
            index, kind, name, f"must be from {minimum} to {MAX_COORDINATE}, got {value!r}"
        )
    return value


def _str_field(
    raw: Mapping[str, Any], name: str, index: int, kind: str, *, required: bool
) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _invalid(index, kind, name, "is required")
        return None
    if not isinstance(value, str):
        raise _invalid(index, kind, name, f"must be a string, got {value!r}")
    return value


def _element(raw: Any, index: int) -> Element:
    if not isinstance(raw, Mapping):
        raise CodecError(
            f"RTML element {index}: must be an object, got {type(raw).__name__}",
            status=400,
            media_type=MEDIA_TYPE,
        )
    raw_kind = raw.get("type")
    cls = _TYPES.get(raw_kind) if isinstance(raw_kind, str) else None
    if cls is None:
        raise _invalid(index, "", "type", f"must be one of {', '.join(_TYPES)}, got {raw_kind!r}")
    kind: str = cls.type
    allowed = _COMMON | set(cls._extra_fields)
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _invalid(index, kind, unknown[0], f"is not a field of {kind}")
    x = _int_field(raw, "x", index, kind, 1)
    y = _int_field(raw, "y", index, kind, 1)
    element_id = raw.get("id")
    if element_id is not None and (
        isinstance(element_id, bool) or not isinstance(element_id, (str, int))
    ):
        raise _invalid(index, kind, "id", f"must be a string or an integer, got {element_id!r}")
    common: dict[str, Any] = {
        "x": x,
        "y": y,
        "text": _str_field(
            raw, "text", index, kind, required=kind in ("TEXT", "LINK", "DOM-LINK", "BUTTON")
        ),
        "color": _color(raw.get("color"), index, kind, "color"),
        "bg_color": _color(raw.get("bgColor"), index, kind, "bgColor"),
        "id": element_id,
    }
    if cls is Link:
        href = _str_field(raw, "href", index, kind, required=True)
        assert href is not None
        if not href.startswith("/") or href.startswith("//"):
            raise _invalid(
                index,
                kind,
                "href",
                f"must be a path on the same domain (starting with '/'), got {href!r}",
            )
        return Link(**common, href=href)
    if cls is DomLink:
        href = _str_field(raw, "href", index, kind, required=True)
        assert href is not None
        parts = urlsplit(href)
        if not parts.scheme or not parts.netloc:
            raise _invalid(
                index, kind, "href", f"must be a full URL with a scheme and host, got {href!r}"
            )
        return DomLink(**common, href=href)
    if cls is Input:
        name = _str_field(raw, "name", index, kind, required=True)
        if not name:
            raise _invalid(index, kind, "name", "must not be empty")
        length = _int_field(raw, "len", index, kind, 1)
        hide = raw.get("hide", False)
        if not isinstance(hide, bool):
            raise _invalid(index, kind, "hide", f"must be true or false, got {hide!r}")
        return Input(
            **common,
            name=name,
            len=length,
            hide=hide,
            next=_str_field(raw, "next", index, kind, required=False),
        )
    if cls is Button:
        action = raw.get("action", "SUBMIT")
        if action not in ("SUBMIT", "PUSH"):
            raise _invalid(index, kind, "action", f"must be SUBMIT or PUSH, got {action!r}")
        if action == "PUSH" and element_id is None:
            raise _invalid(index, kind, "id", "is required for a PUSH button")
        href = _str_field(raw, "href", index, kind, required=False)
        if href is not None and not href.startswith("/"):
            raise _invalid(index, kind, "href", f"must be a path on the same domain, got {href!r}")
        return Button(**common, action=action, href=href)
    return Text(**common)


def parse_page(data: Any) -> Page:
    """Validate a decoded page (a list of element objects) into a :class:`Page`.

    Raises :class:`~rttp.errors.CodecError` naming the element index and field at fault.
    """
    if isinstance(data, Page):
        data = data.to_wire()
    if not isinstance(data, list):
        raise CodecError(
            f"an RTML page must be a list of elements, got {type(data).__name__}",
            status=400,
            media_type=MEDIA_TYPE,
        )
    return Page(_element(raw, index) for index, raw in enumerate(data))
