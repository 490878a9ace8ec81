"""The client's cookie jar: :mod:`http.cookiejar` (domain, path, expiry and secure rules)
behind a small mapping-like API, fed by every response and consulted by every request."""

from __future__ import annotations

import email.message
import urllib.request
from collections.abc import Iterator
from http.cookiejar import Cookie, CookieJar

from ..._model import Request, Response

__all__ = ["Cookies"]


class _UrllibRequest(urllib.request.Request):
    """What CookieJar wants to see of a request; cookies it adds land on the real one."""

    def __init__(self, request: Request) -> None:
        super().__init__(str(request.url), method=request.method)
        self._request = request
        for name, value in request.headers.multi_items():
            urllib.request.Request.add_unredirected_header(self, name, value)

    def add_unredirected_header(self, key: str, val: str) -> None:
        super().add_unredirected_header(key, val)
        if key.lower() == "cookie":
            self._request.headers["Cookie"] = val


class _UrllibResponse:
    """What CookieJar wants to see of a response: its headers as an email Message."""

    def __init__(self, response: Response) -> None:
        self._response = response

    def info(self) -> email.message.Message:
        message = email.message.Message()
        for name, value in self._response.headers.multi_items():
            message[name] = value
        return message


class Cookies:
    """Cookies a client keeps across requests (``client.cookies``).

    ``cookies.get("sid")``, ``cookies.set("sid", "abc", domain="example.org")``,
    ``dict(cookies.items())``, ``cookies.clear()``. Set-Cookie answers are stored with
    their domain, path, expiry and secure flags, and sent back only where they apply.
    """

    def __init__(self) -> None:
        self._jar = CookieJar()
        # False until a cookie is stored: requests skip the jar (whose len() walks it) till then
        self._used = False

    def __len__(self) -> int:
        return len(self._jar)

    def __iter__(self) -> Iterator[str]:
        return (cookie.name for cookie in self._jar)

    def items(self) -> list[tuple[str, str]]:
        """``(name, value)`` of every cookie."""
        return [(cookie.name, cookie.value or "") for cookie in self._jar]

    def get(
        self, name: str, default: str | None = None, *, domain: str | None = None
    ) -> str | None:
        """The value of the cookie called ``name`` (on ``domain`` when given)."""
        for cookie in self._jar:
            if cookie.name == name and (
                domain is None or cookie.domain.lstrip(".") == domain.lstrip(".")
            ):
                return cookie.value
        return default

    def set(self, name: str, value: str, *, domain: str = "", path: str = "/") -> None:
        """Set a cookie by hand (for every host when ``domain`` is empty)."""
        self._used = True
        self._jar.set_cookie(
            Cookie(
                version=0,
                name=name,
                value=value,
                port=None,
                port_specified=False,
                domain=domain,
                domain_specified=bool(domain),
                domain_initial_dot=domain.startswith("."),
                path=path,
                path_specified=True,
                secure=False,
                expires=None,
                discard=True,
                comment=None,
                comment_url=None,
                rest={},
                rfc2109=False,
            )
        )

    def clear(self) -> None:
        """Forget every cookie."""
        self._jar.clear()

    def add_to(self, request: Request) -> None:
        """Add the Cookie header the jar holds for ``request``'s URL."""
        if self._used and len(self._jar):
            self._jar.add_cookie_header(_UrllibRequest(request))

    def take_from(self, response: Response, request: Request) -> None:
        """Store the cookies a response sets."""
        if response.headers.get_raw(b"set-cookie"):
            self._used = True
            self._jar.extract_cookies(_UrllibResponse(response), _UrllibRequest(request))  # type: ignore[arg-type]
