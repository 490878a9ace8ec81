"""Fixtures of the auth tests: httpbin in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import rttp
from tests.conftest import peer_process


@pytest.fixture(scope="session")
def httpbin() -> Iterator[rttp.URL]:
    """httpbin on 127.0.0.1 in a subprocess (skipped if httpbin is not installed)."""
    pytest.importorskip("httpbin", reason="httpbin is not installed (pip install httpbin)")
    with peer_process("httpbin_server.py") as url:
        yield url
