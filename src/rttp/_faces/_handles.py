"""Request handles (seed 001): a request running in the client's nursery, polled.

``handle = client.start("GET", url)`` returns at once; ``handle.status`` is
``"running"``, ``"done"`` or ``"dead"``; ``handle.progress()`` is ``(total or -1,
received)``; ``await handle.finish()`` gives ``(body, status)`` and the handle
is dead. A failure a script could not otherwise see finishes with one of the seed's 6xx
statuses (:data:`HANDLE_CODES`), worked out from the error's structured fields by
:func:`status_for_error`; the error itself is ``handle.error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from .._model import Headers, Response
from .._proto._authscheme import TokenCredentials
from ..errors import (
    AuthError,
    DecodingError,
    InvalidURL,
    ProtocolError,
    ReadError,
    RTTPError,
    Timeout,
    TLSError,
    TooLarge,
    TooManyRedirects,
    TransportError,
    UnsafeRedirect,
    UnsupportedScheme,
    WriteError,
)

if TYPE_CHECKING:
    from .._io.client._client import Client

__all__ = ["HANDLE_CODES", "RequestHandle", "status_for_error"]

#: The seed's non-standard statuses, with what each means here.
HANDLE_CODES: Mapping[int, str] = {
    600: "internal client error (anything not listed below)",
    601: "unsupported protocol (plain http while enforce_https is on, or no transport)",
    602: "server not found (the name did not resolve)",
    603: "malformed response (the server broke HTTP, or the connection broke mid-answer)",
    604: "network not available (the client's disabled policy)",
    605: "timed out",
    606: "malformed URL",
    607: "connection refused (or the host is unreachable)",
    609: "invalid certificate",
    611: "too many redirects",
    612: "TLS handshake failed",
    615: "our TLS certificate or key could not be loaded",
    618: "the CA bundle could not be loaded",
}

_TLS = {"verify": 609, "handshake": 612, "certificate": 615, "cafile": 618}
_CONNECT = {"dns": 602, "refused": 607, "unreachable": 607, "broken": 603}


def status_for_error(exc: BaseException) -> int:
    """The seed's 6xx status for a failed request, from the error's type and ``reason``
    (never from its message)."""
    if isinstance(exc, TLSError):
        return _TLS.get(exc.reason, 612)
    if isinstance(exc, UnsupportedScheme):
        return 601
    if isinstance(exc, TransportError):
        if exc.reason == "disabled":
            return 604
        if exc.reason in _CONNECT:
            return _CONNECT[exc.reason]
        return 603 if isinstance(exc, (ReadError, WriteError)) else 600
    if isinstance(exc, Timeout):
        return 605
    if isinstance(exc, InvalidURL):
        return 606
    if isinstance(exc, TooManyRedirects):
        return 611
    if isinstance(exc, UnsafeRedirect):
        return 601
    if isinstance(exc, (ProtocolError, DecodingError)) and not isinstance(exc, TooLarge):
        return 603
    return 600


class RequestHandle:
    """A request running in the background; made by :meth:`rttp.Client.start`."""

    def __init__(self, client: Client, method: str, url: str, kwargs: dict[str, Any]) -> None:
        self.method = method
        self.url = url
        self._client = client
        self._kwargs = kwargs
        self._scope = trio.CancelScope()
        self._ended = trio.Event()
        self._state = "running"
        self._total = -1
        self._received = 0
        self._result: tuple[bytes, int] | None = None
        #: the answer's header fields, once it has come (empty for a 6xx failure); they
        #: stay here after :meth:`finish`, which gives the seed's ``(body, status)``
        self.headers: Headers | None = None
        #: the error a 6xx status stands for (None if the server answered)
        self.error: RTTPError | None = None
        client.nursery.start_soon(self._run)

    async def _run(self) -> None:
        body: list[bytes] = []
        limit = self._client.config.max_body_size
        try:
            with self._scope:
                try:
                    async with self._client.stream(
                        self.method, self.url, **self._kwargs
                    ) as response:
                        length = response.headers.get("content-length")
                        if (
                            length is not None
                            and length.isdigit()
                            and "content-encoding" not in response.headers
                        ):
                            self._total = int(length)
                        async for chunk in response.stream():
                            self._received += len(chunk)
                            if limit is not None and self._received > limit:
                                raise TooLarge(
                                    f"the response body is over max_body_size={limit} bytes",
                                    limit="max_body_size",
                                    value=limit,
                                )
                            body.append(chunk)
                        self.headers = response.headers
                        self._result = (b"".join(body), response.status)
                except RTTPError as exc:
                    self.error = exc
                    self.headers = Headers()
                    self._result = (b"", status_for_error(exc))
                if self._state == "running":
                    self._state = "done"
        finally:
            self._ended.set()

    @property
    def status(self) -> str:
        """``"running"``, ``"done"`` (the answer is ready for :meth:`finish`) or ``"dead"``
        (cancelled, or finished already)."""
        return self._state

    def progress(self) -> tuple[int, int] | None:
        """``(total body size or -1 if unknown, bytes received)``; None once dead."""
        if self._state == "dead":
            return None
        return self._total, self._received

    def cancel(self) -> None:
        """Stop the request (its connection is closed, not reused); nothing if dead."""
        if self._state != "dead":
            self._state = "dead"
            self._result = None
            self._scope.cancel()

    async def wait(self) -> None:
        """Wait until the request has ended (answered, failed or cancelled)."""
        await self._ended.wait()

    async def finish(self) -> tuple[bytes, int] | None:
        """Wait for the answer: ``(body, status)``, the seed's two values (the header
        fields are ``handle.headers``), and the handle is dead. None if it was dead
        already. A failure gives ``(b"", 6xx)`` with ``handle.error`` set."""
        if self._state == "dead":
            return None
        await self._ended.wait()
        result, self._result = self._result, None
        self._state = "dead"
        return result

    def __repr__(self) -> str:
        return f"<RequestHandle {self.method} {self.url} {self._state}>"


def _headers(headers: Any) -> Any:
    return list(headers.items()) if isinstance(headers, Mapping) else headers


def start(
    client: Client, method: str, url: str, headers: Any = None, body: str | bytes | None = None
) -> RequestHandle:
    """``client.start(method, url, headers=None, body=None)``: a :class:`RequestHandle`."""
    kwargs: dict[str, Any] = {"headers": _headers(headers)}
    if body is not None:
        kwargs["content"] = body
    return RequestHandle(client, method.upper(), url, kwargs)


def start_get(
    client: Client, url: str, headers: Any = None, verb: str | None = None
) -> RequestHandle:
    """``client.start_get(url, headers=None, verb=None)``: a GET (or ``verb``)."""
    return RequestHandle(client, (verb or "GET").upper(), url, {"headers": _headers(headers)})


def start_post(
    client: Client,
    url: str,
    post_params: Any,
    headers: Any = None,
    verb: str | None = None,
) -> RequestHandle:
    """``client.start_post(url, post_params, headers=None, verb=None)``: a POST (or
    ``verb``). ``post_params``: str or bytes (sent as they are), a dict (a form), or a
    list of ``(name, value[, filename[, content_type]])`` (multipart)."""
    kwargs: dict[str, Any] = {"headers": _headers(headers)}
    if isinstance(post_params, (str, bytes)):
        kwargs["content"] = post_params
    elif isinstance(post_params, Mapping):
        kwargs["data"] = post_params
    else:
        fields: list[tuple[str, Any]] = []
        files: list[tuple[str, Any]] = []
        for item in post_params:
            name, value, *rest = item
            if rest:  # a file part: (name, content, filename[, content_type])
                files.append((name, (rest[0], value, *rest[1:2])))
            else:
                fields.append((name, value))
        kwargs["data"] = fields
        kwargs["files"] = files
    return RequestHandle(client, (verb or "POST").upper(), url, kwargs)


class TokenHandle(RequestHandle):
    """:meth:`rttp.Client.get_auth_token`'s handle: :meth:`finish` gives ``(token,
    200)``, ``(the service's answer, its status)`` when it refuses (403), or ``("",
    600)`` for a malformed answer (or any failure)."""

    def __init__(self, client: Client, token: Any) -> None:
        self._token = token
        request = token.token_request()
        kwargs = {"headers": list(request.headers.items()), "content": request.content}
        super().__init__(client, "POST", str(request.url), kwargs)

    async def finish(self) -> tuple[str, int] | None:  # type: ignore[override]
        """Wait for the service's answer: ``(token, 200)``, ``(answer, status)`` or
        ``("", 600)``; None if the handle was dead already."""
        result = await super().finish()
        if result is None:
            return None
        body, status = result
        if status != 200:
            return ("", status) if status >= 600 else (body.decode("utf-8", "replace"), status)
        try:
            return self._token.take_answer(Response(status, self.headers, body)), 200
        except AuthError:
            return "", 600


def get_auth_token(client: Client, audience: str) -> TokenHandle:
    """``client.get_auth_token(audience)``: ask the client's ``token_service`` for a token
    for ``audience`` with the client's credentials; AuthError ("not authenticated") if
    the client has none."""
    if client.token_service is None:
        raise AuthError("this client has no token_service= to ask for tokens")
    if client.auth is None:
        raise AuthError(
            "not authenticated: the client has no credentials (auth=) for the token service"
        )
    token = client.plugins.auth_schemes["token"].auth(
        TokenCredentials(client.token_service, audience, client.auth)
    )
    return TokenHandle(client, token)
