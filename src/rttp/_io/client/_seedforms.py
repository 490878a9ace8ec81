"""The seed-shaped forms of :class:`rttp.Client`'s requests: seed 003's callback form
(``http``, ``stream_chunks``) and seed 001's request handles (``start``, ``start_get``,
``start_post``, ``get_auth_token``).

They are defined here, on the client, and import their face on first call: the client
never needs a face to be imported first, and no face patches the client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..._faces._callbacks import HTTPResult
    from ..._faces._handles import RequestHandle, TokenHandle
    from ._client import Client, Progress

__all__ = ["SeedForms"]


class SeedForms:
    """What :class:`rttp.Client` offers in the seeds' shapes (see the module)."""

    __slots__ = ()

    async def http(
        self,
        url: str,
        callback: Callable[[HTTPResult], Any] | None = None,
        *,
        method: str = "GET",
        headers: Any = None,
        body: str | bytes | None = None,
        params: Any = None,
        progress: Progress | None = None,
    ) -> HTTPResult:
        """One request in seed 003's callback form: ``callback(result)`` gets an
        ``HTTPResult`` (``status``, ``reason``, ``headers``, ``body``, ``url``), which is
        also returned. ``progress(dl_total, dl_now, up_total, up_now)`` is called as
        bytes move (totals -1 when unknown); returning False cancels the request with
        :class:`rttp.errors.Cancelled`. ``method`` is case-insensitive."""
        from ..._faces._callbacks import http

        return await http(
            self._client(),
            url,
            callback,
            method=method,
            headers=headers,
            body=body,
            params=params,
            progress=progress,
        )

    async def stream_chunks(
        self,
        url: str,
        callback: Callable[[HTTPResult], Any],
        *,
        method: str = "GET",
        headers: Any = None,
        body: str | bytes | None = None,
        params: Any = None,
    ) -> HTTPResult:
        """Call ``callback`` per received chunk with status 100 and the headers so far,
        then once with the final status (and an empty body). Returning False from the
        callback cancels the download; the final call is then not made."""
        from ..._faces._callbacks import stream_chunks

        return await stream_chunks(
            self._client(), url, callback, method=method, headers=headers, body=body, params=params
        )

    def start(
        self, method: str, url: str, headers: Any = None, body: str | bytes | None = None
    ) -> RequestHandle:
        """Seed 001: a running request's handle (``finish``, ``wait``, ``cancel``...)."""
        from ..._faces._handles import start

        return start(self._client(), method, url, headers, body)

    def start_get(self, url: str, headers: Any = None, verb: str | None = None) -> RequestHandle:
        """Seed 001: a GET (or ``verb``) request's handle."""
        from ..._faces._handles import start_get

        return start_get(self._client(), url, headers, verb)

    def start_post(
        self, url: str, post_params: Any, headers: Any = None, verb: str | None = None
    ) -> RequestHandle:
        """Seed 001: a POST (or ``verb``) request's handle. ``post_params``: str or bytes
        (sent as they are), a dict (a form), or a list of ``(name, value[, filename[,
        content_type]])`` (multipart)."""
        from ..._faces._handles import start_post

        return start_post(self._client(), url, post_params, headers, verb)

    def get_auth_token(self, audience: str) -> TokenHandle:
        """Ask the client's ``token_service`` for a token for ``audience`` with the
        client's credentials: a handle finishing with ``(token, 200)``;
        :class:`~rttp.errors.AuthError` ("not authenticated") if the client has none."""
        from ..._faces._handles import get_auth_token

        return get_auth_token(self._client(), audience)

    def _client(self) -> Client:
        from ._client import Client

        assert isinstance(self, Client)
        return self
