"""Testing an application in the test's own process, over the memory transport."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from .._io.client._client import Client
from .._io.server._server import Handler, Server
from ._memory import memory_plugin

__all__ = ["app_client"]

_names = itertools.count(1)


@asynccontextmanager
async def app_client(handler: Handler, **settings: Any) -> AsyncIterator[Client]:
    """A :class:`rttp.Client` talking to ``handler`` served in memory (no sockets)::

        async with rttp.testing.app_client(app) as client:
            assert (await client.get("/users/1")).json() == {"id": 1}

    The server runs the whole HTTP/1.1 engine, so what the test sees is what a peer
    would; ``settings`` are :class:`rttp.ServerConfig` fields for it.
    """
    name = f"app-{next(_names)}"
    plugins = [*settings.pop("plugins", ()), memory_plugin]
    server = Server(handler, f"memory://{name}", plugins=plugins, **settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        async with Client(base_url=f"memory://{name}", plugins=[memory_plugin]) as client:
            yield client
        nursery.cancel_scope.cancel()
