"""What ``rttp serve MODULE:ATTR`` names, like uvicorn's ``--interface auto``: an rttp
handler or ``rttp.App``, or an ASGI 3 application (Starlette, FastAPI, Quart-Trio…),
which is then hosted through :func:`rttp.asgi`."""

from __future__ import annotations

from typing import Any

from .._io.server._asgi import asgi, detect_interface

__all__ = ["INTERFACES", "as_handler", "detect_interface"]

#: what ``--interface`` accepts
INTERFACES = ("auto", "rttp", "asgi3", "asgi2", "wsgi")


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
