"""rttp's checks of a received HTTP/2 field block replace h2's own (its inbound
validation is off, for speed): a differential test holds them to be at least as
strict. Whatever block h2's validate_headers refuses, as a request, a response or
trailers, rttp refuses too (it may refuse more: names must be tokens, values free of
every control byte, as on HTTP/1.1)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rttp.errors import ProtocolError, RemoteProtocolError
from rttp.plugin import (
    check_stream_fields,
    stream_request_head,
    stream_response_status,
    stream_trailers,
)

h2_exceptions = pytest.importorskip("h2.exceptions")
from h2.utilities import HeaderValidationFlags, validate_headers  # noqa: E402

Fields = list[tuple[bytes, bytes]]

NAMES = [
    b":method", b":scheme", b":authority", b":path", b":status", b":protocol", b":x", b":",
    b"host", b"te", b"connection", b"keep-alive", b"upgrade", b"transfer-encoding",
    b"proxy-connection", b"content-length", b"cookie", b"x-a", b"X-A", b"", b"a:b", b"a b",
    b"a\x00", b"\xe9",
]  # fmt: skip
VALUES = [
    b"GET", b"POST", b"CONNECT", b"http", b"https", b"/", b"", b"localhost", b"other",
    b"200", b"20", b"websocket", b"trailers", b"gzip", b" x", b"x ", b"x\t", b"\tx", b"a\x00b",
    b"a\rb", b"a\nb", b"a\x01b", b"\xe9", b"5",
]  # fmt: skip

field = st.tuples(
    st.sampled_from(NAMES) | st.binary(max_size=4),
    st.sampled_from(VALUES) | st.binary(max_size=4),
)
REQUEST_PREFIX: Fields = [
    (b":method", b"GET"),
    (b":scheme", b"http"),
    (b":authority", b"localhost"),
    (b":path", b"/"),
]
#: blocks of random fields, and blocks that start well (so the deeper rules are reached)
requests = st.lists(field, max_size=7) | st.lists(field, max_size=4).map(
    lambda tail: REQUEST_PREFIX + tail
)
responses = st.lists(field, max_size=6) | st.lists(field, max_size=4).map(
    lambda tail: [(b":status", b"200"), *tail]
)


def h2_refuses(fields: Fields, *, response: bool = False, trailer: bool = False) -> bool:
    flags = HeaderValidationFlags(
        is_client=response, is_trailer=trailer, is_response_header=response, is_push_promise=False
    )
    try:
        list(validate_headers(fields, flags))
    except h2_exceptions.ProtocolError:
        return True
    return False


def refuses(check: object, fields: Fields) -> bool:
    try:
        check(fields)  # type: ignore[operator]
    except ProtocolError:
        return True
    return False


CHECKS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CHECKS
@given(requests)
@example([*REQUEST_PREFIX, (b"X-A", b"1")])
@example([*REQUEST_PREFIX, (b"x-a", b"1"), (b":path", b"/")])
@example([*REQUEST_PREFIX, (b"host", b"other")])
@example([(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"")])
def test_what_h2_refuses_as_a_request_rttp_refuses(fields: Fields) -> None:
    if h2_refuses(fields):
        assert refuses(lambda f: stream_request_head(f, 1, True), fields)


@CHECKS
@given(responses)
@example([(b":status", b"200"), (b"connection", b"close")])
@example([(b":status", b"200"), (b":path", b"/")])
def test_what_h2_refuses_as_a_response_rttp_refuses(fields: Fields) -> None:
    if h2_refuses(fields, response=True):
        assert refuses(stream_response_status, fields)


@CHECKS
@given(st.lists(field, max_size=5))
@example([(b":status", b"200")])
def test_what_h2_refuses_as_trailers_rttp_refuses(fields: Fields) -> None:
    if h2_refuses(fields, trailer=True):
        assert refuses(stream_trailers, fields)


def test_a_good_block_passes_with_its_pseudo_fields() -> None:
    block = [*REQUEST_PREFIX, (b"x-a", b"a\tb \xe9"), (b"te", b"Trailers"), (b"x-empty", b"")]
    assert check_stream_fields(block) == dict(REQUEST_PREFIX)
    assert stream_response_status([(b":status", b"204"), (b"x-a", b"1")]) == 204
    assert stream_trailers([(b"x-checksum", b"abc")]) == [(b"x-checksum", b"abc")]


def test_a_pseudo_field_after_a_known_regular_one_is_refused() -> None:
    """(A regular name found good before takes the short way: still a regular field.)"""
    check_stream_fields([*REQUEST_PREFIX, (b"x-known", b"1")])
    with pytest.raises(RemoteProtocolError, match="misplaced pseudo-field"):
        check_stream_fields([(b":method", b"GET"), (b"x-known", b"1"), (b":path", b"/")])


def test_a_pseudo_field_after_a_new_regular_one_is_refused() -> None:
    new = f"x-new-{uuid.uuid4().hex}".encode()  # (a name never found good before)
    with pytest.raises(RemoteProtocolError, match="misplaced pseudo-field"):
        check_stream_fields([(b":method", b"GET"), (new, b"1"), (b":path", b"/")])


def test_an_invalid_value_is_named_with_its_field() -> None:
    with pytest.raises(RemoteProtocolError, match=r"'a\\x01b' of field b'x-bad'"):
        check_stream_fields([*REQUEST_PREFIX, (b"x-good", b"ok"), (b"x-bad", b"a\x01b")])
