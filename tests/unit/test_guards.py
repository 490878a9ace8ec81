"""The guards a mutation audit found unwatched: each at its limit and one past it, and
each refusal for the reason it exists. A security check here fails the test when the
check is broken (``nox -s mutants`` keeps that true)."""

from __future__ import annotations

import base64
import zlib

import pytest

import rttp
from rttp._proto._encoding import BoundedDecoder
from rttp._proto._head import make_request_head, parse_content_length
from rttp._proto._validate import check_headers, check_method, check_target
from rttp._proto._wskeys import accept_token, handshake_problem, new_key
from rttp.auth._require import users_check
from rttp.errors import DecodingError, LocalProtocolError, RemoteProtocolError
from rttp.plugin import Envelope, pack, unpack


# -- the password table ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "password", "accepted"),
    [
        ("alice", "wonderland", True),
        ("alice", "wonderlan", False),
        ("alice", "wonderland!", False),
        ("alice", "\0" * 16, False),
        ("mallory", "\0" * 16, False),  # an unknown user, with the placeholder password
        ("mallory", "", False),
        ("nobody", "", True),  # a user whose password is empty logs in with it ...
        ("nobody", "\0" * 16, False),  # ... and never with the placeholder
    ],
)
async def test_the_password_table_lets_in_exactly_its_users(user, password, accepted):
    check = users_check({"alice": "wonderland", "nobody": ""})
    assert await check(user, password) is accepted


# -- head rules both backends rely on -----------------------------------------------------
def _head(*headers: tuple[bytes, bytes], version: bytes = b"1.1"):
    return make_request_head(b"GET", b"/", list(headers), version)


def test_exactly_one_host():
    assert _head((b"Host", b"a")).method == b"GET"
    for hosts in ([(b"Host", b"a"), (b"Host", b"a")], [(b"Host", b"a")] * 3):
        with pytest.raises(RemoteProtocolError, match="multiple Host") as info:
            _head(*hosts)
        assert info.value.status == 400
    with pytest.raises(RemoteProtocolError, match="missing mandatory Host"):
        _head((b"X", b"y"))
    assert _head((b"X", b"y"), version=b"1.0").http_version == b"1.0"  # 1.0 needs none


@pytest.mark.parametrize("value", [b"100-continue", b"100-Continue", b"100-CONTINUE"])
def test_expect_100_continue_in_any_case_is_taken(value):
    assert _head((b"Host", b"a"), (b"Expect", value)).expect_continue


@pytest.mark.parametrize("value", [b"200-ok", b"100-continue, x", b"", b"100-continu"])
def test_any_other_expect_is_a_417(value):
    with pytest.raises(RemoteProtocolError, match="Expect") as info:
        _head((b"Host", b"a"), (b"Expect", value))
    assert info.value.status == 417


