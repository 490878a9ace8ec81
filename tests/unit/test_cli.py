"""The rttp command's pieces that need no network."""

from __future__ import annotations

import io

import pytest

from rttp._cli import _load_app, _ProgressBar, main


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only():
    tty = FakeTTY()
    bar = _ProgressBar(tty)
    bar(1_000_000, 500_000, None, 0)
    bar.finish()
    assert "[###############---------------]  50% 500000/1000000 bytes" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    pipe = io.StringIO()
    quiet = _ProgressBar(pipe)
    quiet(1_000_000, 500_000, None, 0)
    assert pipe.getvalue() == ""


def test_small_downloads_draw_nothing():
    tty = FakeTTY()
    bar = _ProgressBar(tty)
    bar(1000, 1000, None, 0)
    assert tty.getvalue() == ""


def test_load_app_errors_are_clear():
    with pytest.raises(SystemExit, match="MODULE:ATTRIBUTE"):
        _load_app("no_colon")
    with pytest.raises(SystemExit, match="cannot import module 'no_such_module_xyz'"):
        _load_app("no_such_module_xyz:app")
    with pytest.raises(SystemExit, match="has no attribute 'nope'"):
        _load_app("examples.hello:nope")
    assert callable(_load_app("examples.hello:app"))


def test_get_reports_connection_errors_with_exit_code_2(capsys):
    assert main(["get", "http://127.0.0.1:1/"]) == 2
    assert "refused" in capsys.readouterr().err


def test_malformed_url_is_reported_before_anything_starts(capsys):
    assert main(["get", "http://bad host:port/"]) == 2
    assert "malformed URL 'http://bad host:port/'" in capsys.readouterr().err
