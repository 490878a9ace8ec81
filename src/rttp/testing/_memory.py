"""The ``memory`` transport: server and client in one process, no sockets."""

from __future__ import annotations

from typing import Any, ClassVar

import trio
import trio.testing

from .._model import URL
from ..errors import BindError, ConnectError
from ..plugin import ConnectOptions, ListenOptions, Transport, hookimpl

__all__ = [
    "MemoryListener",
    "MemoryPlugin",
    "MemoryTransport",
    "memory_plugin",
]


class MemoryListener(trio.abc.Listener[trio.abc.Stream]):
    """Accepts the server ends of in-memory stream pairs."""

    def __init__(self, name: str, registry: dict[str, MemoryListener]) -> None:
        self.name = name
        self._registry = registry
        self._send, self._receive = trio.open_memory_channel[trio.abc.Stream](16)

    async def connect(self) -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        try:
            await self._send.send(server)
        except (trio.ClosedResourceError, trio.BrokenResourceError) as exc:
            raise ConnectError(f"memory server {self.name!r} is closed", reason="refused") from exc
        return client

    async def accept(self) -> trio.abc.Stream:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel as exc:  # pragma: no cover - closed under us
            raise trio.ClosedResourceError from exc

    async def aclose(self) -> None:
        if self._registry.get(self.name) is self:
            del self._registry[self.name]
        await self._send.aclose()
        await self._receive.aclose()


class MemoryTransport(Transport):
    """Client scheme and bind scheme ``memory``; the URL host names the server."""

    name = "memory"
    client_schemes: ClassVar[frozenset[str]] = frozenset({"memory"})
    bind_schemes: ClassVar[frozenset[str]] = frozenset({"memory"})

    def __init__(self) -> None:
        self.listeners: dict[str, MemoryListener] = {}

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        """A stream to the memory server named by the URL's host."""
        listener = self.listeners.get(url.host)
        if listener is None:
            raise ConnectError(f"no memory server called {url.host!r}", reason="dns")
        return await listener.connect()

    async def listen(self, target: URL, options: ListenOptions) -> list[trio.abc.Listener[Any]]:
        """A listener under the target's host name (an error if the name is taken)."""
        if target.host in self.listeners:
            raise BindError(f"memory server name {target.host!r} is already in use")
        listener = MemoryListener(target.host, self.listeners)
        self.listeners[target.host] = listener
        return [listener]

    def bound_address(self, listener: trio.abc.Listener[Any], target: URL) -> URL:
        """The target itself: a memory server is named, not numbered."""
        return URL(f"memory://{target.host}")


class MemoryPlugin:
    """A plugin object registering one shared :class:`MemoryTransport`."""

    name = "memory"

    def __init__(self) -> None:
        self.transport: MemoryTransport = MemoryTransport()

    @hookimpl
    def rttp_register_transports(self, register: Any) -> None:
        """Register the memory transport."""
        register(self.transport)


#: The shared in-memory plugin: pass ``plugins=[memory_plugin]`` to a Server and a Client.
memory_plugin: MemoryPlugin = MemoryPlugin()
