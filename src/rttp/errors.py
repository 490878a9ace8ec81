"""The one exception hierarchy of trio-rttp.

Every error the library raises on purpose derives from :class:`RTTPError`::

    RTTPError
    ├── InvalidURL                 a URL that cannot be parsed or used
    ├── ProtocolError              the peer (or we) broke HTTP; carries ``status``
    │   ├── LocalProtocolError     we were asked to send something invalid
    │   └── RemoteProtocolError    the peer sent something invalid
    ├── TooLarge                   a size limit was crossed (also a ProtocolError, 413/414/431)
    ├── TransportError             the network failed
    │   ├── ConnectError           could not connect (refused, unreachable, name not found)
    │   │   └── ProxyError         the proxy refused or failed (407 wants credentials)
    │   ├── BindError              could not listen (address in use, live unix socket)
    │   ├── TLSError               handshake or certificate failure
    │   ├── ReadError / WriteError the connection broke while reading or writing
    │   ├── SocketClosed           a (Moonbridge) socket or listener used after close()
    │   └── UnsupportedScheme      no transport plugin serves the URL's scheme
    ├── Timeout
    │   ├── ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
    │   └── TotalTimeout           the whole exchange passed ``Timeouts(total=...)``
    ├── HTTPStatusError            ``raise_for_status()`` on a 4xx/5xx (``status``, ``response``)
    ├── RedirectError              ``TooManyRedirects``, ``UnsafeRedirect``
    ├── DecodingError              a content encoding could not be decoded (or was a bomb)
    ├── CodecError                 a body codec could not encode/decode a value (``status``
    │                              400/415 when the client's body was at fault)
    ├── WebSocketError
    │   ├── WebSocketClosed        the connection is closed (``code``, ``reason``)
    │   └── WebSocketRejected      the server refused the handshake (``status``, ``headers``, ``body``)
    ├── MessageError               an RTTP message exchange failed (``kind``: the seed's string)
    ├── AuthError                  credentials missing or refused
    ├── PluginError                the plugin set is inconsistent
    ├── LifespanFailed             a hosted ASGI app's lifespan startup failed (``message``)
    └── Cancelled                  a request was cancelled by its caller (progress callback, handle)

Trio, ``ssl`` and h11 exceptions are translated into these in exactly one place per layer
(``rttp._io.net._errors`` and the protocol backends) and chained with ``raise ... from exc``.
Each message says what was wrong and with what value.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "BindError",
    "Cancelled",
    "CodecError",
    "ConnectError",
    "ConnectTimeout",
    "DecodingError",
    "HTTPStatusError",
    "InvalidURL",
    "LifespanFailed",
    "LocalProtocolError",
    "MessageError",
    "PluginError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "RTTPError",
    "ReadError",
    "ReadTimeout",
    "RedirectError",
    "RemoteProtocolError",
    "SocketClosed",
    "TLSError",
    "Timeout",
    "TooLarge",
    "TooManyRedirects",
    "TotalTimeout",
    "TransportError",
    "UnsafeRedirect",
    "UnsupportedScheme",
    "WebSocketClosed",
    "WebSocketError",
    "WebSocketRejected",
    "WriteError",
    "WriteTimeout",
]


class RTTPError(Exception):
    """Base class of every error trio-rttp raises on purpose.

    ``errtype`` says which side failed, as the seed's protocol object does:
    ``"protocol"`` (HTTP was broken; :class:`~rttp.errors.ProtocolError` and its
    subclasses), ``"io"`` (the network failed or was too slow;
    :class:`~rttp.errors.TransportError` and :class:`~rttp.errors.Timeout`; the request
    may be retried), or None for every other error.
    """

    #: ``"protocol"``, ``"io"`` or None (see the class docstring)
    errtype: str | None = None


class InvalidURL(RTTPError, ValueError):
    """A URL could not be parsed or is not usable for the operation.

    ``url`` holds the offending text.
    """

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class ProtocolError(RTTPError):
    """HTTP was broken. ``status`` is the HTTP status a server answers with (400 by default)."""

    errtype: str | None = "protocol"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class LocalProtocolError(ProtocolError):
    """We were asked to send something HTTP does not allow (an invalid header, say)."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message, status)


