import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import InvalidSignatureError
from chalicelib.ingest.signatures import hmac_signature, signing_keys, verify_signature
from chalicelib.mapping.document import VerifyConfig

KEY = b"whsec_test"
BODY = b'{"id": "evt_1", "type": "x"}'
NOW = 1_764_331_200.0


def hex_config(**kwargs) -> VerifyConfig:
    return VerifyConfig(scheme="hmac", secret_id="s", header="X-Sig", **kwargs)


def test_a_correct_hex_signature_with_prefix_passes():
    config = hex_config(prefix="sha256=")
    signature = "sha256=" + hmac.new(KEY, BODY, hashlib.sha256).hexdigest()
    verify_signature(config, [KEY], {"x-sig": signature}, BODY, NOW)


def test_a_correct_base64_sha512_signature_passes():
    config = hex_config(algorithm="sha512", encoding="base64")
    signature = base64.b64encode(hmac.new(KEY, BODY, hashlib.sha512).digest()).decode()
    verify_signature(config, [KEY], {"x-sig": signature}, BODY, NOW)


def test_missing_header_wrong_prefix_and_bad_encoding_are_refused():
    config = hex_config(prefix="sha256=")
    good = hmac_signature(config, KEY, BODY)
    with pytest.raises(InvalidSignatureError, match="missing"):
        verify_signature(config, [KEY], {}, BODY, NOW)
    with pytest.raises(InvalidSignatureError, match="does not start"):
        verify_signature(config, [KEY], {"x-sig": good.removeprefix("sha256=")}, BODY, NOW)
    with pytest.raises(InvalidSignatureError, match="hex"):
        verify_signature(config, [KEY], {"x-sig": "sha256=zz"}, BODY, NOW)


def test_the_error_never_echoes_the_signature():
    config = hex_config()
    with pytest.raises(InvalidSignatureError) as caught:
        verify_signature(config, [KEY], {"x-sig": "ab" * 32}, BODY, NOW)
    assert "ab" * 32 not in str(caught.value)


def test_during_a_rotation_either_key_verifies():
    keys = signing_keys('{"secrets": ["newest", "older"]}')
    config = hex_config()
    for key in (b"newest", b"older"):
        verify_signature(config, keys, {"x-sig": hmac_signature(config, key, BODY)}, BODY, NOW)
    with pytest.raises(InvalidSignatureError):
        verify_signature(config, keys, {"x-sig": hmac_signature(config, b"other", BODY)}, BODY, NOW)


def test_timestamped_signature_outside_tolerance_is_refused():
    config = hex_config(timestamp_header="X-Ts", tolerance_seconds=300)
    stamp = str(int(NOW) - 301)
    headers = {"x-sig": hmac_signature(config, KEY, BODY, stamp), "x-ts": stamp}
    with pytest.raises(InvalidSignatureError, match="tolerance"):
        verify_signature(config, [KEY], headers, BODY, NOW)
    fresh = str(int(NOW) - 10)
    headers = {"x-sig": hmac_signature(config, KEY, BODY, fresh), "x-ts": fresh}
    verify_signature(config, [KEY], headers, BODY, NOW)


@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0, max_value=199))
def test_any_changed_byte_breaks_the_signature(body, position):
    config = hex_config()
    signature = hmac_signature(config, KEY, body)
    index = position % len(body)
    tampered = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1:]
    with pytest.raises(InvalidSignatureError):
        verify_signature(config, [KEY], {"x-sig": signature}, tampered, NOW)


@given(st.text(max_size=80))
def test_garbage_signature_headers_are_refused_never_crash(header):
    with pytest.raises(InvalidSignatureError):
        verify_signature(hex_config(prefix="v1="), [KEY], {"x-sig": header}, BODY, NOW)


# Vectors computed outside this code base.
# GitHub's documented example ("Validating webhook deliveries"), checked through the
# generic hmac scheme configured as GitHub signs.
GITHUB_AS_HMAC = VerifyConfig(scheme="hmac", secret_id="s", header="X-Hub-Signature-256",
                              algorithm="sha256", encoding="hex", prefix="sha256=")
GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_PAYLOAD = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_published_example_verifies_through_the_hmac_scheme():
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    verify_signature(GITHUB_AS_HMAC, [GITHUB_SECRET], headers, GITHUB_PAYLOAD, NOW)


def test_githubs_published_example_fails_with_another_secret_or_payload():
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    with pytest.raises(InvalidSignatureError, match="does not match"):
        verify_signature(GITHUB_AS_HMAC, [b"It's a secret to everybody"], headers,
                         GITHUB_PAYLOAD, NOW)
    with pytest.raises(InvalidSignatureError, match="does not match"):
        verify_signature(GITHUB_AS_HMAC, [GITHUB_SECRET], headers, b"Hello, World?", NOW)


def test_an_openssl_base64_vector_verifies():
    # printf '{"id":"evt_42","type":"order.paid"}' \
    #   | openssl dgst -sha256 -hmac 'rotate-me-2026' -binary | base64
    config = hex_config(encoding="base64")
    headers = {"x-sig": "bCkGT4RT+e+zsmaFG7hs7gag5kcRlIge5n4ydH02kC8="}
    verify_signature(config, [b"rotate-me-2026"], headers,
                     b'{"id":"evt_42","type":"order.paid"}', NOW)


def test_an_openssl_timestamped_sha512_base64_vector_verifies():
    # printf '1764331200.{"id":"evt_42"}' | openssl dgst -sha512 -hmac 'ts-key' -binary | base64
    config = hex_config(algorithm="sha512", encoding="base64", timestamp_header="X-Ts")
    headers = {"x-ts": "1764331200", "x-sig": (
        "M9ajvL/AgY3OaLw7twqsfmT0UVmaStLbKoxLuUG+ddlMzGyXMNXJvqVP5/OZ6JONyemnxDDjucN3xLD+Gt27Pg==")}
    verify_signature(config, [b"ts-key"], headers, b'{"id":"evt_42"}', NOW)


def test_a_whitespace_only_secret_is_refused_as_no_key():
    for secret in ("   ", "\n", '{"secrets": ["newest", "  "]}'):
        with pytest.raises(ValueError):
            signing_keys(secret)


def test_a_secret_stored_with_a_trailing_newline_still_verifies():
    assert signing_keys("whsec_test\n") == [KEY]
    assert signing_keys('{"secrets": [" newest\\n", "older"]}') == [b"newest", b"older"]
    config = hex_config()
    headers = {"x-sig": hmac_signature(config, KEY, BODY)}
    verify_signature(config, signing_keys("  whsec_test\r\n"), headers, BODY, NOW)


@pytest.mark.parametrize("stamp", ["NaN", "1_764_331_200", " 17e8", "1764331200.0", "+1764331200",
                                   "\u0661\u0667\u0666\u0664", "inf", "1" * 5000])
def test_a_timestamp_that_is_not_ascii_digits_is_not_a_timestamp(stamp):
    config = hex_config(timestamp_header="X-Ts")
    headers = {"x-sig": hmac_signature(config, KEY, BODY, stamp), "x-ts": stamp}
    with pytest.raises(InvalidSignatureError, match="not a timestamp"):
        verify_signature(config, [KEY], headers, BODY, NOW)


def test_only_a_signature_that_no_key_computes_is_a_mismatch():
    from chalicelib.ingest.signatures import SignatureMismatchError

    config = hex_config(prefix="sha256=", timestamp_header="X-Ts")
    stamp = str(int(NOW))
    wrong = {"x-sig": hmac_signature(config, b"other", BODY, stamp), "x-ts": stamp}
    with pytest.raises(SignatureMismatchError):
        verify_signature(config, [KEY], wrong, BODY, NOW)
    stale = {"x-sig": hmac_signature(config, KEY, BODY, "1"), "x-ts": "1"}
    for headers in ({}, {"x-sig": "sha256=zz", "x-ts": stamp}, stale):
        with pytest.raises(InvalidSignatureError) as caught:
            verify_signature(config, [KEY], headers, BODY, NOW)
        assert not isinstance(caught.value, SignatureMismatchError)
