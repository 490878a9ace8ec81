"""Body-codec helpers of the public API: codec lookup and ``Accept`` negotiation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._model import Headers, HeadersLike, Request, Response
from ._model._media import lookup_codec
from ._plugins import Plugins, get_plugins
from ._proto._negotiation import choose_media_type
from .plugin import BodyCodec

__all__ = ["get_body_codec", "negotiate"]


def get_body_codec(media_type: str, plugins: Plugins | None = None) -> BodyCodec:
    """The codec for a media type or alias (``"application/json"``, ``"table"``, ``"form"``).

    Parameters after ``;`` are ignored. An unknown type is a
    :class:`~rttp.errors.CodecError` (status 415) naming what is available.
    """
    codecs = (plugins or get_plugins()).body_codecs
    codec: BodyCodec = lookup_codec(codecs, media_type)
    return codec


def negotiate(
    request: Request,
    offers: Mapping[str, Any | Callable[[], Any]],
    *,
    status: int = 200,
    headers: HeadersLike = None,
) -> Response:
    """Answer with the representation the client's ``Accept`` prefers.

    ``offers`` maps media types to values (or zero-argument callables producing them,
    so only the chosen one is built), in the server's order of preference. The chosen
    value is encoded by the codec for its media type; ``Vary: Accept`` is added. When
    nothing offered is acceptable the answer is 406 listing what is available.
    """
    order = list(offers)
    chosen = choose_media_type(request.headers.get("accept"), order)
    out_headers = Headers(headers)
    out_headers.add("Vary", "Accept")
    if chosen is None:
        out_headers["Content-Type"] = "text/plain; charset=utf-8"
        return Response(
            406,
            out_headers,
            f"406 Not Acceptable: none of {', '.join(order)} matches Accept "
            f"{request.headers.get('accept')!r}\n",
        )
    value = offers[chosen]
    if callable(value):
        value = value()
    response = Response(status, out_headers, value=value, content_type=chosen)
    response._codecs = request._codecs
    return response
