"""Every command says a mistake in one line that starts with its own name, as argparse
does (``rttp get: …``), whether argparse, the command's own checks or the library
raised it; and a mistyped option is blamed on the command it was given to."""

from __future__ import annotations

import pytest

from .conftest import run_rttp


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("get", "http://127.0.0.1:1/"), "rttp get: connection to 127.0.0.1:1 refused"),
        (("post", "--json", "{bad", "http://127.0.0.1:1/"), "rttp post: --json is not valid"),
        (("request", "-X", "PUT", "not a url"), "rttp request: "),
        (("get", "--follw", "http://127.0.0.1:1/"), "rttp get: unrecognized arguments: --follw"),
        (("serve", "no_such_module:app"), "rttp serve: cannot import module 'no_such_module'"),
        (("serve", "--bind", "ftp://x", "m:a"), "rttp serve: "),
        (("static", "/no/such/dir"), "rttp static: static files need a directory"),
        (("demo", "--workers", "2", "--fd", "0"), "rttp demo: --fd serves one process"),
        (("send", "127.0.0.1:1", "/x", "-t", "table", "-d", "{bad"), "rttp send: --body is not"),
        (("moonbridge", "no_such_app.py"), "rttp moonbridge: no such file: 'no_such_app.py'"),
    ],
)
async def test_a_mistake_is_one_line_named_after_its_command(
    args: tuple[str, ...], line: str
) -> None:
    done = await run_rttp(*args)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.startswith(line), err
    assert err.count("\n") == 1, err
