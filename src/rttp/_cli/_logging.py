"""The command's logging: one line per record on stderr, the level in colour on a
terminal (``--use-colors``), and a configuration file (``--log-config``)."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Any, ClassVar

from ._serve import CLIError

__all__ = ["configure_logging"]


def configure_logging(level: str, config: str | None = None, colors: bool | None = None) -> None:
    """The error log at ``level``, one line per record, on stderr (its level names in
    colour when ``colors``, or by default when stderr is a terminal); then ``config``,
    a logging configuration file, when given."""
    handler = logging.StreamHandler(sys.stderr)
    if colors is None:
        colors = sys.stderr.isatty()
    handler.setFormatter(_Formatter(colors))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
    if config is not None:
        _log_config(config)


class _Formatter(logging.Formatter):
    """``time name LEVEL message``, the level in colour when asked."""

    COLOURS: ClassVar[dict[str, str]] = {
        "DEBUG": "36",
        "INFO": "32",
        "WARNING": "33",
        "ERROR": "31",
        "CRITICAL": "1;31",
    }

    def __init__(self, colors: bool) -> None:
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")
        self.colors = colors

    def formatMessage(self, record: logging.LogRecord) -> str:
        if self.colors and record.levelname in self.COLOURS:
            record = logging.makeLogRecord(record.__dict__)
            record.levelname = f"\x1b[{self.COLOURS[record.levelname]}m{record.levelname}\x1b[0m"
        return super().formatMessage(record)


def _log_config(path: str) -> None:
    """Apply a logging configuration file, as uvicorn's ``--log-config`` does."""
    import logging.config

    try:
        if path.endswith(".json"):
            with open(path) as stream:
                logging.config.dictConfig(json.load(stream))
        elif path.endswith((".yaml", ".yml")):
            try:
                yaml: Any = importlib.import_module("yaml")
            except ImportError:
                raise CLIError(f"--log-config {path}: a YAML file needs PyYAML") from None
            with open(path) as stream:
                logging.config.dictConfig(yaml.safe_load(stream))
        else:
            logging.config.fileConfig(path, disable_existing_loggers=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CLIError(f"--log-config {path}: {exc}") from None
