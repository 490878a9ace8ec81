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

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from . import auth, errors, rtml
    from ._codecs import get_body_codec, negotiate
    from ._config import ClientConfig, Limits, ServerConfig, Timeouts
    from ._faces._app import App, HandlerInfo, RouteResponse, ServedApp, SocketConnection
    from ._faces._broadcast import RemoteConnection
    from ._faces._endpoint import Endpoint
    from ._faces._handles import HANDLE_CODES, RequestHandle, status_for_error
    from ._faces._message import Message, string_message, valid
    from ._faces._middleware import CORS
    from ._faces._run import run
    from ._faces._wsclient import WebSocketClient, websocket
    from ._io.client._client import Client, Progress
    from ._io.engine._connection import HTTPConnection
    from ._io.net._tls import client_context, server_context
    from ._io.server._asgi import asgi
    from ._io.server._server import Handler, Server, serve
    from ._io.server._static import static
    from ._io.server._wsgi import wsgi
    from ._io.websocket._websocket import Closed, PingEvent, PongEvent, WebSocket, WebSocketMessage
    from ._io.websocket._wshandshake import accept_websocket, connect_websocket
    from ._model import (
        MULTIPLE,
        URL,
        Answer,
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
    from ._options import ClientOptions, ServerOptions
    from ._plugins import PluginInfo, Plugins, get_plugins
    from ._proto._wsdeflate import Deflate
    from .errors import RTTPError

#: where each public name lives; imported on first use, so that ``import rttp`` costs
#: almost nothing (a test holds it to that)
_LAZY: dict[str, str] = {
    "Answer": "._model",
    "App": "._faces._app",
    "CORS": "._faces._middleware",
    "Client": "._io.client._client",
    "ClientConfig": "._config",
    "ClientOptions": "._options",
    "ServerOptions": "._options",
    "Closed": "._io.websocket._websocket",
    "Deflate": "._proto._wsdeflate",
    "Closure": "._model._enums",
    "Code": "._model",
    "Endpoint": "._faces._endpoint",
    "FieldInfo": "._model",
    "FormData": "._model",
    "HANDLE_CODES": "._faces._handles",
    "HTTPConnection": "._io.engine._connection",
    "HTTPStatusError": "._model",
    "Handler": "._io.server._server",
    "HandlerInfo": "._faces._app",
    "Headers": "._model",
    "Limits": "._config",
    "MULTIPLE": "._model",
    "Message": "._faces._message",
    "Method": "._model._enums",
    "Opcode": "._model._enums",
    "PingEvent": "._io.websocket._websocket",
    "PluginInfo": "._plugins",
    "Plugins": "._plugins",
    "PongEvent": "._io.websocket._websocket",
    "Progress": "._io.client._client",
    "QueryParams": "._model",
    "RTTPError": ".errors",
    "RemoteConnection": "._faces._broadcast",
    "Request": "._model",
    "RequestHandle": "._faces._handles",
    "Response": "._model",
    "RouteResponse": "._faces._app",
    "ServedApp": "._faces._app",
    "Server": "._io.server._server",
    "ServerConfig": "._config",
    "SocketConnection": "._faces._app",
    "Status": "._model._enums",
    "Timeouts": "._config",
    "URL": "._model",
    "UploadFile": "._model",
    "WebSocket": "._io.websocket._websocket",
    "WebSocketClient": "._faces._wsclient",
    "WebSocketMessage": "._io.websocket._websocket",
    "accept_websocket": "._io.websocket._wshandshake",
    "client_context": "._io.net._tls",
    "code_name": "._model",
    "connect_websocket": "._io.websocket._wshandshake",
    "get_body_codec": "._codecs",
    "get_plugins": "._plugins",
    "negotiate": "._codecs",
    "reason_phrase": "._model",
    "response_codes": "._model",
    "run": "._faces._run",
    "asgi": "._io.server._asgi",
    "wsgi": "._io.server._wsgi",
    "serve": "._io.server._server",
    "static": "._io.server._static",
    "server_context": "._io.net._tls",
    "status_for_error": "._faces._handles",
    "string_message": "._faces._message",
    "valid": "._faces._message",
    "websocket": "._faces._wsclient",
}
_SUBMODULES = frozenset(
    {"auth", "errors", "hookspecs", "messages", "moonbridge", "plugin", "rtml", "testing"}
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name in _SUBMODULES:
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module 'rttp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    if isinstance(value, type) and value.__module__.startswith("rttp._"):
        value.__module__ = "rttp"
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Answer",
    "App",
    "CORS",
    "Client",
    "ClientConfig",
    "ClientOptions",
    "Closed",
    "Closure",
    "Code",
    "Deflate",
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
    "RemoteConnection",
    "Request",
    "RequestHandle",
    "Response",
    "RouteResponse",
    "ServedApp",
    "Server",
    "ServerConfig",
    "ServerOptions",
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
    "asgi",
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
    "static",
    "status_for_error",
    "string_message",
    "valid",
    "websocket",
    "wsgi",
]
