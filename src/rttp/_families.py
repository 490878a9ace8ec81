"""The base classes of the plugin families (transports, resolvers, content encodings,
body codecs, protocol backends) and the options a transport is given. Plugin authors
import them from :mod:`rttp.plugin`, where they show as ``rttp.plugin.X``."""

from __future__ import annotations

import abc
import socket
import ssl
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import trio

from ._model import URL
from ._model._forms import DEFAULT_CODEC_LIMITS, CodecLimits, FieldEvent
from ._proto._encoding import Decoder, Encoder
from ._proto._events import ClientProtocol, ProtocolLimits, ServerProtocol

__all__ = [
    "BodyCodec",
    "ConnectOptions",
    "ContentEncoding",
    "FieldDecoder",
    "ListenOptions",
    "NameTable",
    "PluginWarning",
    "ProtocolBackend",
    "Resolver",
    "StreamedBody",
    "Transport",
]


class PluginWarning(UserWarning):
    """A plugin replaced another one's registration for the same key."""


@dataclass(frozen=True)
class ConnectOptions:
    """What a client transport needs besides the URL.

    ``ssl_context`` is set for secure schemes; ``server_hostname`` overrides SNI and
    certificate checking's host name.
    """

    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    happy_eyeballs_delay: float = 0.25


@dataclass(frozen=True)
class ListenOptions:
    """What a listening transport needs besides the bind target."""

    ssl_context: ssl.SSLContext | None = None
    backlog: int | None = None
    reuse_port: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Transport(abc.ABC):
    """Opens client streams and listeners for some URL schemes.

    ``client_schemes`` are URL schemes ``connect`` serves (``http``, ``ws``);
    ``bind_schemes`` are bind-target schemes ``listen`` serves (``http``, ``tcp``).

    ``scheme_families`` puts client schemes into families that a redirect may move
    within: the client follows a redirect to another scheme only when both schemes name
    the same family (``tcp`` and ``tls`` put ``http`` and ``https`` in ``"http"``), so a
    remote server can never send a request to a unix socket or any transport a plugin
    adds. A scheme with no family is followed only to itself.
    """

    name: ClassVar[str]
    client_schemes: ClassVar[frozenset[str]] = frozenset()
    bind_schemes: ClassVar[frozenset[str]] = frozenset()
    #: client scheme → the family a redirect may move within (see the class docstring)
    scheme_families: ClassVar[Mapping[str, str]] = {}

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        """Open a stream to ``url``'s host and port (or socket path)."""
        raise NotImplementedError(f"transport {self.name!r} cannot open client connections")

    async def tunnel(self, stream: trio.abc.Stream, proxy: URL, target: URL) -> trio.abc.Stream:
        """For a transport whose client scheme is a proxy protocol (``socks5://``): ask
        the proxy at ``proxy``, at the other end of ``stream`` (what :meth:`connect`
        opened to it), for a connection to ``target``'s host and port; the stream that
        carries it. TLS to the target, when it needs it, is the caller's. Raise
        :class:`~rttp.errors.ProxyError` when the proxy refuses."""
        raise NotImplementedError(f"transport {self.name!r} is not a proxy protocol")

    async def listen(self, target: URL, options: ListenOptions) -> list[trio.abc.Listener[Any]]:
        """Open listeners for a bind target; port 0 picks a free port."""
        raise NotImplementedError(f"transport {self.name!r} cannot listen")

    def bind_sockets(self, target: URL, options: ListenOptions) -> list[socket.socket]:
        """Bind ``target`` and listen, without Trio: a pre-fork pool (``workers=N``)
        binds in its supervisor, before any worker exists, and each worker adopts the
        sockets (:meth:`adopt`). Transports that cannot leave this unimplemented."""
        raise NotImplementedError(
            f"transport {self.name!r} cannot bind before a fork (workers=N needs it)"
        )

    def adopt(
        self, sockets: list[socket.socket], target: URL, options: ListenOptions
    ) -> list[trio.abc.Listener[Any]]:
        """Listeners over sockets :meth:`bind_sockets` opened, in a worker after the
        fork. The default serves them as they are (TLS-wrapped when
        ``options.ssl_context`` is set)."""
        listeners: list[trio.abc.Listener[Any]] = []
        for sock in sockets:
            listener: trio.abc.Listener[Any] = trio.SocketListener(
                trio.socket.from_stdlib_socket(sock)
            )
            if options.ssl_context is not None:
                listener = trio.SSLListener(listener, options.ssl_context, https_compatible=True)
            listeners.append(listener)
        return listeners

    def bound_address(self, listener: trio.abc.Listener[Any], target: URL) -> URL:
        """The URL a client would use to reach ``listener`` (the real port after port 0)."""
        return target

    async def close_listeners(self, listeners: list[trio.abc.Listener[Any]], target: URL) -> None:
        """Close listeners opened by :meth:`listen` (and clean up, e.g. a socket file)."""
        for listener in listeners:
            await listener.aclose()


