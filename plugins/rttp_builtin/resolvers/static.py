"""The ``static`` resolver: a name table, given in code or read from a file.

The built-in one reads the file named by ``$RTTP_NAMES`` (if set), one ``name
destination`` pair a line, ``#`` starting a comment. A Client's own ``names`` table is a
:class:`rttp.plugin.NameTable` asked before every registered resolver.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rttp.errors import PluginError
from rttp.plugin import NameTable, hookimpl

__all__ = ["read_names"]


def read_names(path: str | os.PathLike[str]) -> dict[str, str]:
    """A name table from a file: ``name destination`` a line, ``#`` comments."""
    table: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise PluginError(f"{path}:{number}: expected 'name destination', got {raw!r}")
        table[parts[0]] = parts[1]
    return table


@hookimpl
def rttp_register_resolvers(register: Any) -> None:
    """Register the static resolver (the ``$RTTP_NAMES`` file's table, if any)."""
    path = os.environ.get("RTTP_NAMES")
    register(NameTable(read_names(path) if path else None))
