"""Following redirects: the next request, or why there is none."""

from __future__ import annotations

from typing import Any

import trio

from ..._model import Headers, Request, Response
from ..._plugins import Plugins
from ...errors import TooManyRedirects, TransportError, UnsafeRedirect

__all__ = ["REDIRECTS", "SENSITIVE", "discard", "redirect_request"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: fields that never go to another origin
SENSITIVE = frozenset({b"authorization", b"cookie", b"proxy-authorization"})


async def discard(response: Response, seconds: float) -> None:
    """Drop an answer the client will not return (a redirect, a challenge): read up to
    64 KiB of it within ``seconds`` so the connection may be reused, then close it."""
    if response.is_streaming:
        with trio.move_on_after(seconds):
            try:
                total = 0
                async for chunk in response.stream():
                    total += len(chunk)
                    if total > 65536:
                        break
            except TransportError:
                pass
    await response.aclose()


def redirect_request(
    request: Request, response: Response, count: int, max_redirects: int, plugins: Plugins
) -> Request | None:
    """The request that follows ``response`` (the ``count``-th redirect), or None when a
    streamed body cannot be sent again (the redirect is then the answer).

    Raises TooManyRedirects past ``max_redirects``, and UnsafeRedirect for a scheme no
    transport serves, a scheme of another family (a TCP origin's redirect to a unix
    socket: see :attr:`rttp.plugin.Transport.scheme_families`) or a step down from https. Credentials and cookies stay behind when
    the redirect leaves the origin.
    """
    if count > max_redirects:
        raise TooManyRedirects(
            f"more than max_redirects={max_redirects} redirects, last to "
            f"{response.headers.get('location')!r}"
        )
    location = response.headers["location"]  # pragma: no mutate (any case)
    target = request.url.join(location)
    if target.scheme not in plugins.client_transports:
        raise UnsafeRedirect(f"refusing to follow a redirect to unsupported scheme {str(target)!r}")
    source = request.url.scheme
    if target.scheme != source:
        family = plugins.client_transports[source].scheme_families.get(source)
        if (
            family is None
            or plugins.client_transports[target.scheme].scheme_families.get(target.scheme) != family
        ):
            raise UnsafeRedirect(
                f"refusing to follow a redirect from {source} to another kind of transport: "
                f"{str(target)!r}"
            )
    if request.url.is_secure and not target.is_secure:
        raise UnsafeRedirect(
            f"refusing to follow a redirect from https to plain {target.scheme}: {str(target)!r}"
        )
    method = request.method
    body: Any = (
        request._content if request._content is not None else request._stream
    )  # pragma: no mutate
    headers = request.headers.copy()
    if (response.status == 303 and method != "HEAD") or (
        response.status in (301, 302) and method == "POST"
    ):
        method, body = "GET", None  # pragma: no mutate (methods are upper-cased)
        for name in ("content-length", "content-type", "transfer-encoding", "content-encoding"):
            headers.pop(name, None)
    elif request._content is None:
        return None  # a streamed body cannot be replayed: hand back the redirect
    if target.origin != request.url.origin:
        headers = Headers.from_raw([(n, v) for n, v in headers.raw if n.lower() not in SENSITIVE])
    headers["Host"] = target.host_header  # pragma: no mutate (any case)
    return Request(method, target, headers=headers, body=body)
