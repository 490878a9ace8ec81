"""URL: parsing, joining, query parameters, percent-encoding, unix-socket URLs.

Splitting and quoting use :mod:`urllib.parse`; this module adds validation (no control
characters, a numeric port in range, IDNA hosts), default ports per scheme, and the
``http+unix://<percent-encoded socket path>/path`` form that requests-unixsocket uses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Union
from urllib.parse import (
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urljoin,
    urlsplit,
    uses_netloc,
    uses_relative,
)

from ..errors import InvalidURL

__all__ = [
    "DEFAULT_PORTS",
    "QueryLike",
    "QueryParams",
    "URL",
]

#: Default port per scheme. ``rttp://`` and ``rttps://`` are the RTTP message layer's.
DEFAULT_PORTS: dict[str, int] = {
    "http": 80,
    "https": 443,
    "ws": 80,
    "wss": 443,
    "rttp": 10080,
    "rttps": 10081,
}

#: Schemes that are secure (TLS) by definition.
SECURE_SCHEMES = frozenset({"https", "wss", "rttps", "https+unix"})

_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/?%:@!$&'()*+,;=-._~"

QueryLike = Union[
    "QueryParams", Mapping[str, str | int | float | Iterable[str]], Iterable[tuple[str, str]], str
]


class QueryParams(Mapping[str, str]):
    """An ordered multi-dict of query parameters; ``params["a"]`` gives the first value."""

    __slots__ = ("_items",)

    def __init__(self, query: QueryLike | None = None) -> None:
        items: list[tuple[str, str]] = []
        if query is None:
            pass
        elif isinstance(query, str):
            items = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        elif isinstance(query, QueryParams):
            items = list(query._items)
        elif isinstance(query, Mapping):
            for key, value in query.items():
                if isinstance(value, (list, tuple)):
                    items.extend((str(key), _primitive(v)) for v in value)
                else:
                    items.append((str(key), _primitive(value)))
        else:
            items = [(str(k), _primitive(v)) for k, v in query]
        self._items: list[tuple[str, str]] = items

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(k for k, _ in self._items))

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in order."""
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(key, value)`` pair, repeats included."""
        return list(self._items)

    def merge(self, other: QueryLike | None) -> QueryParams:
        """A new QueryParams with ``other``'s pairs appended."""
        new = QueryParams(self)
        new._items.extend(QueryParams(other)._items)
        return new

    def __str__(self) -> str:
        return urlencode(self._items)

    def __repr__(self) -> str:
        return f"QueryParams({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, QueryParams):
            return self._items == other._items
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _primitive(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _check_text(url: str) -> None:
    for index, char in enumerate(url):
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise InvalidURL(
                f"URL contains control character {char!r} at position {index}: {url!r}", url
            )


def _encode_host(host: str, url: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidURL(
            f"URL host {host!r} is not a valid international name: {url!r}", url
        ) from exc


#: scheme, username, password, host, explicit port, path, query, fragment
_URLLIB_JOINS = frozenset(uses_relative) & frozenset(uses_netloc)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_Parts = tuple[str, str, str, str, int | None, str, str, str]


class URL:
    """A parsed, validated URL.

    ``URL("https://example.org/a?b=1")``; ``url.host``, ``url.port`` (explicit or the
    scheme's default), ``url.target`` (path and query for the request line),
    ``url.params``, ``url.join("../c")``. For ``http+unix://%2Ftmp%2Fs.sock/path``,
    :attr:`unix_path` is ``"/tmp/s.sock"``. A bind target ``unix:/tmp/s.sock`` parses too.
    """

    __slots__ = ("_port", "fragment", "host", "password", "path", "query", "scheme", "username")

    #: the scheme, lower case (``https``)
    scheme: str
    #: the user name of ``user:password@``, percent-decoded ("" if none)
    username: str
    #: the password of ``user:password@`` ("" if none)
    password: str
    #: the host, lower case, without brackets for IPv6 ("" if none)
    host: str
    #: the path, still percent-encoded
    path: str
    #: the query string, without ``?``
    query: str
    #: the fragment, without ``#``
    fragment: str
    _port: int | None

    def __init__(self, url: str | URL = "", *, params: QueryLike | None = None) -> None:
        if isinstance(url, URL):
            parts = url._parts()
        elif isinstance(url, str):
            parts = _parse_parts(url)
        else:
            raise InvalidURL(f"URL must be a str, got {type(url).__name__}: {url!r}", repr(url))
        (
            self.scheme,
            self.username,
            self.password,
            self.host,
            self._port,
            self.path,
            self.query,
            self.fragment,
        ) = parts
        if params is not None:
            merged = QueryParams(self.query).merge(params)
            self.query = str(merged)

    def _parts(self) -> _Parts:
        return (
            self.scheme,
            self.username,
            self.password,
            self.host,
            self._port,
            self.path,
            self.query,
            self.fragment,
        )

    # -- derived values ------------------------------------------------------------------
    @property
    def port(self) -> int | None:
        """The explicit port, else the scheme's default port, else None."""
        if self._port is not None:
            return self._port
        return DEFAULT_PORTS.get(self.scheme)

    @property
    def explicit_port(self) -> int | None:
        """The port written in the URL, or None."""
        return self._port

    @property
    def is_secure(self) -> bool:
        """True for schemes that use TLS (https, wss, rttps)."""
        return self.scheme in SECURE_SCHEMES

    @property
    def unix_path(self) -> str | None:
        """The socket path of an ``http+unix://`` URL or a ``unix:`` bind target, else None."""
        if self.scheme.endswith("+unix"):
            return self.host
        if self.scheme == "unix":
            return unquote(self.host + self.path) if self.host else unquote(self.path)
        return None

    @property
    def target(self) -> str:
        """The request target: path (``/`` when empty) and ``?query``."""
        path = self.path or "/"
        return f"{path}?{self.query}" if self.query else path

    @property
    def params(self) -> QueryParams:
        """The query parameters as an ordered multi-dict."""
        return QueryParams(self.query)

    @property
    def netloc(self) -> str:
        """``host[:port]`` with IPv6 brackets, as for a ``Host`` header (default port omitted)."""
        host = self.host
        if ":" in host and not self.scheme.endswith("+unix"):
            host = f"[{host}]"
        elif self.scheme.endswith("+unix"):
            host = quote(host, safe="")
        if self._port is not None and self._port != DEFAULT_PORTS.get(self.scheme):
            return f"{host}:{self._port}"
        return host

    @property
    def host_header(self) -> str:
        """The value to send in the ``Host`` header (``localhost`` for unix sockets)."""
        if self.scheme.endswith("+unix"):
            return "localhost"
        return self.netloc

    @property
    def origin(self) -> tuple[str, str, int | None]:
        """``(scheme, host, port)``: two URLs with equal origins may share credentials."""
        return (self.scheme, self.host, self.port)

    # -- operations ---------------------------------------------------------------------
    def join(self, other: str | URL) -> URL:
        """Resolve ``other`` (absolute or relative) against this URL (any scheme: urllib
        joins only the schemes it knows, so others are joined as http, then restored)."""
        base, target = str(self), str(other)
        if self.scheme in _URLLIB_JOINS:
            return URL(urljoin(base, target))
        if _ABSOLUTE.match(target):
            return URL(target)  # absolute already
        joined = urljoin("http" + base[len(self.scheme) :], target)
        return URL(self.scheme + joined[len("http") :])

    def copy_with(self, **changes: object) -> URL:
        """A copy with some components replaced: scheme, host, port, path, query, fragment."""
        new = URL(self)
        for name, value in changes.items():
            if name == "port":
                new._port = value if value is None else int(value)  # type: ignore[call-overload]
            elif name in ("scheme", "host", "path", "query", "fragment", "username", "password"):
                setattr(new, name, "" if value is None else str(value))
            else:
                raise TypeError(f"URL.copy_with() got an unknown component {name!r}")
        return new

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix:{self.unix_path}"
        userinfo = ""
        if self.username or self.password:
            userinfo = quote(self.username, safe="")
            if self.password:
                userinfo += ":" + quote(self.password, safe="")
            userinfo += "@"
        text = f"{self.scheme}://{userinfo}{self.netloc}{self.path}"
        if self.query:
            text += "?" + self.query
        if self.fragment:
            text += "#" + self.fragment
        return text

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (URL, str)):
            return str(self) == str(URL(other) if isinstance(other, str) else other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))


@functools.lru_cache(maxsize=512)
def _parse_parts(url: str) -> _Parts:
    """The parsed fields of a URL string, in :meth:`URL._parts` order (cached: clients
    parse the same URLs again and again; a malformed URL raises and is not cached)."""
    _check_text(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"malformed URL {url!r}: {exc}", url) from exc
    scheme = parts.scheme.lower()
    if scheme.endswith("+unix"):
        # the host is a percent-encoded socket path; urlsplit lower-cases it, so re-read it
        host = unquote(parts.netloc.rsplit("@", 1)[-1])
        port = None
    else:
        host = _encode_host(parts.hostname, url) if parts.hostname else ""
    if scheme in DEFAULT_PORTS and not host:
        raise InvalidURL(f"URL {url!r} has no host", url)
    return (
        scheme,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        host,
        port,
        quote(parts.path, safe=_PATH_SAFE),
        quote(parts.query, safe=_QUERY_SAFE),
        parts.fragment,
    )
