"""pytest fixtures for applications built on trio-rttp (needs pytest-trio).

``rttp_server``: ``url = await rttp_server(handler, **settings)`` serves a handler on a
free loopback port inside the test's nursery and returns its base URL.

``rttp_client``: an open ``rttp.Client(app=rttp_app)``, talking to the application that
your own ``rttp_app`` fixture returns, in memory (no sockets).

The plugin is registered through the ``pytest11`` entry point, so installing trio-rttp
is enough; both fixtures need pytest-trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio

from .._io.client._client import Client
from .._io.server._server import Handler, Server
from .._model import URL

__all__ = ["rttp_client", "rttp_server"]


@pytest.fixture
def rttp_server(nursery: trio.Nursery) -> Callable[..., Awaitable[URL]]:
    """Start a server in the test's nursery; returns its first bound address."""

    async def start(handler: Handler, bind: str = "http://127.0.0.1:0", **settings: Any) -> URL:
        server = Server(handler, bind, **settings)
        addresses: list[URL] = await nursery.start(server.serve)
        return addresses[0]

    return start


@pytest.fixture
async def rttp_client(rttp_app: Any) -> AsyncIterator[Client]:
    """An open client for the ``rttp_app`` fixture's application, in memory."""
    async with Client(app=rttp_app) as client:
        yield client
