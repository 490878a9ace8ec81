"""Names to addresses for the client: resolver plugins asked in priority order, each
answer cached for its resolver's ``ttl``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import trio

from ..._plugins import Plugins
from ...plugin import NameTable, Resolver

__all__ = ["NameResolver", "is_address", "make_resolver", "split_address"]


class NameResolver:
    """Asks ``resolvers`` in priority order until one knows the name; caches answers."""

    def __init__(self, resolvers: Iterable[Resolver]) -> None:
        self.resolvers = sorted(resolvers, key=lambda r: -r.priority)
        self._cache: dict[str, tuple[float, str]] = {}

    async def resolve(self, name: str) -> str | None:
        """The address for ``name`` (``host`` or ``host:port``), or None if no one knows."""
        now = trio.current_time()
        key = name.lower()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            await trio.lowlevel.checkpoint()
            return hit[1]
        for resolver in self.resolvers:
            address = await resolver.resolve(name)
            if address is not None:
                self._cache[key] = (now + resolver.ttl, address)
                return address
        return None


def make_resolver(spec: Any, plugins: Plugins) -> NameResolver | None:
    """What ``resolver=`` means: None (the transports resolve, as the system does), True
    (the registered resolvers), a name table (asked first, then the registered ones), a
    Resolver, or a list of Resolvers."""
    if spec is None or spec is False:
        return None
    registered = list(plugins.resolvers.values())
    if spec is True:
        return NameResolver(registered)
    if isinstance(spec, Mapping):
        return _table_first(NameTable(spec), registered)
    if isinstance(spec, Resolver):
        return NameResolver([spec])
    if isinstance(spec, (list, tuple)) and all(isinstance(r, Resolver) for r in spec):
        return NameResolver(spec)
    raise ValueError(
        f"resolver must be None, True, a name table, a Resolver or a list of them, got {spec!r}"
    )


def _table_first(table: NameTable, registered: list[Resolver]) -> NameResolver:
    resolver = NameResolver(registered)
    resolver.resolvers.insert(0, table)  # the caller's own names win over every plugin
    return resolver


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address (nothing to resolve)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def split_address(address: str) -> tuple[str, int | None]:
    """``host[:port]`` (IPv6 in brackets) as ``(host, port or None)``."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, int(port)
    return address, None
