"""Webhook bodies: what each media type parses to, and the exact reason a body is refused."""

import pytest

from chalicelib.errors import (
    MalformedPayloadError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from chalicelib.ingest.body import media_type, parse_body

MULTI = "multipart/form-data; boundary=B"


def part(name_line: bytes, body: bytes, headers: bytes = b"") -> bytes:
    return b"--B\r\nContent-Disposition: form-data; " + name_line + b"\r\n" + headers + \
        b"\r\n" + body + b"\r\n"


def refused(raw, content_type, kind=MalformedPayloadError):
    with pytest.raises(kind) as caught:
        parse_body(raw, content_type)
    return caught.value.message


@pytest.mark.parametrize("content_type, kind", [
    (None, "application/json"), ("", "application/json"),
    (" Application/JSON ; charset=utf-8", "application/json"),
    ("multipart/form-data;boundary=x;a=b", "multipart/form-data"),
])
def test_the_media_type_is_the_bare_lower_cased_type(content_type, kind):
    assert media_type(content_type) == kind


def test_a_body_without_content_type_is_json_and_may_start_with_a_byte_order_mark():
    assert parse_body(b'\xef\xbb\xbf{"a": 1.5, "b": -2}', None) == {"a": 1.5, "b": -2}


@pytest.mark.parametrize("raw, message", [
    (b"\xff{}", "the JSON body is not valid UTF-8"),
    (b'{"a": ', "the body is not valid JSON (line 1, column 7: Expecting value)"),
    (b"[NaN]", "NaN is not a JSON number"),
    (b"[-Infinity]", "-Infinity is not a JSON number"),
    (b"[1e999]", "a number in the body is too large for a double"),
    (b"[" + b"9" * 4301 + b"]", "a whole number in the body has more than 4300 digits"),
    (b"[-" + b"9" * 4301 + b"]", "a whole number in the body has more than 4300 digits"),
    (b'["\\ud800"]', "a string in the body holds a lone UTF-16 surrogate (such as \\ud800), "
                     "which is not text"),
    (b'{"\\udfff": 1}', "a string in the body holds a lone UTF-16 surrogate (such as \\ud800), "
                        "which is not text"),
    (b"[" * 65 + b"]" * 65,
     "the body is nested deeper than 64 levels of objects and arrays"),
])
def test_a_json_body_that_cannot_travel_on_is_refused_saying_why(raw, message):
    assert refused(raw, "application/json") == message


def test_the_deepest_and_longest_bodies_allowed_parse():
    assert parse_body(b"[" * 64 + b"]" * 64, None) is not None
    assert parse_body(b"[-" + b"9" * 4300 + b"]", None)[0] < 0
    deep_object = b'{"a": ' * 64 + b"1" + b"}" * 64
    assert parse_body(deep_object, None) is not None
    assert refused(b'{"a": ' * 65 + b"1" + b"}" * 65, None) == (
        "the body is nested deeper than 64 levels of objects and arrays")


def test_a_body_of_more_than_twenty_thousand_keys_is_too_large():
    keys = ", ".join(f'"k{n}": 1' for n in range(10_000))
    exactly = f'[{{{keys}}}, {{{keys}}}]'.encode()
    assert len(parse_body(exactly, None)) == 2
    over = f'[{{{keys}}}, {{{keys}, "one more": 1}}]'.encode()
    assert refused(over, None, PayloadTooLargeError) == (
        "the body's objects hold more than 20000 keys in all")


def test_an_empty_form_body_is_an_empty_object_and_blank_values_are_kept():
    assert parse_body(b"", "application/x-www-form-urlencoded") == {}
    assert parse_body(b"a=&a=1&a=2", "application/x-www-form-urlencoded") == {"a": ["", "1", "2"]}
    assert refused(b"\xff=1", "application/x-www-form-urlencoded") == (
        "the form-urlencoded body does not parse")
    assert refused(b"a=1&&b", "application/x-www-form-urlencoded") == (
        "the form-urlencoded body does not parse")


def test_multipart_fields_decode_in_their_charset_and_repeat_as_lists():
    raw = (part(b'name="a"', "é".encode("latin-1"), b"Content-Type: text/plain; "
                b"charset=latin-1\r\n")
           + part(b'name="a"', b"2") + part(b'name="a"', b"3") + part(b'name="empty"', b"")
           + b"--B--\r\n")
    assert parse_body(raw, "Multipart/Form-Data; BOUNDARY=B") == {
        "a": ["é", "2", "3"], "empty": ""}


def test_a_multipart_raw_request_that_is_not_json_says_so_by_name():
    raw = part(b'name="rawRequest"', b"{nope") + b"--B--\r\n"
    assert refused(raw, MULTI) == (
        "the rawRequest field is not valid JSON (line 1, column 2: Expecting property name "
        "enclosed in double quotes)")


def test_a_multipart_field_called_otherwise_stays_text_even_when_it_is_json():
    raw = part(b'name="raw"', b'{"a": 1}') + b"--B--\r\n"
    assert parse_body(raw, MULTI) == {"raw": '{"a": 1}'}


@pytest.mark.parametrize("raw, message", [
    (part(b'filename="x"', b"1") + b"--B--\r\n", "a multipart part has no field name"),
    (b"no parts at all", "the multipart body does not parse"),
    (part(b'name="a"', b"1"), "the multipart body does not parse"),
    (part(b'name="a"', b"x", b"Content-Type: text/plain; charset=undefined\r\n") + b"--B--\r\n",
     "a multipart part is not text in its declared charset"),
    (part(b'name="a"', b"\xff", b"Content-Type: text/plain\r\n") + b"--B--\r\n",
     "a multipart part is not text in its declared charset"),
])
def test_a_multipart_body_that_does_not_parse_is_refused_saying_why(raw, message):
    assert refused(raw, MULTI) == message


def test_a_multipart_content_type_without_boundary_is_refused():
    assert refused(b"x", "multipart/form-data; charset=utf-8") == (
        "the multipart body has no boundary in its Content-Type")


def test_a_content_type_outside_ascii_is_refused_saying_what_to_send():
    assert refused(b"{}", "application/j\u00e9son", UnsupportedMediaTypeError) == (
        "the Content-Type header holds characters outside ASCII; send e.g. application/json")


def test_a_multipart_body_the_parser_chokes_on_is_refused_as_not_parsing():
    assert refused(b"--B--\r\n", "multipart/form-data; boundary=B; a*=x") == (
        "the multipart body does not parse")
