"""RTTP messages (seed 000): ``rttp.Endpoint`` sends and answers request/reply messages
over the HTTP/1.1 core.

An RTTP message is an HTTP exchange. A request's method and path are the HTTP ones;
``X-RTTP-Id`` carries the message id (the reply echoes it); the body is encoded by the
body codec of its content type (``none``, ``text/plain``, ``table``, ``table/rtml``,
``object/lua``, JSON …); cookies are ``Cookie`` / ``Set-Cookie``; a reply's ``redirect``
is ``Location`` and its ``upgrade`` is ``Upgrade``. So plain HTTP reaches a handler too:
``curl -X POST -H 'Content-Type: table' --data '{"a":1}' http://host:10080/path``.
"""

from __future__ import annotations

import collections
import itertools
import logging
import math
from collections.abc import Mapping
from typing import Any

import trio

from .._io._util import call_maybe_async, exit_owned_nursery
from .._io.client._client import Client
from .._io.server._server import Server
from .._model import URL, Request, Response, response_codes
from .._model import code_name as _code_name
from ..errors import (
    ConnectError,
    MessageError,
    ProtocolError,
    RTTPError,
    Timeout,
    TLSError,
    TransportError,
)
from ._message import (
    ID_HEADER,
    Handler,
    Message,
    destination,
    plain,
    reply_response,
    string_message,
    valid,
)

__all__ = ["Endpoint", "Message", "string_message", "valid"]

log = logging.getLogger("rttp.messages")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_UPGRADES = frozenset({101, 426})


