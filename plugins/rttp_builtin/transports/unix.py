"""The ``unix`` transport: bind ``unix:/path/to.sock``; connect ``http+unix://%2Fpath%2Fto.sock/``.

Binding over a stale socket file (no server answers on it) replaces it; a live one is a
:class:`~rttp.errors.BindError`, and so is a path that is not a socket. The file is
removed when the listener closes, if it is still ours.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Any

import trio

from rttp.errors import BindError
from rttp.plugin import URL, ConnectOptions, ListenOptions, Transport, hookimpl

__all__ = ["UnixTransport"]


def _socket_path(url: URL) -> str:
    path = url.unix_path
    if not path:
        raise BindError(f"unix socket URL {str(url)!r} names no socket path", reason="address")
    return path


def _remove_stale(path: str) -> None:
    """Unlink a socket file nobody accepts on (a connect to a local path answers at
    once, so this does not wait); a live one or a non-socket is a BindError."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise BindError(
            f"cannot listen on unix socket {path!r}: the path exists and is not a socket",
            reason="not_socket",
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise BindError(f"cannot check unix socket {path!r}: {exc}") from exc
        os.unlink(path)
        return
    finally:
        probe.close()
    raise BindError(
        f"cannot listen on unix socket {path!r}: a live server is using it", reason="in_use"
    )


class UnixTransport(Transport):
    """Unix domain stream sockets."""

    name = "unix"
    client_schemes = frozenset({"http+unix", "ws+unix", "rttp+unix"})
    bind_schemes = frozenset({"unix"})

    def __init__(self) -> None:
        self._inodes: dict[int, int] = {}  # id(listener) -> inode of the socket file it made

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        return await trio.open_unix_socket(_socket_path(url))

    async def listen(self, target: URL, options: ListenOptions) -> list[trio.abc.Listener[Any]]:
        # binding a local path never waits: the pre-fork form serves here too
        [sock] = self.bind_sockets(target, options)
        await trio.lowlevel.checkpoint()
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
        self._inodes[id(listener)] = os.stat(_socket_path(target)).st_ino
        return [listener]

    def bind_sockets(self, target: URL, options: ListenOptions) -> list[socket.socket]:
        path = _socket_path(target)
        _remove_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            sock.listen(options.backlog or 128)
        except OSError as exc:
            sock.close()
            reason = {errno.ENOENT: "no_directory", errno.EACCES: "permission"}.get(
                exc.errno or 0, ""
            )
            raise BindError(
                f"cannot listen on unix socket {path!r}: {exc.strerror or exc}", reason=reason
            ) from exc
        return [sock]

    def bound_address(self, listener: trio.abc.Listener[Any], target: URL) -> URL:
        return URL(f"unix:{_socket_path(target)}")

    async def close_listeners(self, listeners: list[trio.abc.Listener[Any]], target: URL) -> None:
        path = _socket_path(target)
        inodes = set()
        for listener in listeners:
            inode = self._inodes.pop(id(listener), None)
            if inode is not None:
                inodes.add(inode)
            await listener.aclose()
        try:
            if os.stat(path).st_ino in inodes:
                os.unlink(path)
        except OSError:
            pass


@hookimpl
def rttp_register_transports(register: Any) -> None:
    """Register the unix-socket transport."""
    register(UnixTransport())
