"""What an application is, told by its shape (as uvicorn's ``--interface auto``): an
rttp handler or ``rttp.App``, an ASGI 3 application, an ASGI 2 one or a WSGI one; and the
rttp handler that hosts it (``rttp serve``, ``rttp.Client(app=...)``)."""

from __future__ import annotations

import inspect
from typing import Any

from ._asgi import asgi
from ._wsgi import wsgi

__all__ = ["INTERFACES", "as_handler", "asgi2_to_asgi3", "detect_interface"]

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


def as_handler(
    obj: Any, interface: str = "auto", lifespan: str = "auto", threads: int | None = None
) -> Any:
    """``obj`` as an rttp handler: an ASGI 3 application wrapped in :func:`rttp.asgi`, a
    WSGI one in :func:`rttp.wsgi` (in at most ``threads`` worker threads), an ASGI 2
    one adapted to ASGI 3 first, an rttp handler or App as it is. ``interface``
    (``"auto"``: told by the shape) says which."""
    kind = detect_interface(obj) if interface == "auto" else interface
    if kind == "rttp":
        return obj
    if kind == "asgi3":
        return asgi(obj, lifespan=lifespan)
    if kind == "wsgi":
        return wsgi(obj) if threads is None else wsgi(obj, threads=threads)
    if kind == "asgi2":
        return asgi(asgi2_to_asgi3(obj), lifespan=lifespan)
    raise ValueError(f"interface must be one of {', '.join(INTERFACES)}, got {interface!r}")


def asgi2_to_asgi3(app: Any) -> Any:
    """An ASGI 3 application running the ASGI 2 one ``app`` (a callable that takes the
    scope and returns the coroutine function that takes ``receive`` and ``send``)."""

    async def asgi3(scope: Any, receive: Any, send: Any) -> None:
        await app(scope)(receive, send)

    asgi3.__qualname__ = asgi3.__name__ = getattr(app, "__name__", type(app).__name__)
    return asgi3
