"""The client commands: ``rttp get|post|put|patch|delete|head|options URL [ITEM ...]`` and
``rttp request METHOD URL [ITEM ...]``, with httpie's conventions.

On a terminal the answer's head is coloured and a JSON body pretty-printed; a binary
body is replaced by a note. Piped, only the body is written, byte for byte. Exit
statuses: 0 for an answer below 300, 3/4/5 for 3xx (not followed), 4xx and 5xx, 2 when
there was no answer (or the command was wrong), 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import stat
import sys
from typing import IO, Any

from .. import auth as _auth
from .._io.client._client import Client
from .._model import URL, Headers, Request, Response
from ._items import parse_items
from ._output import Printer, download_progress
from ._serve import CLIError

__all__ = ["EXIT_STATUSES", "METHODS", "add_fetch_arguments", "fetch"]

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
EXIT_STATUSES = """exit statuses:
  0  the answer's status is below 300
  3  a 3xx (redirects not followed: --no-follow)
  4  a 4xx
  5  a 5xx
  2  no answer: the connection, TLS, a timeout, or a mistake in the command
  1  anything unexpected"""
_STDIN_WAIT = 1.0


def add_fetch_arguments(parser: argparse.ArgumentParser, *, any_method: bool) -> None:
    """The flags of a client command (``-h`` is --headers, so help is --help)."""
    parser.add_argument("--help", action="help", help="show this help and exit")
    if any_method:
        parser.add_argument("method", metavar="METHOD", help="any method: GET, PROPFIND…")
    parser.add_argument("url", help="the URL (http:// is assumed; :8000/x means localhost)")
    parser.add_argument(
        "items",
        nargs="*",
        metavar="ITEM",
        help="name==query, Header:value, field=value, field:=json, field@file, field=@file",
    )
    body = parser.add_argument_group("the body")
    body.add_argument(
        "-j",
        "--json",
        nargs="?",
        const=True,
        default=None,
        metavar="DOC",
        help="send fields (or DOC, or stdin) as JSON (the default for fields)",
    )
    body.add_argument("-f", "--form", action="store_true", help="send fields as a form")
    body.add_argument("-d", "--data", metavar="TEXT|@FILE", help="the body as it is (@- is stdin)")
    body.add_argument("--ignore-stdin", action="store_true", help="never read the body from stdin")
    body.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    if not any_method:
        body.add_argument(
            "-X",
            "--request",
            dest="method_override",
            metavar="METHOD",
            help="send METHOD instead (as curl's -X)",
        )
    out = parser.add_argument_group("what is printed")
    out.add_argument("-v", "--verbose", action="store_true", help="the request, then the answer")
    out.add_argument("-h", "--headers", action="store_true", help="only the answer's head")
    out.add_argument("-b", "--body", action="store_true", help="only the body")
    out.add_argument(
        "-p",
        "--print",
        dest="what",
        metavar="WHAT",
        type=_print_letters,
        help="what to print, as HTTPie's letters: H request head, B request body, "
        "h answer head, b answer body (-v is HBhb)",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write the body to FILE")
    out.add_argument(
        "--download",
        action="store_true",
        help="write the body to a file named after the URL (name-1, name-2… when it "
        "exists), with a progress bar",
    )
    out.add_argument(
        "-c",
        "--continue",
        dest="resume",
        action="store_true",
        help="with --download -o FILE: fetch only the rest of a partly downloaded FILE",
    )
    conn = parser.add_argument_group("the connection")
    conn.add_argument(
        "--verify",
        default="yes",
        metavar="yes|no|CA_FILE",
        help="verify TLS certificates (default yes)",
    )
    conn.add_argument("--cacert", metavar="FILE", help="a CA bundle to verify the server with")
    conn.add_argument("-k", "--insecure", action="store_true", help="skip TLS verification")
    conn.add_argument(
        "--proxy",
        metavar="URL",
        help="go through this proxy (http://[user:pass@]host:port); without it, "
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY are read",
    )
    conn.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    conn.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow redirects (default on)",
    )
    conn.add_argument(
        "-a", "--auth", metavar="USER:PASSWORD", help="credentials (a token for bearer)"
    )
    conn.add_argument("-A", "--auth-type", choices=("basic", "digest", "bearer"), default="basic")


def _url(text: str) -> str:
    """httpie's shorthands: no scheme means http://; ``:port/path`` means localhost."""
    if text.startswith(":"):
        text = "localhost" + text
    if "://" not in text:
        text = "http://" + text
    return text


