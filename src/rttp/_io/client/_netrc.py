"""Credentials from a ``.netrc`` file for hosts a request names none for (the client's
``trust_env``, as requests and curl read it): the file named by ``NETRC``, else
``~/.netrc``, parsed by the standard library and kept until it changes."""

from __future__ import annotations

import netrc
import os

__all__ = ["netrc_credentials", "netrc_path"]

_cache: dict[str, tuple[float, netrc.netrc | None]] = {}


def netrc_path() -> str | None:
    """The .netrc file to read (``NETRC``, else ``~/.netrc``), or None when there is none
    (a client looks once, when it is made: no file costs its requests nothing)."""
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    return path if os.path.isfile(path) else None


def netrc_credentials(path: str, host: str) -> tuple[str, str] | None:
    """``(login, password)`` for ``host`` (or the file's ``default``) in the .netrc at
    ``path``, or None when it cannot be read or has no entry."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        try:
            parsed: netrc.netrc | None = netrc.netrc(path)
        except (OSError, netrc.NetrcParseError):
            parsed = None
        _cache.clear()  # one file at a time
        _cache[path] = cached = (mtime, parsed)
    entries = cached[1]
    if entries is None:
        return None
    found = entries.authenticators(host)
    if found is None:
        return None
    login, _, password = found
    return (login or "", password or "")
