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
    "value",
    [b"", b"-1", b"+1", b"1.0", b"0x10", b"1, 2", b"%d" % (1 << 63), b"1,", b",", b"X7", b"7X"],
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
    # also among valid fields, and after the valid ones were seen (from the caches)
    with pytest.raises(LocalProtocolError):
        check_headers([(b"Content-Type", b"text/plain"), header])


@pytest.mark.parametrize("field", [(b"X-A", b"1", b"2"), (b"X-A",)])
def test_a_header_field_that_is_not_a_pair_is_never_sent(field):
    with pytest.raises(LocalProtocolError, match="not a \\(name, value\\) pair") as raised:
        check_headers([(b"Content-Type", b"text/plain"), field])
    assert str(raised.value).endswith(repr(field))  # (the field named, not a good one)


def test_request_field_names_are_classified_in_any_case_first_seen_or_cached():
    """make_request_head finds Host, Content-Length and Transfer-Encoding whatever their
    case, both the first time a spelling comes (lower-cased) and from the cache of
    spellings seen."""
    from rttp._proto import _head
    from rttp._proto._head import make_request_head
    from rttp.errors import RemoteProtocolError

    _head._kinds_by_name.clear()
    for _ in range(2):  # the first pass fills the cache, the second reads it
        fields = [(b"HOST", b"a"), (b"CONTENT-length", b"5"), (b"X-Other", b"v")]
        head = make_request_head(b"POST", b"/", fields, b"1.1")
        assert head.content_length == 5
        with pytest.raises(RemoteProtocolError, match="request smuggling"):
            make_request_head(b"POST", b"/", [*fields, (b"Transfer-ENCODING", b"chunked")], b"1.1")
        with pytest.raises(RemoteProtocolError, match="multiple Host"):
            make_request_head(b"GET", b"/", [*fields, (b"host", b"b")], b"1.1")
        with pytest.raises(RemoteProtocolError, match="missing mandatory Host"):
            make_request_head(b"GET", b"/", [(b"X-Other", b"v")], b"1.1")


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


@pytest.mark.parametrize(
    "key", [b"dGhlIHNhbXBsZSBub25jZQ==!", b"dGhl IHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZQ"]
)
def test_a_websocket_key_that_is_not_strict_base64_is_refused(key):
    assert "16 bytes" in (_handshake(key) or "")


# -- more head rules ----------------------------------------------------------------------------
def test_connection_tokens_from_every_field_count():
    head = _head((b"Host", b"a"), (b"Connection", b"close"), (b"Connection", b"keep-alive"))
    assert head.keep_alive is False  # a close in any field closes
    assert _head((b"Host", b"a"), (b"Connection", b"keep-alive,close")).keep_alive is False
    head = _head(
        (b"Host", b"a"), (b"Upgrade", b"h2c"), (b"Connection", b"x"), (b"Connection", b"upgrade")
    )
    assert head.upgrade == b"h2c"


@pytest.mark.parametrize("value", [b"7\x0c", b"7\x0b", b"7\r", b"\n7"])
def test_content_length_padding_is_space_and_tab_only(value):
    with pytest.raises(RemoteProtocolError):
        parse_content_length(value)
    assert parse_content_length(b"\t7 ") == 7


def test_the_trailer_limits_are_exact():
    from rttp._proto._head import check_trailers
    from rttp.errors import TooLarge
    from rttp.plugin import ProtocolLimits

    limits = ProtocolLimits(max_header_size=100, max_header_count=3)
    check_trailers([(b"A", b"1")] * 3, limits)  # the count at the limit
    with pytest.raises(TooLarge):
        check_trailers([(b"A", b"1")] * 4, limits)
    check_trailers([(b"A", b"x" * 95)], limits)  # 1 + 95 + 4 = 100 bytes: at the limit
    with pytest.raises(TooLarge):
        check_trailers([(b"A", b"x" * 96)], limits)


def test_the_header_section_limits_are_exact_and_in_order():
    from rttp.errors import TooLarge
    from rttp.plugin import ProtocolLimits

    limits = ProtocolLimits(max_header_size=1100, max_header_count=3, max_line_size=1024)
    # each field counts as its line: name, ": ", value, CRLF
    assert limits.check_header_section([(b"A", b"x" * 1019)]) == 1024  # a line at its limit
    # ... also when the section is longer than a line may be (its lines are then measured)
    assert limits.check_header_section([(b"A", b"x" * 1019), (b"B", b"1")]) == 1030
    with pytest.raises(TooLarge, match="max_line_size=1024") as info:
        limits.check_header_section([(b"A", b"x" * 1020)])  # one byte over
    assert (info.value.status, info.value.limit) == (431, "max_line_size")
    # a section longer than a line may be, each line short: fine
    assert limits.check_header_section([(b"A", b"x" * 500)] * 2) == 1010
    at_size = [(b"A", b"x" * 362), (b"B", b"x" * 362), (b"C", b"x" * 361)]
    assert limits.check_header_section(at_size) == 1100  # the section at its limit
    with pytest.raises(TooLarge, match="max_header_size=1100"):
        limits.check_header_section([*at_size[:2], (b"C", b"x" * 362)])  # one byte over
    with pytest.raises(TooLarge, match="4 header fields, more than max_header_count=3"):
        limits.check_header_section([(b"A", b"1")] * 4)
    # the size is told before a line, a line before the count
    with pytest.raises(TooLarge, match="max_header_size"):
        limits.check_header_section([(b"A", b"x" * 1200)] * 4)
    with pytest.raises(TooLarge, match="max_line_size"):
        limits.check_header_section([(b"A", b"1")] * 3 + [(b"B", b"x" * 1025)])


