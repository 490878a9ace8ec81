"""The ``dns`` resolver: ``getaddrinfo`` through Trio (the system's resolver)."""

from __future__ import annotations

import socket
from typing import Any

import trio

from rttp.plugin import Resolver, hookimpl

__all__ = ["DNSResolver"]


class DNSResolver(Resolver):
    """The first address the system's resolver gives (IPv6 in brackets)."""

    name = "dns"
    priority = 0
    ttl = 60.0

    async def resolve(self, name: str) -> str | None:
        try:
            found = await trio.socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return None
        if not found:
            return None
        family, _, _, _, address = found[0]
        host = str(address[0])
        return f"[{host}]" if family == socket.AF_INET6 else host


@hookimpl
def rttp_register_resolvers(register: Any) -> None:
    """Register the DNS resolver."""
    register(DNSResolver())
