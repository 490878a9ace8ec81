"""The ``rttp`` command: ``serve``, ``get``, ``post`` and ``plugins``."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from .. import __version__, auth, rtml
from .._faces._run import Forced, serve_until_signalled
from .._io._client import Client
from .._io._server import Server
from .._model import URL, Response
from .._plugins import get_plugins
from ..errors import RTTPError
from ..moonbridge._serverpool import run_server

__all__ = ["main"]


def _load_app(spec: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"rttp serve: expected MODULE:ATTRIBUTE, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"rttp serve: cannot import module {module_name!r}: {exc}") from exc
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise SystemExit(f"rttp serve: module {module_name!r} has no attribute {attr!r}") from exc
    return obj


def _server(args: argparse.Namespace) -> Server:
    """The server ``rttp serve`` (or ``rttp demo``) was asked for."""
    if args.command == "demo":
        from ._demo import demo_app

        handler: Any = demo_app()
        args.app = "the demo"
        args.certfile = None
        args.grace = 5.0
        args.no_access_log = False
        args.reuse_port = False
    else:
        handler = _load_app(args.app)
    settings: dict[str, Any] = {"shutdown_grace": args.grace}
    if args.certfile:
        settings["certfile"] = args.certfile
        settings["keyfile"] = args.keyfile
    if args.no_access_log:
        settings["access_log"] = False
    if args.reuse_port:
        settings["reuse_port"] = True
    if getattr(args, "timeout_keep_alive", None) is not None:
        settings["keep_alive_timeout"] = args.timeout_keep_alive
    if getattr(args, "max_connections", None) is not None:
        settings["max_connections"] = args.max_connections
    if getattr(args, "workers", None) is not None:
        settings["workers"] = args.workers
    return Server(handler, *(args.bind or ["http://127.0.0.1:8000"]), **settings)


async def _serve(server: Server, name: str, rttp_bind: str | None = None) -> None:
    def started(addresses: list[URL]) -> None:
        for address in addresses:
            print(f"rttp: serving {name} on {address}", file=sys.stderr, flush=True)

    if rttp_bind is None:
        await serve_until_signalled(server, started)
    else:  # the demo: its RTTP panel on an Endpoint beside the HTTP server
        from .._faces._endpoint import Endpoint
        from ._demo import rttp_panel

        async with Endpoint() as endpoint:
            endpoint.handle_msg(rttp_panel)
            await endpoint.register_handler(rttp_bind)
            for address in endpoint.addresses:
                shown = str(address).replace("http://", "rttp://", 1)
                print(f"rttp: RTTP messages on {shown}", file=sys.stderr, flush=True)
            await serve_until_signalled(server, started)
    print("rttp: stopped", file=sys.stderr)


async def _send(args: argparse.Namespace) -> int:
    """``rttp send``: one message, its reply printed (``string_message``), then the body."""
    from .._faces._endpoint import Endpoint, string_message
    from ..errors import MessageError

    content_type = args.content_type or ("text/plain" if args.body is not None else "none")
    body: Any = args.body
    if body is not None and (content_type == "table" or "json" in content_type):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise SystemExit(f"rttp send: --body is not JSON ({exc}) for {content_type}") from exc
    async with Endpoint() as endpoint:
        try:
            reply = await endpoint.send_sync(
                args.dest, args.path, args.method.upper(), content_type, body, timeout=args.timeout
            )
        except MessageError as exc:
            print(f"rttp send: {exc.kind}: {exc.detail}", file=sys.stderr)
            return 2
    print(string_message(reply))
    code = int(reply.header["code"])
    return 0 if code < 400 else 4 if code < 500 else 5


def _moonbridge(script: str, script_args: list[str]) -> int:
    """``rttp moonbridge APP.py``: run the script (its top level runs once, before any
    fork), then serve what it registered with listen(), unless it served itself."""
    import runpy

    from ..moonbridge import _listen, run

    if not os.path.isfile(script):
        raise SystemExit(f"rttp moonbridge: no such file: {script!r}")
    sys.argv = [script, *script_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    if not _listen.pending():
        return 0  # it called rttp.moonbridge.run() itself (or registered nothing)
    return run()


class _ProgressBar:
    """A one-line download progress bar on a terminal (stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.shown = False

    def __call__(self, total: int | None, done: int, up_total: int | None, up_done: int) -> None:
        if not self.enabled or done < 256 * 1024:
            return
        self.shown = True
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r[{bar}] {done * 100 // total:3d}% {done}/{total} bytes"
        else:
            text = f"\r{done} bytes"
        self.stream.write(text)
        self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")


def _print_response(response: Response, args: argparse.Namespace, out: TextIO) -> None:
    color = out.isatty() and not os.environ.get("NO_COLOR")

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    out.write(
        paint(f"HTTP/{response.http_version} {response.status} {response.reason}", "1;34") + "\n"
    )
    for name, value in response.headers.multi_items():
        out.write(f"{paint(name, '36')}: {value}\n")
    out.write("\n")
    out.flush()


async def _fetch(args: argparse.Namespace, method: str) -> int:
    headers = []
    for item in args.header or []:
        name, sep, value = item.partition(":")
        if not sep:
            raise SystemExit(f"rttp: a header must look like 'Name: value', got {item!r}")
        headers.append((name.strip(), value.strip()))
    verify: bool | str = True
    if args.insecure:
        verify = False
    elif args.cacert:
        verify = args.cacert
    kwargs: dict[str, Any] = {"headers": headers}
    if getattr(args, "json", None) is not None:
        kwargs["json"] = json.loads(args.json)
    elif getattr(args, "data", None) is not None:
        data = args.data
        if data.startswith("@"):
            kwargs["content"] = await trio.Path(data[1:]).read_bytes()
        else:
            kwargs["content"] = data.encode("utf-8")
    progress = _ProgressBar(sys.stderr)
    client = Client(
        verify=verify,
        timeout=args.timeout,
        follow_redirects=not args.no_follow,
        auth=_auth(args.auth, args.auth_type),
    )
    async with client, client.stream(method, args.url, progress=progress, **kwargs) as response:
        if not args.body_only:
            _print_response(response, args, sys.stdout)
        if not args.output and sys.stdout.isatty() and response.media_type == rtml.MEDIA_TYPE:
            await response.read()  # an RTML page on a terminal: draw it
            progress.finish()
            sys.stdout.write(rtml.to_terminal(response.value))
            return 0 if response.status < 400 else 4
        sink = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: ASYNC230, SIM115
        try:
            async for chunk in response.stream():
                sink.write(chunk)
        finally:
            sink.flush()
            if args.output:
                sink.close()
        progress.finish()
    return 0 if response.status < 400 else 4


def _auth(value: str | None, scheme: str) -> Any:
    """``-a``/``-A`` as the client's ``auth=``."""
    if value is None:
        return None
    if scheme == "bearer":
        return value
    user, colon, password = value.partition(":")
    if not colon:
        raise SystemExit(f"rttp: --auth must look like USER:PASSWORD for {scheme}, got {user!r}")
    return auth.Credentials(scheme, (user, password))


#: a hint after the error, by its ``reason``
_HINTS = {
    "verify": "pass --cacert FILE to trust the server's CA, or -k to skip verification",
    "dns": "check the host name",
    "refused": "is a server listening on that port?",
    "enforce_https": "use an https:// URL",
}


def _error_line(exc: RTTPError) -> str:
    """One line for an error: what went wrong, and a hint from its structured fields."""
    hint = _HINTS.get(getattr(exc, "reason", ""))
    return f"rttp: error: {exc}" + (f" ({hint})" if hint else "")


def _plugins(args: argparse.Namespace) -> int:
    plugins = get_plugins()
    print(f"trio-rttp {__version__} plugins (entry-point group 'rttp'):")
    for info in plugins.infos:
        print(f"  {info.name:10} {info.kind:12} {info.source}")
    print("provides:")
    rows = [
        ("client schemes", sorted(plugins.client_transports)),
        ("bind schemes", sorted(plugins.bind_transports)),
        ("encodings", list(plugins.encodings)),
        ("body codecs", sorted(plugins.body_codecs)),
        ("auth schemes", sorted(plugins.auth_schemes)),
        ("backends", sorted(plugins.backends)),
    ]
    for label, keys in rows:
        print(f"  {label:15} {', '.join(keys) or '-'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rttp", description="trio-rttp command line")
    parser.add_argument("--version", action="version", version=f"trio-rttp {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve MODULE:ATTR (an async handler or app)")
    serve.add_argument("app", metavar="MODULE:ATTR")
    serve.add_argument(
        "--bind",
        "-b",
        action="append",
        help="http://host:port, https://host:port or unix:/path (repeatable)",
    )
    serve.add_argument("--certfile", help="TLS certificate (PEM) for https:// binds")
    serve.add_argument("--keyfile", help="TLS private key (PEM) for https:// binds")
    serve.add_argument("--grace", type=float, default=10.0, help="shutdown grace seconds")
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.add_argument(
        "--timeout-keep-alive",
        type=float,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long (default 5)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections at most (default: the open-file limit less 64)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="N worker processes sharing the binds (the pre-fork pool; default 1)",
    )
    serve.add_argument(
        "--reuse-port",
        action="store_true",
        help="SO_REUSEPORT: run several rttp serve processes on one explicit port",
    )

    for name in ("get", "post"):
        fetch = sub.add_parser(name, help=f"{name.upper()} a URL and print the response")
        fetch.add_argument("url")
        fetch.add_argument("-H", "--header", action="append", help="'Name: value' (repeatable)")
        fetch.add_argument("-k", "--insecure", action="store_true", help="skip TLS verification")
        fetch.add_argument("--cacert", help="CA bundle to verify the server with")
        fetch.add_argument("-o", "--output", help="write the body to a file")
        fetch.add_argument("-b", "--body-only", action="store_true", help="print only the body")
        fetch.add_argument("--timeout", type=float, default=30.0)
        fetch.add_argument("--no-follow", action="store_true", help="do not follow redirects")
        fetch.add_argument(
            "-a", "--auth", metavar="USER:PASSWORD", help="credentials (a token for bearer)"
        )
        fetch.add_argument(
            "-A",
            "--auth-type",
            choices=("basic", "digest", "bearer"),
            default="basic",
            help="the auth scheme of --auth (default basic)",
        )
        if name == "post":
            fetch.add_argument("-d", "--data", help="body text, or @file")
            fetch.add_argument("--json", help="a JSON document to send")
    browse = sub.add_parser("browse", help="a terminal RTML browser: rttp browse rttp://host/")
    browse.add_argument("url")
    send = sub.add_parser("send", help="send an RTTP message to DEST and print the reply")
    send.add_argument("dest", help="rttp://host[:port], host:port, an IP or a name")
    send.add_argument("path")
    send.add_argument("-X", "--method", default="GET")
    send.add_argument("-t", "--content-type", default=None, help="none, text/plain, table …")
    send.add_argument("-d", "--body", help="the body (JSON for table and JSON types)")
    send.add_argument("--timeout", type=float, default=5.0)
    moon = sub.add_parser(
        "moonbridge",
        help="run APP.py, a Moonbridge-style application: it calls rttp.moonbridge.listen()",
    )
    moon.add_argument("script", metavar="APP.py")
    moon.add_argument("script_args", nargs=argparse.REMAINDER, help="its own arguments")
    demo = sub.add_parser("demo", help="serve a demo: routes, a WebSocket chat and an RTML page")
    demo.add_argument("--bind", "-b", action="append", help="default http://127.0.0.1:8000")
    demo.add_argument(
        "--rttp-bind", default="rttp://127.0.0.1:10080", help="where its RTTP panel listens"
    )
    sub.add_parser("plugins", help="list loaded plugins and where they come from")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rttp`` command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command in ("serve", "demo"):
            server = _server(args)
            if server.config.workers > 1:
                return run_server(server, name=args.app)
            try:
                trio.run(_serve, server, args.app, getattr(args, "rttp_bind", None))
            except BaseExceptionGroup as group:
                if group.subgroup(Forced) is None:
                    raise
                print("rttp: stopped at once (second signal)", file=sys.stderr)
                return 130
            return 0
        if args.command == "browse":
            from ._browse import browse as run_browser

            return trio.run(run_browser, args.url)
        if args.command == "send":
            return trio.run(_send, args)
        if args.command == "moonbridge":
            return _moonbridge(args.script, args.script_args)
        if args.command in ("get", "post"):
            URL(args.url)  # a malformed URL is reported before anything starts
            return trio.run(_fetch, args, args.command.upper())
        return _plugins(args)
    except RTTPError as exc:
        print(_error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
