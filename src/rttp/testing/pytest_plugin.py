"""pytest fixtures for applications built on trio-rttp (needs pytest-trio).

``rttp_server``: ``url = await rttp_server(handler, **settings)`` serves a handler on a
free loopback port inside the test's nursery and returns its base URL. The plugin is
registered through the ``pytest11`` entry point, so installing trio-rttp is enough.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from .._io._server import Handler, Server
from .._model import URL

__all__ = ["rttp_server"]


@pytest.fixture
def rttp_server(nursery: trio.Nursery) -> Callable[..., Awaitable[URL]]:
    """Start a server in the test's nursery; returns its first bound address."""

    async def start(handler: Handler, bind: str = "http://127.0.0.1:0", **settings: Any) -> URL:
        server = Server(handler, bind, **settings)
        addresses: list[URL] = await nursery.start(server.serve)
        return addresses[0]

    return start
