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

from ._document import (
    COLORS,
    MEDIA_TYPE,
    SUBMISSION_MEDIA_TYPE,
    Button,
    DomLink,
    Element,
    Input,
    Link,
    Page,
    Text,
    parse_page,
)
from ._render import representations, to_html, to_terminal
from ._submission import ButtonPush, ButtonSubmit, Submission, decode_submission, encode_submission

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

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("rttp.rtml."):
        _obj.__module__ = "rttp.rtml"  # documented and shown where users import them
del _name, _obj
