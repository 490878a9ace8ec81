"""``rttp.Client``'s typed keywords (``ClientOptions``) stay in step with
:class:`rttp.ClientConfig`, so a type checker knows every option."""

from __future__ import annotations

import dataclasses

from rttp._config import ClientConfig, ServerConfig
from rttp._options import ClientOptions, ServerOptions


def test_every_config_field_is_a_typed_option() -> None:
    fields = {f.name for f in dataclasses.fields(ClientConfig)}
    own = {"timeout", "limits"}  # Client takes these itself, with their own types
    assert set(ClientOptions.__annotations__) == fields - own


def test_every_server_config_field_is_a_typed_option() -> None:
    fields = {f.name for f in dataclasses.fields(ServerConfig)}
    assert set(ServerOptions.__annotations__) == fields
