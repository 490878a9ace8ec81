"""How :class:`rttp.Client` builds requests (``build_request``: base URL, default
headers, the body options) and its HTTP verbs, each with its keywords spelled out (so
that editors complete them and type checkers check them), all calling ``request``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..._config import TimeoutsLike
from ..._model import URL, Headers, HeadersLike, QueryLike, Request, Response
from ..._model._media import encode_value, form_fields
from ..._model._unset import UNSET
from ..._plugins import Plugins
from ._auth import AuthLike

if TYPE_CHECKING:
    from ..engine._client import Progress

__all__ = ["UNSET", "RequestVerbs"]

_UNSET = UNSET


class RequestVerbs:
    """``build_request``; ``get``, ``head``, ``options``, ``delete``, ``post``, ``put`` and
    ``patch``."""

    #: send one request (:meth:`rttp.Client.request`)
    request: Callable[..., Awaitable[Response]]
    #: the client's defaults (see :class:`rttp.Client`)
    base_url: URL | None
    params: QueryLike | None
    headers: Headers
    plugins: Plugins

    def build_request(
        self,
        method: str,
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
    ) -> Request:
        """A :class:`Request` with the client's base URL, default headers and body.

        One body option: ``content=`` (bytes, str or an async iterable, sent as is),
        ``json=``, ``data=`` (a form: mapping or pairs), ``files=`` (multipart, with
        ``data=`` fields; a file is bytes, a file object, or ``(filename, content[,
        content_type])``), or ``value=`` with ``content_type=`` (any codec; inferred
        from the value when no type is given).
        """
        target: str | URL
        if self.base_url is not None:
            target = self.base_url.join(str(url))
        elif type(url) is str and "://" in url:
            target = url  # an absolute URL string: the Request parses it, once
        else:
            target = URL(url)
        if self.params is not None:
            target = URL(target, params=self.params)
        if params is not None:
            target = URL(target, params=params)
        merged = self.headers.copy()
        if headers is not None:
            for name, field_value in Headers(headers).raw:
                merged[name.decode("latin-1")] = field_value.decode("latin-1")
        body: Any = content
        chosen = (
            (content is not None)
            + (data is not None)
            + (files is not None)
            + (json is not _UNSET)
            + (value is not _UNSET)
        )
        if chosen > 1 and not (chosen == 2 and data is not None and files is not None):
            raise TypeError("give one of content=, json=, data=, files= (with data=) or value=")
        codecs = self.plugins.body_codecs
        if json is not _UNSET:
            value, content_type = json, "application/json"
        elif files is not None:
            fields = [*form_fields(data), *form_fields(files)]
            value, content_type = fields, "multipart/form-data"
        elif data is not None:
            value, content_type = data, content_type or "application/x-www-form-urlencoded"
        if value is not _UNSET:
            encoded, sent_type, length = encode_value(value, content_type, codecs)
            merged.setdefault_raw(b"Content-Type", sent_type.encode("latin-1"))
            if not isinstance(encoded, bytes) and length is not None:
                merged.setdefault_raw(b"Content-Length", str(length).encode("ascii"))
            body = encoded
        elif content_type is not None:
            merged.setdefault_raw(b"Content-Type", content_type.encode("latin-1"))
        request = Request(method, target, headers=merged, body=body)
        request._codecs = codecs
        return request

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
