"""What ``rttp serve MODULE:ATTR`` serves: the target loaded (its import failures said
in one line with their place), hosted by its interface, and ``--env-file``."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from typing import Any

from .._io.server._interfaces import as_handler
from ._serve import CLIError

__all__ = ["host", "load_env_file", "load_target"]


def load_target(spec: str, factory: bool = False) -> Any:
    """The handler ``MODULE:ATTR`` names, checked to be usable (CLIError if not)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"expected MODULE:ATTRIBUTE, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import module {module_name!r}: {exc}") from exc
    except SyntaxError as exc:  # one line, where it is, as a compiler says it
        where = f"{os.path.relpath(exc.filename or module_name)}, line {exc.lineno}"
        raise CLIError(f"{where}: {exc.msg}") from None
    except Exception as exc:  # the module's own code failed as it was imported
        raise CLIError(
            f"importing {module_name!r} failed at {_where(exc)}: {type(exc).__name__}: {exc}"
        ) from None
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise CLIError(f"module {module_name!r} has no attribute {attr!r}") from exc
    if factory:
        if not callable(obj):
            raise CLIError(f"--factory {spec} is not callable: {type(obj).__name__}")
        try:
            obj = obj()
        except Exception as exc:
            raise CLIError(f"the factory {spec}() failed: {exc!r}") from exc
    if not callable(obj):
        raise CLIError(
            f"{spec} is a {type(obj).__name__}, not a handler: it must be an "
            "async function taking a request, or an rttp.App"
        )
    if not factory and _looks_like_factory(obj):
        raise CLIError(
            f"{spec} takes no arguments, so it looks like an app factory: pass --factory to call it"
        )
    return obj


def host(
    obj: Any,
    spec: str,
    interface: str = "auto",
    lifespan: str = "auto",
    threads: int | None = None,
) -> Any:
    """The rttp handler that serves what ``spec`` named (an ASGI or WSGI app hosted)."""
    try:
        return as_handler(obj, interface, lifespan, threads)
    except ValueError as exc:
        raise CLIError(f"{spec}: {exc}") from None


def _where(exc: BaseException) -> str:
    """``file, line N`` of the innermost frame of ``exc``'s traceback outside rttp and
    importlib (the application's line)."""
    found = "an unknown place"
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename
        if "importlib" in name or f"{os.sep}rttp{os.sep}" in name or name.startswith("<"):
            continue
        found = f"{os.path.relpath(name)}, line {frame.lineno}"
    return found


def _looks_like_factory(obj: Any) -> bool:
    if not inspect.isfunction(obj) or inspect.iscoroutinefunction(obj):
        return False
    try:
        return not inspect.signature(obj).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


def load_env_file(path: str) -> None:
    """``--env-file``: set the variables of a .env file (python-dotenv reads it; the
    ones already set are kept, as uvicorn does)."""
    try:
        import dotenv
    except ImportError:
        raise CLIError("--env-file needs python-dotenv: pip install 'trio-rttp[cli]'") from None
    if not os.path.isfile(path):
        raise CLIError(f"--env-file {path!r}: no such file")
    dotenv.load_dotenv(path, override=False)
