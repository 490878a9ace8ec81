"""What the built-in schemes share."""

from __future__ import annotations

from typing import Any

from rttp.errors import AuthError

__all__ = ["credential_pair"]


def credential_pair(credentials: Any, scheme: str) -> tuple[str, str]:
    """``credentials`` checked to be a ``(user, password)`` pair of str."""
    if (
        isinstance(credentials, (tuple, list))
        and len(credentials) == 2
        and all(isinstance(part, str) for part in credentials)
    ):
        return credentials[0], credentials[1]
    raise AuthError(
        f"{scheme} credentials are a (user, password) pair of str, got {type(credentials).__name__}",
        scheme=scheme,
    )
