"""A routing app served as an object: ``start()``, ``stop()``, ``active``, ``port``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from .._io._util import exit_owned_nursery
from .._io.server._server import Server
from .._model import URL
from ..errors import BindError
from ._sockets import SocketConnection

if TYPE_CHECKING:
    from ._app import App, HandlerInfo

__all__ = ["ServedApp"]

log = logging.getLogger("rttp.app")


class ServedApp:
    """An app bound to a port: ``start()``, ``stop()``, ``active``, ``port``, ``handlers()``,
    ``sockets(path)``. Use ``async with app.serve(8080) as served:`` or
    ``served = await nursery.start(app.serve(0).run)``.
    """

    def __init__(self, app: App, port: int = 0, host: str = "127.0.0.1", **settings: Any) -> None:
        self.app = app
        self.host = host
        self.settings = settings
        self._requested_port = port
        self._server: Server | None = None
        self._stopped: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None
        self.addresses: list[URL] = []
        self.error: BindError | None = None

    @property
    def active(self) -> bool:
        """True while serving."""
        return self._stopped is not None and not self._stopped.is_set()

    @property
    def port(self) -> int:
        """The bound port (the requested one before start)."""
        if self.addresses and self.addresses[0].port is not None:
            return self.addresses[0].port
        return self._requested_port

    @property
    def url(self) -> URL:
        """The base URL clients use."""
        return URL(f"http://{self.host}:{self.port}")

    def handlers(self) -> list[HandlerInfo]:
        """The app's handlers."""
        return self.app.handlers()

    def sockets(self, path: str) -> list[SocketConnection]:
        """Live WebSocket connections on ``path``."""
        return self.app.sockets(path)

    async def start(self, nursery: trio.Nursery | None = None) -> bool:
        """Bind and serve; False (with ``error`` set) if the port cannot be bound."""
        if self.active:
            return True
        target = nursery or self._nursery
        if target is None:
            raise RuntimeError(
                "start() needs a nursery: use 'async with app.serve(...)' or pass one"
            )
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._server = Server(self.app, f"http://{host}:{self._requested_port}", **self.settings)
        stopped = trio.Event()

        async def serve(task_status: trio.TaskStatus[list[URL]] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                assert self._server is not None
                await self._server.serve(task_status=task_status)
            finally:
                stopped.set()

        try:
            self.addresses = await target.start(serve)
        except BindError as exc:
            self.error = exc
            log.warning("cannot serve on %s:%s: %s", self.host, self._requested_port, exc)
            return False
        self.error = None
        self._stopped = stopped
        return True

    async def stop(self) -> None:
        """Stop serving (graceful); the object can start again."""
        if self._server is not None and self._stopped is not None:
            self._server.shutdown()
            await self._stopped.wait()

    async def run(
        self, *, task_status: trio.TaskStatus[ServedApp] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until :meth:`stop` (for ``nursery.start``; reports this object)."""
        async with trio.open_nursery() as nursery:
            if not await self.start(nursery):
                raise self.error  # type: ignore[misc]
            task_status.started(self)

    async def __aenter__(self) -> ServedApp:
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        try:
            await self.stop()
        finally:
            cm, self._nursery_cm, self._nursery = self._nursery_cm, None, None
            result = await exit_owned_nursery(cm, exc_info)
        return result
