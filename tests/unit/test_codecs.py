"""Body codecs without I/O: conformance, round trips (hypothesis), malformed input, limits."""

from __future__ import annotations

import html.parser
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rttp
from rttp import rtml
from rttp._model._media import infer_media_type
from rttp._proto._negotiation import choose_media_type
from rttp.errors import CodecError, TooLarge
from rttp.plugin import CodecLimits, assemble_form
from rttp.testing import check_body_codec

CODECS = sorted({codec.media_type for codec in rttp.get_plugins().body_codecs.values()})
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def codec(media_type: str):
    return rttp.get_body_codec(media_type)


@pytest.mark.parametrize("media_type", CODECS)
def test_every_builtin_codec_passes_the_kit(media_type):
    check_body_codec(codec(media_type))


def test_lookup_by_alias_and_parameters():
    assert codec("table").media_type == "table"
    assert codec("JSON").media_type == "application/json"
    assert codec("application/json; charset=utf-8").media_type == "application/json"
    assert codec("form").media_type == "application/x-www-form-urlencoded"
    assert codec("rtml").media_type == "table/rtml"
    with pytest.raises(CodecError, match="unsupported Content-Type 'image/x-nope'") as info:
        codec("image/x-nope")
    assert info.value.status == 415


@pytest.mark.parametrize(
    ("value", "media_type"),
    [
        ("s", "text/plain"),
        (b"b", "application/octet-stream"),
        ({"a": 1}, "application/json"),
        ([1], "application/json"),
        (3, "application/json"),
        (rtml.Page(), "table/rtml"),
        (rtml.ButtonPush(1), "object/lua"),
        (rttp.FormData([("a", "1")]), "application/x-www-form-urlencoded"),
        (rttp.FormData([("f", rttp.UploadFile("f", "x", None, b""))]), "multipart/form-data"),
    ],
)
def test_inferred_media_types(value, media_type):
    # RTML values are claimed by their codecs (python_types): the model knows no format
    assert infer_media_type(value, rttp.get_plugins().body_codecs) == media_type


def test_inference_refuses_unknown_values():
    with pytest.raises(CodecError, match="cannot infer a media type for a object"):
        infer_media_type(object())


# -- hypothesis round trips ---------------------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=20,
)


@FAST
@given(json_values)
@pytest.mark.parametrize("media_type", ["application/json", "table"])
def test_json_and_table_round_trip(media_type, value):
    data, content_type = codec(media_type).encode(value)
    assert codec(media_type).decode(data, content_type) == value


field_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
# CR, LF and backslashes before quotes cannot travel in a part's header: names with
# them are escaped, not restored (see _quote)
name_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\\"),
    min_size=1,
    max_size=20,
)


@FAST
@given(st.lists(st.tuples(field_text.filter(bool), field_text), max_size=12))
def test_urlencoded_round_trip(pairs):
    form = rttp.FormData(pairs)
    data, content_type = codec("form").encode(form)
    assert codec("form").decode(data, content_type) == form


@FAST
@given(
    st.lists(
        st.tuples(
            name_text,
            field_text | st.builds(lambda n, d: ("file", n, d), name_text, st.binary(max_size=300)),
        ),
        max_size=8,
    ),
    st.integers(min_value=1, max_value=64),
)
def test_multipart_round_trip_in_any_chunking(items, step):
    form = rttp.FormData()
    for name, item in items:
        if isinstance(item, tuple):
            form.add(name, rttp.UploadFile(name, item[1], "application/octet-stream", item[2]))
        else:
            form.add(name, item)
    multipart = codec("multipart/form-data")
    data, content_type = multipart.encode(form)
    decoder = multipart.field_decoder(content_type)
    events = []
    for start in range(0, len(data), step):
        events += decoder.feed(data[start : start + step])
    events += decoder.finish()
    decoded = assemble_form(events)
    assert [
        (n, v.data if isinstance(v, rttp.UploadFile) else v) for n, v in decoded.multi_items()
    ] == [(n, v.data if isinstance(v, rttp.UploadFile) else v) for n, v in form.multi_items()]


colors = st.sampled_from([None, *rtml.COLORS])
coordinate = st.integers(min_value=1, max_value=80)
element = st.one_of(
    st.builds(rtml.Text, coordinate, coordinate, field_text, colors, colors),
    st.builds(  # "//host" would be another domain, which LINK refuses
        lambda x, y, t, p: rtml.Link(x, y, t, href="/" + p),
        coordinate,
        coordinate,
        field_text,
        field_text.filter(lambda p: not p.startswith("/")),
    ),
    st.builds(
        lambda x, y, t: rtml.DomLink(x, y, t, href="rttp://host.example/p"),
        coordinate,
        coordinate,
        field_text,
    ),
    st.builds(
        lambda x, y, n, w, h: rtml.Input(x, y, name=n, len=w, hide=h),
        coordinate,
        coordinate,
        field_text.filter(bool),
        st.integers(min_value=1, max_value=40),
        st.booleans(),
    ),
    st.builds(lambda x, y, t: rtml.Button(x, y, t), coordinate, coordinate, field_text),
    st.builds(
        lambda x, y, t, i: rtml.Button(x, y, t, id=i, action="PUSH"),
        coordinate,
        coordinate,
        field_text,
        st.integers(min_value=0) | field_text,
    ),
)


