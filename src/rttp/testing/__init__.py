"""Testing helpers: an in-memory transport, conformance kits for plugins, pytest fixtures.

- :data:`memory_plugin` adds the ``memory://name`` transport: a server bound to
  ``memory://app`` is reachable by a client at ``memory://app/path`` without sockets.
- :func:`check_transport`, :func:`check_content_encoding`, :func:`check_body_codec`,
  :func:`check_protocol_backend`: what every transport, encoding, codec and HTTP/1.1
  parser backend plugin, built-in or third-party, must pass.
"""

from ._backend_kit import HOSTILE_REQUESTS, check_protocol_backend, parse_requests
from ._codec_kit import DEFAULT_SAMPLES, check_body_codec
from ._kits import check_content_encoding, check_transport
from ._memory import MemoryPlugin, MemoryTransport, memory_plugin

__all__ = [
    "DEFAULT_SAMPLES",
    "HOSTILE_REQUESTS",
    "MemoryPlugin",
    "MemoryTransport",
    "check_body_codec",
    "check_content_encoding",
    "check_protocol_backend",
    "check_transport",
    "memory_plugin",
    "parse_requests",
]