@pytest.mark.parametrize(("status", "ok"), [(99, False), (100, True), (999, True), (1000, False)])
def test_the_statuses_a_client_takes(status, ok):
    from rttp._proto._head import check_response_head

    if ok:
        check_response_head(status, b"1.1")
    else:
        with pytest.raises(RemoteProtocolError, match="invalid status") as info:
            check_response_head(status, b"1.1")
        assert info.value.status == 502


def test_which_responses_have_a_body():
    from rttp._proto._head import response_framing, response_has_body, status_has_body

    assert [s for s in (100, 101, 199, 200, 204, 205, 304, 404) if status_has_body(s)] == [
        200,
        205,
        404,
    ]
    assert response_has_body(200, b"GET")
    assert not response_has_body(200, b"HEAD")
    assert not response_has_body(204, b"GET")
    assert not response_has_body(304, b"GET")
    # (no body, chunked, close) for a response to GET/HEAD, 1.1/1.0, length or not
    assert response_framing(204, b"GET", b"1.1", None, False, False) == (True, False, False)
    assert response_framing(200, b"HEAD", b"1.1", None, False, True) == (True, False, True)
    assert response_framing(200, b"GET", b"1.1", 5, False, False) == (False, False, False)
    assert response_framing(200, b"GET", b"1.1", None, False, False) == (False, True, False)
    assert response_framing(200, b"GET", b"1.1", None, True, False) == (False, False, True)
    assert response_framing(200, b"GET", b"1.0", None, False, False) == (False, False, True)


def test_check_headers_says_which_fields_a_server_need_not_add():
    from rttp._proto import _validate
    from rttp._proto._validate import HAS_CONTENT_LENGTH, HAS_DATE, HAS_LENGTHS, HAS_SERVER

    _validate._known_names.clear()  # the names as first seen, not from the cache

    assert check_headers([(b"date", b"x"), (b"SERVER", b"y")]) == HAS_DATE | HAS_SERVER
    assert check_headers([(b"Content-Length", b"1"), (b"X-A", b"b")]) == HAS_CONTENT_LENGTH
    assert check_headers([(b"X-Other", b"v")]) == 0
    # two Content-Length fields, in two spellings: first seen, then from the cache
    for _ in range(2):
        two = [(b"content-length", b"1"), (b"CONTENT-LENGTH", b"1")]
        assert check_headers(two) == HAS_CONTENT_LENGTH | HAS_LENGTHS
    assert check_headers([(b"content-length", b"1"), (b"Date", b"x")]) == (
        HAS_CONTENT_LENGTH | HAS_DATE
    )
    # the second length adds its bit to those found before it
    three = [(b"content-length", b"1"), (b"Date", b"x"), (b"Content-Length", b"1")]
    assert check_headers(three) == HAS_CONTENT_LENGTH | HAS_DATE | HAS_LENGTHS


def test_secrets_equal_takes_str_and_bytes():
    from rttp.auth import secrets_equal

    assert secrets_equal(b"k\x00y", b"k\x00y")
    assert secrets_equal("pässwörd", "pässwörd".encode())
    assert not secrets_equal(b"key", b"kez")


# -- the decoder's ratio is over everything received --------------------------------------------
def test_the_ratio_counts_every_encoded_byte_not_the_last_read():
    import random

    rng = random.Random(7)
    text = bytes(rng.choice(b"abcdefghij ") for _ in range(3 << 19))
    encoded = _gzip(text)  # about 3:1
    gzip = rttp.get_plugins().encodings["gzip"]
    decoder = BoundedDecoder([gzip.decoder()], max_ratio=100)
    out = 0
    for start in range(0, len(encoded), 100):  # in small reads, as a slow server sends
        out += sum(map(len, decoder.feed(encoded[start : start + 100])))
    out += sum(map(len, decoder.finish()))
    assert out == len(text)


