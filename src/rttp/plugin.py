"""What plugin authors import: the ``hookimpl`` marker and the interfaces plugins implement.

A plugin is a module or object with ``@hookimpl`` functions named after the hooks in
:mod:`rttp.hookspecs`. Hooks only *register* objects; the objects carry the (async)
behaviour. The built-in plugins under ``rttp_builtin`` use nothing but this module, so
they double as examples::

    from rttp.plugin import ContentEncoding, hookimpl

    class Brotli(ContentEncoding):
        name = "br"
        ...

    @hookimpl
    def rttp_register_content_encodings(register):
        register(Brotli())

and in the plugin's ``pyproject.toml``::

    [project.entry-points.rttp]
    br = "rttp_brotli"
"""

from __future__ import annotations

import pluggy

from . import rtml
from ._families import (
    BodyCodec,
    ConnectOptions,
    ContentEncoding,
    FieldDecoder,
    ListenOptions,
    NameTable,
    PluginWarning,
    ProtocolBackend,
    Resolver,
    StreamedBody,
    Transport,
)
from ._model import URL, FormData, Headers, QueryParams, Request, Response, UploadFile
from ._model._forms import (
    DEFAULT_CODEC_LIMITS,
    FIELD_END,
    CodecLimits,
    FieldEvent,
    FieldInfo,
    assemble_form,
)
from ._model._media import parse_json
from ._proto._auth import Challenge, parse_auth_params, parse_challenges, parse_credentials, quote
from ._proto._authscheme import (
    AuthFlow,
    AuthPolicy,
    AuthScheme,
    ClientAuth,
    Identity,
    PasswordCheck,
    PasswordLookup,
    TokenCheck,
    TokenCredentials,
    challenge_error,
)
from ._proto._broker import Broker, BrokerConnection, Deliver, Envelope, pack, unpack
from ._proto._encoding import Decoder, Encoder
from ._proto._events import (
    CLOSED,
    HTTP1_STREAM,
    NEED_DATA,
    PAUSED,
    ClientProtocol,
    EndOfMessage,
    ProtocolLimits,
    RawHeaders,
    RequestHead,
    ResponseHead,
    ServerProtocol,
    StreamData,
)
from ._proto._head import (
    MAX_EMPTY_LINES,
    MAX_LENGTH,
    ResponseFraming,
    check_trailers,
    chunk_overflow,
    connection_tokens,
    keep_alive,
    length_overflow,
    make_request_head,
    request_line_version,
    response_framing,
    response_has_body,
    too_many_empty_lines,
    trailer_field_error,
)
from ._proto._mux import (
    GoAway,
    MultiplexedBackend,
    MultiplexedClientProtocol,
    MultiplexedProtocol,
    MultiplexedServerProtocol,
    MultiplexLimits,
    MuxClientEvent,
    MuxEvent,
    MuxServerEvent,
    StreamReset,
    WindowOpened,
    stream_request_head,
)
from ._proto._replay import NonceCounts
from ._proto._streamfields import check_stream_fields, stream_response_status, stream_trailers
from ._proto._writer import (
    FIELD_CONNECTION,
    FIELD_CONTENT_LENGTH,
    FIELD_KINDS,
    FIELD_TRANSFER_ENCODING,
    Passthrough,
    ResponseWriter,
    field_kind,
    known_fields,
)
from ._proto._wsbackend import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_MESSAGE_SIZE,
    MessageAssembler,
    MessageTooBig,
    WebSocketBackend,
    WebSocketProtocol,
    WebSocketSettings,
)
from ._proto._wsdeflate import Deflate, DeflateParams, parse_extensions
from ._proto._wsevents import (
    Closed,
    PingEvent,
    PongEvent,
    WebSocketEvent,
    WebSocketMessage,
    close_reason,
)

__all__ = [
    "AuthFlow",
    "AuthPolicy",
    "AuthScheme",
    "BodyCodec",
    "Broker",
    "BrokerConnection",
    "CLOSED",
    "Challenge",
    "ClientAuth",
    "ClientProtocol",
    "Closed",
    "CodecLimits",
    "ConnectOptions",
    "ContentEncoding",
    "DEFAULT_CODEC_LIMITS",
    "DEFAULT_MAX_FRAGMENTS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Decoder",
    "Deflate",
    "DeflateParams",
    "Deliver",
    "Encoder",
    "EndOfMessage",
    "Envelope",
    "FIELD_CONNECTION",
    "FIELD_CONTENT_LENGTH",
    "FIELD_END",
    "FIELD_KINDS",
    "FIELD_TRANSFER_ENCODING",
    "FieldDecoder",
    "FieldEvent",
    "FieldInfo",
    "FormData",
    "GoAway",
    "HTTP1_STREAM",
    "Headers",
    "Identity",
    "ListenOptions",
    "MAX_EMPTY_LINES",
    "MAX_LENGTH",
    "MessageAssembler",
    "MessageTooBig",
    "MultiplexLimits",
    "MultiplexedBackend",
    "MultiplexedClientProtocol",
    "MultiplexedProtocol",
    "MultiplexedServerProtocol",
    "MuxClientEvent",
    "MuxEvent",
    "MuxServerEvent",
    "NEED_DATA",
    "NameTable",
    "NonceCounts",
    "PAUSED",
    "Passthrough",
    "PasswordCheck",
    "PasswordLookup",
    "PingEvent",
    "PluginWarning",
    "PongEvent",
    "ProtocolBackend",
    "ProtocolLimits",
    "QueryParams",
    "RawHeaders",
    "Request",
    "RequestHead",
    "Resolver",
    "Response",
    "ResponseFraming",
    "ResponseHead",
    "ResponseWriter",
    "ServerProtocol",
    "StreamData",
    "StreamReset",
    "StreamedBody",
    "TokenCheck",
    "TokenCredentials",
    "Transport",
    "URL",
    "UploadFile",
    "WebSocketBackend",
    "WebSocketEvent",
    "WebSocketMessage",
    "WebSocketProtocol",
    "WebSocketSettings",
    "WindowOpened",
    "assemble_form",
    "challenge_error",
    "check_stream_fields",
    "check_trailers",
    "chunk_overflow",
    "close_reason",
    "connection_tokens",
    "field_kind",
    "hookimpl",
    "keep_alive",
    "known_fields",
    "length_overflow",
    "make_request_head",
    "pack",
    "parse_auth_params",
    "parse_challenges",
    "parse_credentials",
    "parse_extensions",
    "parse_json",
    "quote",
    "request_line_version",
    "response_framing",
    "response_has_body",
    "rtml",
    "stream_request_head",
    "stream_response_status",
    "stream_trailers",
    "too_many_empty_lines",
    "trailer_field_error",
    "unpack",
]

#: Marks a function as an implementation of one of the hooks in :mod:`rttp.hookspecs`.
hookimpl: pluggy.HookimplMarker = pluggy.HookimplMarker("rttp")


def _canonical() -> None:
    """The protocol-layer classes exported here show as ``rttp.plugin.X`` (in the docs,
    in reprs): this module is where plugin authors find them. Those that every user
    meets (the WebSocket events, :class:`rttp.Deflate`) show as ``rttp.X``."""
    from . import __all__ as public

    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith(("rttp._proto.", "rttp._families")):
            obj.__module__ = "rttp" if name in public else __name__


_canonical()
