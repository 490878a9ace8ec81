"""The ``rttp`` command: ``serve``, the client verbs, ``send``, ``browse``, ``moonbridge``,
``demo`` and ``plugins``."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from .. import __version__
from .._faces._run import Forced, serve_until_signalled
from .._io.server._server import Server
from .._model import URL
from .._plugins import get_plugins
from ..errors import RTTPError
from ..moonbridge._serverpool import run_server
from ._fetch import EXIT_STATUSES, METHODS, add_fetch_arguments, fetch
from ._logging import configure_logging
from ._serve import CLIError, add_serve_arguments, build_server, talkative
from ._target import host, load_env_file, load_target

__all__ = ["main", "parser"]

#: a hint after an error, by its ``reason`` (structured fields, never the message)
_HINTS = {
    "verify": "pass --cacert FILE to trust the server's CA, or -k to skip verification",
    "dns": "check the host name",
    "refused": "is a server listening on that port?",
    "enforce_https": "use an https:// URL",
    "in_use": "another process listens there: stop it, or choose another --port or --bind",
    "permission": "ports below 1024 need privileges: choose a port above 1024",
    "address": "this machine has no such address: use 127.0.0.1, 0.0.0.0 or one of its own",
    "tls": "pass --certfile and --keyfile",
    "certificate": "check the --certfile and --keyfile paths and that they are PEM",
    "not_socket": "remove the file, or choose another path",
    "no_directory": "create the directory first",
}


def _error_line(command: str, exc: BaseException) -> str:
    """One line for an error, named after the command (``rttp get: …``, as argparse
    names it): what went wrong, and a hint from its structured fields."""
    hint = _HINTS.get(getattr(exc, "reason", ""))
    return f"rttp {command}: {exc}" + (f" ({hint})" if hint else "")


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException | None:
    """The first RTTPError inside an exception group (trio wraps start-up errors)."""
    for exc in group.exceptions:
        if isinstance(exc, RTTPError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_error(exc)
            if found is not None:
                return found
    return None


def rttp_address(address: URL) -> str:
    """Where RTTP messages reach an endpoint bound at ``address``: ``rttp://host:port``,
    the port shown even when it is RTTP's default (a reader should not need to know it)."""
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"rttp://{host}:{address.port}"


async def _serve(
    server: Server, name: str, rttp_bind: str | None = None, announce: bool = True
) -> None:
    """Serve until signalled; ``announce``: say where, and when it stops, on stderr (off
    from ``--log-level warning`` up, as uvicorn hides its INFO lines)."""

    def started(addresses: list[URL]) -> None:
        if not announce:
            return
        speaks = " (HTTP/2 and HTTP/1.1)" if "h2" in server.protocols else ""
        for address in addresses:
            print(f"rttp: serving {name} on {address}{speaks}", file=sys.stderr, flush=True)
        print("rttp: press Ctrl-C to stop", file=sys.stderr, flush=True)

    if rttp_bind is None:
        await serve_until_signalled(server, started, announce)
    else:  # the demo: its RTTP panel on an Endpoint beside the HTTP server
        from .._faces._endpoint import Endpoint
        from .demo import rttp_panel

        async with Endpoint() as endpoint:
            endpoint.handle_msg(rttp_panel)
            await endpoint.register_handler(rttp_bind)
            for address in endpoint.addresses:
                print(
                    f"rttp: RTTP messages on {rttp_address(address)}", file=sys.stderr, flush=True
                )
            await serve_until_signalled(server, started, announce)
    if announce:
        print("rttp: stopped", file=sys.stderr)


def _serve_command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """``rttp serve``, ``rttp static`` and ``rttp demo``."""
    if getattr(args, "reload", False):
        return _reload(args, argv)
    configure_logging(args.log_level, args.log_config, args.use_colors)
    if args.env_file:
        load_env_file(args.env_file)
    if getattr(args, "app_dir", None):
        sys.path.insert(0, os.path.abspath(args.app_dir))
    if args.command == "demo":
        from .demo import demo_app

        handler: Any = demo_app()
        name = "the demo"
    elif args.command == "static":
        from .._io.server._static import static

        try:
            handler = static(
                args.directory,
                cache_control=args.cache_control,
                follow_symlinks=args.follow_symlinks,
            )
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        name = f"the files in {handler.root}"
    else:
        handler = host(
            load_target(args.app, args.factory),
            args.app,
            args.interface,
            args.lifespan,
            args.wsgi_threads,
        )
        name = args.app
    server = build_server(args, handler)
    if server.config.workers > 1:
        return run_server(server, name=name)
    try:
        trio.run(_serve, server, name, getattr(args, "rttp_bind", None), talkative(args))
    except BaseExceptionGroup as group:
        if group.subgroup(Forced) is not None:
            print("rttp: stopped at once (second signal)", file=sys.stderr)
            return 130
        raise
    return 0


