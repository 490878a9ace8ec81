"""Testing helpers: an in-memory transport, conformance kits for plugins, pytest fixtures.

- ``rttp.Client(app=app)`` (or :class:`AppTransport`) talks to an application in
  memory; :class:`MockTransport` answers from a function; :func:`app_client` serves an
  application on ``memory://`` and gives a client for it.
- :data:`memory_plugin` adds the ``memory://name`` transport: a server bound to
  ``memory://app`` is reachable by a client at ``memory://app/path`` without sockets.
- :func:`check_transport`, :func:`check_content_encoding`, :func:`check_body_codec`,
  :func:`check_protocol_backend`, :func:`check_multiplexed_backend`,
  :func:`check_auth_scheme`, :func:`check_broker`, :func:`check_websocket_backend`:
  what every transport, encoding, codec, HTTP/1.1 parser backend, HTTP/2 backend, auth
  scheme, broker and WebSocket backend plugin, built-in or third-party, must pass.
"""

from .._io.client._apptransport import AppTransport, MockTransport
from ._auth_kit import MALFORMED_CREDENTIALS, check_auth_scheme
from ._backend_kit import HOSTILE_REQUESTS, check_protocol_backend, parse_requests
from ._broker_kit import check_broker
from ._codec_kit import DEFAULT_SAMPLES, check_body_codec
from ._inprocess import app_client
from ._kits import check_content_encoding, check_transport
from ._memory import MemoryPlugin, MemoryTransport, memory_plugin
from ._mux_kit import check_multiplexed_backend
from ._websocket_kit import VIOLATIONS, check_websocket_backend, ws_frame

__all__ = [
    "AppTransport",
    "DEFAULT_SAMPLES",
    "HOSTILE_REQUESTS",
    "MALFORMED_CREDENTIALS",
    "MemoryPlugin",
    "MemoryTransport",
    "MockTransport",
    "VIOLATIONS",
    "app_client",
    "check_auth_scheme",
    "check_body_codec",
    "check_broker",
    "check_content_encoding",
    "check_multiplexed_backend",
    "check_protocol_backend",
    "check_transport",
    "check_websocket_backend",
    "memory_plugin",
    "parse_requests",
    "ws_frame",
]

for _public in (AppTransport, MockTransport):  # where tests find them
    _public.__module__ = __name__
del _public
