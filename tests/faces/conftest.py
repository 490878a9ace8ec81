"""Fixtures of the faces' tests."""

from __future__ import annotations

import pytest

from rttp._plugins import Plugins


@pytest.fixture(params=["websockets", "wsproto"])
def ws_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on each built-in WebSocket backend: ``websocket_backend="auto"``
    resolves to it, for our servers and our clients alike."""
    name: str = request.param
    chosen = Plugins.websocket_backend

    def backend(self: Plugins, which: str = "auto") -> object:
        return chosen(self, name if which == "auto" else which)

    monkeypatch.setattr(Plugins, "websocket_backend", backend)
    return name
