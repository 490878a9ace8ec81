"""Fixtures of the auth tests: httpbin in a subprocess, a token service and its users."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rttp

PEERS = Path(__file__).parent.parent / "peers"


@pytest.fixture(scope="session")
def httpbin() -> Iterator[rttp.URL]:
    """httpbin on 127.0.0.1 in a subprocess (skipped if httpbin is not installed)."""
    pytest.importorskip("httpbin", reason="httpbin is not installed (pip install httpbin)")
    process = subprocess.Popen(
        [sys.executable, str(PEERS / "httpbin_server.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("PORT "), line
        yield rttp.URL(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