def _auth_of(value: str | None, scheme: str) -> Any:
    if value is None:
        return None
    if scheme == "bearer":
        return value
    user, colon, password = value.partition(":")
    if not colon:
        raise CLIError(f"--auth must look like USER:PASSWORD for {scheme}, got {user!r}")
    return _auth.Credentials(scheme, (user, password))


def _stdin_piped() -> bool:
    """Whether stdin is a pipe or a file with something to read soon (a body)."""
    stream = sys.stdin
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    if stream.isatty() or not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
        return False  # a terminal, /dev/null, a socket: nothing meant as a body
    if stat.S_ISREG(mode):
        return os.fstat(stream.fileno()).st_size > 0
    # an open pipe nobody writes to (a CI runner's stdin) is not a body
    return bool(select.select([stream], [], [], _STDIN_WAIT)[0])


def _stdin_body() -> bytes | None:
    """The body piped in, if there is one (see :func:`_stdin_piped`)."""
    if not _stdin_piped():
        return None
    data = sys.stdin.buffer.read()
    return data or None


def _data_option(value: str) -> bytes:
    if value == "@-":
        return sys.stdin.buffer.read()
    if value.startswith("@"):
        try:
            with open(os.path.expanduser(value[1:]), "rb") as stream:
                return stream.read()
        except OSError as exc:
            raise CLIError(f"cannot read {value[1:]!r} for -d: {exc.strerror}") from exc
    return value.encode("utf-8")


def _body(args: argparse.Namespace, method: str) -> dict[str, Any]:
    """The request's headers, query and body, from the items and flags."""
    items = parse_items(args.items)
    headers: list[tuple[str, str]] = []
    for text in args.header:
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise CLIError(f"a header must look like 'Name: value', got {text!r}")
        headers.append((name.strip(), value.strip()))
    headers += [(n, v) for n, v in items.headers if v]
    kwargs: dict[str, Any] = {"headers": headers, "params": items.query or None}
    given = {n.lower() for n, _ in headers}
    has_body = (
        isinstance(args.json, str)
        or args.data not in (None, "@-")
        or bool(items.files or items.data)
    )
    if has_body and not args.ignore_stdin and _stdin_piped():
        raise CLIError(
            "a body piped on stdin and one from the command line (fields, --json, "
            "-d) cannot be mixed; pass --ignore-stdin to send the command line's"
        )
    if isinstance(args.json, str):
        try:
            kwargs["json"] = json.loads(args.json)
        except ValueError as exc:
            raise CLIError(f"--json is not valid JSON: {exc}") from exc
    elif args.data is not None:
        kwargs["content"] = _data_option(args.data)
        if "content-type" not in given:  # as curl does for -d
            kwargs["content_type"] = "application/x-www-form-urlencoded"
    elif items.files:
        kwargs["data"] = [(n, v if isinstance(v, str) else json.dumps(v)) for n, v in items.data]
        kwargs["files"] = items.files
    elif items.data:
        if args.form and not items.json_fields:
            kwargs["data"] = items.data
        else:
            kwargs["json"] = dict(items.data)
    elif not args.ignore_stdin and method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
        piped = _stdin_body()
        if piped is not None:
            kwargs["content"] = piped
            if "content-type" not in given:
                kwargs["content_type"] = _sniff(piped, args)
    return kwargs


def _sniff(data: bytes, args: argparse.Namespace) -> str:
    if args.form:
        return "application/x-www-form-urlencoded"
    if args.json is True:
        return "application/json"
    try:
        json.loads(data)
    except ValueError:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
        return "text/plain; charset=utf-8"
    return "application/json"


def _fix_json_flag(args: argparse.Namespace) -> None:
    """``--json URL a=1``: argparse took the URL as --json's DOC; put it back."""
    doc = args.json
    if not isinstance(doc, str) or doc[:1] in ("{", "[", '"') or doc[:1].isdigit():
        return
    if doc not in ("true", "false", "null"):
        args.items = [args.url, *args.items]
        args.url, args.json = doc, True


