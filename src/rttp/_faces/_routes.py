"""The routing app's routes: path patterns with typed parameters, what a route handler's
result becomes (:func:`to_response`), and the typed registrar behind ``app.get`` & co."""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar, overload

from .._model import Response
from .._model._unset import UNSET as _UNSET

__all__ = [
    "HandlerInfo",
    "HandlerT",
    "Route",
    "RouteRegistrar",
    "RouteResponse",
    "to_response",
    "wants_res",
]

#: ASCII patterns: ``int`` takes 0-9, never another script's digits (``int("١٢")`` is 12)
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"-?[0-9]+", int),
    "float": (r"-?[0-9]+(?:\.[0-9]+)?", float),
    "path": (r".*", str),
    "uuid": (
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        uuid.UUID,
    ),
}
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")


class HandlerInfo(NamedTuple):
    """One registered handler: ``method`` (``ANY`` and ``SOCKET`` for those), ``path``, ``callback``."""

    method: str
    path: str
    callback: Callable[..., Any]


class Route:
    __slots__ = ("callback", "converters", "method", "path", "pattern", "stream", "takes_res")

    def __init__(
        self, method: str, path: str, callback: Callable[..., Any], stream: bool = False
    ) -> None:
        self.method = method
        self.path = path
        self.callback = callback
        self.stream = stream
        #: the seed's ``(req, res)`` form (its signature read once, here)
        self.takes_res = wants_res(callback)
        self.converters: dict[str, Callable[[str], Any]] = {}
        if path == "*":
            self.pattern = re.compile(r".*", re.DOTALL)  # every path, a newline in it too
            return
        if not path.startswith("/"):
            raise ValueError(f"a route path must start with '/' (or be '*'), got {path!r}")
        regex = ""
        position = 0
        for match in _PARAM.finditer(path):
            regex += re.escape(path[position : match.start()])
            name, kind = match.group(1), match.group(2) or "str"
            if kind not in _CONVERTERS:
                raise ValueError(
                    f"unknown converter {kind!r} in route {path!r} (known: {', '.join(_CONVERTERS)})"
                )
            part, convert = _CONVERTERS[kind]
            regex += f"(?P<{name}>{part})"
            self.converters[name] = convert
            position = match.end()
        regex += re.escape(path[position:])
        self.pattern = re.compile(regex, re.ASCII)

    def match(self, path: str) -> dict[str, Any] | None:
        found = self.pattern.fullmatch(path)  # whole: ``$`` matches before a final newline
        if found is None:
            return None
        params: dict[str, Any] = {}
        for name, value in found.groupdict().items():
            try:
                params[name] = self.converters[name](value)
            except ValueError:
                return None
        return params


class RouteResponse:
    """The seed's ``res`` for ``(req, res)`` handlers: set ``status``, ``body``, ``headers``."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = None
        self.headers: dict[str, str] = {}

    def header(self, name: str, value: str) -> None:
        """Set a response header."""
        self.headers[name] = value

    def to_response(self) -> Response:
        """The :class:`rttp.Response` this describes."""
        if self.body is None:
            return Response(self.status, self.headers)
        return Response(self.status, self.headers, value=self.body)


def wants_res(callback: Callable[..., Any]) -> bool:
    try:
        parameters = [
            p
            for p in inspect.signature(callback).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    return len(parameters) >= 2


def to_response(result: Any) -> Response:
    """A route handler's result as a Response.

    A Response as is; ``True`` → 200; ``False`` → 400; ``None`` → 204; a mapping with a
    ``status`` and only ``status``/``body``/``headers`` keys → that response; anything
    else → a body encoded by its type (see :func:`rttp.negotiate` for choosing).
    """
    if isinstance(result, Response):
        return result
    if result is True:
        return Response(200)
    if result is False:
        return Response(400)
    if result is None:
        return Response(204)
    if (
        isinstance(result, Mapping)
        and "status" in result
        and set(result) <= {"status", "body", "headers"}
    ):
        body = result.get("body")
        headers = result.get("headers")
        if body is None:
            return Response(int(result["status"]), headers)
        return Response(int(result["status"]), headers, value=body)
    return Response(value=result)


HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


class RouteRegistrar(Protocol):
    """``app.get(path)`` as a decorator, ``app.get(path, handler)`` to register, ``None`` to remove.

    Typed so that decorated handlers keep their own types under ``mypy --strict``.
    """

    @overload
    def __call__(self, path: str, *, stream: bool = False) -> Callable[[HandlerT], HandlerT]: ...
    @overload
    def __call__(self, path: str, handler: HandlerT, *, stream: bool = False) -> HandlerT: ...
    @overload
    def __call__(self, path: str, handler: None, *, stream: bool = False) -> None: ...
    def __call__(self, path: str, handler: Any = _UNSET, *, stream: bool = False) -> Any:
        """Register, decorate, or remove."""
