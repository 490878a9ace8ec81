"""The command's one error type."""

from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(Exception):
    """A mistake in the command's input: one line, exit status 2."""
