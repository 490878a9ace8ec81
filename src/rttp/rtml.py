"""RTML: pages of elements placed at character cells (the ``table/rtml`` content type).

A page is a list of elements. Every element has ``type``, ``x``, ``y`` (1-based cells)
and optional ``color``, ``bgColor`` (one of the 16 colour names, or its number in the
seed's palette: ``white`` = 1 … ``black`` = 32768), ``id`` and ``text``. The types:

- ``TEXT``: ``text``
- ``LINK``: ``text``, ``href`` (a path on the same domain, starting with ``/``)
- ``DOM-LINK``: ``text``, ``href`` (a full URL: ``rttp://host/path``, ``https://…``)
- ``INPUT``: ``name``, ``len``; optional ``hide`` (a password field) and ``next`` (the
  ``name`` of the input to move to)
- ``BUTTON``: ``text``, ``action`` ``SUBMIT`` or ``PUSH``; optional ``href`` (where the
  form goes; the page's own path by default). A PUSH button needs an ``id``.

On the wire a page is a JSON list of element objects. A form submission (content type
``object/lua``) is ``{"type": "BUTTON_SUBMIT", "vals": {name: value}}`` or
``{"type": "BUTTON_PUSH", "id": ...}``.

Beyond the seed: :func:`to_html` renders a page a browser can show (links work, inputs
and buttons post the seed's submission body) and :func:`to_terminal` renders it with
ANSI colours.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union
from urllib.parse import urlsplit

from .errors import CodecError

__all__ = [
    "COLORS",
    "MEDIA_TYPE",
    "SUBMISSION_MEDIA_TYPE",
    "Button",
    "ButtonPush",
    "ButtonSubmit",
    "DomLink",
    "Element",
    "Input",
    "Link",
    "Page",
    "Submission",
    "Text",
    "decode_submission",
    "encode_submission",
    "parse_page",
    "representations",
    "to_html",
    "to_terminal",
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

    __hash__ = None  # type: ignore[assignment]

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


# -- form submissions ---------------------------------------------------------------------
@dataclass(frozen=True)
class ButtonSubmit:
    """A SUBMIT button was pressed: the values of the page's inputs."""

    vals: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ButtonPush:
    """A PUSH button was pressed: its id."""

    id: str | int


Submission = Union[ButtonSubmit, ButtonPush]


def encode_submission(submission: Submission) -> bytes:
    """The ``object/lua`` body of a submission."""
    if isinstance(submission, ButtonSubmit):
        body: dict[str, Any] = {"type": "BUTTON_SUBMIT", "vals": dict(submission.vals)}
    else:
        body = {"type": "BUTTON_PUSH", "id": submission.id}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_submission(data: Any) -> Submission:
    """Validate a decoded ``object/lua`` body into a :class:`ButtonSubmit` or :class:`ButtonPush`."""

    def bad(problem: str) -> CodecError:
        return CodecError(
            f"form submission {problem}", status=400, media_type=SUBMISSION_MEDIA_TYPE
        )

    if not isinstance(data, Mapping):
        raise bad(f"must be an object, got {type(data).__name__}")
    kind = data.get("type")
    if kind == "BUTTON_SUBMIT":
        vals = data.get("vals", {})
        if not isinstance(vals, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in vals.items()
        ):
            raise bad(f"'vals' must map input names to strings, got {vals!r}")
        return ButtonSubmit(dict(vals))
    if kind == "BUTTON_PUSH":
        button_id = data.get("id")
        if (
            button_id is None
            or isinstance(button_id, bool)
            or not isinstance(button_id, (str, int))
        ):
            raise bad(f"'id' must be a string or an integer, got {button_id!r}")
        return ButtonPush(button_id)
    raise bad(f"'type' must be BUTTON_SUBMIT or BUTTON_PUSH, got {kind!r}")


# -- rendering ------------------------------------------------------------------------------
_LINE_HEIGHT = 1.25  # em

_SCRIPT = """
(function () {
  var form = document.currentScript.previousElementSibling;
  function post(href, body) {
    fetch(href || window.location.pathname, {
      method: "POST",
      headers: {"Content-Type": "object/lua", "Accept": "text/html, table/rtml;q=0.5"},
      body: JSON.stringify(body)
    }).then(function (r) { return r.text(); }).then(function (text) {
      document.open(); document.write(text); document.close();
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    if (button && button.dataset.action === "PUSH") {
      post(button.dataset.href, {type: "BUTTON_PUSH", id: JSON.parse(button.dataset.id)});
      return;
    }
    var vals = {};
    form.querySelectorAll("input[name]").forEach(function (i) { vals[i.name] = i.value; });
    post(button && button.dataset.href, {type: "BUTTON_SUBMIT", vals: vals});
  });
  form.querySelectorAll("input[data-next]").forEach(function (i) {
    i.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        var next = form.querySelector('input[name="' + i.dataset.next + '"]');
        if (next) { event.preventDefault(); next.focus(); }
      }
    });
  });
})();
"""


def _css_color(name: str | None) -> str | None:
    return COLORS[name][1] if name else None


