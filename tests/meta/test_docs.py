"""Examples in the docs are files that run."""

from __future__ import annotations

import runpy
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


async def test_quickstart_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "quickstart.py"))
    assert await namespace["main"]() == "hello, trio"
