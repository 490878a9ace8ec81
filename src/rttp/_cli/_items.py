"""httpie's request items: ``name==value`` (query), ``Header:value``, ``field=value``,
``field:=<json>``, ``field@file`` (a multipart file), ``field=@file`` and
``field:=@file`` (a field's value read from a file). A backslash escapes a separator
character (``a\\=b=c`` is the field ``a=b``).
"""

from __future__ import annotations

import json
import mimetypes
import os
from dataclasses import dataclass, field
from typing import Any

from ._serve import CLIError

__all__ = ["RequestItems", "parse_items"]

#: longest first, so that at one position ``==`` wins over ``=`` and ``:=`` over ``:``
_SEPARATORS = (":=@", "=@", "==", ":=", "@", "=", ":")


@dataclass
class RequestItems:
    """What the items ask for."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    data: list[tuple[str, Any]] = field(default_factory=list)  # str values, or JSON ones
    json_fields: bool = False  # a ``:=`` field: the body must be JSON
    files: list[tuple[str, tuple[str, bytes, str]]] = field(default_factory=list)


def _split(item: str) -> tuple[str, str, str]:
    """``(name, separator, value)``; backslash-escaped characters never separate."""
    for index in range(len(item)):
        if item[index] == "\\":
            continue
        if index and item[index - 1] == "\\":
            continue
        for separator in _SEPARATORS:
            if item.startswith(separator, index):
                name = item[:index].replace("\\", "")
                return name, separator, item[index + len(separator) :]
    raise CLIError(
        f"{item!r} is not a request item: use name==query, Header:value, "
        "field=value, field:=json or field@file"
    )


def _read(path: str, item: str) -> bytes:
    try:
        with open(os.path.expanduser(path), "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise CLIError(f"cannot read {path!r} for {item!r}: {exc.strerror}") from exc


def _json(text: str, item: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CLIError(f"{item!r} is not valid JSON after ':=': {exc}") from exc


def parse_items(items: list[str]) -> RequestItems:
    """The request items, checked (CLIError names the bad one)."""
    parsed = RequestItems()
    for item in items:
        name, separator, value = _split(item)
        if not name:
            raise CLIError(f"request item {item!r} has no name before {separator!r}")
        if separator == "==":
            parsed.query.append((name, value))
        elif separator == ":":
            parsed.headers.append((name, value.strip()))
        elif separator == "=":
            parsed.data.append((name, value))
        elif separator == "=@":
            parsed.data.append((name, _read(value, item).decode("utf-8", "replace")))
        elif separator == ":=":
            parsed.data.append((name, _json(value, item)))
            parsed.json_fields = True
        elif separator == ":=@":
            parsed.data.append((name, _json(_read(value, item).decode("utf-8"), item)))
            parsed.json_fields = True
        else:  # "@": a file part
            content_type = mimetypes.guess_type(value)[0] or "application/octet-stream"
            parsed.files.append((name, (os.path.basename(value), _read(value, item), content_type)))
    return parsed
