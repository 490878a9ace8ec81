"""What ``rttp serve MODULE:ATTR`` names, like uvicorn's ``--interface auto``: an rttp
handler or ``rttp.App``, or an ASGI 3 application (Starlette, FastAPI, Quart-Trio…),
which is then hosted through :func:`rttp.asgi`."""

from __future__ import annotations

import inspect
from typing import Any

from .._io.server._asgi import asgi

__all__ = ["INTERFACES", "as_handler", "detect_interface"]

#: what ``--interface`` accepts
INTERFACES = ("auto", "rttp", "asgi3", "asgi2", "wsgi")


def detect_interface(obj: Any) -> str:
    """``"rttp"``, ``"asgi3"``, ``"asgi2"`` or ``"wsgi"``, from the object's shape: an
    async callable taking one argument is an rttp handler, three an ASGI 3 application;
    a class is an ASGI 2 one; a plain callable a WSGI one."""
    if inspect.isclass(obj):
        return "asgi2"
    if not callable(obj):
        return "rttp"
    call = obj if inspect.isroutine(obj) else type(obj).__call__
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return "rttp"
    required = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if inspect.iscoroutinefunction(call):
        return "asgi3" if len(required) == 3 else "rttp"
    return "wsgi" if len(required) == 2 else "rttp"


def as_handler(obj: Any, spec: str, interface: str = "auto", lifespan: str = "auto") -> Any:
    """The rttp handler that serves ``obj`` (``spec`` names it in errors)."""
    from ._serve import CLIError

    kind = detect_interface(obj) if interface == "auto" else interface
    if kind == "rttp":
        return obj
    if kind == "asgi3":
        return asgi(obj, lifespan=lifespan)
    how = "an ASGI 2 application (a class)" if kind == "asgi2" else "a WSGI application"
    raise CLIError(
        f"rttp serve: {spec} is {how}, which rttp cannot host yet (ASGI 3 applications "
        "and rttp handlers are served; pass --interface to say what it is)"
    )