class Endpoint:
    """Sends RTTP messages and serves a message handler, in a nursery of its own::

        async with rttp.Endpoint() as endpoint:
            endpoint.handle_msg(handler)
            await endpoint.register_handler("rttp://127.0.0.1:10080")
            reply = await endpoint.send_sync("127.0.0.1:10080", "/hello", "GET")

    ``names`` maps names to destinations (URLs, ``host:port`` …); other names go to
    ``resolver``, as on the Client (by default the registered resolver plugins: the
    static table of ``$RTTP_NAMES``, then the DNS). ``verify`` is the TLS verification for
    ``rttps://`` (as on the Client).
    """

    def __init__(
        self,
        *,
        names: Mapping[str, str] | None = None,
        resolver: Any = True,
        verify: Any = True,
        timeout: float = 5.0,
    ) -> None:
        self.names: dict[str, str] = dict(names or {})
        self.timeout = timeout
        self._handler: Handler | None = None
        self._client = Client(verify=verify, follow_redirects=False, resolver=resolver)
        # cookies are kept per destination (host and port) here, not by the client's
        # jar, which, as browsers do, would share them across ports of one host
        self._client.cookies = _NoCookies()  # type: ignore[assignment]
        self._ids = itertools.count(1)
        self._inbox_send, self._inbox = trio.open_memory_channel[Message | MessageError](math.inf)
        self._cookies: dict[str, dict[str, str]] = collections.defaultdict(dict)
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None
        self._server: Server | None = None
        #: where :meth:`register_handler` serves (the real ports after port 0)
        self.addresses: list[URL] = []
        self._pending: set[int] = set()  # request messages whose handler is running
        self._replies: dict[int, tuple[int, str, Any, dict[str, Any] | None]] = {}

    async def __aenter__(self) -> Endpoint:
        await self._client.__aenter__()
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        nursery = self._nursery
        assert nursery is not None
        nursery.cancel_scope.cancel()
        cm, self._nursery_cm, self._nursery = self._nursery_cm, None, None
        try:
            return await exit_owned_nursery(cm, exc_info)
        finally:
            await self._client.__aexit__(None, None, None)

    def _owned(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("use the endpoint inside 'async with rttp.Endpoint() as endpoint'")
        return self._nursery

    # -- serving --------------------------------------------------------------------------
    def handle_msg(self, func: Handler | None) -> None:
        """Set the handler: ``(method, head, body, msg) -> (code, content_type, body[, head])``,
        sync or async (None removes it)."""
        if func is not None and not callable(func):
            raise ValueError(f"the message handler must be callable, got {func!r}")
        self._handler = func

    async def run_server(
        self,
        bind: str = "rttp://127.0.0.1:10080",
        *,
        task_status: trio.TaskStatus[list[URL]] = trio.TASK_STATUS_IGNORED,
        **settings: Any,
    ) -> None:
        """Serve the handler on ``bind`` until cancelled (``rttps://`` needs certfile)."""
        server = Server(self._answer, bind, access_log=False, **settings)
        self._server = server
        try:
            await server.serve(task_status=task_status)
        finally:
            self._server = None

    async def register_handler(self, bind: str = "rttp://127.0.0.1:10080", **settings: Any) -> bool:
        """Start serving in the endpoint's nursery; False if it serves already."""
        if self._server is not None:
            return False
        addresses: list[URL] = await self._owned().start(
            lambda task_status: self.run_server(bind, task_status=task_status, **settings)
        )
        self.addresses = addresses
        return True

    async def _answer(self, request: Request) -> Response:
        """One incoming request message, answered by the handler (or by reply())."""
        try:
            message_id = int(request.headers.get(ID_HEADER) or 0)
        except ValueError:
            message_id = 0
        content_type = request.headers.get("content-type") or "none"
        body = await request.read_value() if content_type != "none" else None
        domain = request.headers.get("host") or ""
        header: dict[str, Any] = {
            "type": "rttp",
            "method": request.method,
            "path": request.target,
            "domain": domain,
            "cookies": request.cookies,
            "content_type": content_type.split(";")[0].strip(),
        }
        origin = f"{request.ip}:{request.port}" if request.ip else ""
        message = Message(origin, domain, message_id, header, body)
        if self._handler is None:
            return plain(500, "Message handler not set")
        self._pending.add(id(message))
        try:
            result = await call_maybe_async(self._handler, request.method, header, body, message)
        except Exception:
            log.exception("the message handler failed for %s %s", request.method, request.target)
            return plain(500, "Internal Server Error: the message handler failed")
        finally:
            self._pending.discard(id(message))
        replied = self._replies.pop(id(message), None)
        if result is None and replied is not None:
            result = replied
        return reply_response(result, message_id)

    async def reply(self, msg: Message, code: int, *args: Any) -> int:
        """Answer a request message from inside its handler (instead of returning the
        tuple): ``reply(msg, code, content_type, body, head=None)``, or the seed's older
        ``reply(msg, code, method, content_type, body)``. Returns the message id."""
        if (
            len(args) == 3
            and isinstance(args[0], str)
            and args[0].isupper()
            and isinstance(args[1], str)
            and not isinstance(args[2], dict)
        ):
            _method, content_type, body = args  # the seed's (method, content_type, body)
            head = None
        elif len(args) in (2, 3):
            content_type, body = args[0], args[1]
            head = args[2] if len(args) == 3 else None
        else:
            raise TypeError("reply(msg, code, content_type, body, head=None)")
        if id(msg) not in self._pending:
            raise RuntimeError(
                f"message #{msg.id} is not being handled here (reply from its handler)"
            )
        self._replies[id(msg)] = (code, content_type, body, head)
        await trio.lowlevel.checkpoint()
        return msg.id

    # -- sending --------------------------------------------------------------------------
    def send(
        self,
        dest: str | int,
        path: str,
        method: str = "GET",
        content_type: str = "none",
        body: Any = None,
        cookies: Mapping[str, str] | None = None,
    ) -> int:
        """Start a request message and return its id at once; the reply (or the
        MessageError of a failed exchange) arrives through :meth:`wait_for_msg`."""
        message_id = next(self._ids)
        self._owned().start_soon(
            self._send_to_inbox, message_id, dest, path, method, content_type, body, cookies
        )
        return message_id

    async def _send_to_inbox(self, message_id: int, *args: Any) -> None:
        try:
            reply = await self._exchange(message_id, *args)
        except MessageError as exc:
            exc.id = message_id
            await self._inbox_send.send(exc)
        else:
            await self._inbox_send.send(reply)

    async def send_sync(
        self,
        dest: str | int,
        path: str,
        method: str = "GET",
        content_type: str = "none",
        body: Any = None,
        cookies: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
    ) -> Message:
        """A request message and its reply; :class:`~rttp.errors.MessageError` (its
        ``kind``: ``"timeout"``, ``"setup_fail"``, ``"send_fail"``, ``"network_error"``)."""
        limit = self.timeout if timeout is None else timeout
        with trio.move_on_after(limit if limit and limit > 0 else math.inf) as scope:
            return await self._exchange(
                next(self._ids), dest, path, method, content_type, body, cookies
            )
        assert scope.cancelled_caught
        raise MessageError("timeout", f"no reply from {dest!r} within {limit}s")

    async def get(self, dest: str | int, path: str) -> int:
        """:meth:`send` a GET (content type ``none``)."""
        await trio.lowlevel.checkpoint()
        return self.send(dest, path, "GET")

    async def get_sync(
        self, dest: str | int, path: str, *, timeout: float | None = None
    ) -> Message:
        """:meth:`send_sync` a GET."""
        return await self.send_sync(dest, path, "GET", timeout=timeout)

    async def post(self, dest: str | int, path: str, content_type: str, body: Any) -> int:
        """:meth:`send` a POST."""
        await trio.lowlevel.checkpoint()
        return self.send(dest, path, "POST", content_type, body)

    async def post_sync(
        self,
        dest: str | int,
        path: str,
        content_type: str,
        body: Any,
        *,
        timeout: float | None = None,
    ) -> Message:
        """:meth:`send_sync` a POST."""
        return await self.send_sync(dest, path, "POST", content_type, body, timeout=timeout)

    async def wait_for_msg(self, timeout: float = 0) -> Message:
        """The next reply to a :meth:`send` (0 or negative: wait for ever). A failed
        exchange raises its MessageError (``exc.id`` is the message id); none within
        ``timeout`` is ``MessageError("timeout")``."""
        with trio.move_on_after(timeout if timeout > 0 else math.inf):
            item = await self._inbox.receive()
            if isinstance(item, MessageError):
                raise item
            return item
        raise MessageError("timeout", f"no message within {timeout}s")

    async def _exchange(
        self,
        message_id: int,
        dest: str | int,
        path: str,
        method: str,
        content_type: str,
        body: Any,
        cookies: Mapping[str, str] | None,
    ) -> Message:
        base = destination(dest, self.names)
        key = f"{base.host}:{base.port}"
        if not path:  # a destination URL that names its own path (and query)
            path = base.path or "/"
            if base.query:
                path += "?" + base.query
        url = URL(f"{base.scheme}://{base.netloc}{path if path.startswith('/') else '/' + path}")
        jar = {**self._cookies[key], **(cookies or {})}
        headers = {ID_HEADER: str(message_id)}
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None and content_type != "none":
            kwargs.update(value=body, content_type=content_type)
        try:
            response = await self._client.request(method, str(url), **kwargs)
        except TLSError as exc:
            raise MessageError("setup_fail", f"TLS with {key} failed: {exc}") from exc
        except ConnectError as exc:
            kind = "send_fail" if exc.reason == "dns" else "setup_fail"
            raise MessageError(kind, f"{dest!r}: {exc}") from exc
        except Timeout as exc:
            raise MessageError("timeout", f"{dest!r}: {exc}") from exc
        except (TransportError, ProtocolError) as exc:
            raise MessageError("network_error", f"{dest!r}: {exc}") from exc
        except RTTPError as exc:
            raise MessageError("send_fail", f"{dest!r}: {exc}") from exc
        for name, value in response.cookies.items():
            if value:
                self._cookies[key][name] = value
            else:
                self._cookies[key].pop(name, None)
        reply_type = (response.headers.get("content-type") or "none").split(";")[0].strip()
        header: dict[str, Any] = {
            "type": "rttp",
            "code": response.status,
            "rsp_domain": key,
            "content_type": reply_type,
        }
        if response.status in _REDIRECTS and "location" in response.headers:
            header["redirect"] = response.headers["location"]
        if response.status in _UPGRADES and "upgrade" in response.headers:
            header["upgrade"] = response.headers["upgrade"]
        reply_body = response.value if response.body and reply_type != "none" else None
        try:
            reply_id = int(response.headers.get(ID_HEADER) or message_id)
        except ValueError:
            reply_id = message_id
        return Message(key, "", reply_id, header, reply_body)

    #: the seed's response codes and their names (``rttp.response_codes``)
    response_codes: Mapping[str, int] = response_codes

    @staticmethod
    def code_name(code: int) -> str:
        """The seed's name of a response code (``rttp.code_name``)."""
        return _code_name(code)

    @staticmethod
    def valid(message: object) -> bool:
        """Whether ``message`` is a well-formed RTTP message (``rttp.valid``)."""
        return valid(message)

    @staticmethod
    def string_message(message: Message) -> str:
        """A message as one line of text (``rttp.string_message``)."""
        return string_message(message)


class _NoCookies:
    """A cookie store that keeps nothing (the endpoint keeps its own, per destination)."""

    def add_to(self, request: Any) -> None:
        """Nothing to add."""

    def take_from(self, response: Any, request: Any) -> None:
        """Nothing is kept."""
