"""Proxy headers: the client's address and scheme from ``Forwarded`` (RFC 7239) or
``X-Forwarded-For`` / ``X-Forwarded-Proto``, believed only from trusted proxies.

The hops are read right to left, the nearest proxy first: each hop a trusted proxy
added is skipped, and the first address no trusted proxy stands for is the client. So a
client cannot claim an address by sending the header itself: only what the proxies in
front of us appended counts.
"""

from __future__ import annotations

import ipaddress
import re

from ..._model import Request

__all__ = ["ProxyHeaders", "strip_root"]

_ELEMENT = re.compile(r'\s*([^=;,\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*([;,]?)')
_SCHEMES = frozenset({"http", "https", "ws", "wss"})


def _forwarded(values: list[str]) -> tuple[list[str], str | None]:
    """The ``for=`` of each element (one per hop) and the last ``proto=``."""
    hops: list[str] = []
    proto: str | None = None
    text = ",".join(values)
    pos = 0
    current_for: str | None = None
    while pos < len(text):
        match = _ELEMENT.match(text, pos)
        if match is None:
            break  # malformed: keep what was read
        name, value, separator = match.group(1).lower(), match.group(2), match.group(3)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if name == "for":
            current_for = value
        elif name == "proto":
            proto = value.lower()
        pos = match.end()
        if separator != ";":  # the end of an element (one hop)
            if current_for is not None:
                hops.append(current_for)
            current_for = None
    return hops, proto


def _address(text: str) -> str | None:
    """The IP in a ``for=`` value or an X-Forwarded-For item (port and brackets removed)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class ProxyHeaders:
    """Applies proxy headers from the proxies in ``trusted`` (IPs, networks, ``*``)."""

    def __init__(self, trusted: tuple[str, ...]) -> None:
        self.anyone = "*" in trusted
        self.networks = [ipaddress.ip_network(t, strict=False) for t in trusted if t != "*"]

    def trusts(self, host: str) -> bool:
        """Whether ``host`` is a proxy whose headers count."""
        if self.anyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def apply(self, request: Request) -> None:
        """Set ``request.client`` and ``request.scheme`` from the headers, if the peer is
        trusted."""
        peer = request.client
        if peer is None or not self.trusts(peer[0]):
            return
        forwarded = request.headers.get_all("forwarded")
        if forwarded:
            hops, proto = _forwarded(forwarded)
        else:
            hops = [h for v in request.headers.get_all("x-forwarded-for") for h in v.split(",")]
            protos = request.headers.get_all("x-forwarded-proto")
            proto = protos[-1].split(",")[-1].strip().lower() if protos else None
        client: str | None = None
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # unknown or obfuscated: the peer stays what it was
            client = address
            if not self.trusts(address):
                break
        if client is not None:
            request.client = (client, 0)
        if proto in _SCHEMES:
            request.scheme = proto


def strip_root(request: Request, root: str) -> None:
    """Handle ``/root/x`` as ``/x`` (``/root`` as ``/``), remembering the prefix (the
    path a proxy serves the application under)."""
    target = request.target
    if target == root or target.startswith((root + "/", root + "?")):
        rest = target[len(root) :]
        request.target = rest if rest.startswith("/") else "/" + rest
        request.root_path = root
