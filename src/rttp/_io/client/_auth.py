"""Driving auth flows on the client (the schemes themselves are sans-IO plugins).

:func:`client_auth` turns what ``auth=`` was given into a
:class:`~rttp.plugin.ClientAuth`; :func:`run_flow` drives a flow: it sends each request
the flow yields and sends the response back in, until the flow stops, and hands back
the last response. A request whose streamed body was already sent cannot go again: the
flow then ends with the response it had.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any

from ..._model import Request, Response
from ..._plugins import Plugins
from ..._proto._authscheme import AuthFlow, AuthScheme, ClientAuth, Credentials
from ...errors import AuthError

__all__ = ["AuthLike", "client_auth", "run_flow"]

#: what ``auth=`` takes
AuthLike = ClientAuth | Credentials | tuple[str, str] | str | None


def client_auth(auth: Any, plugins: Plugins) -> ClientAuth | None:
    """``(user, password)`` → basic, a str → bearer, :class:`Credentials` → its scheme,
    a :class:`ClientAuth` as it is, None → no auth."""
    if auth is None or isinstance(auth, ClientAuth):
        return auth
    if isinstance(auth, Credentials):
        name, value = auth.scheme.lower(), auth.value
    elif isinstance(auth, tuple):
        name, value = "basic", auth
    elif isinstance(auth, str):
        name, value = "bearer", auth
    elif isinstance(auth, AuthScheme):
        raise TypeError(
            f"auth= got the {auth.name!r} scheme itself; give it credentials: "
            f"rttp.auth.Credentials({auth.name!r}, ...) or scheme.auth(credentials)"
        )
    else:
        raise TypeError(
            "auth= takes (user, password), a bearer token str, rttp.auth.Credentials or an "
            f"rttp.plugin.ClientAuth, not {type(auth).__name__}"
        )
    scheme = plugins.auth_schemes.get(name)
    if scheme is None:
        raise AuthError(
            f"no auth scheme {name!r} is registered (have: {', '.join(sorted(plugins.auth_schemes))})",
            scheme=name,
        )
    return scheme.auth(value)


def _spent(request: Request, sent: set[int]) -> bool:
    """True if ``request`` was sent already and its body was a stream (now consumed)."""
    return id(request) in sent and request._content is None and request._stream is not None


async def run_flow(
    flow: AuthFlow | Generator[Request, Response, Any],
    send: Callable[[Request], Awaitable[Response]],
    discard: Callable[[Response], Awaitable[None]],
    *,
    read_bodies: bool = False,
) -> Response:
    """Drive ``flow``: send what it yields, feed it the responses; the last response."""
    is_async = isinstance(flow, AsyncGenerator)
    sent: set[int] = set()
    try:
        request = await flow.__anext__() if is_async else next(flow)  # type: ignore[union-attr, arg-type]
        while True:
            response = await send(request)
            sent.add(id(request))
            try:
                if read_bodies and response.is_streaming:
                    await response.read()
                try:
                    if is_async:
                        request = await flow.asend(response)  # type: ignore[union-attr]
                    else:
                        request = flow.send(response)  # type: ignore[union-attr]
                except (StopIteration, StopAsyncIteration):
                    return response
                if _spent(request, sent):
                    return response
            except BaseException:
                await discard(response)
                raise
            await discard(response)
    finally:
        if is_async:
            await flow.aclose()  # type: ignore[union-attr]
        else:
            flow.close()  # type: ignore[union-attr]
