"""Middleware for the routing App, and CORS, the first built-in one.

A middleware is an async function ``(request, call_next) -> Response``, as in aiohttp
and Starlette: it runs around every route (and every ``any`` filter, and the WebSocket
handshake) of the App, or of the paths under a prefix; it may answer by itself without
calling ``call_next`` (a refusal, a cached page), change the Response ``call_next``
returns, or catch what the route raised. The first registered is the outermost.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from .._model import Request, Response

__all__ = ["CORS", "CallNext", "Middleware", "chain"]

CallNext = Callable[[Request], Awaitable[Response]]


class Middleware(Protocol):
    """``async def middleware(request, call_next) -> Response``."""

    def __call__(self, request: Request, call_next: CallNext, /) -> Awaitable[Response]: ...


def _under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it (by whole segments)."""
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def chain(layers: list[tuple[Middleware, str]], endpoint: CallNext) -> CallNext:
    """``endpoint`` wrapped in ``layers`` (``(middleware, prefix)``, outermost first); a
    layer whose prefix the request's path is not under is passed by."""
    handler = endpoint
    for middleware, prefix in reversed(layers):
        handler = _layer(middleware, prefix, handler)
    return handler


def _layer(middleware: Middleware, prefix: str, inner: CallNext) -> CallNext:
    async def run(request: Request) -> Response:
        if not _under(request.path, prefix):
            return await inner(request)
        return await middleware(request, inner)

    return run


class CORS:
    """Cross-origin resource sharing (the Fetch standard's CORS protocol) as App
    middleware: ``app.middleware(rttp.CORS(allow_origins=["https://example.org"]))``.

    ``allow_origins`` lists the origins allowed (``"*"``: any) and ``allow_origin_regex``
    matches more; ``allow_methods`` and ``allow_headers`` (``"*"``: any) are what a
    preflight may ask for; ``allow_credentials`` lets the browser send cookies and read
    the answer (the origin is then echoed, never ``*``); ``expose_headers`` are the
    answer's fields a script may read; ``max_age`` is how long a browser keeps a
    preflight's answer. A preflight is answered here, without reaching a route; a
    WebSocket handshake from an origin not allowed is refused with a 403 (the origin
    check browsers leave to the server).
    """

    def __init__(
        self,
        *,
        allow_origins: Iterable[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Iterable[str] = ("GET",),
        allow_headers: Iterable[str] = (),
        allow_credentials: bool = False,
        expose_headers: Iterable[str] = (),
        max_age: int = 600,
    ) -> None:
        origins = list(allow_origins)
        if isinstance(allow_origins, str):
            raise TypeError(f"allow_origins takes a list of origins, got {allow_origins!r}")
        self.any_origin: bool = "*" in origins
        self.origins: frozenset[str] = frozenset(origins)
        self.origin_regex: re.Pattern[str] | None = (
            re.compile(allow_origin_regex) if allow_origin_regex else None
        )
        methods = [m.upper() for m in allow_methods]
        self.any_method: bool = "*" in methods
        self.methods: str = ", ".join(methods) if not self.any_method else ""
        self.method_set: frozenset[str] = frozenset(methods)
        headers = [h.lower() for h in allow_headers]
        self.any_header: bool = "*" in headers
        self.header_set: frozenset[str] = frozenset(headers)
        self.allow_credentials: bool = allow_credentials
        self.expose: str = ", ".join(expose_headers)
        self.max_age: int = max_age

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` may read the answers."""
        if self.any_origin or origin in self.origins:
            return True
        return self.origin_regex is not None and self.origin_regex.fullmatch(origin) is not None

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        origin = request.headers.get("origin")
        if origin is None:
            return await call_next(request)  # not a cross-origin request
        wanted = request.headers.get("access-control-request-method")
        if request.method == "OPTIONS" and wanted is not None:
            return self._preflight(request, origin, wanted)
        if not self.allows(origin):
            if request.headers.flags("upgrade") & {"websocket"}:
                return Response(
                    403, body=f"403 Forbidden: WebSocket from origin {origin!r} not allowed\n"
                )
            return await call_next(request)  # answered, but the browser will not show it
        response = await call_next(request)
        self._allow(response, origin)
        if self.expose:
            response.headers["Access-Control-Expose-Headers"] = self.expose
        return response

    def _allow(self, response: Response, origin: str) -> None:
        """The fields that let ``origin`` read ``response``."""
        headers = response.headers
        if self.any_origin and not self.allow_credentials:
            headers["Access-Control-Allow-Origin"] = "*"
        else:
            headers["Access-Control-Allow-Origin"] = origin
            vary = headers.get("vary")
            if vary is None:
                headers["Vary"] = "Origin"
            elif "origin" not in {v.strip().lower() for v in vary.split(",")}:
                headers["Vary"] = f"{vary}, Origin"
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"

    def _preflight(self, request: Request, origin: str, wanted: str) -> Response:
        """Answer a preflight: 204 with what is allowed, or 400 naming what is not."""
        problems = []
        if not self.allows(origin):
            problems.append(f"origin {origin!r}")
        if not (self.any_method or wanted.upper() in self.method_set):
            problems.append(f"method {wanted!r}")
        asked = request.headers.csv_list("access-control-request-headers")
        refused = [h for h in asked if not self.any_header and h.lower() not in self.header_set]
        if refused:
            problems.append(f"headers {', '.join(refused)}")
        if problems:
            return Response(
                400,
                {"Vary": "Origin"},
                f"400 Bad Request: CORS preflight refused: {'; '.join(problems)} not allowed\n",
            )
        response = Response(204)
        self._allow(response, origin)
        headers = response.headers
        headers["Access-Control-Allow-Methods"] = self.methods or wanted.upper()
        if asked:
            headers["Access-Control-Allow-Headers"] = ", ".join(asked)
        headers["Access-Control-Max-Age"] = str(self.max_age)
        headers["Vary"] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        return response
