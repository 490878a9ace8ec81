"""An app whose ``/hang`` never answers: it keeps a graceful shutdown waiting."""

from __future__ import annotations

import trio

import rttp


async def app(request: rttp.Request) -> rttp.Response:
    """``/hang`` waits forever; everything else answers at once."""
    if request.path == "/hang":
        await trio.sleep_forever()
    return rttp.Response(200, body="ok")
