"""Reaching an origin through an HTTP proxy: a plain ``http://`` request is forwarded
(sent to the proxy in absolute form, ``GET http://example.org/ HTTP/1.1``), anything
else (``https``, ``ws``, ``wss``) goes through a ``CONNECT`` tunnel, TLS to the origin
inside it. An ``https://`` proxy is itself reached over TLS. Credentials in the proxy's
URL (``http://user:pass@proxy:3128``) become ``Proxy-Authorization`` and are sent only
to the proxy.

The ``CONNECT`` exchange is h11's (its client state machine knows that a 2xx answer to
CONNECT switches the connection to the tunnel).
"""

from __future__ import annotations

import base64
import dataclasses
import ssl

import h11
import trio

from ..._model import URL
from ..._plugins import Plugins
from ...errors import ProxyError, UnsupportedScheme
from ...plugin import ConnectOptions
from ._errors import connect_errors
from ._prefixed import PrefixedStream

__all__ = [
    "ProxyRoute",
    "forwarded_head",
    "open_proxied",
    "open_route",
    "proxy_authorization",
    "route_for",
]

#: the largest answer head a proxy may send to CONNECT
_MAX_CONNECT_ANSWER = 65536


@dataclasses.dataclass(frozen=True)
class ProxyRoute:
    """How a request reaches its origin through ``proxy``: ``forward`` (absolute-form
    requests on a connection to the proxy) or a tunnel."""

    proxy: URL
    forward: bool

    @property
    def authorization(self) -> bytes | None:
        """The ``Proxy-Authorization`` value, from the proxy URL's credentials."""
        return proxy_authorization(self.proxy)


def proxy_authorization(proxy: URL) -> bytes | None:
    """``Basic`` credentials from ``user:pass@`` in the proxy's URL, or None."""
    if not proxy.username and not proxy.password:
        return None
    pair = f"{proxy.username}:{proxy.password or ''}".encode()
    return b"Basic " + base64.b64encode(pair)


def route_for(proxy: str, target: URL) -> ProxyRoute:
    """The route to ``target`` through the proxy at ``proxy`` (only an HTTP proxy
    forwards, and only plain ``http``)."""
    url = URL(proxy)
    return ProxyRoute(url, forward=target.scheme == "http" and url.scheme in ("http", "https"))


def forwarded_head(
    head: tuple[bytes, bytes, list[tuple[bytes, bytes]]], target: URL, route: ProxyRoute
) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """A request head for a forwarding proxy: the target in absolute form, and the
    proxy's credentials (which no origin ever sees: tunnels carry none)."""
    method, _, headers = head
    absolute = str(target.copy_with(fragment="", username="", password="")).encode("ascii")
    credentials = route.authorization
    if credentials is not None:
        headers = [*headers, (b"Proxy-Authorization", credentials)]
    return method, absolute, headers


async def open_route(
    route: ProxyRoute,
    target: URL,
    options: ConnectOptions,
    plugins: Plugins,
    proxy_tls: ssl.SSLContext,
) -> trio.abc.Stream:
    """A stream to ``target`` through ``route.proxy``: to the proxy itself when the
    route forwards, else a tunnel (with TLS to the origin for a secure target)."""
    proxy = route.proxy
    try:
        transport = plugins.transport_for_url(proxy.scheme)
    except UnsupportedScheme:
        raise ProxyError(
            f"proxy {proxy.netloc}: {proxy.scheme}:// proxies need a transport plugin "
            f"that speaks it (none is loaded)",
            proxy=proxy.netloc,
            reason="scheme",
        ) from None
    via = ConnectOptions(
        ssl_context=proxy_tls if proxy.scheme == "https" else None,
        happy_eyeballs_delay=options.happy_eyeballs_delay,
    )
    stream = await transport.connect(proxy, via)
    if route.forward:
        return stream
    try:
        if proxy.scheme in ("http", "https"):
            stream = await _tunnel(stream, target, route)
        else:  # a proxy protocol of its own (SOCKS5): the transport asks for the tunnel
            stream = await transport.tunnel(stream, proxy, target)
        if target.is_secure:
            context = options.ssl_context or ssl.create_default_context()
            tls = trio.SSLStream(
                stream,
                context,
                server_hostname=options.server_hostname or target.host,
                https_compatible=True,
            )
            await tls.do_handshake()
            stream = tls
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return stream


async def _tunnel(stream: trio.abc.Stream, target: URL, route: ProxyRoute) -> trio.abc.Stream:
    """``CONNECT host:port`` on ``stream``; the tunnel once the proxy said 2xx."""
    authority = f"{target.host_header.rsplit(':', 1)[0]}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        authority = f"[{target.host}]:{target.port}"
    headers = [("Host", authority)]
    credentials = route.authorization
    if credentials is not None:
        headers.append(("Proxy-Authorization", credentials.decode("ascii")))
    machine = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_CONNECT_ANSWER)
    data = machine.send(h11.Request(method="CONNECT", target=authority, headers=headers))
    data += machine.send(h11.EndOfMessage())
    where = route.proxy.netloc
    await stream.send_all(data)
    while True:
        try:
            event = machine.next_event()
        except h11.RemoteProtocolError as exc:
            raise ProxyError(
                f"proxy {where} answered CONNECT {authority} with a malformed answer: {exc}",
                proxy=where,
                reason="protocol",
            ) from None
        if event is h11.NEED_DATA:
            received = await stream.receive_some(65536)
            if not received:
                raise ProxyError(
                    f"proxy {where} closed the connection instead of answering CONNECT {authority}",
                    proxy=where,
                    reason="closed",
                )
            machine.receive_data(bytes(received))
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            break
    status = event.status_code
    if not 200 <= status < 300:
        said = event.reason.decode("latin-1")
        reason = "auth" if status == 407 else "refused"
        hint = " (the proxy wants credentials: http://user:pass@proxy)" if status == 407 else ""
        raise ProxyError(
            f"proxy {where} refused the tunnel to {authority}: {status} {said}{hint}",
            proxy=where,
            status=status,
            reason=reason,
        )
    leftover, _ = machine.trailing_data
    return PrefixedStream(stream, bytes(leftover)) if leftover else stream


async def open_proxied(
    via: str,
    target: URL,
    options: ConnectOptions,
    plugins: Plugins,
    proxy_tls: ssl.SSLContext,
    where: str,
) -> tuple[trio.abc.Stream, ProxyRoute]:
    """:func:`open_route` through the proxy at ``via``, its connect errors naming
    ``where`` (which names the proxy too); the stream and the route taken."""
    route = route_for(via, target)
    with connect_errors(where, route.proxy.host, route.proxy.port):
        stream = await open_route(route, target, options, plugins, proxy_tls)
    return stream, route
