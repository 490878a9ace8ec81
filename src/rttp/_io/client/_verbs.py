"""The HTTP verbs of :class:`rttp.Client`, each with its keywords spelled out (so that
editors complete them and type checkers check them), all calling ``request``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..._config import TimeoutsLike
from ..._model import URL, HeadersLike, QueryLike, Response
from ..._model._unset import UNSET
from ._auth import AuthLike

if TYPE_CHECKING:
    from ..engine._client import Progress

__all__ = ["UNSET", "RequestVerbs"]

_UNSET = UNSET


class RequestVerbs:
    """``get``, ``head``, ``options``, ``delete``, ``post``, ``put`` and ``patch``."""

    #: send one request (:meth:`rttp.Client.request`)
    request: Callable[..., Awaitable[Response]]

    async def get(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``GET`` (no body; the keywords are those of :meth:`request`)."""
        return await self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    async def head(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``HEAD``: the answer's head only."""
        return await self.request(
            "HEAD",
            url,
            params=params,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    async def options(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``OPTIONS``."""
        return await self.request(
            "OPTIONS",
            url,
            params=params,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    async def delete(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``DELETE``."""
        return await self.request(
            "DELETE",
            url,
            params=params,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    async def post(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        content: bytes | str | Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = _UNSET,
        value: Any = _UNSET,
        content_type: str | None = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``POST`` with one of ``content=``, ``json=``, ``data=``, ``files=`` or ``value=``."""
        return await self.request(
            "POST",
            url,
            params=params,
            headers=headers,
            content=content,
            data=data,
            files=files,
            json=json,
            value=value,
            content_type=content_type,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    async def put(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        content: bytes | str | Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = _UNSET,
        value: Any = _UNSET,
        content_type: str | None = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``PUT`` (the body keywords are those of :meth:`post`)."""
        return await self.request(
            "PUT",
            url,
            params=params,
            headers=headers,
            content=content,
            data=data,
            files=files,
            json=json,
            value=value,
            content_type=content_type,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )

    async def patch(
        self,
        url: str | URL,
        *,
        params: QueryLike | None = None,
        headers: HeadersLike = None,
        content: bytes | str | Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = _UNSET,
        value: Any = _UNSET,
        content_type: str | None = None,
        timeout: TimeoutsLike = _UNSET,
        follow_redirects: bool | None = None,
        progress: Progress | None = None,
        auth: AuthLike = _UNSET,
    ) -> Response:
        """``PATCH`` (the body keywords are those of :meth:`post`)."""
        return await self.request(
            "PATCH",
            url,
            params=params,
            headers=headers,
            content=content,
            data=data,
            files=files,
            json=json,
            value=value,
            content_type=content_type,
            timeout=timeout,
            follow_redirects=follow_redirects,
            progress=progress,
            auth=auth,
        )
