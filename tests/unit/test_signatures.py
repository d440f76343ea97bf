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
