"""Every limit and timeout of the server and the client: one frozen config object each.

Defaults are named constants so documentation and tests can refer to them.
"""

from __future__ import annotations

import contextvars
import dataclasses
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from ._model._forms import CodecLimits
from ._proto._encoding import DEFAULT_COMPRESSIBLE_TYPES
from ._proto._events import ProtocolLimits
from ._proto._wsdeflate import Deflate

__all__ = [
    "ClientConfig",
    "DEFAULT_CLIENT_MAX_BODY_SIZE",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_HEADER_COUNT",
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_MAX_REQUEST_LINE",
    "Limits",
    "SERVER_WEBSOCKETS",
    "ServerConfig",
    "ServerWebSockets",
    "Timeouts",
    "TimeoutsLike",
]

DEFAULT_MAX_REQUEST_LINE = 8190
DEFAULT_MAX_HEADER_SIZE = 16384
DEFAULT_MAX_HEADER_COUNT = 100
DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_DECOMPRESSION_RATIO = 100.0
DEFAULT_CLIENT_MAX_BODY_SIZE = 1 << 30
#: the proxies trusted by default (``forwarded_allow_ips``): this machine's loopback
LOOPBACK_PROXIES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ServerWebSockets:
    """What a serving :class:`~rttp.Server` tells the handshakes it accepts: its
    ``websocket_backend``, ``websocket_compression`` and plugin set."""

    backend: str
    compression: Deflate | None
    plugins: Any


#: the serving Server's WebSocket defaults, set in each connection's task (read by
#: :func:`rttp.accept_websocket` and the App when they are not told otherwise)
SERVER_WEBSOCKETS: contextvars.ContextVar[ServerWebSockets | None] = contextvars.ContextVar(
    "rttp_server_websockets", default=None
)


