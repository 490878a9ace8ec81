"""Clients that talk to an application in-process: ``rttp.Client(app=app)``,
:class:`AppTransport` and :class:`MockTransport`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import trio
import trio.testing

from ..._model import URL, Request, Response
from ...plugin import ConnectOptions, ListenOptions, Transport, hookimpl
from .._util import call_maybe_async
from ..server._interfaces import as_handler
from ..server._server import Server

__all__ = ["AppTransport", "MockTransport"]

log = logging.getLogger("rttp.testing")


class AppTransport(Transport):
    """A client transport that hands every connection to ``app`` (an rttp handler or
    App, an ASGI 3 application such as Starlette or FastAPI, or a WSGI one such as
    Flask), served in memory.

    Every ``http``, ``https``, ``ws`` and ``wss`` URL reaches the app, whatever its host,
    through the real HTTP/1.1 engine (framing, limits, compression, upgrades) over a
    memory stream: what a test sees is what a socket would carry. ``settings`` are
    :class:`rttp.ServerConfig` fields of the server side. Use it as a plugin object,
    ``rttp.Client(plugins=[AppTransport(app)])``, or through ``rttp.Client(app=app)``.
    """

    name = "app"
    #: it takes over http, https, ws and wss on purpose: no PluginWarning
    replaces_others = True
    client_schemes: ClassVar[frozenset[str]] = frozenset({"http", "https", "ws", "wss"})
    bind_schemes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, app: Any, **settings: Any) -> None:
        settings.setdefault("access_log", False)
        # an ASGI 3 or WSGI application is hosted as rttp serve hosts it
        self.server: Server = Server(as_handler(app), "memory://app", **settings)

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        """A memory stream whose other end the app's server side reads."""
        client, server = trio.testing.memory_stream_pair()
        # the connection's server half outlives this call: a system task, as Trio
        # provides for work no nursery of the caller's owns (it ends when the client
        # closes its end, or when trio.run does)
        trio.lowlevel.spawn_system_task(self._serve, server)
        return client

    async def _serve(self, stream: trio.abc.Stream) -> None:
        try:
            await self.server.serve_stream(stream)
        except Exception:  # a system task must never raise
            log.exception("the in-memory server side failed")

    async def listen(self, target: URL, options: ListenOptions) -> list[trio.abc.Listener[Any]]:
        """Not a server transport."""
        raise NotImplementedError("AppTransport connects clients; it does not listen")

    def bound_address(self, listener: trio.abc.Listener[Any], target: URL) -> URL:
        """Not a server transport."""
        raise NotImplementedError("AppTransport connects clients; it does not listen")

    @hookimpl
    def rttp_register_transports(self, register: Any) -> None:
        """Register itself (so that the object is its own plugin)."""
        register(self)


class MockTransport(AppTransport):
    """A transport whose answers come from ``handler(request)`` (sync or async, returning
    an :class:`rttp.Response`): for testing code that uses a client. ``requests`` keeps
    every request the handler saw, bodies read."""

    def __init__(self, handler: Callable[[Request], Any], **settings: Any) -> None:
        self.requests: list[Request] = []

        async def answer(request: Request) -> Response:
            await request.read()
            self.requests.append(request)
            result = await call_maybe_async(handler, request)
            return result if isinstance(result, Response) else Response(value=result)

        super().__init__(answer, **settings)
