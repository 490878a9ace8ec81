"""The HTTP/2 part of the protocol-backend kit: the h2 plugin passes it, and a backend
that drops one of the limits fails it."""

from __future__ import annotations

from typing import Any

import pytest

from rttp.plugin import MultiplexLimits, ProtocolLimits
from rttp.testing import check_multiplexed_backend

pytest.importorskip("h2")

from rttp_builtin.backends.h2_backend import H2Backend, H2Server


def test_the_h2_plugin_passes_the_kit() -> None:
    check_multiplexed_backend(H2Backend())


class _Unbudgeted(H2Server):
    """Forgets the control-frame budget: the kit must catch it."""

    def _spend_control(self, what: str) -> None:
        pass


class _Lenient(H2Backend):
    def server(self, limits: ProtocolLimits, mux: MultiplexLimits) -> Any:
        return _Unbudgeted(limits, mux)


def test_a_backend_without_the_flood_budget_fails_the_kit() -> None:
    with pytest.raises(AssertionError, match="PING flood: accepted past its budget"):
        check_multiplexed_backend(_Lenient())
