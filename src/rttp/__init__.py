"""trio-rttp: a Trio HTTP/1.1 client and server, WebSockets and RTTP messages.

The layers, bottom up:

- ``rttp._model``: URL, Headers, Request, Response, status table (no I/O, no trio)
- ``rttp._proto``: the protocol-backend contract, validation, encodings (no I/O, no trio)
- ``rttp.hookspecs`` / ``rttp.plugin`` / ``rttp._plugins``: the pluggy plugin system;
  transports, codecs, encodings, auth and protocol backends are all plugins
- ``rttp._io``: Trio I/O: the engine (:class:`HTTPConnection`, one HTTP/1.1 connection
  over any stream, either role), and on it the server, the client and its pool
- ``rttp._cli``: the ``rttp`` command; ``rttp.testing``: kits and in-memory transport
"""

from __future__ import annotations

from . import auth, errors, rtml
from ._codecs import get_body_codec, negotiate
from ._config import ClientConfig, Limits, ServerConfig, Timeouts
from ._faces import _callbacks as _callbacks  # attaches client.http / stream_chunks
from ._faces._app import App, HandlerInfo, RouteResponse, ServedApp, SocketConnection
from ._faces._endpoint import Endpoint, Message, string_message, valid
from ._faces._handles import HANDLE_CODES, RequestHandle, status_for_error
from ._faces._run import run
from ._faces._wsclient import WebSocketClient, websocket
from ._io._client import Client, Progress
from ._io._connection import HTTPConnection
from ._io._server import Handler, Server, serve
from ._io._tls import client_context, server_context
from ._io._websocket import (
    Closed,
    PingEvent,
    PongEvent,
    WebSocket,
    WebSocketMessage,
)
from ._io._wshandshake import accept_websocket, connect_websocket
from ._model import (
    MULTIPLE,
    URL,
    Code,
    FieldInfo,
    FormData,
    Headers,
    HTTPStatusError,
    QueryParams,
    Request,
    Response,
    UploadFile,
    code_name,
    reason_phrase,
    response_codes,
)
from ._model._enums import Closure, Method, Opcode, Status
from ._model._messages import set_default_codecs as _set_default_codecs
from ._plugins import PluginInfo, Plugins, get_plugins
from .errors import RTTPError

__version__ = "0.1.0"
_set_default_codecs(lambda: get_plugins().body_codecs)

__all__ = [
    "App",
    "Client",
    "ClientConfig",
    "Closed",
    "Closure",
    "Code",
    "Endpoint",
    "FieldInfo",
    "FormData",
    "HANDLE_CODES",
    "HTTPConnection",
    "HTTPStatusError",
    "Handler",
    "HandlerInfo",
    "Headers",
    "Limits",
    "MULTIPLE",
    "Message",
    "Method",
    "Opcode",
    "PingEvent",
    "PluginInfo",
    "Plugins",
    "PongEvent",
    "Progress",
    "QueryParams",
    "RTTPError",
    "Request",
    "RequestHandle",
    "Response",
    "RouteResponse",
    "ServedApp",
    "Server",
    "ServerConfig",
    "SocketConnection",
    "Status",
    "Timeouts",
    "URL",
    "UploadFile",
    "WebSocket",
    "WebSocketClient",
    "WebSocketMessage",
    "__version__",
    "accept_websocket",
    "auth",
    "client_context",
    "code_name",
    "connect_websocket",
    "errors",
    "get_body_codec",
    "get_plugins",
    "negotiate",
    "reason_phrase",
    "response_codes",
    "rtml",
    "run",
    "serve",
    "server_context",
    "status_for_error",
    "string_message",
    "valid",
    "websocket",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("rttp._"):
        _obj.__module__ = "rttp"
del _name, _obj
