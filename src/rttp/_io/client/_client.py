"""The HTTP/1.1 client: ``async with rttp.Client() as client``.

One request: acquire a pooled connection, write the head and body, read the response
head, and hand back a :class:`~rttp.Response` whose body reads from the connection
(``client.stream``) or has been read already (``client.request``). Timeouts are per
phase (connect, write, read, pool). A read or write timeout bounds each wait for the
socket: on a plain TCP or Unix connection the cancel scope that enforces it is created
only when an operation has to wait (see :mod:`rttp._io.net._sockio`), so a request whose
answer is already there creates no scope at all.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from ..._config import ClientConfig, Limits, Timeouts, TimeoutsLike
from ..._model import URL, Headers, HeadersLike, QueryLike, Request, Response
from ..._model._headers import encode_header_text
from ..._options import ClientOptions
from ..._plugins import Plugins, get_plugins
from ...errors import (
    ReadError,
    RemoteProtocolError,
    TotalTimeout,
    TransportError,
    UnsupportedScheme,
    WriteError,
)
from ...plugin import ClientAuth, ConnectOptions
from .._util import exit_owned_nursery
from ..engine._client import Progress
from ..net._proxy import forwarded_head
from ..net._tls import client_context
from ._auth import AuthLike, client_auth, run_flow
from ._cookies import Cookies
from ._heads import RequestHeads
from ._netrc import netrc_credentials, netrc_path

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..websocket._websocket import WebSocket
from ._pool import ConnectionPool
from ._redirect import REDIRECTS as _REDIRECTS
from ._redirect import discard, redirect_request
from ._seedforms import SeedForms
from ._verbs import UNSET as _UNSET
from ._verbs import RequestVerbs

__all__ = ["Client", "Progress"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_PLAIN_SCHEMES = frozenset({"http", "ws", "rttp", "http+unix", "ws+unix"})


class Client(RequestVerbs, SeedForms):
    """An HTTP/1.1 client with a connection pool; use it as ``async with rttp.Client() as c``.

    Keyword settings are those of :class:`rttp.ClientConfig` plus ``base_url``,
    ``headers`` and ``params`` sent with every request. ``timeout`` may be a number,
    None, or a :class:`rttp.Timeouts`; ``limits`` a :class:`rttp.Limits`.

    ``auth`` authenticates every request (a request's own ``auth=`` replaces it):
    ``(user, password)`` for basic, a str for a bearer token, an
    :class:`rttp.auth.Credentials` (``rttp.auth.digest(user, password)``…) or an
    :class:`rttp.plugin.ClientAuth`. It applies to the origin each request was made
    to, never to one a redirect leads to. ``token_service`` is the URL of the
    :class:`rttp.auth.TokenService` that :meth:`get_auth_token` asks. ``app`` serves an
    application (an App or handler) to this client in memory, through the real engine:
    every http(s) and ws(s) URL reaches it, and ``base_url`` defaults to
    ``http://testserver`` (see :class:`rttp.testing.AppTransport`).
    """

    def __init__(
        self,
        *,
        base_url: str | URL | None = None,
        headers: HeadersLike = None,
        params: QueryLike | None = None,
        timeout: TimeoutsLike = _UNSET,
        limits: Limits | None = None,
        config: ClientConfig | None = None,
        cookies: dict[str, str] | None = None,
        auth: AuthLike = None,
        token_service: str | URL | None = None,
        app: Any = None,
        **settings: Unpack[ClientOptions],
    ) -> None:
        fields: dict[str, Any] = dict(settings)
        if timeout is not _UNSET:
            fields["timeout"] = Timeouts.of(timeout)
        if limits is not None:
            fields["limits"] = limits
        if app is not None:  # every http(s)/ws(s) URL reaches the app, in memory
            from ._apptransport import AppTransport

            fields["plugins"] = (*fields.get("plugins", ()), AppTransport(app))
            base_url = base_url if base_url is not None else "http://testserver"
        if "plugins" in fields:
            fields["plugins"] = tuple(fields["plugins"])
        if "disable" in fields:
            fields["disable"] = tuple(fields["disable"])
        self.config: ClientConfig = (
            ClientConfig(**fields)
            if config is None
            else (dataclasses.replace(config, **fields) if fields else config)
        )
        self.base_url: URL | None = URL(base_url) if base_url is not None else None
        self.headers: Headers = Headers(headers)
        #: cookies kept across requests (fed by every response, sent where they apply)
        self.cookies: Cookies = Cookies()
        for name, value in (cookies or {}).items():
            self.cookies.set(name, value)
        self.params = params
        self.plugins: Plugins = get_plugins(self.config.plugins, self.config.disable)
        self._backend = self.plugins.backend(self.config.http_backend)
        self._ssl_context = client_context(
            self.config.verify, self.config.cert, trust_env=self.config.trust_env
        )
        self._ssl_key = id(self._ssl_context)
        self._tls_options = ConnectOptions(ssl_context=self._ssl_context)
        #: HTTP/2 offered by ALPN: only while the client is open (``async with``), since
        #: an HTTP/2 connection runs tasks in its nursery
        self._h2_tls: tuple[int, ConnectOptions] | None = None
        if self.config.http2:
            context = client_context(
                self.config.verify,
                self.config.cert,
                alpn=("h2", "http/1.1"),
                trust_env=self.config.trust_env,
            )
            if context is self._ssl_context:  # the caller's own context: offer h2 on it
                context.set_alpn_protocols(["h2", "http/1.1"])
            self._h2_tls = (id(context) + 1, ConnectOptions(ssl_context=context))
        self._plain_options = ConnectOptions()
        self._pool = ConnectionPool(self.plugins, self._backend, self.config)
        self._pool.proxy_tls = self._ssl_context
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None
        encodings = self.plugins.offered_encodings
        decoding = self.config.decode_content and encodings
        self._heads = RequestHeads(
            encode_header_text(self.config.user_agent) if self.config.user_agent else None,
            ", ".join(encodings).encode("ascii") if decoding else None,
        )
        #: drain (a little of) a redirect's or a challenge's body before the next request
        self._discard_body = functools.partial(discard, seconds=self.config.timeout.read or 5.0)
        #: the auth every request gets (None: none), bound to this client's schemes
        self.auth: ClientAuth | None = client_auth(auth, self.plugins)
        #: the .netrc file credentials come from (trust_env), None when there is none
        self._netrc = netrc_path() if self.config.trust_env else None
        self.token_service: str | None = str(token_service) if token_service is not None else None

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> Client:
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        self._pool.nursery = self._nursery
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        try:
            await self._pool.aclose()
        finally:
            self._pool.nursery = None
            cm, self._nursery_cm, self._nursery = self._nursery_cm, None, None
            result = await exit_owned_nursery(cm, exc_info)
        return result

    async def aclose(self) -> None:
        """Close idle pooled connections (``async with`` does this on exit)."""
        await self._pool.aclose()

    @property
    def nursery(self) -> trio.Nursery:
        """The client's own nursery, where background requests run."""
        if self._nursery is None:
            raise RuntimeError("use the client as 'async with rttp.Client() as client:' first")
        return self._nursery

    async def websocket(self, url: str | URL, **options: Any) -> WebSocket:
        """Open a WebSocket with this client's plugins and settings (TLS verification,
        proxies, the environment): with ``Client(app=app)``, to the app in memory,
        through the real engine. ``options`` are :func:`rttp.connect_websocket`'s
        (``subprotocols``, ``headers``, ``max_message_size``…)::

            async with rttp.Client(app=app) as client:
                async with await client.websocket("ws://testserver/chat") as ws:
                    await ws.send("hi")
        """
        from ..websocket._wshandshake import connect_websocket  # (not at import: start-up)

        options.setdefault("verify", self._ssl_context)
        options.setdefault("proxy", self.config.proxy)
        options.setdefault("trust_env", self.config.trust_env)
        return await connect_websocket(url, plugins=self.plugins, **options)

    @property
    def pool(self) -> ConnectionPool:
        """The connection pool (for introspection: idle and in-use counts)."""
        return self._pool

    # -- the public request API -------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        content: bytes | str | Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = _UNSET,
        value: Any = _UNSET,
        content_type: str | None = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """Send a request and read the whole response body."""
        request = self.build_request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            data=data,
            files=files,
            json=json,
            value=value,
            content_type=content_type,
        )
        return await self.send(
            request,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        content: bytes | str | Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = _UNSET,
        value: Any = _UNSET,
        content_type: str | None = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> AsyncIterator[Response]:
        """Send a request; the response body streams (``async for chunk in response.stream()``).

        The connection returns to the pool when the body has been read or the block exits.
        """
        request = self.build_request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            data=data,
            files=files,
            json=json,
            value=value,
            content_type=content_type,
        )
        response = await self.send(
            request,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            stream=True,
            auth=auth,
        )
        try:
            yield response
        finally:
            with trio.CancelScope(shield=True):
                await response.aclose()

    # -- sending ----------------------------------------------------------------------------
    async def send(
        self,
        request: Request,
        *,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        stream: bool = False,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """Send a built request, following redirects; ``stream=True`` leaves the body unread."""
        timeouts = self.config.timeout if timeout is _UNSET else Timeouts.of(timeout)
        follow = self.config.follow_redirects if follow_redirects is None else follow_redirects
        flows = self.auth if auth is _UNSET else client_auth(auth, self.plugins)
        if flows is None and self._netrc is not None and auth is _UNSET:
            url = request.url
            if not url.username and "authorization" not in request.headers:
                found = netrc_credentials(self._netrc, url.host)
                if found is not None:
                    flows = client_auth(found, self.plugins)
        total = timeouts.total
        if total is None:
            return await self._send(request, timeouts, follow, progress, stream, flows, math.inf)
        deadline = trio.current_time() + total
        with trio.CancelScope(deadline=deadline):
            return await self._send(request, timeouts, follow, progress, stream, flows, deadline)
        raise TotalTimeout(
            f"{request.method} {request.url} took longer than total timeout {total}s", total
        )

    async def _send(
        self,
        request: Request,
        timeouts: Timeouts,
        follow: bool,
        progress: Progress | None,
        stream: bool,
        flows: ClientAuth | None,
        deadline: float,
    ) -> Response:
        origin = request.url.origin
        history: list[Response] = []
        while True:
            if flows is not None and request.url.origin == origin:
                hop = functools.partial(
                    self._send_one,
                    timeouts=timeouts,
                    progress=progress,
                    read_body=not stream,
                    follow=follow,
                    deadline=deadline,
                )
                response = await run_flow(
                    flows.auth_flow(request),
                    hop,
                    self._discard_body,
                    read_bodies=flows.requires_response_body,
                )
            else:
                response = await self._send_one(
                    request, timeouts, progress, not stream, follow, deadline
                )
            if not (follow and response.status in _REDIRECTS and "location" in response.headers):
                response.history = history
                return response
            try:
                next_request = redirect_request(
                    request, response, len(history) + 1, self.config.max_redirects, self.plugins
                )
            finally:
                with trio.CancelScope(shield=True):
                    await self._discard_body(response)
            history.append(response)
            if next_request is None:
                return response
            request = next_request

    async def _send_one(
        self,
        request: Request,
        timeouts: Timeouts,
        progress: Progress | None,
        read_body: bool = False,
        follow: bool = False,
        deadline: float = math.inf,
    ) -> Response:
        """One exchange (no redirects, no auth), with the cookie jar on both sides."""
        self.cookies.add_to(request)
        response = await self._exchange(request, timeouts, progress, read_body, follow, deadline)
        self.cookies.take_from(response, request)
        return response

    async def _exchange(
        self,
        request: Request,
        timeouts: Timeouts,
        progress: Progress | None,
        read_body: bool,
        follow: bool,
        deadline: float = math.inf,
    ) -> Response:
        config = self.config
        url = request.url
        if config.disabled:
            raise TransportError(
                f"networking is disabled for this client (requested {url})", reason="disabled"
            )
        if config.enforce_https and url.scheme in _PLAIN_SCHEMES:
            raise UnsupportedScheme(
                f"plain {url.scheme} is refused because enforce_https is on: {url}",
                reason="enforce_https",
            )
        head = self._heads.head(request)
        options = self._tls_options if url.is_secure else self._plain_options
        key = self._ssl_key if url.is_secure else 0
        if url.is_secure and self._h2_tls is not None and self._pool.multiplexing:
            key, options = self._h2_tls
        # a request whose body can be sent again is retried once on a fresh connection
        # when a kept-alive one turned out closed (idempotent methods), or when an
        # HTTP/2 server says it did not process it (any method)
        attempts = 2 if request._content is not None else 1
        for attempt in range(attempts):
            conn = await self._pool.acquire(url, options, key, timeouts)
            answered = False
            try:
                sent = head
                if conn.forward_proxy is not None:
                    sent = forwarded_head(head, url, conn.forward_proxy)
                # a streamed body's reads keep to the total timeout too
                await conn.send_request(request, sent, progress=progress, deadline=deadline)
                response = await conn.read_response(request)
                answered = True
                if read_body and not (
                    follow and response.status in _REDIRECTS and "location" in response.headers
                ):
                    response._content = await conn.read_body(config.max_body_size)
                else:
                    conn.stream_body(response)
            except (ReadError, WriteError, RemoteProtocolError):
                await conn.release(False)
                stale = conn.reused and request.method in _IDEMPOTENT
                if (stale or conn.unprocessed) and not answered and attempt + 1 < attempts:
                    continue  # not processed (a stale keep-alive, a GOAWAY): retry once
                raise
            except BaseException:
                await conn.release(False)
                raise
            return response  # read_response set its request and URL
        raise AssertionError("unreachable")  # pragma: no cover