def _verify(args: argparse.Namespace) -> bool | str:
    if args.insecure or args.verify.lower() in ("no", "false", "0"):
        return False
    if args.cacert:
        return str(args.cacert)
    return True if args.verify.lower() in ("yes", "true", "1") else str(args.verify)


def _status_exit(status: int) -> int:
    return 0 if status < 300 else 3 if status < 400 else 4 if status < 500 else 5


async def fetch(args: argparse.Namespace, method: str, verbose: bool) -> int:
    """Run one client command; its exit status."""
    _fix_json_flag(args)
    url = _url(args.url)
    URL(url)  # a malformed URL is reported before anything starts
    kwargs = _body(args, method)
    offset = _resume_offset(args)
    if offset:
        kwargs["headers"] = [*kwargs["headers"], ("Range", f"bytes={offset}-")]
    client = Client(
        verify=_verify(args),
        timeout=args.timeout,
        follow_redirects=args.follow,
        auth=_auth_of(args.auth, args.auth_type),
        proxy=args.proxy,
    )
    printer = Printer(
        sys.stdout,
        verbose=verbose or args.verbose,
        head_only=args.headers,
        body_only=args.body,
        what=args.what,
    )
    async with client:
        request = client.build_request(method, url, **kwargs)
        if printer.verbose:
            printer.request(request, client)
        response = await client.send(request, stream=True)
        try:
            target = args.output or (_download_name(request, response) if args.download else None)
            if offset and response.status == 416:  # the file was complete already
                print(f"rttp {args.command}: {target} is complete already", file=sys.stderr)
                return 0
            if target is not None:
                printer.head(response, to_terminal_only=True)
                resumed = offset if response.status == 206 and _starts_at(response, offset) else 0
                await _save(response, target, resumed)
            else:
                await printer.response(response)
        finally:
            await response.aclose()
    if response.status >= 400 and not sys.stdout.isatty():
        # the body went to a pipe or a file: say on the terminal that it was an error
        # (HTTPie's --check-status warning; the exit status says it too)
        print(
            f"rttp {args.command}: warning: HTTP {response.status} {response.reason}",
            file=sys.stderr,
        )
    return _status_exit(response.status)


def _print_letters(text: str) -> str:
    """``--print``'s value: any of H, B, h, b."""
    if not text or set(text) - set("HBhb"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use the letters H (request head), B (request body), h (answer "
            "head) and b (answer body)"
        )
    return text


def _download_name(request: Request, response: Response) -> str:
    """The file a download goes to: named by Content-Disposition or the URL, never an
    existing file (``name-1``, ``name-2``… as httpie does)."""
    name = ""
    disposition = response.headers.get("content-disposition") or ""
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value.strip('"'):
            name = os.path.basename(value.strip('"'))
    name = name or os.path.basename(request.url.path.rstrip("/")) or "index.html"
    candidate, n = name, 0
    while os.path.exists(candidate):
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _resume_offset(args: argparse.Namespace) -> int:
    """``--continue``: the size of the partly downloaded ``-o`` file (0: start over)."""
    if not getattr(args, "resume", False):
        return 0
    if not args.output:
        raise CLIError("--continue needs -o FILE (the partly downloaded file)")
    try:
        return os.stat(args.output).st_size
    except OSError:
        return 0


def _starts_at(response: Response, offset: int) -> bool:
    """Whether a 206 answer's Content-Range starts where the file stops."""
    unit, _, spec = (response.headers.get("content-range") or "").partition(" ")
    first = spec.partition("-")[0]
    return unit.strip().lower() == "bytes" and first.isdigit() and int(first) == offset


async def _save(response: Response, path: str, offset: int = 0) -> None:
    """The body into ``path`` (appended from ``offset`` when resuming)."""
    length = response.headers.get("content-length")
    total = int(length) if length and length.isdigit() else None
    sink: IO[bytes]
    mode = "ab" if offset else "wb"
    with open(path, mode) as sink, download_progress(sys.stderr, total, path) as advance:  # noqa: ASYNC230
        async for chunk in response.stream():
            sink.write(chunk)
            advance(len(chunk))


def _request_headers(request: Request, client: Client) -> Headers:
    """The fields the client will send, as they go on the wire: the request's, the
    client's defaults, and the body's framing (Content-Length, or chunked)."""
    return Headers.from_raw(client._heads.head(request)[2])
