"""The one "not given" default, for keywords where None means something."""

from __future__ import annotations

from typing import Any

__all__ = ["UNSET"]


class _Unset:
    """Shown as ``UNSET`` in signatures and reprs."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


#: the default of ``json=``, ``value=``, ``timeout=``, ``auth=`` and a route's handler:
#: "not given" (None is a JSON value, no timeout, no auth, or removing the route)
UNSET: Any = _Unset()
