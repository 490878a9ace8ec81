"""The conformance kit for body codecs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from .. import rtml
from .._model import FormData, UploadFile
from .._model._forms import assemble_form
from ..errors import CodecError, RTTPError
from ..plugin import DEFAULT_CODEC_LIMITS, BodyCodec

__all__ = ["DEFAULT_SAMPLES", "check_body_codec"]

#: Sample values per media type, for codecs the kit knows.
DEFAULT_SAMPLES: dict[str, list[Any]] = {
    "none": [None],
    "text/plain": ["", "hello", "snow \u2603 and emoji \U0001f600", "line\nbreaks\r\n" * 100],
    "text/html": ["", "<!doctype html><p>caf\u00e9</p>"],
    "application/octet-stream": [b"", b"\x00\xff" * 1000, os.urandom(4096)],
    "application/json": [
        {},
        [],
        {"a": [1, 2.5, True, None, "x"]},
        "str",
        0,
        [{"nested": {"deep": []}}],
    ],
    "table": [{"name": "rttp", "list": [1, 2, 3], "flag": False}],
    "application/x-www-form-urlencoded": [
        FormData(),
        FormData([("a", "1"), ("b", "x y&z=%"), ("a", "2"), ("empty", ""), ("ü", "ß")]),
    ],
    "multipart/form-data": [
        FormData([("a", "1")]),
        FormData(
            [
                ("field", "value"),
                (
                    "file",
                    UploadFile("file", "a.txt", "text/plain", b"line\r\n--not-a-boundary\r\n"),
                ),
                (
                    "blob",
                    UploadFile("blob", "b.bin", "application/octet-stream", os.urandom(10000)),
                ),
                ("field", "second"),
            ]
        ),
    ],
    "table/rtml": [
        rtml.Page(),
        rtml.Page()
        .add_text(1, 1, "Title", color="yellow", bgColor="blue")
        .add_link(1, 3, "Home", "/")
        .add_dom_link(1, 4, "Elsewhere", "rttp://other.example/")
        .add_input(1, 6, "user", 12, next="pw")
        .add_input(1, 7, "pw", 12, hide=True)
        .add_button(1, 9, "Log in")
        .add_button(10, 9, "Cancel", action="PUSH", id="cancel"),
    ],
    "object/lua": [
        rtml.ButtonSubmit({"user": "a", "pw": "b"}),
        rtml.ButtonPush("cancel"),
        rtml.ButtonPush(3),
    ],
}


def _comparable(value: Any) -> Any:
    if isinstance(value, FormData):
        return [
            (
                name,
                (item.filename, item.content_type, item.data)
                if isinstance(item, UploadFile)
                else item,
            )
            for name, item in value.multi_items()
        ]
    return value


def check_body_codec(
    codec: BodyCodec,
    samples: Sequence[Any] | None = None,
    *,
    equal: Callable[[Any, Any], bool] | None = None,
) -> None:
    """Check a body codec: round trips, the empty body, streaming equals whole, bad input.

    ``samples`` are values the codec must round-trip (defaults exist for the built-in
    media types). Malformed input must raise :class:`~rttp.errors.CodecError` (or, for a
    crossed limit, another :class:`~rttp.errors.RTTPError`), never anything else.
    """
    same = equal or (lambda a, b: _comparable(a) == _comparable(b))
    values = list(samples if samples is not None else DEFAULT_SAMPLES.get(codec.media_type, []))
    assert values, f"{codec.media_type}: give samples= to check this codec"
    for value in values:
        data, content_type = codec.encode(value)
        assert isinstance(data, bytes), f"{codec.media_type}: encode() must return bytes"
        assert isinstance(content_type, str), f"{codec.media_type}: Content-Type must be a str"
        assert content_type, f"{codec.media_type}: no Content-Type"
        decoded = codec.decode(data, content_type, DEFAULT_CODEC_LIMITS)
        assert same(decoded, value), (
            f"{codec.media_type}: round trip changed {value!r} into {decoded!r}"
        )
        decoder = codec.field_decoder(content_type, DEFAULT_CODEC_LIMITS)
        if decoder is not None:  # streaming must agree with decoding whole, whatever the chunking
            for step in (1, 7, 4096):
                decoder = codec.field_decoder(content_type, DEFAULT_CODEC_LIMITS)
                assert decoder is not None
                events = []
                for start in range(0, len(data), step):
                    events += decoder.feed(data[start : start + step])
                events += decoder.finish()
                streamed = assemble_form(events)
                assert same(streamed, decoded), (
                    f"{codec.media_type}: streaming in {step}-byte pieces differs"
                )
        streamed_body = codec.encode_stream(value)
        assert streamed_body is None or streamed_body.content_type, codec.media_type
    # the empty body: a value or a CodecError, nothing else
    _decode_or_codec_error(codec, b"", values, "an empty body")
    # malformed and truncated input
    garbage = [b"\xff\xfe\x00garbage", b'{[<"', os.urandom(64)]
    for value in values:
        data, content_type = codec.encode(value)
        garbage.extend(data[: len(data) * k // 4] for k in (1, 2, 3))
    for blob in garbage:
        _decode_or_codec_error(codec, blob, values, f"input {blob[:24]!r}")


def _decode_or_codec_error(codec: BodyCodec, data: bytes, values: list[Any], what: str) -> None:
    _, content_type = codec.encode(values[-1])
    try:
        codec.decode(data, content_type, DEFAULT_CODEC_LIMITS)
    except CodecError:
        pass
    except RTTPError:
        pass
    except Exception as exc:  # pragma: no cover - this is the failure the kit reports
        raise AssertionError(
            f"{codec.media_type}: {what} raised {type(exc).__name__}: {exc}"
        ) from exc
