"""``rttp serve``: the flags uvicorn and hypercorn users reach for, checked before binding."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any

from .._config import ServerConfig
from .._io.server._interfaces import INTERFACES
from .._io.server._server import Server
from .._model import URL
from .._plugins import get_plugins
from .._proto._wsdeflate import Deflate
from ..errors import InvalidURL
from ._errors import CLIError
from ._listening import inherited_socket, tls_context

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "CLIError",
    "add_serve_arguments",
    "build_server",
    "talkative",
]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def add_serve_arguments(serve: argparse.ArgumentParser, *, with_app: bool = True) -> None:
    """The flags of ``rttp serve`` (and ``rttp demo``, which has no MODULE:ATTR)."""
    if with_app:
        serve.add_argument("app", metavar="MODULE:ATTR", help="the handler or App (or a factory)")
        serve.add_argument(
            "--app-dir", metavar="DIR", help="look for MODULE in DIR (default: the current one)"
        )
    where = serve.add_argument_group("where to listen")
    where.add_argument(
        "--bind",
        "-b",
        action="append",
        metavar="URL",
        help="http://host:port, https://host:port or unix:/path (repeatable)",
    )
    where.add_argument("--host", help="shorthand: listen on http://HOST:PORT (default 127.0.0.1)")
    where.add_argument("--port", type=int, help="shorthand: the port for --host (default 8000)")
    where.add_argument("--uds", metavar="PATH", help="shorthand: listen on unix:PATH")
    where.add_argument(
        "--fd",
        type=int,
        metavar="N",
        help="serve the listening socket on file descriptor N (from a process manager)",
    )
    where.add_argument("--certfile", "--ssl-certfile", help="TLS certificate (PEM) for https")
    where.add_argument("--keyfile", "--ssl-keyfile", help="TLS private key (PEM) for https")
    where.add_argument("--ssl-keyfile-password", metavar="PASSWORD", help="decrypts the key file")
    where.add_argument(
        "--ssl-ca-certs", metavar="FILE", help="CA certificates to verify clients' certificates"
    )
    where.add_argument(
        "--ssl-cert-reqs",
        type=int,
        choices=(0, 1, 2),
        help="ask clients for a certificate: 0 no (default), 1 optional, 2 required",
    )
    where.add_argument("--ssl-ciphers", metavar="LIST", help="OpenSSL cipher list (TLS 1.2)")
    where.add_argument("--backlog", type=int, metavar="N", help="the listen backlog")
    where.add_argument(
        "--reuse-port",
        action="store_true",
        help="SO_REUSEPORT: run several rttp serve processes on one explicit port",
    )
    how = serve.add_argument_group("how to serve")
    if with_app:  # what the app is and how it is loaded (not for demo or static)
        how.add_argument("--factory", action="store_true", help="MODULE:ATTR is a factory: call it")
        how.add_argument(
            "--interface",
            choices=INTERFACES,
            default="auto",
            help="what MODULE:ATTR is: an rttp handler or App, an ASGI 3 or a WSGI application "
            "(default auto: told by its shape)",
        )
        how.add_argument(
            "--lifespan",
            choices=("auto", "on", "off"),
            default="auto",
            help="an ASGI app's lifespan protocol (default auto: run it if the app supports it)",
        )
        how.add_argument(
            "--wsgi-threads",
            type=int,
            metavar="N",
            help="worker threads a WSGI app runs in at most (default 40)",
        )
    how.add_argument("--config", metavar="FILE", help="a TOML file of ServerConfig fields")
    how.add_argument(
        "--http", choices=("auto", "h11", "httptools"), help="the HTTP/1.1 parser (default auto)"
    )
    how.add_argument(
        "--http2",
        action="store_true",
        default=None,
        help="speak HTTP/2 too: by ALPN over TLS, and with clients that open with its "
        "preface on cleartext (h2c); HTTP/1.1 stays on the same port (needs trio-rttp[http2])",
    )
    how.add_argument(
        "--http2-max-concurrent-streams",
        type=int,
        metavar="N",
        help="HTTP/2 requests one client may have in flight (default 100)",
    )
    how.add_argument(
        "--ws",
        choices=("auto", "websockets", "wsproto"),
        help="the WebSocket backend (default auto: websockets where installed)",
    )
    how.add_argument(
        "--no-ws-compression",
        action="store_true",
        help="turn permessage-deflate off for the WebSockets served",
    )
    how.add_argument("--workers", type=int, metavar="N", help="N worker processes (default 1)")
    how.add_argument(
        "--limit-max-requests",
        type=int,
        metavar="N",
        help="shut down gracefully after N requests (a pool replaces the worker)",
    )
    how.add_argument(
        "--limit-max-requests-jitter",
        type=int,
        metavar="N",
        help="add 0 to N requests to the limit, at random, so workers do not stop together",
    )
    if with_app:
        how.add_argument("--reload", action="store_true", help="restart when a .py file changes")
        how.add_argument(
            "--reload-dir",
            action="append",
            metavar="DIR",
            help="where --reload watches (default .)",
        )
        how.add_argument(
            "--reload-include",
            action="append",
            metavar="GLOB",
            help="files that also trigger a reload (*.py always does; repeatable)",
        )
        how.add_argument(
            "--reload-exclude",
            action="append",
            metavar="GLOB",
            help="files that never do (repeatable)",
        )
        how.add_argument(
            "--reload-delay",
            type=float,
            metavar="SECONDS",
            default=0.25,
            help="wait this long for changes to settle before restarting (default 0.25)",
        )
    how.add_argument("--root-path", help="the path prefix a proxy serves the app under")
    how.add_argument(
        "--server-header",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send 'Server: rttp' (default yes)",
    )
    how.add_argument(
        "--env-file", metavar="PATH", help="environment variables to set first (.env format)"
    )
    how.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a field every answer carries unless it sets it (repeatable)",
    )
    how.add_argument(
        "--broker",
        metavar="URL",
        help="carry an App's broadcasts to every worker and machine (redis://host:6379/0)",
    )
    how.add_argument(
        "--proxy-headers",
        action="store_true",
        help="take the client address and scheme from X-Forwarded-For/-Proto and Forwarded",
    )
    how.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="comma-separated proxies (IPs, networks, or *) trusted for --proxy-headers "
        "(default $FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    limits = serve.add_argument_group("limits and timeouts")
    limits.add_argument(
        "--timeout-keep-alive",
        type=float,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long (default 5)",
    )
    limits.add_argument(
        "--max-connections",
        "--limit-concurrency",
        type=int,
        metavar="N",
        help="open connections at most (default: the open-file limit less 64)",
    )
    limits.add_argument(
        "--ws-max-size", type=int, metavar="BYTES", help="largest WebSocket message (an App's)"
    )
    limits.add_argument(
        "--ws-ping-interval",
        type=float,
        metavar="SECONDS",
        help="an App's WebSocket pings (default 30; 0: none)",
    )
    limits.add_argument(
        "--ws-ping-timeout",
        type=float,
        metavar="SECONDS",
        help="how long an App's WebSocket waits for a pong (default 20)",
    )
    limits.add_argument(
        "--grace",
        "--timeout-graceful-shutdown",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long in-flight requests may finish after Ctrl-C (default 10)",
    )
    logs = serve.add_argument_group("logging")
    logs.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    logs.add_argument(
        "--log-config",
        metavar="FILE",
        help="configure logging from FILE: .json (dictConfig), .yaml (with PyYAML), "
        "else .ini (fileConfig); the loggers are rttp.error and rttp.access",
    )
    logs.add_argument(
        "--use-colors",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="colour the log's level names (default: when stderr is a terminal)",
    )
    logs.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one line per answer (default: on at --log-level info and debug)",
    )
    logs.add_argument(
        "--access-log-format",
        metavar="FORMAT",
        help="rttp (default), common, combined, or gunicorn atoms: '%%(h)s \"%%(r)s\" %%(s)s'",
    )
    logs.add_argument(
        "--access-log-file", metavar="PATH", help="where the access log goes (default stderr)"
    )


def _binds(args: argparse.Namespace) -> list[str]:
    binds = list(args.bind or [])
    if args.host is not None or args.port is not None:
        scheme = "https" if args.certfile else "http"
        host = args.host or "127.0.0.1"
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        binds.append(f"{scheme}://{host}:{args.port if args.port is not None else 8000}")
    if args.uds:
        binds.append(f"unix:{args.uds}")
    return binds or ["http://127.0.0.1:8000"]


def _header(text: str) -> tuple[str, str]:
    """``--header 'Name: value'`` as a field (a colon is required)."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or any(c in text for c in "\r\n\0"):
        raise CLIError(f"--header must look like 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _check_bind(text: str, certfile: str | None) -> None:
    """One bind target, checked before anything starts."""
    plugins = get_plugins()
    if "://" not in text and not text.startswith("unix:"):
        raise CLIError(f"--bind {text!r} has no scheme: use http://{text} (or https://, unix:)")
    try:
        url = URL(text)
    except InvalidURL as exc:
        raise CLIError(f"--bind {text!r} is not a URL: {exc}") from exc
    if url.scheme not in plugins.bind_transports:
        raise CLIError(
            f"cannot listen on {url.scheme}:// ({text!r}); "
            f"use one of {', '.join(sorted(plugins.bind_transports))}"
        )
    if url.scheme == "https" and not certfile:
        raise CLIError(
            f"{text} needs a certificate: pass --certfile and --keyfile "
            "(for a test one: python -m trustme)"
        )
    if url.scheme == "unix":
        path = url.unix_path or ""
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise CLIError(f"cannot listen on {text}: no directory {folder!r}")


def _config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as stream:
            table = tomllib.load(stream)
    except OSError as exc:
        raise CLIError(f"cannot read --config {path!r}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"--config {path!r} is not valid TOML: {exc}") from exc
    table = table.get("rttp", table)  # a [rttp] table, or the whole file
    known = {f.name: f for f in dataclasses.fields(ServerConfig)}
    settings: dict[str, Any] = {}
    for name, value in table.items():
        key = name.replace("-", "_")
        if key == "bind":
            continue
        if key not in known or key in ("plugins", "ssl_context"):
            raise CLIError(f"--config {path!r}: unknown setting {name!r}")
        if key == "websocket_compression":  # true (the defaults) or false (off)
            value = Deflate() if value is True else None if value is False else value
            if value is not None and not isinstance(value, Deflate):
                raise CLIError(f"--config {path!r}: {name} is true or false")
        settings[key] = tuple(value) if isinstance(value, list) else value
    return settings


def build_server(args: argparse.Namespace, handler: Any) -> Server:
    """The Server ``rttp serve`` was asked for (CLIError for a mistake in the flags)."""
    settings: dict[str, Any] = _config_file(args.config) if args.config else {}
    config_binds: list[str] = []
    if args.config:
        with open(args.config, "rb") as stream:
            table = tomllib.load(stream)
        bind = table.get("rttp", table).get("bind", [])
        config_binds = [bind] if isinstance(bind, str) else list(bind)
    flags = {
        "shutdown_grace": args.grace,
        "certfile": args.certfile,
        "keyfile": args.keyfile,
        "http_backend": args.http,
        "websocket_backend": args.ws,
        "keep_alive_timeout": args.timeout_keep_alive,
        "max_connections": args.max_connections,
        "workers": args.workers,
        "access_log_format": args.access_log_format,
        "root_path": args.root_path,
        "backlog": args.backlog,
        "http2": args.http2,
        "max_requests": args.limit_max_requests,
        "max_requests_jitter": args.limit_max_requests_jitter,
        "http2_max_concurrent_streams": args.http2_max_concurrent_streams,
    }
    settings.update({k: v for k, v in flags.items() if v is not None})
    if args.reuse_port:
        settings["reuse_port"] = True
    if not args.server_header:
        settings["server_header"] = None
    if args.header:
        settings["default_headers"] = tuple(_header(text) for text in args.header)
    tls = (args.ssl_keyfile_password, args.ssl_ca_certs, args.ssl_cert_reqs, args.ssl_ciphers)
    if any(value is not None for value in tls) and settings.get("certfile"):
        settings["ssl_context"] = tls_context(args, settings)
    if args.no_ws_compression:
        settings["websocket_compression"] = None
    settings["access_log"] = args.access_log if args.access_log is not None else talkative(args)
    settings.setdefault("access_log_file", args.access_log_file or "-")
    if args.access_log_file:
        settings["access_log_file"] = args.access_log_file
    if args.proxy_headers:
        allowed = args.forwarded_allow_ips or os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
        settings["proxy_headers"] = True
        settings["forwarded_allow_ips"] = tuple(p.strip() for p in allowed.split(",") if p.strip())
    if getattr(args, "broker", None):
        if not hasattr(handler, "use_broker"):
            raise CLIError("--broker applies to an rttp.App, and this is not one")
        scheme = args.broker.partition("://")[0]
        if scheme not in get_plugins().brokers:
            raise CLIError(
                f"no broker serves {scheme}:// (have: {', '.join(sorted(get_plugins().brokers))})"
            )
        handler.use_broker(args.broker)
    app_settings = {
        "ws_max_message_size": ("--ws-max-size", args.ws_max_size),
        "ws_ping_interval": ("--ws-ping-interval", args.ws_ping_interval),
        "ws_ping_timeout": ("--ws-ping-timeout", args.ws_ping_timeout),
    }
    for attribute, (flag, value) in app_settings.items():
        if value is None:
            continue
        if not hasattr(handler, attribute):
            raise CLIError(f"{flag} applies to an rttp.App, and this is not one")
        if attribute == "ws_ping_interval" and value == 0:
            value = None  # no pings
        setattr(handler, attribute, value)
    binds = _binds(args) if (args.bind or args.host or args.port or args.uds) else []
    binds = binds or config_binds or ["http://127.0.0.1:8000"]
    for bind in binds:
        _check_bind(bind, settings.get("certfile"))
    certfile = settings.get("certfile")
    if certfile and not os.path.isfile(certfile):
        raise CLIError(f"--certfile {certfile!r}: no such file")
    inherited = None
    if args.fd is not None:
        binds, inherited = inherited_socket(args.fd, bool(certfile), settings)
    try:
        server = Server(handler, *binds, **settings)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"{exc}") from exc
    if inherited is not None:
        server.inherit(inherited)
    return server


def talkative(args: argparse.Namespace) -> bool:
    """Whether the command says what it does (where it serves, each answer's access
    line): at ``--log-level info`` and ``debug``, not from ``warning`` up."""
    return str(args.log_level) in ("info", "debug")
