"""The seed's module-level RTTP calls, on a default :class:`rttp.Endpoint`.

``await rttp.messages.run_server(bind)`` opens the default endpoint and serves its
handler until cancelled; the other calls need it open, either inside ``run_server`` (a
handler may send) or inside ``async with rttp.messages.opened():``::

    rttp.messages.handle_msg(handler)
    async with rttp.messages.opened():
        reply = await rttp.messages.get_sync("127.0.0.1:10080", "/")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from ._faces._endpoint import Endpoint
from ._faces._message import Handler, Message, string_message, valid
from ._model import code_name, response_codes
from ._model._url import URL

__all__ = [
    "code_name",
    "get",
    "get_sync",
    "handle_msg",
    "opened",
    "post",
    "post_sync",
    "register_handler",
    "reply",
    "response_codes",
    "run_server",
    "send",
    "send_sync",
    "string_message",
    "valid",
    "wait_for_msg",
]

_handler: Handler | None = None
_open: Endpoint | None = None


def handle_msg(func: Handler | None) -> None:
    """Set the default endpoint's message handler."""
    global _handler
    _handler = func
    if _open is not None:
        _open.handle_msg(func)


@asynccontextmanager
async def opened(**options: Any) -> AsyncIterator[Endpoint]:
    """Open the default endpoint for the module-level calls (once at a time)."""
    global _open
    if _open is not None:
        raise RuntimeError("the default RTTP endpoint is open already")
    async with Endpoint(**options) as endpoint:
        endpoint.handle_msg(_handler)
        _open = endpoint
        try:
            yield endpoint
        finally:
            _open = None


def _endpoint() -> Endpoint:
    if _open is None:
        raise RuntimeError(
            "the default RTTP endpoint is not open: use 'async with rttp.messages.opened():' "
            "or call from inside rttp.messages.run_server()"
        )
    return _open


async def run_server(
    bind: str = "rttp://127.0.0.1:10080",
    *,
    task_status: trio.TaskStatus[list[URL]] = trio.TASK_STATUS_IGNORED,
    **settings: Any,
) -> None:
    """Serve the handler set with :func:`handle_msg` on ``bind`` until cancelled."""
    if _open is not None:
        await _open.run_server(bind, task_status=task_status, **settings)
        return
    async with opened() as endpoint:
        await endpoint.run_server(bind, task_status=task_status, **settings)


async def register_handler(bind: str = "rttp://127.0.0.1:10080", **settings: Any) -> bool:
    """Serve the handler in the open default endpoint; False if it serves already."""
    return await _endpoint().register_handler(bind, **settings)


def send(
    dest: str | int,
    path: str,
    method: str = "GET",
    content_type: str = "none",
    body: Any = None,
    cookies: Mapping[str, str] | None = None,
) -> int:
    """:meth:`rttp.Endpoint.send` on the default endpoint."""
    return _endpoint().send(dest, path, method, content_type, body, cookies)


async def send_sync(
    dest: str | int,
    path: str,
    method: str = "GET",
    content_type: str = "none",
    body: Any = None,
    cookies: Mapping[str, str] | None = None,
    *,
    timeout: float | None = None,
) -> Message:
    """:meth:`rttp.Endpoint.send_sync` on the default endpoint."""
    return await _endpoint().send_sync(
        dest, path, method, content_type, body, cookies, timeout=timeout
    )


async def reply(msg: Message, code: int, *args: Any) -> int:
    """:meth:`rttp.Endpoint.reply` on the default endpoint."""
    return await _endpoint().reply(msg, code, *args)


async def wait_for_msg(timeout: float = 0) -> Message:
    """:meth:`rttp.Endpoint.wait_for_msg` on the default endpoint."""
    return await _endpoint().wait_for_msg(timeout)


async def get(dest: str | int, path: str) -> int:
    """:meth:`rttp.Endpoint.get` on the default endpoint."""
    return await _endpoint().get(dest, path)


async def get_sync(dest: str | int, path: str, *, timeout: float | None = None) -> Message:
    """:meth:`rttp.Endpoint.get_sync` on the default endpoint."""
    return await _endpoint().get_sync(dest, path, timeout=timeout)


async def post(dest: str | int, path: str, content_type: str, body: Any) -> int:
    """:meth:`rttp.Endpoint.post` on the default endpoint."""
    return await _endpoint().post(dest, path, content_type, body)


async def post_sync(
    dest: str | int, path: str, content_type: str, body: Any, *, timeout: float | None = None
) -> Message:
    """:meth:`rttp.Endpoint.post_sync` on the default endpoint."""
    return await _endpoint().post_sync(dest, path, content_type, body, timeout=timeout)