def reload_filter(include: list[str], exclude: list[str]) -> Callable[[Any, str], bool]:
    """What ``--reload`` restarts for: a change to a .py file or one matching an
    ``include`` glob, unless it matches an ``exclude`` glob (by name or by path), and
    never in the folders watchfiles ignores (.git, __pycache__, virtualenvs...)."""
    import fnmatch

    import watchfiles

    ignored = watchfiles.DefaultFilter()
    patterns = ["*.py", *include]

    def wanted(change: Any, path: str) -> bool:
        if not ignored(change, path):
            return False
        name = os.path.basename(path)
        if any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(path, g) for g in exclude):
            return False
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(path, g) for g in patterns)

    return wanted


def _reload(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """``--reload``: run the server in a child process, restarted when a .py file changes."""
    try:
        import watchfiles
    except ImportError:
        raise CLIError("--reload needs watchfiles: pip install 'trio-rttp[cli]'") from None
    command = [sys.executable, "-m", "rttp", *[a for a in argv if a != "--reload"]]
    dirs = args.reload_dir or [os.getcwd()]
    print(f"rttp: watching {', '.join(dirs)} for changes (--reload)", file=sys.stderr, flush=True)

    # SIGINT and SIGTERM stop the supervisor, and with it the server it runs, even when
    # SIGINT came in ignored (a script's `cmd &`) or SIGTERM would kill it outright
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    # (a signal between watches: run_process has stopped the server on its way out)
    with contextlib.suppress(KeyboardInterrupt):
        watchfiles.run_process(
            *dirs,
            target=shlex.join(command),
            watch_filter=reload_filter(args.reload_include or [], args.reload_exclude or []),
            debounce=int(args.reload_delay * 1000),
        )
    return 0


async def _send(args: argparse.Namespace) -> int:
    """``rttp send``: one message; its reply's summary (``string_message``, on stderr),
    then its body on stdout, readable (an RTML page drawn, a value as JSON)."""
    from .._faces._endpoint import Endpoint
    from .._faces._message import string_message
    from ..errors import MessageError

    content_type = args.content_type or ("text/plain" if args.body is not None else "none")
    body: Any = args.body
    if body is not None and (content_type == "table" or "json" in content_type):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise CLIError(f"--body is not JSON ({exc}) for {content_type}") from exc
    async with Endpoint() as endpoint:
        try:
            reply = await endpoint.send_sync(
                args.dest, args.path, args.method.upper(), content_type, body, timeout=args.timeout
            )
        except MessageError as exc:
            print(f"rttp send: {exc.kind}: {exc.detail}", file=sys.stderr)
            return 2
    line = string_message(reply)
    print(line[: len(line) - len(repr(reply.body))].rstrip(), file=sys.stderr)  # the summary
    print(_shown(reply.body), end="")
    code = int(reply.header["code"])
    return 0 if code < 400 else 4 if code < 500 else 5


def _shown(body: Any) -> str:
    """A reply's body as a person reads it: an RTML page drawn as on a terminal, a
    table or value as JSON, text as it is, bytes as text or a note; never a repr."""
    from .. import rtml

    if body is None:
        return ""
    if isinstance(body, rtml.Page):
        return rtml.to_terminal(body, color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    if isinstance(body, str):
        return body if body.endswith("\n") else body + "\n"
    if isinstance(body, (bytes, bytearray)):
        try:
            return _shown(bytes(body).decode("utf-8"))
        except UnicodeDecodeError:
            return f"[{len(body)} bytes of binary data]\n"
    try:
        return json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n"
    except (TypeError, ValueError):
        return f"{body!r}\n"


def _moonbridge(script: str, script_args: list[str]) -> int:
    """``rttp moonbridge APP.py``: run the script (its top level runs once, before any
    fork), then serve what it registered with listen(), unless it served itself."""
    import runpy

    from ..moonbridge import _listen, run

    if not os.path.isfile(script):
        raise CLIError(f"no such file: {script!r}")
    sys.argv = [script, *script_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    if not _listen.pending():
        return 0  # it called rttp.moonbridge.run() itself (or registered nothing)
    return run()


def _plugins(args: argparse.Namespace) -> int:
    plugins = get_plugins()
    print(f"trio-rttp {__version__} plugins (entry-point group 'rttp'):")
    infos = list(plugins.infos)
    name_width = max((len(info.name) for info in infos), default=0)
    kind_width = max((len(info.kind) for info in infos), default=0)
    for info in infos:  # columns as wide as their longest entry
        print(f"  {info.name:{name_width}}  {info.kind:{kind_width}}  {info.source}")
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


class _Parser(argparse.ArgumentParser):
    """argparse, with mistakes said in one line that names the command and, for a
    mistyped option or command, the nearest one (``did you mean --log-level?``)."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        unknown = re.search(r"unrecognized arguments: (\S+)", message)
        choice = re.search(r"invalid choice: '([^']*)'", message)
        if unknown:
            parsers = [self]
            for action in self._actions:  # (and every command's own options)
                if isinstance(action, argparse._SubParsersAction):
                    parsers += list(action.choices.values())
            known = [o for p in parsers for action in p._actions for o in action.option_strings]
            close = difflib.get_close_matches(unknown.group(1).split("=")[0], known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
        elif choice:
            options = re.findall(r"'([^']*)'", message.partition("choose from")[2])
            close = difflib.get_close_matches(choice.group(1), options, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
        self.exit(2, f"{self.prog}: {message}{hint}; see {self.prog} --help\n")


def _command_parser(top: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of one command (``rttp get``), to blame a mistake on it."""
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return top  # pragma: no cover - the top parser always has its commands


def parser() -> argparse.ArgumentParser:
    """The command's argument parser (the CLI reference page is generated from it)."""
    top = _Parser(
        prog="rttp",
        description="trio-rttp: serve an app, send requests and RTTP messages",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"trio-rttp {__version__}")
    top.add_argument(
        "-v",
        "--verbose",
        dest="global_verbose",
        action="store_true",
        help="client commands: print the request too",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve MODULE:ATTR (an async handler or an App)")
    add_serve_arguments(serve)
    for name in METHODS:
        verb = sub.add_parser(
            name,
            help=f"{name.upper()} a URL and print the answer",
            add_help=False,
            epilog=EXIT_STATUSES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_fetch_arguments(verb, any_method=False)
    request = sub.add_parser(
        "request",
        help="send any METHOD to a URL",
        add_help=False,
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_fetch_arguments(request, any_method=True)
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
    add_serve_arguments(demo, with_app=False)
    demo.add_argument(
        "--rttp-bind", default="rttp://127.0.0.1:10080", help="where its RTTP panel listens"
    )
    files = sub.add_parser(
        "static", help="serve the files of DIR (default: the current directory), safely"
    )
    files.add_argument("directory", nargs="?", default=".", metavar="DIR")
    add_serve_arguments(files, with_app=False)
    files.add_argument("--cache-control", help="the Cache-Control field sent with every file")
    files.add_argument(
        "--follow-symlinks", action="store_true", help="let symlinks lead outside DIR"
    )
    sub.add_parser("plugins", help="list loaded plugins and where they come from")
    return top


def _dispatch(args: argparse.Namespace, argv: Sequence[str]) -> int:
    if args.command in ("serve", "demo", "static"):
        return _serve_command(args, argv)
    if args.command == "browse":
        from ._browse import browse as run_browser

        return trio.run(run_browser, args.url)
    if args.command == "send":
        return trio.run(_send, args)
    if args.command == "moonbridge":
        return _moonbridge(args.script, args.script_args)
    if args.command == "plugins":
        return _plugins(args)
    if args.command == "request":
        method = args.method.upper()
    else:
        method = (args.method_override or args.command).upper()
    return trio.run(fetch, args, method, args.global_verbose)


def _reader_gone() -> int:
    """``rttp get URL | head`` closed the pipe: stop quietly (and quiet the exit flush)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rttp`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top = parser()
    args, extra = top.parse_known_args(argv)
    if extra:  # blamed on the command they were given to, with its nearest option
        _command_parser(top, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return _dispatch(args, argv)
    except (CLIError, RTTPError) as exc:
        print(_error_line(args.command, exc), file=sys.stderr)
        return 2
    except BaseExceptionGroup as group:
        if group.split(BrokenPipeError)[1] is None:  # only the reader going away
            return _reader_gone()
        found = _first_error(group)
        if found is None:
            raise
        print(_error_line(args.command, found), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (rttp get URL | head): not an error
        return _reader_gone()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