def test_the_framing_the_head_reports():
    head = _head((b"Host", b"a"), (b"Content-Length", b"12"))
    assert (head.content_length, head.chunked, head.keep_alive) == (12, False, True)
    head = _head((b"Host", b"a"), (b"Transfer-Encoding", b"chunked"))
    assert (head.content_length, head.chunked) == (None, True)
    head = _head((b"Host", b"a"), (b"Connection", b"close"))
    assert head.keep_alive is False
    head = _head((b"Host", b"a"), (b"Connection", b"keep-alive"), version=b"1.0")
    assert head.keep_alive is True
    assert _head((b"Host", b"a"), version=b"1.0").keep_alive is False
    head = _head((b"Host", b"a"), (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"))
    assert head.upgrade == b"websocket"
    head = _head((b"Host", b"a"), (b"Upgrade", b"websocket"), (b"Connection", b"xupgrade"))
    assert head.upgrade is None  # Upgrade counts only with the upgrade token
    assert _head((b"Host", b"a"), (b"Content-Encoding", b"gzip")).content_encoding == b"gzip"
    assert _head((b"Host", b"a")).content_encoding is None


def test_conflicting_content_lengths_across_fields():
    with pytest.raises(RemoteProtocolError, match="conflicting"):
        _head((b"Host", b"a"), (b"Content-Length", b"1"), (b"Content-Length", b"2"))
    same = _head((b"Host", b"a"), (b"Content-Length", b"2"), (b"Content-Length", b"2"))
    assert same.content_length == 2


@pytest.mark.parametrize(
    ("value", "length"),
    [(b"0", 0), (b"7", 7), (b" 7 ", 7), (b"7, 7", 7), (b"%d" % ((1 << 63) - 1), (1 << 63) - 1)],
)
def test_content_length_values_taken(value, length):
    assert parse_content_length(value) == length


@pytest.mark.parametrize(
    "value", [b"", b"-1", b"+1", b"1.0", b"0x10", b"1, 2", b"%d" % (1 << 63), b"1,", b","]
)
def test_content_length_values_refused(value):
    with pytest.raises(RemoteProtocolError) as info:
        parse_content_length(value)
    assert info.value.status == 400


# -- what the client refuses to send -------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [b"", b"/a b", b"/a\tb", b"/a\r\nX: y", b"/a\nb", b"/a\x00b", b"/a\x7fb"],
)
def test_an_invalid_request_target_is_never_sent(target):
    with pytest.raises(LocalProtocolError, match="request target"):
        check_target(target)


@pytest.mark.parametrize("target", [b"/", b"*", b"/a?b=c&d", b"http://x/y", b"/%20"])
def test_valid_request_targets_are_sent(target):
    check_target(target)
    check_target(target)  # and again, from the cache of checked ones


@pytest.mark.parametrize("method", [b"", b"GE T", b"GET\r\n", b"G(T", b"G\x00"])
def test_an_invalid_method_is_never_sent(method):
    with pytest.raises(LocalProtocolError, match="method"):
        check_method(method)


@pytest.mark.parametrize(
    "header",
    [(b"X", b"a\r\nInjected: 1"), (b"X", b"a\nb"), (b"X", b"a\x00"), (b"X Y", b"v"), (b"", b"v")],
)
def test_an_invalid_header_is_never_sent(header):
    with pytest.raises(LocalProtocolError):
        check_headers([header])


# -- content decoding: the decoded-size limit ---------------------------------------------
def _gzip(data: bytes) -> bytes:
    encoder = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    return encoder.compress(data) + encoder.flush()


def _decode(data: bytes, **limits) -> bytes:
    gzip = rttp.get_plugins().encodings["gzip"]
    decoder = BoundedDecoder([gzip.decoder()], **limits)
    return b"".join([*decoder.feed(data), *decoder.finish()])


def test_the_decoded_size_limit_is_exact():
    body = b"x" * 10_000
    assert _decode(_gzip(body), max_size=10_000, max_ratio=None) == body
    with pytest.raises(DecodingError, match="max_decoded_size=9999"):
        _decode(_gzip(body), max_size=9_999, max_ratio=None)


def test_the_decompression_ratio_counts_after_its_floor():
    bomb = _gzip(b"\0" * (4 << 20))  # about 4 KiB that inflate to 4 MiB
    with pytest.raises(DecodingError, match="max_decompression_ratio=100"):
        _decode(bomb, max_ratio=100)
    assert len(_decode(bomb, max_ratio=None)) == 4 << 20
    small = _gzip(b"\0" * (1 << 20))  # a high ratio under the 1 MiB floor is allowed
    assert len(_decode(small, max_ratio=100)) == 1 << 20


# -- the WebSocket key -----------------------------------------------------------------------
def _handshake(key: bytes, version: bytes = b"13") -> str | None:
    return handshake_problem(
        rttp.Headers([("Sec-WebSocket-Version", version), ("Sec-WebSocket-Key", key)])
    )


@pytest.mark.parametrize("size", [15, 17, 0, 32])
def test_a_websocket_key_of_other_than_16_bytes_is_refused(size):
    key = base64.b64encode(b"k" * size)
    assert "16 bytes" in (_handshake(key) or "")


def test_a_16_byte_websocket_key_and_its_accept_token():
    key = new_key()
    assert len(base64.b64decode(key)) == 16
    assert _handshake(key) is None
    # RFC 6455 §1.3's worked example
    assert accept_token(b"dGhlIHNhbXBsZSBub25jZQ==") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert "not 16 bytes" in (_handshake(b"not base64!") or "")
    assert "13" in (_handshake(key, b"8") or "")


def test_exactly_one_websocket_key():
    key = new_key()
    headers = rttp.Headers(
        [("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Key", key)]
    )
    assert "one Sec-WebSocket-Key" in (handshake_problem(headers) or "")


# -- the broker envelope -----------------------------------------------------------------------
def test_an_envelope_round_trips_and_a_truncated_one_is_skipped():
    envelope = Envelope("text", "worker-1", 7, "/chat", b"hello")
    data = pack(envelope)
    assert unpack(data) == envelope
    for cut in range(len(data) - len(b"hello")):  # any cut into the head or the names
        assert unpack(data[:cut]) is None, cut
    assert unpack(data[:-1]) == Envelope("text", "worker-1", 7, "/chat", b"hell")
    assert unpack(b"\x02" + data[1:]) is None  # another version
    assert unpack(data[:1] + b"\x09" + data[2:]) is None  # an unknown kind
