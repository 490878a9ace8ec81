"""``rttp.HTTPConnection``: the one HTTP/1.1 engine, over any ``trio.abc.Stream``.

The server, the client's pool and the WebSocket handshakes all run on it; the
seed-shaped faces are thin layers over it. It owns the stream and the protocol
backend's state for one connection and plays either role:

========================  =====================================================
server                    ``read_request`` → handler → ``send_response``
                          (or ``send_head`` / ``send_data`` / ``finish``)
client                    ``make_request`` → ``send_request`` → ``read_response``
either                    ``detach()`` after a 101; ``aclose()``
========================  =====================================================
"""

from __future__ import annotations

import trio

from ..._config import ClientConfig, ServerConfig
from ..._plugins import Plugins, get_plugins
from ..._proto._events import ProtocolLimits
from ._answering import ServerRole
from ._base import MIN_LINE_SIZE, CoarseClock
from ._client import ClientRole
from ._settings import ServerSettings

__all__ = ["HTTPConnection"]


class HTTPConnection(ServerRole, ClientRole):
    """HTTP/1.1 over ``stream``, as a client or as a server (the seed's protocol object).

    Server role::

        conn = rttp.HTTPConnection(stream)
        while (request := await conn.read_request("bytes")) is not None:
            await conn.send_response(conn.make_response(request, content=b"hi"))

    Client role::

        request = conn.make_request(host="example.org", uri="/")
        await conn.send_request(request)
        response = await conn.read_response(request)
        body = await response.read()

    ``max_line_size`` (at least 1024) bounds the request or status line, each header
    line and each chunk-size line; crossing it is a 414 (request line), 431 (header
    line) or 400 (chunk line). ``config`` is a :class:`~rttp.ServerConfig` or
    :class:`~rttp.ClientConfig` for every other limit; ``http_backend`` names the
    parser plugin (``"auto"``: the fastest loaded). ``timeout`` bounds each receive and
    send (None: no bound).

    Errors carry ``errtype``: ``"protocol"`` (:class:`~rttp.errors.ProtocolError`, the
    peer broke HTTP; ``status`` is the answer due) or ``"io"`` (the network; may be
    retried). The connection is closed for further exchanges after either.
    """

    __slots__ = ()

    def __init__(
        self,
        stream: trio.abc.Stream,
        *,
        max_line_size: int | None = 8192,
        config: ServerConfig | ClientConfig | None = None,
        plugins: Plugins | None = None,
        http_backend: str | None = None,
        timeout: float | None = None,
        where: str = "",
        _settings: ServerSettings | None = None,
        _clock: CoarseClock | None = None,
        _limits: ProtocolLimits | None = None,
    ) -> None:
        if max_line_size is not None and (
            not isinstance(max_line_size, int) or max_line_size < MIN_LINE_SIZE
        ):
            raise ValueError(
                f"max_line_size must be an int of at least {MIN_LINE_SIZE}, got {max_line_size!r}"
            )
        if _settings is not None:
            plugins = _settings.plugins
            config = _settings.config
        if plugins is None:
            plugins = get_plugins(config.plugins, config.disable) if config else get_plugins()
        backend = plugins.backend(
            http_backend or (config.http_backend if config is not None else "auto")
        )
        if _limits is None:
            _limits = config.protocol_limits if config is not None else ProtocolLimits()
            if max_line_size is not None:
                _limits = _limits.with_line_size(max_line_size)
        read_size = config.read_size if config is not None else 65536
        super().__init__(
            stream,
            plugins=plugins,
            backend=backend,
            limits=_limits,
            read_size=read_size,
            read_timeout=timeout,
            write_timeout=timeout,
            clock=_clock,
            where=where,
        )
        if isinstance(config, ServerConfig):
            self.linger_timeout: float = config.linger_timeout
            self._start_server(_settings or ServerSettings(config, plugins))
        elif isinstance(config, ClientConfig):
            self._start_client()
            self.max_decoded_size: int | None = config.max_decoded_size
            self.max_decompression_ratio: float | None = config.max_decompression_ratio
            self.decode: bool = config.decode_content
