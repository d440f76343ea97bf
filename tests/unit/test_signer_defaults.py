"""The signer's defaults, as `zwa send` and the tests use them, match the verifier's."""

import hashlib
import hmac

from chalicelib.ingest.signatures import hmac_signature, scheme_keys, sign_request, verify_signature
from chalicelib.mapping.document import SCHEME_TOLERANCE_SECONDS, VerifyConfig

NOW = 1_764_331_200.0
BODY = b'[{"eventId":1}]'


def test_a_timestamped_hmac_without_a_timestamp_signs_a_leading_dot_and_the_body():
    config = VerifyConfig(scheme="hmac", secret_id="s", header="X-Sig", timestamp_header="X-Ts")
    expected = hmac.new(b"k", b"." + BODY, hashlib.sha256).hexdigest()
    assert hmac_signature(config, b"k", BODY) == expected


def test_a_hubspot_request_signed_with_the_defaults_is_a_post_to_the_empty_url():
    config = VerifyConfig(scheme="hubspot-v3", secret_id="s",
                          tolerance_seconds=SCHEME_TOLERANCE_SECONDS["hubspot-v3"])
    (key,) = scheme_keys(config, [b"hubspot-secret"])
    headers = sign_request(config, key, BODY, NOW)
    assert headers == sign_request(config, key, BODY, NOW, method="POST", url="")
    verify_signature(config, [key], {k.lower(): v for k, v in headers.items()}, BODY, NOW,
                     method="POST", url="")
