"""The client against hostile servers: redirects that change transport, trickling
framing lines, floods of interim answers, unsolicited protocol switches."""

from __future__ import annotations

import urllib.parse

import pytest
import trio

import rttp
from rttp.errors import ReadTimeout, RemoteProtocolError, Timeout, TooLarge, UnsafeRedirect
from rttp.testing import MemoryPlugin
from tests.conftest import hello


async def _serve_raw(nursery: trio.Nursery, respond) -> str:
    """A loopback server that reads one request head, then runs ``respond(stream)``."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                data += chunk
            try:
                await respond(stream)
            except trio.BrokenResourceError:
                pass

    await nursery.start(trio.serve_listeners, handle, listeners)
    return f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"


# -- 1. a redirect never changes the transport family --------------------------------------
async def test_a_redirect_from_tcp_to_a_unix_socket_is_refused_and_never_connects(
    serve, tmp_path, nursery
):
    """The SSRF: a remote server's ``Location: http+unix://...docker.sock`` must not make
    the client talk to a local socket. The unix listener at that path sees nothing."""
    path = tmp_path / "docker.sock"
    seen: list[bool] = []
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(str(path))
    sock.listen(4)
    listener = trio.SocketListener(sock)

    async def record(stream: trio.abc.Stream) -> None:
        seen.append(True)
        await stream.aclose()

    await nursery.start(trio.serve_listeners, record, [listener])
    target = f"http+unix://{urllib.parse.quote(str(path), safe='')}/containers/json"

    async def handler(request):
        return rttp.Response(302, {"Location": target})

    _, url = await serve(handler)
    async with rttp.Client() as client:
        with pytest.raises(UnsafeRedirect, match="another kind of transport") as info:
            await client.get(f"{url}/go")
        assert target in str(info.value)
        with pytest.raises(UnsafeRedirect):
            await client.post(f"{url}/go", content=b"x")
        # the same client still reaches the socket when asked to directly
        assert seen == []
        with pytest.raises(rttp.errors.RTTPError):
            await client.get(target)
    assert seen == [True]


async def test_a_redirect_to_a_scheme_a_plugin_adds_is_refused(serve):
    """A transport plugin's scheme (here ``memory``) is no redirect target from TCP."""

    async def handler(request):
        return rttp.Response(307, {"Location": "memory://app/x"})

    _, url = await serve(handler)
    async with rttp.Client(plugins=[MemoryPlugin()]) as client:
        with pytest.raises(UnsafeRedirect, match="from http to another kind"):
            await client.get(f"{url}/go")


async def test_redirects_within_a_family_are_still_followed(serve, tmp_path):
    """http to http on another port, and a unix socket's redirect to itself, still work."""
    _, other = await serve(hello)

    async def handler(request):
        if request.path == "/go":
            return rttp.Response(302, {"Location": f"{other}/landed"})
        if request.path == "/u":
            return rttp.Response(302, {"Location": "/here"})
        return await hello(request)

    _, url = await serve(handler)
    sock = tmp_path / "app.sock"
    await serve(handler, f"unix:{sock}")
    async with rttp.Client() as client:
        assert (await client.get(f"{url}/go")).text == "hello /landed"
        encoded = urllib.parse.quote(str(sock), safe="")
        response = await client.get(f"http+unix://{encoded}/u")
        assert response.text == "hello /here"
