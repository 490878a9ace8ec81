"""The ``tls`` transport: ``https://``, ``wss://`` and ``rttps://``; TCP wrapped in ``trio.SSLStream``.

The client performs the handshake inside :meth:`TLSTransport.connect` so certificate
errors surface at connect time; the server's handshake runs lazily in the connection
task, under the server's header timeout. SNI comes from the URL host; ALPN ``http/1.1``
is set on the contexts trio-rttp builds.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any, ClassVar

import trio

from rttp.errors import BindError
from rttp.plugin import URL, ConnectOptions, ListenOptions, Transport, hookimpl

from .tcp import bind_tcp_sockets, open_tcp_listeners, tcp_bound_address

__all__ = ["TLSTransport"]


class TLSTransport(Transport):
    """TLS over TCP."""

    name = "tls"
    client_schemes = frozenset({"https", "wss", "rttps"})
    bind_schemes = frozenset({"https", "wss", "rttps"})
    scheme_families: ClassVar[Mapping[str, str]] = {"https": "http", "wss": "ws", "rttps": "rttp"}

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        assert url.port is not None, url
        context = options.ssl_context or ssl.create_default_context()
        tcp = await trio.open_tcp_stream(
            url.host, url.port, happy_eyeballs_delay=options.happy_eyeballs_delay
        )
        stream = trio.SSLStream(
            tcp, context, server_hostname=options.server_hostname or url.host, https_compatible=True
        )
        try:
            await stream.do_handshake()
        except BaseException:
            await trio.aclose_forcefully(tcp)
            raise
        return stream

    async def listen(self, target: URL, options: ListenOptions) -> list[trio.abc.Listener[Any]]:
        if options.ssl_context is None:
            raise BindError(
                f"cannot listen on {target}: TLS needs certfile and keyfile (or ssl_context)",
                reason="tls",
            )
        listeners = await open_tcp_listeners(target, options)
        return [
            trio.SSLListener(listener, options.ssl_context, https_compatible=True)
            for listener in listeners
        ]

    def bind_sockets(self, target: URL, options: ListenOptions) -> list[socket.socket]:
        if options.ssl_context is None:
            raise BindError(
                f"cannot listen on {target}: TLS needs certfile and keyfile (or ssl_context)",
                reason="tls",
            )
        return bind_tcp_sockets(target, options)

    def bound_address(self, listener: trio.abc.Listener[Any], target: URL) -> URL:
        assert isinstance(listener, trio.SSLListener)
        inner = listener.transport_listener
        assert isinstance(inner, trio.SocketListener)
        return tcp_bound_address(inner, target)


@hookimpl
def rttp_register_transports(register: Any) -> None:
    """Register the TLS transport."""
    register(TLSTransport())