def to_html(page: Page | Sequence[Mapping[str, Any]], *, title: str = "RTML page") -> str:
    """A standalone HTML document showing ``page`` at its character cells.

    Links are ``<a>`` elements; inputs are ``<input>`` (``hide`` → password); a SUBMIT
    button posts ``{"type": "BUTTON_SUBMIT", "vals": …}`` and a PUSH button posts
    ``{"type": "BUTTON_PUSH", "id": …}`` as ``object/lua`` to its ``href`` (or the page's
    own path), then shows the answer.
    """
    if not isinstance(page, Page):
        page = parse_page(list(page))
    width = max((e.x + e.width for e in page), default=2)
    height = max((e.y for e in page), default=1)
    cells: list[str] = []
    for element in page:
        style = f"left:{element.x - 1}ch;top:{(element.y - 1) * _LINE_HEIGHT:g}em"
        if element.color:
            style += f";color:{_css_color(element.color)}"
        if element.bg_color:
            style += f";background:{_css_color(element.bg_color)}"
        attrs = f' style="{style}"'
        if element.id is not None:
            attrs += f' id="rtml-{html.escape(str(element.id))}"'
        text = html.escape(element.text or "")
        if isinstance(element, Link | DomLink):
            cells.append(
                f'<a class="rtml-{element.type.lower()}" href="{html.escape(element.href)}"{attrs}>{text}</a>'
            )
        elif isinstance(element, Input):
            kind = "password" if element.hide else "text"
            extra = f' data-next="{html.escape(element.next)}"' if element.next else ""
            cells.append(
                f'<input class="rtml-input" type="{kind}" name="{html.escape(element.name)}" '
                f'size="{element.len}" value="{text}"{extra}{attrs}>'
            )
        elif isinstance(element, Button):
            data = f' data-action="{element.action}"'
            if element.href:
                data += f' data-href="{html.escape(element.href)}"'
            if element.id is not None:
                data += f' data-id="{html.escape(json.dumps(element.id))}"'
            cells.append(f'<button class="rtml-button" type="submit"{data}{attrs}>{text}</button>')
        else:
            cells.append(f'<span class="rtml-text"{attrs}>{text}</span>')
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{background:#111;margin:1em}"
        f".rtml{{position:relative;font:16px/{_LINE_HEIGHT}em monospace;color:#f0f0f0;"
        f"width:{width}ch;height:{height * _LINE_HEIGHT:g}em;white-space:pre}}"
        ".rtml>*{position:absolute;font:inherit;margin:0;padding:0;border:0;color:inherit;background:none}"
        ".rtml input{background:#4c4c4c;width:auto}.rtml button{background:#3366cc;cursor:pointer}"
        ".rtml a{text-decoration:underline}"
        "</style></head><body>\n"
        f'<form class="rtml" method="post">\n' + "\n".join(cells) + "\n</form>\n"
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def _ansi(hex_color: str, background: bool) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"\x1b[{48 if background else 38};2;{r};{g};{b}m"


def to_terminal(page: Page | Sequence[Mapping[str, Any]], *, color: bool = True) -> str:
    """The page drawn on a character grid, with ANSI 24-bit colours unless ``color=False``.

    Inputs show as ``_`` runs (``*`` for hidden ones), buttons as ``[text]``, links
    underlined.
    """
    if not isinstance(page, Page):
        page = parse_page(list(page))
    width = max((e.x + e.width + 2 for e in page), default=1)
    height = max((e.y for e in page), default=0)
    grid: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(height)]
    for element in page:
        if isinstance(element, Input):
            shown = (element.text or "")[: element.len]
            shown = ("*" * len(shown) if element.hide else shown).ljust(element.len, "_")
        elif isinstance(element, Button):
            shown = f"[{element.text or ''}]"
        else:
            shown = element.text or ""
        style = ""
        if color:
            if element.color:
                style += _ansi(COLORS[element.color][1], False)
            if element.bg_color:
                style += _ansi(COLORS[element.bg_color][1], True)
            if isinstance(element, Link | DomLink):
                style += "\x1b[4m"
        row = grid[element.y - 1]
        for offset, char in enumerate(shown):
            column = element.x - 1 + offset
            if column < width:
                row[column] = (char, style)
    lines = []
    for row in grid:
        line = ""
        current = ""
        for char, style in row:
            if style != current:
                line += ("\x1b[0m" if current else "") + style
                current = style
            line += char
        if current:
            line += "\x1b[0m"
        lines.append(line.rstrip() if not color else line)
    return "\n".join(lines) + "\n"


def representations(page: Page, *, title: str = "RTML page") -> dict[str, Any]:
    """Offers for :func:`rttp.negotiate`: the page as ``table/rtml``, or as HTML for browsers.

    ``return rttp.negotiate(request, rtml.representations(page))`` answers an RTTP
    client with the page and a browser (``Accept: text/html``) with :func:`to_html`.
    """
    return {MEDIA_TYPE: page, "text/html": lambda: to_html(page, title=title)}