@dataclass(frozen=True)
class ServerConfig:
    """Server settings. Every field can be passed to :func:`rttp.serve` as a keyword.

    Sizes are bytes; timeouts are seconds (``None`` disables one).
    """

    #: request line longer than this → 414
    max_request_line: int = DEFAULT_MAX_REQUEST_LINE
    #: header section larger than this → 431
    max_header_size: int = DEFAULT_MAX_HEADER_SIZE
    #: more header fields than this → 431
    max_header_count: int = DEFAULT_MAX_HEADER_COUNT
    #: request body larger than this (declared or received) → 413
    max_body_size: int | None = DEFAULT_MAX_BODY_SIZE
    #: form fields (urlencoded) in one request → 413 beyond
    max_form_fields: int = 1000
    #: parts in one multipart/form-data request → 413 beyond
    max_multipart_parts: int = 1000
    #: header section of one multipart part → 413 beyond
    max_part_header_size: int = 16384
    #: one multipart part (a file) → 413 beyond; None: only max_body_size applies
    max_file_size: int | None = None
    #: nesting of arrays and objects in a JSON body (``request.json()``, ``read_value``)
    #: → 400 beyond
    max_json_depth: int = 128
    #: a decoded (gzip/deflate) request body may not grow past this ratio (after 1 MiB)
    max_decompression_ratio: float | None = DEFAULT_MAX_DECOMPRESSION_RATIO
    #: time to receive a complete request head, from its first byte → 408 and close
    header_timeout: float | None = 20.0
    #: time an idle keep-alive connection is kept open between requests
    keep_alive_timeout: float | None = 5.0
    #: longest wait for the next piece of a request body → 408 and close
    body_timeout: float | None = 30.0
    #: longest time a handler may take before the request is answered 503
    handler_timeout: float | None = None
    #: longest wait for one write to the peer to complete before the connection is dropped
    write_timeout: float | None = 30.0
    #: after an error answer, how long to read and discard what the client still sends
    #: before closing, so the kernel's reset does not destroy the answer (0 disables)
    linger_timeout: float = 2.0
    #: graceful shutdown: how long in-flight requests may take before they are cancelled
    shutdown_grace: float = 10.0
    #: bytes asked of the transport per receive
    read_size: int = 65536
    #: compress responses the client accepts (see the compress_* settings)
    compress: bool = True
    #: smallest body that is compressed (the seed's 1000 bytes)
    compress_min_size: int = 1000
    #: media types that are compressed (``text/*`` and ``*+json`` patterns allowed)
    compress_types: tuple[str, ...] = DEFAULT_COMPRESSIBLE_TYPES
    #: encodings offered, in preference order; None (the default) offers every loaded
    #: encoding that declares itself safe to offer, by its preference (zstd when the
    #: rttp-zstd plugin is installed, then gzip, then deflate)
    compress_encodings: tuple[str, ...] | None = None
    #: decode gzip/deflate request bodies for the handler
    decode_request_bodies: bool = True
    #: log one line per answer
    access_log: bool = True
    #: the access log's format: ``"rttp"``, ``"common"``, ``"combined"``, or gunicorn-style
    #: atoms such as ``'%(h)s "%(r)s" %(s)s %(a)s'`` (see the server docs)
    access_log_format: str = "rttp"
    #: where access-log lines go: None, the ``rttp.access`` logger (when it is enabled for
    #: INFO); ``"-"``, standard error; or a file path. A stream or file is written in
    #: batches (64 KiB, or 0.1 s after the first line), which costs far less per line
    access_log_file: str | None = None
    #: take the client's address and scheme from ``Forwarded`` / ``X-Forwarded-For`` /
    #: ``X-Forwarded-Proto``, when the peer is one of ``forwarded_allow_ips``
    proxy_headers: bool = False
    #: the proxies trusted for ``proxy_headers``: IPs, networks (``10.0.0.0/8``) or ``*``
    forwarded_allow_ips: tuple[str, ...] = LOOPBACK_PROXIES
    #: the path prefix a proxy serves the application under: a request whose path starts
    #: with it is handled without it (``request.root_path`` holds it)
    root_path: str = ""
    #: value of the ``Server`` header; None sends none
    server_header: str | None = "rttp"
    #: fields every answer carries unless it sets them itself (``rttp serve --header``)
    default_headers: tuple[tuple[str, str], ...] = ()
    #: protocol backend plugin; "auto" picks the fastest one loaded
    http_backend: str = "auto"
    #: speak HTTP/2 too (needs the ``http2`` extra, h2): offered by ALPN on TLS, and on
    #: cleartext for a client that opens with the HTTP/2 preface (prior knowledge, h2c);
    #: every other connection stays HTTP/1.1 on the same port
    http2: bool = False
    #: HTTP/2 streams one client may have in flight at once (each is a handler running)
    http2_max_concurrent_streams: int = 100
    #: bytes of one HTTP/2 request body the client may send ahead of the handler
    #: reading it (the stream's flow-control window); the connection's is four times it
    http2_stream_window: int = 256 << 10
    #: WebSocket backend plugin for the handshakes this server accepts
    #: (:func:`rttp.accept_websocket`, an App's sockets); "auto" picks the fastest loaded
    websocket_backend: str = "auto"
    #: permessage-deflate for those WebSockets (:class:`rttp.Deflate`); None turns it off
    websocket_compression: Deflate | None = field(default_factory=Deflate)
    #: TLS for https:// binds: a context, or certificate and key files
    ssl_context: ssl.SSLContext | None = None
    certfile: str | None = None
    keyfile: str | None = None
    #: connections served at once; past it the oldest idle keep-alive connection is closed,
    #: or accepting pauses until one ends (new clients wait in the listen backlog).
    #: None: the process's open-file limit less 64, so accept() never runs out of files
    max_connections: int | None = None
    #: listen backlog
    backlog: int | None = None
    #: set SO_REUSEPORT so several server processes can listen on one explicit port
    #: (the kernel spreads connections over them)
    reuse_port: bool = False
    #: shut down gracefully after this many requests (None: never), plus a random
    #: 0..``max_requests_jitter`` so that workers do not all restart at once; a pool
    #: replaces a worker that stops (``rttp serve --limit-max-requests``)
    max_requests: int | None = None
    max_requests_jitter: int = 0
    #: worker processes sharing the listening sockets (the Moonbridge pre-fork pool;
    #: started by :func:`rttp.run` or ``rttp serve --workers N``)
    workers: int = 1
    #: extra plugin objects, and plugin names to block, for this server only
    plugins: tuple[object, ...] = ()
    disable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_connections is not None and (
            not isinstance(self.max_connections, int) or self.max_connections < 1
        ):
            raise ValueError(
                f"max_connections must be a positive int or None, got {self.max_connections!r}"
            )
        for name in (
            "max_request_line",
            "max_header_size",
            "max_header_count",
            "read_size",
            "http2_max_concurrent_streams",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in (
            "header_timeout",
            "keep_alive_timeout",
            "body_timeout",
            "handler_timeout",
            "write_timeout",
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(
                    f"{name} must be a positive number of seconds or None, got {value!r}"
                )
        window = self.http2_stream_window
        if not isinstance(window, int) or not 65535 <= window <= 2**31 - 1:
            raise ValueError(
                f"http2_stream_window must be an int from 65535 to 2**31-1, got {window!r}"
            )
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {self.workers!r}")

    @property
    def protocol_limits(self) -> ProtocolLimits:
        """The limits handed to the protocol backend."""
        return ProtocolLimits(self.max_request_line, self.max_header_size, self.max_header_count)

    @property
    def connection_limit(self) -> int:
        """``max_connections``, or the open-file limit less 64 when it is None."""
        if self.max_connections is not None:
            return self.max_connections
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        except (ImportError, ValueError, OSError):  # pragma: no cover - not on POSIX
            return 1 << 20
        if soft == resource.RLIM_INFINITY or soft <= 0:
            return 1 << 20
        return max(soft - 64, 16)

    @property
    def codec_limits(self) -> CodecLimits:
        """The limits handed to body codecs decoding requests."""
        return CodecLimits(
            self.max_form_fields,
            self.max_multipart_parts,
            self.max_part_header_size,
            self.max_file_size,
            self.max_json_depth,
        )

    def replace(self, **changes: Any) -> ServerConfig:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Timeouts:
    """Client timeouts per phase, in seconds (``None`` disables one).

    ``read`` restarts with every byte that arrives, so a peer that trickles can hold a
    request open as long as it likes; ``total`` bounds the whole exchange (connecting,
    sending, every redirect and auth round, and reading the body, ``client.stream``'s
    included), as aiohttp's ``ClientTimeout(total=...)`` does. Crossing it raises
    :class:`~rttp.errors.TotalTimeout`.
    """

    connect: float | None = 10.0
    read: float | None = 30.0
    write: float | None = 30.0
    pool: float | None = 10.0
    total: float | None = None

    @classmethod
    def of(cls, value: TimeoutsLike) -> Timeouts:
        """A Timeouts from a Timeouts, a number (every phase; no total), None (no
        timeouts) or a dict."""
        if isinstance(value, Timeouts):
            return value
        if value is None or isinstance(value, (int, float)):
            return cls(value, value, value, value)
        return cls(**value)


TimeoutsLike = Union[Timeouts, float, None, Mapping[str, float | None]]


@dataclass(frozen=True)
class Limits:
    """Client connection-pool limits."""

    #: connections open at once, over all origins (a request waits for a slot)
    max_connections: int | None = 100
    #: idle connections kept for reuse, over all origins
    max_keepalive_connections: int = 20
    #: idle connections older than this are closed instead of reused
    keepalive_expiry: float = 5.0


@dataclass(frozen=True)
class ClientConfig:
    """Client settings. Every field can be passed to :class:`rttp.Client` as a keyword."""

    timeout: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    follow_redirects: bool = True
    max_redirects: int = 20
    #: certificate verification: True, False, a CA file path, or an SSLContext
    verify: bool | str | ssl.SSLContext = True
    #: client certificate: a PEM path or (certfile, keyfile)
    cert: str | tuple[str, str] | None = None
    #: send Accept-Encoding for the loaded encodings and decode responses transparently
    decode_content: bool = True
    #: the largest body ``client.request``/``get``/... read into memory (decoded); past it
    #: they raise TooLarge naming this setting (``client.stream`` is not limited); None: no cap
    max_body_size: int | None = DEFAULT_CLIENT_MAX_BODY_SIZE
    max_decoded_size: int | None = None
    max_decompression_ratio: float | None = DEFAULT_MAX_DECOMPRESSION_RATIO
    max_response_header_size: int = 65536
    max_response_header_count: int = 200
    #: interim (1xx) answers read before the final one (RemoteProtocolError past it)
    max_interim_responses: int = 100
    read_size: int = 65536
    #: the proxy every request goes through: ``http://[user:pass@]host:port``, or an
    #: ``https://`` proxy reached over TLS (an explicit proxy overrides the environment's)
    proxy: str | None = None
    #: proxies by pattern: ``"all://"``, ``"https://"``, ``"all://*.internal"``,
    #: ``"http://host:port"``; the most specific wins; None means "connect directly"
    proxies: Mapping[str, str | None] | None = None
    #: read ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` from the
    #: environment, as httpx, requests and curl do
    trust_env: bool = True
    #: refuse plain http:// (the seeds' ENFORCE_HTTPS build option)
    enforce_https: bool = False
    #: refuse every request (the seeds' NOHTTP build option)
    disabled: bool = False
    user_agent: str | None = "trio-rttp/0.1"
    http_backend: str = "auto"
    #: speak HTTP/2 where the server agrees (ALPN over TLS): one connection per origin
    #: carries every concurrent request. Needs the ``http2`` extra (h2) and the client
    #: used as ``async with`` (its connections run tasks in the client's nursery)
    http2: bool = False
    #: HTTP/2 on cleartext http:// too, with no negotiation (prior knowledge, h2c): only
    #: for servers known to speak it
    http2_prior_knowledge: bool = False
    #: how host names become addresses: None (the transports ask the system), True (the
    #: registered resolver plugins: a static table, then the DNS), a name table (asked
    #: first), a :class:`~rttp.plugin.Resolver` or a list of them
    resolver: Any = None
    plugins: tuple[object, ...] = ()
    disable: tuple[str, ...] = ()

    @property
    def protocol_limits(self) -> ProtocolLimits:
        """The limits handed to the protocol backend."""
        return ProtocolLimits(
            65536,
            self.max_response_header_size,
            self.max_response_header_count,
            max_interim_responses=self.max_interim_responses,
        )
