"""The keyword options of :class:`rttp.Client`, :func:`rttp.serve`, :class:`rttp.Server`
and ``rttp.run``, typed for type checkers (``**options: Unpack[...]``): a misspelt
or mistyped option is caught before it runs. Tests hold each in step with the
configuration class it feeds."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from ._proto._wsdeflate import Deflate

__all__ = ["ClientOptions", "ServerOptions"]


class ClientOptions(TypedDict, total=False):
    """The keywords :class:`rttp.Client` takes beside its own (``base_url``, ``headers``,
    ``params``, ``timeout``, ``limits``, ``config``, ``cookies``, ``auth``,
    ``token_service``, ``app``): :class:`ClientConfig`'s fields, so that a type
    checker catches a misspelt or mistyped one (a test holds the two in step)."""

    follow_redirects: bool
    max_redirects: int
    verify: bool | str | ssl.SSLContext
    cert: str | tuple[str, str] | None
    decode_content: bool
    max_body_size: int | None
    max_decoded_size: int | None
    max_decompression_ratio: float | None
    max_response_header_size: int
    max_response_header_count: int
    max_interim_responses: int
    read_size: int
    proxy: str | None
    proxies: Mapping[str, str | None] | None
    trust_env: bool
    enforce_https: bool
    disabled: bool
    user_agent: str | None
    http_backend: str
    http2: bool
    http2_prior_knowledge: bool
    resolver: Any
    plugins: Sequence[object]
    disable: Sequence[str]


class ServerOptions(TypedDict, total=False):
    """The keywords :func:`rttp.serve`, :class:`rttp.Server` and ``rttp.run`` take:
    :class:`ServerConfig`'s fields."""

    max_request_line: int
    max_header_size: int
    max_header_count: int
    max_body_size: int | None
    max_form_fields: int
    max_multipart_parts: int
    max_part_header_size: int
    max_file_size: int | None
    max_json_depth: int
    max_decompression_ratio: float | None
    header_timeout: float | None
    keep_alive_timeout: float | None
    body_timeout: float | None
    handler_timeout: float | None
    write_timeout: float | None
    linger_timeout: float
    shutdown_grace: float
    read_size: int
    compress: bool
    compress_min_size: int
    compress_types: tuple[str, ...]
    compress_encodings: tuple[str, ...] | None
    decode_request_bodies: bool
    access_log: bool
    access_log_format: str
    access_log_file: str | None
    proxy_headers: bool
    forwarded_allow_ips: tuple[str, ...]
    root_path: str
    server_header: str | None
    default_headers: tuple[tuple[str, str], ...]
    http_backend: str
    http2: bool
    http2_max_concurrent_streams: int
    http2_stream_window: int
    websocket_backend: str
    websocket_compression: Deflate | None
    ssl_context: ssl.SSLContext | None
    certfile: str | None
    keyfile: str | None
    max_connections: int | None
    backlog: int | None
    reuse_port: bool
    max_requests: int | None
    max_requests_jitter: int
    workers: int
    plugins: Sequence[object]
    disable: Sequence[str]