class RemoteProtocolError(ProtocolError):
    """The peer sent something HTTP does not allow."""


class TooLarge(ProtocolError):
    """A configured size limit was crossed.

    ``limit`` names the setting (``"max_body_size"``), ``value`` the limit in bytes or items.
    """

    def __init__(self, message: str, status: int = 413, *, limit: str = "", value: int = 0) -> None:
        super().__init__(message, status)
        self.limit = limit
        self.value = value


class TransportError(RTTPError):
    """The network failed: the connection could not be made, or it broke.

    ``reason`` says how, for code to branch on: ``"disabled"`` (the client's ``disabled``
    policy), and on the subclasses the values they list; ``""`` when nothing finer is known.
    """

    errtype: str | None = "io"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class ConnectError(TransportError):
    """Could not connect. ``reason``: ``"dns"`` (the name did not resolve), ``"refused"``,
    ``"unreachable"`` (any other connect failure) or ``"broken"`` (the connection broke
    while it was being set up). ``host`` and ``port`` say where to (``host`` is the
    socket path for a unix socket, ``port`` then None), when known."""

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.host = host
        self.port = port


class BindError(TransportError):
    """Could not listen on a bind target. ``reason``: ``"in_use"`` (the address, or a
    live unix socket), ``"permission"``, ``"address"`` (it cannot be resolved or
    assigned), ``"tls"`` (https without a certificate), ``"not_socket"`` (a unix path
    that is something else) or ``"no_directory"`` (a unix path in a missing directory)."""


class ProxyError(ConnectError):
    """The proxy a request goes through failed it. ``proxy`` names the proxy
    (``host:port``); ``status`` is its answer's status when it gave one (407: it wants
    credentials). ``reason``: ``"auth"`` (a 407), ``"refused"`` (another non-2xx answer
    to CONNECT), ``"closed"`` (it closed without answering), ``"protocol"`` (a malformed
    answer) or ``"scheme"`` (no transport for the proxy's scheme)."""

    def __init__(
        self, message: str, *, proxy: str, status: int | None = None, reason: str = ""
    ) -> None:
        super().__init__(message, reason=reason)
        self.proxy = proxy
        self.status = status


class TLSError(TransportError):
    """TLS failed. ``reason``: ``"verify"`` (the peer's certificate did not verify; then
    ``verify_failed`` is True), ``"handshake"`` (any other handshake failure),
    ``"cafile"`` (a CA bundle could not be loaded) or ``"certificate"`` (our own
    certificate or key could not be loaded)."""

    def __init__(self, message: str, *, verify_failed: bool = False, reason: str = "") -> None:
        super().__init__(message, reason=reason or ("verify" if verify_failed else "handshake"))
        self.verify_failed: bool = verify_failed or reason == "verify"


class ReadError(TransportError):
    """The connection broke while reading."""


class WriteError(TransportError):
    """The connection broke while writing."""


class SocketClosed(TransportError):
    """A socket or listener was used after it was closed (or reset)."""


class MessageError(RTTPError):
    """An RTTP message exchange failed. ``kind`` is the seed's error string, and
    ``str(exc)`` is exactly it: ``"timeout"``, ``"setup_fail"`` (no connection: refused,
    TLS), ``"send_fail"`` (the destination could not be named or resolved) or
    ``"network_error"`` (the exchange broke). ``detail`` says what happened; ``id`` is
    the message id of a :meth:`~rttp.Endpoint.send` that failed."""

    errtype: str | None = "io"

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail
        self.id: int | None = None

    def __str__(self) -> str:
        return self.kind

    def __repr__(self) -> str:
        return f"MessageError({self.kind!r}, {self.detail!r})"


