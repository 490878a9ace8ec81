"""RTML rendered for a browser (HTML) and for a terminal (ANSI colours)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._document import COLORS, MEDIA_TYPE, Button, DomLink, Input, Link, Page, parse_page

# -- rendering ------------------------------------------------------------------------------
_LINE_HEIGHT = 1.25  # em

__all__ = [
    "representations",
    "to_html",
    "to_terminal",
]

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
