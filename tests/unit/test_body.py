import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import MalformedPayloadError, UnsupportedMediaTypeError
from chalicelib.ingest.body import parse_body


def test_json_body():
    assert parse_body(b'{"a": [1, 2]}', "application/json; charset=utf-8") == {"a": [1, 2]}


def test_vendor_json_media_types_are_json():
    assert parse_body(b"[1]", "application/vnd.api+json") == [1]


def test_form_body_repeated_keys_become_lists():
    body = parse_body(b"a=1&b=x+y&a=2&empty=", "application/x-www-form-urlencoded")
    assert body == {"a": ["1", "2"], "b": "x y", "empty": ""}


def test_multipart_with_jotform_raw_request_is_parsed():
    raw = (
        b"--XX\r\nContent-Disposition: form-data; name=\"formID\"\r\n\r\n123\r\n"
        b"--XX\r\nContent-Disposition: form-data; name=\"rawRequest\"\r\n\r\n"
        b"{\"q3_email\": \"a@b.c\"}\r\n"
        b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf\"\r\n"
        b"Content-Type: application/pdf\r\n\r\n%PDF\r\n"
        b"--XX--\r\n"
    )
    body = parse_body(raw, "multipart/form-data; boundary=XX")
    assert body == {"formID": "123", "rawRequest": {"q3_email": "a@b.c"},
                    "file": {"filename": "x.pdf"}}


def test_broken_json_says_where():
    with pytest.raises(MalformedPayloadError, match="line 1, column"):
        parse_body(b'{"a": ', "application/json")


def test_other_media_types_are_unsupported():
    with pytest.raises(UnsupportedMediaTypeError, match="text/xml"):
        parse_body(b"<a/>", "text/xml")


def test_multipart_without_boundary_is_malformed():
    with pytest.raises(MalformedPayloadError, match="boundary"):
        parse_body(b"x", "multipart/form-data")


@given(st.binary(max_size=300), st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
]))
def test_any_bytes_parse_or_give_a_malformed_error(raw, content_type):
    try:
        parse_body(raw, content_type)
    except MalformedPayloadError:
        pass


def nested(depth: int) -> bytes:
    return b'{"id": "x", "a": ' + b"[" * depth + b"]" * depth + b"}"


def test_json_nested_deeper_than_the_limit_is_malformed_and_says_the_limit():
    from chalicelib.ingest.body import MAX_NESTING_DEPTH

    assert MAX_NESTING_DEPTH == 64
    assert parse_body(nested(63), "application/json")["id"] == "x"
    for depth in (64, 1000, 100_000):
        with pytest.raises(MalformedPayloadError, match="nested deeper than 64"):
            parse_body(nested(depth), "application/json")


def test_an_integer_of_thousands_of_digits_is_malformed():
    with pytest.raises(MalformedPayloadError, match="digits"):
        parse_body(b'{"id": ' + b"7" * 5000 + b"}", "application/json")


def test_nan_infinity_and_overflowing_numbers_are_not_json_numbers():
    for raw in (b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e999}'):
        with pytest.raises(MalformedPayloadError, match="number"):
            parse_body(raw, "application/json")


def test_a_lone_surrogate_in_a_json_string_or_key_is_malformed():
    for raw in (b'{"id": "\\ud800"}', b'{"\\udfff": 1}', b'["ok \\ud83d\\ude00", "\\udc00"]'):
        with pytest.raises(MalformedPayloadError, match="surrogate"):
            parse_body(raw, "application/json")


def test_a_surrogate_pair_is_a_character_and_parses():
    assert parse_body(b'{"e": "\\ud83d\\ude00"}', "application/json") == {"e": "\U0001f600"}


def test_a_content_type_outside_ascii_is_unsupported():
    with pytest.raises(UnsupportedMediaTypeError, match="ASCII"):
        parse_body(b"--B--\r\n", "multipart/form-data; boundary=\u20ac")


def test_a_multipart_part_in_an_unknown_charset_is_malformed():
    for charset in ("undefined", "no-such-charset", "base64"):
        raw = (b'--B\r\nContent-Disposition: form-data; name="a"\r\n'
               b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\nx\r\n--B--\r\n")
        with pytest.raises(MalformedPayloadError, match="charset"):
            parse_body(raw, "multipart/form-data; boundary=B")


def test_a_multipart_file_name_in_an_unknown_charset_is_malformed():
    raw = (b'--B\r\nContent-Disposition: form-data; name="f"; filename*=undefined\'\'x.pdf\r\n'
           b"\r\n%PDF\r\n--B--\r\n")
    with pytest.raises(MalformedPayloadError):
        parse_body(raw, "multipart/form-data; boundary=B")


def test_a_multipart_charset_that_decodes_to_a_lone_surrogate_is_malformed():
    raw = (b'--B\r\nContent-Disposition: form-data; name="a"\r\n'
           b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2AA-\r\n--B--\r\n")
    with pytest.raises(MalformedPayloadError, match="surrogate"):
        parse_body(raw, "multipart/form-data; boundary=B")


def test_a_deep_raw_request_field_is_held_to_the_same_limit():
    raw = (b'--B\r\nContent-Disposition: form-data; name="rawRequest"\r\n\r\n'
           + b"[" * 2000 + b"]" * 2000 + b"\r\n--B--\r\n")
    with pytest.raises(MalformedPayloadError, match="nested deeper"):
        parse_body(raw, "multipart/form-data; boundary=B")
