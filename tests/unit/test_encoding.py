"""Content-encoding negotiation and the bomb-safe decoding pipeline."""

from __future__ import annotations

import gzip
import zlib

import pytest

import rttp
from rttp._proto._encoding import (
    BoundedDecoder,
    choose_encoding,
    is_compressible,
    parse_accept_encoding,
)
from rttp.errors import DecodingError
from rttp.testing import check_content_encoding

AVAILABLE = ["gzip", "deflate"]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("gzip, deflate", "gzip"),
        ("deflate, gzip", "gzip"),  # equal q: the server's preference
        ("gzip;q=0.5, deflate", "deflate"),
        ("gzip;q=0, deflate;q=0.1", "deflate"),
        ("gzip;q=0", None),
        ("*", "gzip"),
        ("*;q=0.5, gzip;q=0", "deflate"),
        ("identity", None),
        ("br", None),
        ("x-gzip", "gzip"),
        ("GZIP;Q=0.9", "gzip"),
        ("gzip;q=bogus, deflate", "deflate"),
        ("", None),
    ],
)
def test_choose_encoding(accept, chosen):
    assert choose_encoding(accept, AVAILABLE) == chosen


def test_parse_accept_encoding():
    assert parse_accept_encoding("gzip;q=0.8, br, *;q=0") == {"gzip": 0.8, "br": 1.0, "*": 0.0}


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/vnd.api+json", True),
        ("image/svg+xml", True),
        ("image/png", False),
        ("application/pdf", False),
        ("application/zip", False),
        ("video/mp4", False),
        ("font/woff2", False),
        (None, False),
    ],
)
def test_compressible_types(content_type, expected):
    assert is_compressible(content_type, rttp.ServerConfig().compress_types) is expected


@pytest.mark.parametrize("name", ["gzip", "deflate", "x-gzip"])
def test_builtin_encodings_pass_the_conformance_kit(name):
    check_content_encoding(rttp.get_plugins().encodings[name])


def test_raw_deflate_is_accepted():
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = raw.compress(b"raw deflate body") + raw.flush()
    decoder = rttp.get_plugins().encodings["deflate"].decoder()
    assert decoder.decode(data, 1000) + decoder.flush() == b"raw deflate body"


def test_multi_member_gzip():
    data = gzip.compress(b"one ") + gzip.compress(b"two")
    pipeline = BoundedDecoder([rttp.get_plugins().encodings["gzip"].decoder()])
    assert b"".join([*pipeline.feed(data), *pipeline.finish()]) == b"one two"


def test_bomb_is_refused_by_ratio_without_allocating_it():
    bomb = gzip.compress(b"\0" * (50 << 20))  # 50 MiB of zeros in ~50 KiB
    pipeline = BoundedDecoder(
        [rttp.get_plugins().encodings["gzip"].decoder()], max_ratio=100, ratio_floor=1 << 20
    )
    sizes: list[int] = []

    def drain():
        for piece in pipeline.feed(bomb):
            sizes.append(len(piece))

    with pytest.raises(DecodingError, match="decompression bomb") as info:
        drain()
    assert max(sizes) <= 1 << 16
    assert sum(sizes) < 8 << 20
    assert "max_decompression_ratio=100" in str(info.value)


def test_size_limit():
    pipeline = BoundedDecoder(
        [rttp.get_plugins().encodings["gzip"].decoder()], max_size=1000, max_ratio=None
    )
    with pytest.raises(DecodingError, match="max_decoded_size=1000"):
        list(pipeline.feed(gzip.compress(b"x" * 5000)))


def test_stacked_encodings_decode_in_reverse():
    inner = gzip.compress(b"stacked")
    outer = zlib.compress(inner)
    plugins = rttp.get_plugins()
    # Content-Encoding: gzip, deflate  -> remove deflate first, then gzip
    pipeline = BoundedDecoder(
        [plugins.encodings["deflate"].decoder(), plugins.encodings["gzip"].decoder()]
    )
    assert b"".join([*pipeline.feed(outer), *pipeline.finish()]) == b"stacked"