# -- the broker envelope at its smallest --------------------------------------------------------
def test_the_smallest_envelope_round_trips():
    empty = Envelope("binary", "", 1, "", b"")
    assert unpack(pack(empty)) == empty


# -- the httptools backend's request boundaries, on their own --------------------------------------
def test_request_lines_count_empty_lines_across_calls_and_record_the_line():
    from rttp_builtin.backends._boundaries import RequestLines

    lines = RequestLines()
    assert lines.start(b"\r\n\r\n", 0, 4) is None  # two, and no request yet
    assert lines.empties == 2
    assert lines.start(b"\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 30) is None  # four
    assert (lines.empties, lines.fresh, lines.complete) == (0, True, True)
    assert lines.line() == b"GET / HTTP/1.1\r\n"
    lines.begin()
    assert lines.fresh is False
    lines.begin()  # a message that began inside a piece: its line is unknown
    assert (lines.line(), lines.complete) == (b"", False)
    lines = RequestLines()
    assert lines.start(b"\r\n" * 4, 0, 8) is None
    error = lines.start(b"\r\nGET", 0, 5)
    assert error is not None
    assert "more than 4 empty lines" in str(error)


def test_request_lines_collect_a_line_that_comes_in_parts():
    from rttp_builtin.backends._boundaries import RequestLines

    lines = RequestLines()
    assert lines.start(b"xxGET / HT", 2, 10) is None
    assert (lines.line(), lines.complete) == (b"GET / HT", False)
    lines.extend(b"TP/1.1\r")
    assert lines.complete is False
    lines.extend(b"\nHost: a\r\n")
    assert (lines.line(), lines.complete, lines.at) == (b"GET / HTTP/1.1\r\n", True, 0)


@pytest.mark.parametrize(
    ("before", "data", "size"),
    [
        (b"", b"1a\r\n" + b"x" * 5, 26),
        (b"", b"ffffffffffffffff;ext=1\r\nabc", (1 << 64) - 1),
        (b"...\r\n8000000", b"000000000\r\nab", 1 << 63),  # the line began in the last read
        (b"x" * 70, b"\r\n10\r\nab", 16),
        (b"", b"\r\n1f;a=1;b=2\r\nab", 31),
    ],
)
def test_the_size_of_the_chunk_in_progress_is_read_back(before, data, size):
    from rttp_builtin.backends._boundaries import last_chunk_size

    body = 5 if size == 26 else 2 if size != (1 << 64) - 1 else 3
    assert last_chunk_size(data, len(data) - body, before) == size


def test_a_chunk_size_line_longer_than_the_window_is_not_guessed():
    from rttp_builtin.backends._boundaries import last_chunk_size

    data = b"5;" + b"e" * 100 + b"\r\nab"
    assert last_chunk_size(data, len(data) - 2, b"") is None


# -- the shared nonce counts at their edges ---------------------------------------------------------
def test_a_nonce_is_remembered_until_it_expires_not_a_second_less():
    from rttp.plugin import NonceCounts

    counts = NonceCounts(slots=4)
    assert counts.advance("n", 1, expires=10.5, now=0) is True
    assert counts.advance("n", 1, expires=10.5, now=10.9) is False  # still within its life
    assert counts.advance("n", 1, expires=20, now=11.0) is True  # gone: a new nonce's slot


def test_every_slot_can_hold_a_nonce_the_first_one_too():
    from rttp.plugin import NonceCounts

    counts = NonceCounts(slots=2)
    assert counts.advance("a", 1, expires=10, now=0) is True
    assert counts.advance("b", 1, expires=10, now=0) is True
    assert counts.advance("a", 1, expires=10, now=0) is False
    assert counts.advance("b", 1, expires=10, now=0) is False
    assert counts.advance("c", 1, expires=10, now=0) is None


def test_an_upgrade_token_without_an_upgrade_field_upgrades_nothing():
    assert _head((b"Host", b"a"), (b"Connection", b"upgrade")).upgrade is None


def test_a_chain_of_encodings_is_decoded_within_the_limit():
    body = b"chained " * 2000
    encoder = zlib.compressobj(wbits=zlib.MAX_WBITS)  # deflate first, then gzip
    inner = encoder.compress(body) + encoder.flush()
    data = _gzip(inner)
    encodings = rttp.get_plugins().encodings
    chain = [encodings["gzip"].decoder(), encodings["deflate"].decoder()]
    decoder = BoundedDecoder(chain, max_size=len(body), max_ratio=None)
    assert b"".join([*decoder.feed(data), *decoder.finish()]) == body
    chain = [encodings["gzip"].decoder(), encodings["deflate"].decoder()]
    decoder = BoundedDecoder(chain, max_size=len(body) - 1, max_ratio=None)
    with pytest.raises(DecodingError, match="max_decoded_size"):
        b"".join([*decoder.feed(data), *decoder.finish()])
