"""The ``socks`` transport: a client's way through a SOCKS5 proxy (``socks5://`` names
resolve on this side, ``socks5h://`` on the proxy's), on socksio's sans-IO SOCKS5
state machine. ``Client(proxy="socks5://user:pass@host:1080")`` uses it: :meth:`connect`
opens TCP to the proxy and :meth:`tunnel` asks it for the origin (username and password
authentication, RFC 1929, when the proxy URL has credentials).

socksio is an optional dependency (``pip install 'trio-rttp[socks]'``); without it the
transport is registered and says what to install.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import trio

from rttp.errors import ProxyError
from rttp.plugin import URL, ConnectOptions, Transport, hookimpl

__all__ = ["SocksTransport"]

#: what a SOCKS5 server's reply codes mean (RFC 1928 section 6)
_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


class SocksTransport(Transport):
    """SOCKS5 proxies for the client."""

    name = "socks"
    client_schemes = frozenset({"socks5", "socks5h"})

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        assert url.port is not None, url
        return await trio.open_tcp_stream(
            url.host, url.port, happy_eyeballs_delay=options.happy_eyeballs_delay
        )

    async def tunnel(self, stream: trio.abc.Stream, proxy: URL, target: URL) -> trio.abc.Stream:
        try:
            from socksio import socks5
        except ImportError:  # pragma: no cover - the test extra installs it
            raise ProxyError(
                f"proxy {proxy.netloc}: SOCKS needs socksio: pip install 'trio-rttp[socks]'",
                proxy=proxy.netloc,
                reason="scheme",
            ) from None
        where = proxy.netloc
        machine = socks5.SOCKS5Connection()
        methods = [socks5.SOCKS5AuthMethod.NO_AUTH_REQUIRED]
        if proxy.username:
            methods.append(socks5.SOCKS5AuthMethod.USERNAME_PASSWORD)
        machine.send(socks5.SOCKS5AuthMethodsRequest(methods))
        chosen = await _exchange(stream, machine, where)
        if chosen.method == socks5.SOCKS5AuthMethod.USERNAME_PASSWORD:
            machine.send(
                socks5.SOCKS5UsernamePasswordRequest(
                    proxy.username.encode(), (proxy.password or "").encode()
                )
            )
            if not (await _exchange(stream, machine, where)).success:
                raise ProxyError(
                    f"proxy {where} refused the username and password",
                    proxy=where,
                    reason="auth",
                )
        elif chosen.method != socks5.SOCKS5AuthMethod.NO_AUTH_REQUIRED:
            hint = " (it wants a username and password)" if not proxy.username else ""
            raise ProxyError(
                f"proxy {where} accepts none of the offered SOCKS5 methods{hint}",
                proxy=where,
                reason="auth",
            )
        host = target.host
        if proxy.scheme == "socks5" and not _is_address(host):
            host = await _resolve(host, target.port or 0)
        machine.send(
            socks5.SOCKS5CommandRequest.from_address(
                socks5.SOCKS5Command.CONNECT, (host, target.port or 0)
            )
        )
        reply = await _exchange(stream, machine, where)
        raw = reply.reply_code.value  # socksio's codes are their bytes on the wire
        code = raw[0] if isinstance(raw, bytes) else int(raw)
        if code != 0:
            raise ProxyError(
                f"proxy {where} refused the connection to {target.host}:{target.port}: "
                f"{_REPLIES.get(code, f'reply code {code}')}",
                proxy=where,
                status=code,
                reason="refused",
            )
        return stream


async def _exchange(stream: trio.abc.Stream, machine: Any, where: str) -> Any:
    """Send what the state machine has, then read until it parses the proxy's reply."""
    await stream.send_all(machine.data_to_send())
    received = b""
    while True:
        chunk = await stream.receive_some(512)
        if not chunk:
            raise ProxyError(
                f"proxy {where} closed the connection during the SOCKS5 handshake",
                proxy=where,
                reason="closed",
            )
        received += chunk
        try:
            return machine.receive_data(received)
        except Exception as exc:  # socksio: a reply cut short, or malformed
            if len(received) > 512:
                raise ProxyError(
                    f"proxy {where} sent a malformed SOCKS5 reply: {exc}",
                    proxy=where,
                    reason="protocol",
                ) from None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int) -> str:
    """``socks5://``: the target's name resolved here (``socks5h://`` leaves it to the
    proxy)."""
    found = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
    return str(found[0][4][0])


@hookimpl
def rttp_register_transports(register: Any) -> None:
    """Register the SOCKS transport."""
    register(SocksTransport())