@FAST
@given(st.lists(element, max_size=15))
def test_rtml_round_trip(elements):
    page = rtml.Page(elements)
    data, content_type = codec("table/rtml").encode(page)
    assert content_type == "table/rtml"
    assert codec("table/rtml").decode(data, content_type) == page
    document = rtml.to_html(page)
    assert document.count('class="rtml-') == len(page)


# -- malformed input: CodecError naming what is wrong --------------------------------------
@pytest.mark.parametrize(
    ("media_type", "content_type", "data", "words"),
    [
        ("none", "none", b"x", "must be empty"),
        (
            "text/plain",
            "text/plain; charset=utf-8",
            b"ok \xff",
            "not valid utf-8: byte b'\\xff' at offset 3",
        ),
        ("text/plain", "text/plain; charset=ascii", "é".encode(), "not valid ascii"),
        ("text/plain", "text/plain; charset=klingon", b"x", "unknown charset 'klingon'"),
        ("application/json", "application/json", b'{"a": 1,\n "b": }', "line 2 column 7"),
        ("application/json", "application/json", b"NaN", "NaN is not JSON"),
        ("table", "table", b"[1, 2", "invalid JSON"),
        (
            "form",
            "application/x-www-form-urlencoded",
            b"a=1&b=%zz",
            "bad percent-encoding b'%zz' at offset 6",
        ),
        ("form", "application/x-www-form-urlencoded", b"a=%ff%fe", "not valid UTF-8"),
        ("multipart/form-data", "multipart/form-data", b"--x\r\n", "no boundary"),
        (
            "multipart/form-data",
            "multipart/form-data; boundary=XYZ",
            b'--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
            "truncated",
        ),
        ("multipart/form-data", "multipart/form-data; boundary=XYZ", b"--ABC\r\n", "malformed"),
        (
            "multipart/form-data",
            "multipart/form-data; boundary=XYZ",
            b"--XYZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XYZ--\r\n",
            "no Content-Disposition",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "BLINK", "x": 1, "y": 1}]',
            "element 0: field 'type' must be one of",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "TEXT", "x": 1, "y": 1, "text": "a"}, {"type": "TEXT", "x": -3, "y": 1, "text": "b"}]',
            "element 1 (TEXT): field 'x' must be from 1",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "LINK", "x": 1, "y": 1, "text": "a", "href": "http://evil/"}]',
            "field 'href' must be a path on the same domain",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "DOM-LINK", "x": 1, "y": 1, "text": "a", "href": "nohost"}]',
            "must be a full URL",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "TEXT", "x": 1, "y": 1, "text": "a", "color": "mauve"}]',
            "field 'color' is not one of the 16 colours",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "INPUT", "x": 1, "y": 1, "len": 3}]',
            "field 'name' is required",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "BUTTON", "x": 1, "y": 1, "text": "a", "action": "PUSH"}]',
            "field 'id' is required for a PUSH button",
        ),
        (
            "table/rtml",
            "table/rtml",
            b'[{"type": "TEXT", "x": 1, "y": 1, "text": "a", "blink": true}]',
            "field 'blink' is not a field of TEXT",
        ),
        ("table/rtml", "table/rtml", b'{"type": "TEXT"}', "must be a list of elements"),
        (
            "object/lua",
            "object/lua",
            b'{"type": "BUTTON_FLY"}',
            "must be BUTTON_SUBMIT or BUTTON_PUSH",
        ),
        (
            "object/lua",
            "object/lua",
            b'{"type": "BUTTON_SUBMIT", "vals": {"a": 1}}',
            "'vals' must map input names to strings",
        ),
    ],
)
def test_malformed_input_is_a_clear_codec_error(media_type, content_type, data, words):
    with pytest.raises(CodecError) as info:
        codec(media_type).decode(data, content_type)
    assert words.lower() in str(info.value).lower()
    assert info.value.status in (400, 415)


def test_rtml_colours_by_number_are_normalised():
    page = rtml.parse_page(
        [{"type": "TEXT", "x": 1, "y": 1, "text": "a", "color": 16384, "bgColor": "BLACK"}]
    )
    assert (page[0].color, page[0].bg_color) == ("red", "black")


def test_encoding_refuses_what_json_would_change():
    with pytest.raises(CodecError, match="key 1 at the top is not a str"):
        codec("application/json").encode({1: "a"})
    with pytest.raises(CodecError, match="cannot encode set"):
        codec("table").encode({"a": {1, 2}})
    with pytest.raises(CodecError, match="Out of range float"):
        codec("application/json").encode(float("nan"))


# -- limits -----------------------------------------------------------------------------------
def test_form_field_limit():
    with pytest.raises(TooLarge, match="max_form_fields=3") as info:
        codec("form").decode(
            b"a=1&b=2&c=3&d=4", "application/x-www-form-urlencoded", CodecLimits(max_form_fields=3)
        )
    assert info.value.status == 413