class UnsupportedScheme(TransportError):
    """No transport plugin serves the URL scheme or bind target (``reason`` ``"scheme"``),
    or plain HTTP was refused by the client's ``enforce_https`` policy (``reason``
    ``"enforce_https"``)."""

    def __init__(self, message: str, *, reason: str = "scheme") -> None:
        super().__init__(message, reason=reason)


class Timeout(RTTPError):
    """A configured timeout expired. ``seconds`` is the timeout that expired."""

    errtype: str | None = "io"

    def __init__(self, message: str, seconds: float | None = None) -> None:
        super().__init__(message)
        self.seconds = seconds


class ConnectTimeout(Timeout):
    """Connecting (including the TLS handshake) took longer than the connect timeout."""


class ReadTimeout(Timeout):
    """No data arrived within the read timeout."""


class WriteTimeout(Timeout):
    """Sending data took longer than the write timeout."""


class PoolTimeout(Timeout):
    """No connection became free in the pool within the pool timeout."""


class TotalTimeout(Timeout):
    """The whole exchange (connecting, sending, every redirect and auth round, reading the
    body) took longer than ``Timeouts(total=...)``, however steadily data arrived."""


class HTTPStatusError(RTTPError):
    """Raised by :meth:`rttp.Response.raise_for_status` for a 4xx or 5xx answer.
    ``status`` is its code and ``response`` the response itself."""

    def __init__(self, message: str, response: Any) -> None:
        super().__init__(message)
        self.response = response
        self.status: int = response.status


class RedirectError(RTTPError):
    """A redirect could not be followed."""


class TooManyRedirects(RedirectError):
    """More redirects than ``max_redirects`` were received."""


class UnsafeRedirect(RedirectError):
    """A redirect would downgrade https to http, or leave for an unsupported scheme."""


class DecodingError(RTTPError):
    """A Content-Encoding could not be decoded, or decoding crossed a bomb limit."""


class CodecError(RTTPError, ValueError):
    """A body codec could not encode or decode a value.

    ``status`` is set when the error is the client's (400 for a malformed request body,
    415 for an unsupported Content-Type); a handler that lets it escape is answered with
    that status. ``media_type`` names the codec's media type.
    """

    def __init__(self, message: str, *, status: int | None = None, media_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.media_type = media_type


class WebSocketError(RTTPError):
    """A WebSocket failed."""


class WebSocketClosed(WebSocketError):
    """The WebSocket is closed; ``code`` and ``reason`` say how (1006: no close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class WebSocketRejected(WebSocketError):
    """The server answered the handshake with ``status`` (not 101)."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        text = body[:200].decode("utf-8", errors="replace").strip()
        super().__init__(
            f"WebSocket handshake refused with status {status}" + (f": {text}" if text else "")
        )
        self.status = status
        self.headers = headers
        self.body = body


class AuthError(RTTPError):
    """Credentials were missing or refused.

    ``status`` is what a server answers with: 401 (no credentials, or they did not
    verify) or 403 (a valid identity without the audience or permission asked for).
    ``error`` is the RFC 6750 error code when there is one (``"invalid_token"``,
    ``"insufficient_scope"``, ``"invalid_request"``), ``scheme`` the auth scheme
    concerned, and ``description`` the human-readable reason (the message).
    """

    def __init__(
        self, message: str, *, status: int = 401, error: str = "", scheme: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.scheme = scheme

    @property
    def description(self) -> str:
        """The reason, as sent in ``error_description``."""
        return str(self)


class PluginError(RTTPError):
    """The plugin set is inconsistent (a missing hook argument, a malformed registration)."""


class Cancelled(RTTPError):
    """A request was cancelled by its caller (a progress callback returned False, say)."""


class LifespanFailed(RTTPError):
    """A hosted ASGI application's lifespan startup failed (``lifespan.startup.failed``,
    or, with ``lifespan="on"``, an app without lifespan support): the server does not
    start. ``message`` is what the application said."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        #: the application's reason
        self.message = message