class Resolver(abc.ABC):
    """Turns a name into an address a transport can connect to (``"10.0.0.7"``,
    ``"10.0.0.7:8080"``, or another name), or says it does not know it (None).

    Resolvers are asked in ``priority`` order (highest first) until one answers; the
    answers are cached for ``ttl`` seconds by whoever asks (the Client, an Endpoint).
    """

    name: ClassVar[str]
    priority: ClassVar[int] = 0
    ttl: ClassVar[float] = 60.0

    @abc.abstractmethod
    async def resolve(self, name: str) -> str | None:
        """The address for ``name``, or None when this resolver does not know it."""


class NameTable(Resolver):
    """The ``static`` resolver: names from a table (case-insensitive)."""

    name = "static"
    priority = 10
    ttl: ClassVar[float] = float("inf")

    def __init__(self, table: Mapping[str, str] | None = None) -> None:
        self.table: dict[str, str] = {key.lower(): value for key, value in (table or {}).items()}

    async def resolve(self, name: str) -> str | None:
        """The table's entry for ``name``."""
        return self.table.get(name.lower())


class ContentEncoding(abc.ABC):
    """A ``Content-Encoding`` token (gzip, deflate, br …) with streaming coders.

    ``offer`` says the encoding is safe to offer: servers compress answers with it by
    default (``ServerConfig.compress_encodings=None``) and clients announce it in
    ``Accept-Encoding``. An alias (``x-gzip``) or an experimental coding sets it False:
    it is still decoded when a peer sends it. Offered encodings are preferred by
    ``preference``, highest first (gzip 20, deflate 10, so the seed's "gzip, then
    deflate" holds; a plugin that compresses better and faster, zstd, declares more),
    then by name.
    """

    name: ClassVar[str]
    #: safe to offer: servers compress with it and clients ask for it by default
    offer: ClassVar[bool] = True
    #: among offered encodings, higher first (gzip 20, deflate 10)
    preference: ClassVar[int] = 0

    @abc.abstractmethod
    def encoder(self) -> Encoder:
        """A new streaming compressor."""

    @abc.abstractmethod
    def decoder(self) -> Decoder:
        """A new streaming decompressor (bounded output per call)."""


class FieldDecoder(Protocol):
    """Streams a form body as events: a :class:`~rttp.FieldInfo`, its data chunks, FIELD_END.

    ``feed`` takes body bytes as they arrive; ``finish`` ends the body and raises
    :class:`~rttp.errors.CodecError` if it was truncated. Limits crossed raise
    :class:`~rttp.errors.TooLarge` naming the limit.
    """

    def feed(self, data: bytes) -> list[FieldEvent]:
        """Events for this chunk of body."""

    def finish(self) -> list[FieldEvent]:
        """The remaining events at the end of the body."""


@dataclass(frozen=True)
class StreamedBody:
    """A body produced piece by piece (a multipart upload read from files)."""

    chunks: AsyncIterable[bytes]
    content_type: str
    length: int | None = None


class BodyCodec(abc.ABC):
    """Encodes Python values to a body and decodes bodies, for one media type."""

    media_type: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    #: Python types whose values imply this media type when no Content-Type is given
    #: (``return page`` from a handler); the core knows str, bytes, forms and JSON values
    python_types: ClassVar[tuple[type, ...]] = ()

    @abc.abstractmethod
    def encode(self, value: Any) -> tuple[bytes, str]:
        """``value`` → ``(body, content_type)``; raises CodecError for values it cannot encode."""

    @abc.abstractmethod
    def decode(
        self, data: bytes, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> Any:
        """``body`` → value; malformed input raises CodecError, never anything else."""

    def field_decoder(
        self, content_type: str, limits: CodecLimits = DEFAULT_CODEC_LIMITS
    ) -> FieldDecoder | None:
        """For form-like formats: a streaming decoder of fields; None if the format does not stream."""
        return None

    def encode_stream(self, value: Any) -> StreamedBody | None:
        """For formats that stream on the way out (multipart with files): the body in pieces."""
        return None


class ProtocolBackend(abc.ABC):
    """An HTTP/1.1 parser/serialiser. ``http_backend="auto"`` picks the highest ``priority``."""

    name: ClassVar[str]
    priority: ClassVar[int] = 0

    @abc.abstractmethod
    def server(self, limits: ProtocolLimits) -> ServerProtocol:
        """A protocol object for one server-side connection."""

    @abc.abstractmethod
    def client(self, limits: ProtocolLimits) -> ClientProtocol:
        """A protocol object for one client-side connection."""
