"""Small helpers shared by the server and the client."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["aclose_iterable", "call_maybe_async", "exit_owned_nursery", "first_leaf"]


async def aclose_iterable(iterable: Any) -> None:
    """Close an abandoned async iterable (an async generator body), shielded from cancellation.

    An async generator left suspended is finalised by the garbage collector with a
    ResourceWarning; closing it here runs its ``finally`` blocks at a known time.
    """
    aclose = getattr(iterable, "aclose", None)
    if aclose is not None:
        with trio.CancelScope(shield=True):
            await aclose()


async def exit_owned_nursery(cm: Any, exc_info: tuple[Any, Any, Any]) -> bool | None:
    """Leave a nursery an object opened in its ``__aenter__``.

    An exception raised in the ``async with`` block comes back from the nursery wrapped
    in an ExceptionGroup of one; it is re-raised as it was, so users catch what they
    raised. Anything else (a background task's failure) stays grouped.
    """
    body_error = exc_info[1]
    try:
        result: bool | None = await cm.__aexit__(*exc_info)
    except BaseExceptionGroup as group:
        if (
            body_error is None
            or len(group.exceptions) != 1
            or group.exceptions[0] is not body_error
        ):
            raise
        unwrapped = body_error
    else:
        return result
    raise unwrapped


async def call_maybe_async(callback: Callable[..., Any], *args: Any) -> Any:
    """Call a callback that may be a plain function or a coroutine function."""
    result = callback(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first exception in a (nested) exception group."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
