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
