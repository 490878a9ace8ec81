"""The seed 003 callback client: ``client.http(url, callback, ...)`` and ``client.stream_chunks``.

Both are coroutines over :class:`rttp.Client`: await them, or start them in the
client's nursery (``client.nursery.start_soon(client.http, url, callback)``) to have
them run in the background as the seed's do. Callbacks may be async.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._io._util import call_maybe_async
from .._model import Headers
from .._model._enums import Method

if TYPE_CHECKING:
    from .._io.client._client import Client, Progress

__all__ = ["HTTPResult", "http", "stream_chunks"]


class HTTPResult:
    """What the callback receives: ``status``, ``reason``, ``headers``, ``body``, ``url``."""

    __slots__ = ("body", "headers", "reason", "status", "url")

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes, url: str) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.url = url

    @property
    def text(self) -> str:
        """The body as UTF-8 text (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<HTTPResult {self.status} {self.url} {len(self.body)} bytes>"


def _request_kwargs(headers: Any, body: Any, params: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if body is not None:
        kwargs["content"] = body
    return kwargs


async def http(
    client: Client,
    url: str,
    callback: Callable[[HTTPResult], Any] | None = None,
    *,
    method: str = "GET",
    headers: Any = None,
    body: str | bytes | None = None,
    params: Any = None,
    progress: Progress | None = None,
) -> HTTPResult:
    """One request; ``callback(result)`` gets the answer (and it is returned).

    ``progress(dl_total, dl_now, up_total, up_now)`` is called as bytes move (totals
    are -1 when unknown, as in the seed); returning False cancels the request with
    :class:`rttp.errors.Cancelled`. ``method`` is case-insensitive.
    """
    verb = Method(method).value if method.upper() in Method._value2member_map_ else method.upper()
    seed_progress = None
    if progress is not None:
        report = progress

        def seed_progress(
            dl_total: int | None, dl_now: int, up_total: int | None, up_now: int
        ) -> Any:
            return report(
                -1 if dl_total is None else dl_total,
                dl_now,
                -1 if up_total is None else up_total,
                up_now,
            )

    response = await client.request(
        verb, url, progress=seed_progress, **_request_kwargs(headers, body, params)
    )
    result = HTTPResult(
        response.status, response.reason, response.headers, response.body, str(response.url)
    )
    if callback is not None:
        await call_maybe_async(callback, result)
    return result


async def stream_chunks(
    client: Client,
    url: str,
    callback: Callable[[HTTPResult], Any],
    *,
    method: str = "GET",
    headers: Any = None,
    body: str | bytes | None = None,
    params: Any = None,
) -> HTTPResult:
    """Call ``callback`` per received chunk with status 100 and the headers so far, then
    once with the final status (and an empty body). Returning False from the callback
    cancels the download; the final call is then not made.
    """
    async with client.stream(
        method.upper(), url, **_request_kwargs(headers, body, params)
    ) as response:
        address = str(response.url)
        async for chunk in response.stream():
            partial = HTTPResult(100, "Continue", response.headers, chunk, address)
            if await call_maybe_async(callback, partial) is False:
                return partial
        final = HTTPResult(response.status, response.reason, response.headers, b"", address)
    await call_maybe_async(callback, final)
    return final