def _multipart(*parts: bytes) -> bytes:
    return b"".join(b"--B\r\n" + part + b"\r\n" for part in parts) + b"--B--\r\n"


def test_multipart_limits():
    multipart = codec("multipart/form-data")
    field = b'Content-Disposition: form-data; name="f"\r\n\r\nv'
    at_limit = multipart.decode(  # exactly max_multipart_parts parts: accepted
        _multipart(field, field),
        "multipart/form-data; boundary=B",
        CodecLimits(max_multipart_parts=2),
    )
    assert at_limit.get_all("f") == ["v", "v"]
    with pytest.raises(TooLarge, match="max_multipart_parts=2"):
        multipart.decode(
            _multipart(field, field, field),
            "multipart/form-data; boundary=B",
            CodecLimits(max_multipart_parts=2),
        )
    big_head = b'Content-Disposition: form-data; name="f"\r\nX-Pad: ' + b"p" * 3000 + b"\r\n\r\nv"
    with pytest.raises(TooLarge, match="max_part_header_size=1024"):
        multipart.decode(
            _multipart(big_head),
            "multipart/form-data; boundary=B",
            CodecLimits(max_part_header_size=1024),
        )
    big_file = b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5000
    with pytest.raises(TooLarge, match="max_file_size=1000"):
        multipart.decode(
            _multipart(big_file), "multipart/form-data; boundary=B", CodecLimits(max_file_size=1000)
        )


# -- negotiation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("text/plain", "text/plain"),
        ("text/*", "text/plain"),
        ("*/*", "application/json"),
        ("text/plain;q=0.5, application/json;q=0.4", "text/plain"),
        ("application/json;q=0, */*", "text/plain"),
        ("image/png", None),
        ("TABLE/RTML", "table/rtml"),
    ],
)
def test_choose_media_type(accept, chosen):
    assert choose_media_type(accept, ["application/json", "text/plain", "table/rtml"]) == chosen


# -- RTML rendering ---------------------------------------------------------------------------
class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts += 1


def test_rtml_html_rendering_is_structurally_right():
    page = (
        rtml.Page()
        .add_text(3, 2, "<b>not bold</b>", color="red", bgColor="black")
        .add_link(1, 4, "Home", "/home")
        .add_dom_link(10, 4, "Other", "rttp://other.example/x")
        .add_input(1, 6, "user", 12, next="pw")
        .add_input(1, 7, "pw", 8, hide=True)
        .add_button(1, 9, "Log in", href="/login")
        .add_button(12, 9, "Cancel", action="PUSH", id="cancel")
    )
    document = rtml.to_html(page, title="Login")
    parser = _Collector()
    parser.feed(document)
    tags = {
        tag: [a for t, a in parser.tags if t == tag]
        for tag in ("span", "a", "input", "button", "form")
    }
    assert len(tags["form"]) == 1
    text = tags["span"][0]
    assert "left:2ch" in text["style"]
    assert "top:1.25em" in text["style"]
    assert "color:#cc4c4c" in text["style"]
    assert "&lt;b&gt;not bold&lt;/b&gt;" in document  # text is escaped, never markup
    assert [a["href"] for a in tags["a"]] == ["/home", "rttp://other.example/x"]
    assert [(i["name"], i["type"], i["size"]) for i in tags["input"]] == [
        ("user", "text", "12"),
        ("pw", "password", "8"),
    ]
    assert tags["input"][0]["data-next"] == "pw"
    assert [(b["data-action"], b.get("data-href"), b.get("data-id")) for b in tags["button"]] == [
        ("SUBMIT", "/login", None),
        ("PUSH", None, '"cancel"'),
    ]
    assert parser.scripts == 1
    assert '"Content-Type": "object/lua"' in document
    assert "BUTTON_SUBMIT" in document
    assert "BUTTON_PUSH" in document
    assert "<title>Login</title>" in document


def test_rtml_terminal_rendering():
    page = (
        rtml.Page()
        .add_text(2, 1, "Hi", color="red")
        .add_input(1, 2, "pw", 4, hide=True, text="abc")
        .add_button(1, 3, "Go")
    )
    plain = rtml.to_terminal(page, color=False)
    assert plain.splitlines() == [" Hi", "***_", "[Go]"]
    colored = rtml.to_terminal(page)
    assert "\x1b[38;2;204;76;76m" in colored  # red
    assert "\x1b[0m" in colored


def test_submission_codec_round_trip_and_forms():
    submission = rtml.ButtonSubmit({"user": "ana"})
    data, content_type = codec("object/lua").encode(submission)
    assert json.loads(data) == {"type": "BUTTON_SUBMIT", "vals": {"user": "ana"}}
    assert codec("object/lua").decode(data, content_type) == submission
    assert (
        codec("object/lua").encode({"type": "BUTTON_PUSH", "id": 3})[0]
        == b'{"type":"BUTTON_PUSH","id":3}'
    )
