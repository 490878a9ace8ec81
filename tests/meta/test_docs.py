"""Examples in the docs are files that run."""

from __future__ import annotations

import runpy
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


async def test_quickstart_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "quickstart.py"))
    assert await namespace["main"]() == "hello, trio"


async def test_codecs_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "codecs.py"))
    assert await namespace["main"]() == [
        {"got": "application/json", "type": "dict"},
        {"got": "table", "type": "list"},
        {"got": "application/x-www-form-urlencoded", "type": "FormData"},
        {"got": "text/plain", "type": "str"},
        {"title": "report", "file_bytes": 1000},
        "Hello",
    ]


def test_every_codec_is_listed_in_the_docs():
    import rttp

    page = (DOCS / "codecs.rst").read_text()
    for codec in rttp.get_plugins().body_codecs.values():
        assert f"``{codec.media_type}``" in page, codec.media_type
