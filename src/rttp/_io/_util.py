"""Small helpers shared by the server and the client."""

from __future__ import annotations

from typing import Any

import trio

__all__ = ["aclose_iterable"]


async def aclose_iterable(iterable: Any) -> None:
    """Close an abandoned async iterable (an async generator body), shielded from cancellation.

    An async generator left suspended is finalised by the garbage collector with a
    ResourceWarning; closing it here runs its ``finally`` blocks at a known time.
    """
    aclose = getattr(iterable, "aclose", None)
    if aclose is not None:
        with trio.CancelScope(shield=True):
            await aclose()
