"""Which proxy a client request goes through, without I/O: the client's ``proxy`` and
``proxies`` mounts, and with ``trust_env`` the environment (``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, in either case), as httpx, requests and
curl read them.

Mounts are keyed by pattern: ``"all://"``, ``"http://"``, ``"https://"``,
``"all://*.internal"``, ``"https://example.org"``, ``"http://example.org:8080"``; the
most specific pattern that matches wins, and a mount to None means "no proxy".
``NO_PROXY`` takes host names (``example.org`` also covers its subdomains), domains
with a leading dot, IP addresses, CIDR ranges, ``host:port`` and ``*``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

__all__ = ["ProxyRules", "no_proxy_matches"]

#: the schemes a proxy may itself be reached by (a SOCKS proxy needs its plugin)
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class _Pattern:
    """One mount's pattern, and how specific it is (host beats scheme beats all)."""

    __slots__ = ("host", "port", "rank", "scheme", "text", "wildcard")

    def __init__(self, text: str) -> None:
        scheme, sep, rest = text.partition("://")
        if not sep:
            raise ValueError(f"a proxy mount is 'scheme://[host]', got {text!r}")
        self.text = text
        self.scheme = scheme.lower()
        host, _, port = rest.rstrip("/").rpartition(":") if ":" in rest else (rest, "", "")
        host = host.rstrip("/").lower()
        self.port = int(port) if port.isdigit() else None
        self.wildcard = host.startswith("*")
        self.host = host.lstrip("*").lstrip(".") if self.wildcard else host
        self.rank = (
            (2 if host else 0) + (1 if self.scheme != "all" else 0) + (1 if self.port else 0)
        )

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        if self.scheme not in ("all", scheme):
            return False
        if self.port is not None and self.port != port:
            return False
        if not self.host:
            return True
        if self.wildcard:
            return host == self.host or host.endswith("." + self.host)
        return host == self.host


class ProxyRules:
    """The proxy for each request's URL (None: connect directly).

    ``proxy`` is used for every request; ``mounts`` maps patterns to a proxy URL or
    None (on top of ``proxy``); ``environ`` (with ``trust_env``) gives the
    environment's proxies and ``NO_PROXY``, used only when neither is given.
    """

    def __init__(
        self,
        proxy: str | None = None,
        mounts: Mapping[str, str | None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        table: dict[str, str | None] = {}
        self.no_proxy: list[str] = []
        if environ is not None and proxy is None and not mounts:  # explicit ones win
            get = _reader(environ)
            for scheme in ("http", "https"):
                value = get(f"{scheme}_proxy")
                if value:
                    table[f"{scheme}://"] = _with_scheme(value)
            value = get("all_proxy")
            if value:
                table["all://"] = _with_scheme(value)
            self.no_proxy = [e.strip() for e in (get("no_proxy") or "").split(",") if e.strip()]
        if proxy is not None:
            table = {"all://": _with_scheme(proxy)}
        if mounts:
            table.update({k: (_with_scheme(v) if v else None) for k, v in mounts.items()})
        self._mounts = sorted(
            ((_Pattern(k), v) for k, v in table.items()), key=lambda pv: -pv[0].rank
        )
        for _, value in self._mounts:
            if value is not None:
                scheme = value.partition("://")[0].lower()
                if scheme not in PROXY_SCHEMES:
                    raise ValueError(
                        f"a proxy URL's scheme is one of {', '.join(PROXY_SCHEMES)}, got {value!r}"
                    )

    def __bool__(self) -> bool:
        return any(value is not None for _, value in self._mounts)

    def for_url(self, scheme: str, host: str, port: int | None) -> str | None:
        """The proxy URL for a request to ``scheme://host:port``, or None."""
        if not self._mounts:
            return None
        host = host.lower().strip("[]")
        if self.no_proxy and no_proxy_matches(self.no_proxy, host, port):
            return None
        transport = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        for pattern, value in self._mounts:
            if pattern.matches(transport, host, port):
                return value
        return None


def _reader(environ: Mapping[str, str]) -> Callable[[str], str | None]:
    """``get(name)``: the variable in lower case, else in upper case."""

    def get(name: str) -> str | None:
        value = environ.get(name)
        if value is None:
            value = environ.get(name.upper())
        return value

    return get


def _with_scheme(url: str) -> str:
    """``proxy:3128`` as ``http://proxy:3128`` (what curl assumes)."""
    return url if "://" in url else f"http://{url}"


def no_proxy_matches(entries: list[str], host: str, port: int | None) -> bool:
    """Whether ``host`` (and ``port``) is excluded by a ``NO_PROXY`` list."""
    address = _address(host)
    for entry in entries:
        entry = entry.lower()
        if entry == "*":
            return True
        name, want_port = entry, None
        if entry.count(":") == 1 and not entry.startswith("["):
            name, _, port_text = entry.partition(":")
            if port_text.isdigit():
                want_port = int(port_text)
        name = name.strip("[]")
        if want_port is not None and want_port != port:
            continue
        if "/" in name:
            if address is not None:
                try:
                    if address in ipaddress.ip_network(name, strict=False):
                        return True
                except ValueError:
                    pass
            continue
        if address is not None:
            if _address(name) == address:
                return True
            continue
        name = name.lstrip("*").lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
