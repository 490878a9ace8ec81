"""Every hook specification of trio-rttp (pluggy project name ``rttp``).

All hooks are *registration* hooks: they are called once when a plugin set is
assembled (at import of nothing, at the first Client/Server that needs it), receive a
``register`` callable, and call it with the objects they contribute. They never do
I/O and never return awaitables; the registered objects carry the async behaviour.

Keys: each registered object is filed under one or more keys (URL schemes, coding
tokens, media types, scheme names). When two plugins register the same key, the one
registered later wins and a :class:`rttp.plugin.PluginWarning` names both. Plugins
are registered in this order: trio-rttp's own built-ins, then third-party entry
points sorted by distribution and name, then the ``plugins=[...]`` of one instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .plugin import (
        AuthScheme,
        BodyCodec,
        Broker,
        ContentEncoding,
        ProtocolBackend,
        Resolver,
        Transport,
        WebSocketBackend,
    )

__all__ = [
    "hookspec",
    "rttp_register_auth_schemes",
    "rttp_register_body_codecs",
    "rttp_register_brokers",
    "rttp_register_content_encodings",
    "rttp_register_protocol_backends",
    "rttp_register_resolvers",
    "rttp_register_transports",
    "rttp_register_websocket_backends",
]

hookspec: pluggy.HookspecMarker = pluggy.HookspecMarker("rttp")


# -- transports -------------------------------------------------------------------------
@hookspec
def rttp_register_transports(register: Callable[[Transport], None]) -> None:
    """Register :class:`~rttp.plugin.Transport` objects.

    :param register: call with each transport.

    Keys: every scheme in the transport's ``client_schemes`` (used by the client to
    connect: ``http``, ``https``, ``http+unix``, ``ws`` …) and ``bind_schemes`` (used by
    the server to listen: ``http``, ``https``, ``unix``, ``tcp`` …).
    """


# -- resolvers --------------------------------------------------------------------------
@hookspec
def rttp_register_resolvers(register: Callable[[Resolver], None]) -> None:
    """Register :class:`~rttp.plugin.Resolver` objects (name -> address).

    :param register: call with each resolver.

    Key: the resolver's ``name`` (``static``, ``dns``). They are asked in ``priority``
    order by a Client or an Endpoint built with ``resolver=True``.
    """


# -- body codecs ------------------------------------------------------------------------
@hookspec
def rttp_register_body_codecs(register: Callable[[BodyCodec], None]) -> None:
    """Register :class:`~rttp.plugin.BodyCodec` objects.

    :param register: call with each codec.

    Keys: the codec's ``media_type`` and each of its ``aliases`` (lower-cased, without
    parameters): ``application/json``, ``table``, ``text/plain`` …
    """


# -- content encodings ------------------------------------------------------------------
@hookspec
def rttp_register_content_encodings(register: Callable[[ContentEncoding], None]) -> None:
    """Register :class:`~rttp.plugin.ContentEncoding` objects.

    :param register: call with each encoding.

    Key: the encoding's ``name``, the ``Content-Encoding`` token (``gzip``, ``deflate``,
    ``br``). The server offers encodings in registration order unless configured.
    """


# -- auth -------------------------------------------------------------------------------
@hookspec
def rttp_register_auth_schemes(register: Callable[[AuthScheme], None]) -> None:
    """Register :class:`~rttp.plugin.AuthScheme` objects.

    :param register: call with each scheme.

    Key: the scheme's ``name``, case-insensitive: for a scheme that travels in
    ``Authorization``, its word there (``basic``, ``bearer``, ``digest``); otherwise any
    name (``token``). The client binds ``auth=`` credentials through
    :meth:`~rttp.plugin.AuthScheme.auth`; :func:`rttp.auth.require` verifies with
    :meth:`~rttp.plugin.AuthScheme.verify`. Check a scheme with
    :func:`rttp.testing.check_auth_scheme`.
    """


# -- brokers ----------------------------------------------------------------------------
@hookspec
def rttp_register_brokers(register: Callable[[Broker], None]) -> None:
    """Register :class:`~rttp.plugin.Broker` objects (publish/subscribe between processes).

    :param register: call with each broker.

    Keys: every URL scheme in the broker's ``schemes`` (``memory``, ``redis``,
    ``rediss``): ``rttp.App(broker="redis://host:6379/0")`` picks the broker by scheme.
    Check one with :func:`rttp.testing.check_broker`.
    """


# -- protocol backends ------------------------------------------------------------------
@hookspec
def rttp_register_protocol_backends(register: Callable[[ProtocolBackend], None]) -> None:
    """Register :class:`~rttp.plugin.ProtocolBackend` objects (HTTP/1.1 parsers) and
    :class:`~rttp.plugin.MultiplexedBackend` objects (HTTP/2).

    :param register: call with each backend.

    Key: the backend's ``name`` (``h11``, ``httptools``, ``h2``). ``http_backend="auto"``
    selects the HTTP/1.1 backend with the highest ``priority``; a server with
    ``http2=True`` takes the highest-priority multiplexed backend whose ``alpn`` is
    ``h2``.
    """


# -- WebSocket backends -----------------------------------------------------------------
@hookspec
def rttp_register_websocket_backends(register: Callable[[WebSocketBackend], None]) -> None:
    """Register :class:`~rttp.plugin.WebSocketBackend` objects (RFC 6455 framing).

    :param register: call with each backend.

    Key: the backend's ``name`` (``websockets``, ``wsproto``). ``websocket_backend="auto"``
    selects the registered backend with the highest ``priority``. Check one with
    :func:`rttp.testing.check_websocket_backend`.
    """
