"""Each provider's signature scheme: published vectors, vectors made outside this code base,
and the signer (used by ``zwa send`` and the tests) as the exact inverse of the verifier."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import InvalidSignatureError
from chalicelib.ingest.schemes import SignatureMismatchError, hubspot_uri, rebuilt_url
from chalicelib.ingest.signatures import (
    scheme_keys,
    sign_request,
    signing_keys,
    verify_signature,
)
from chalicelib.mapping.document import PROVIDER_SCHEMES, SCHEME_TOLERANCE_SECONDS, VerifyConfig

NOW = 1_764_331_200.0
URL = "https://hooks.example.com/webhooks/source"
SCHEMES = sorted(PROVIDER_SCHEMES)
TIMED = [scheme for scheme in SCHEMES if scheme in SCHEME_TOLERANCE_SECONDS]


def config(scheme: str, **kwargs) -> VerifyConfig:
    tolerance = SCHEME_TOLERANCE_SECONDS.get(scheme, 300)
    return VerifyConfig(scheme=scheme, secret_id="s", tolerance_seconds=tolerance, **kwargs)


def key_for(scheme: str, text: bytes = b"the-signing-secret") -> bytes:
    """The HMAC key of a stored secret (a Standard Webhooks secret is whsec_ + base64)."""
    stored = b"whsec_" + base64.b64encode(text) if scheme == "standard-webhooks" else text
    return scheme_keys(config(scheme), [stored])[0]


def signed(scheme: str, body: bytes, *, key: bytes | None = None, at: float = NOW) -> dict:
    """The request headers, lower-cased, as the provider sends them."""
    extra = {"webhook-id": "msg_2Lq8"} if scheme == "standard-webhooks" else {}
    added = sign_request(config(scheme), key or key_for(scheme), body, at, url=URL, headers=extra)
    return {name.lower(): value for name, value in {**extra, **added}.items()}


def check(scheme: str, headers: dict, body: bytes, keys: list[bytes] | None = None,
          now: float = NOW, url: str = URL) -> None:
    verify_signature(config(scheme), keys or [key_for(scheme)], headers, body, now, url=url)


# --- vectors the providers publish -------------------------------------------------------------


def test_the_standard_webhooks_reference_vector_verifies_and_is_what_the_signer_makes():
    # standard-webhooks/standard-webhooks, libraries/python/tests (and Svix's documentation).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    body = b'{"test": 2432232314}'
    keys = scheme_keys(config("standard-webhooks"), signing_keys(secret))
    check("standard-webhooks", headers, body, keys, now=1614265330)
    made = sign_request(config("standard-webhooks"), keys[0], body, 1614265330,
                        headers={"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek"})
    assert made["webhook-signature"] == headers["webhook-signature"]


def test_the_standard_webhooks_vector_passes_among_other_versions_and_several_signatures():
    keys = scheme_keys(config("standard-webhooks"), [b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1a,xyz v1,Zm9yZ2VkIHNpZ25hdHVyZQ== "
                                    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    check("standard-webhooks", headers, b'{"test": 2432232314}', keys, now=1614265330)


def test_hubspots_v3_vector_from_its_official_library_verifies():
    # HubSpot/hubspot-api-python, tests/spec/utils/test_signature.py (test_get_signature__v3).
    headers = {"x-hubspot-signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
               "x-hubspot-request-timestamp": "15000000"}
    check("hubspot-v3", headers, b"{'example_field':'example_value'}",
          [b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"], now=15000.0,
          url="https://www.example.com/webhook_uri")


def test_githubs_documented_example_verifies_under_the_github_scheme():
    # github/docs, "Validating webhook deliveries".
    headers = {"x-hub-signature-256":
               "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    check("github", headers, b"Hello, World!", [b"It's a Secret to Everybody"])
    with pytest.raises(SignatureMismatchError):
        check("github", headers, b"Hello, World?", [b"It's a Secret to Everybody"])


# --- vectors made with openssl (no provider publishes one) -------------------------------------


def test_a_stripe_signature_made_with_openssl_verifies():
    # printf '1764331200.{"id":"evt_1QzT5lL3","object":"event","type":"customer.updated"}' \
    #   | openssl dgst -sha256 -hmac 'whsec_stripe_vector_key' -hex
    body = b'{"id":"evt_1QzT5lL3","object":"event","type":"customer.updated"}'
    headers = {"stripe-signature": "t=1764331200,v1=c422b5434b88e62a874dbcefd856976823a91eca"
                                   "136e20884a10242a34750c85,v0=6ffbb59b2300aae63f272406069a97"}
    check("stripe", headers, body, [b"whsec_stripe_vector_key"])


def test_a_calendly_signature_made_with_openssl_verifies():
    # printf '1764331200.{"event":"invitee.created","payload":{"uri":"https://api.calendly.com/
    #   scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAA"}}' | openssl dgst -sha256 \
    #   -hmac 'calendly-vector-key' -hex        (one line, without the line breaks)
    body = (b'{"event":"invitee.created","payload":{"uri":"https://api.calendly.com/'
            b'scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAA"}}')
    headers = {"calendly-webhook-signature": "t=1764331200,v1=dd3d03649f3d0f99982759216fba0955"
                                             "022b6580f6bc66c0be2804e9517a899e"}
    check("calendly", headers, body, [b"calendly-vector-key"])


def test_shopify_and_typeform_signatures_made_with_openssl_verify():
    # printf '{"id":820982911946154508,"email":"jon@example.com"}' \
    #   | openssl dgst -sha256 -hmac 'shopify-vector-secret' -binary | base64
    check("shopify", {"x-shopify-hmac-sha256": "YG5NUxvhJcV+CEugRvsmLN0HFvYxDo8/yFM5ZebR9FA="},
          b'{"id":820982911946154508,"email":"jon@example.com"}', [b"shopify-vector-secret"])
    # printf '{"event_id":"01HXZ9","event_type":"form_response"}' \
    #   | openssl dgst -sha256 -hmac 'typeform-vector-secret' -binary | base64
    check("typeform",
          {"typeform-signature": "sha256=ozxjAsv3iP53jfJtXAANK+lnkSdXge7I5fMBjSGYxdM="},
          b'{"event_id":"01HXZ9","event_type":"form_response"}', [b"typeform-vector-secret"])


def test_a_hubspot_url_is_signed_with_the_listed_escapes_decoded_and_no_others():
    # printf 'POSThttps://hooks.example.com/webhooks/hubspot?state=a:b/c%%20d[{"eventId":1}]
    #   1764331200000' | openssl dgst -sha256 -hmac 'hubspot-vector-secret' -binary | base64
    url = "https://hooks.example.com/webhooks/hubspot?state=a%3Ab%2fc%20d"
    assert hubspot_uri(url) == "https://hooks.example.com/webhooks/hubspot?state=a:b/c%20d"
    headers = {"x-hubspot-signature-v3": "4c0WEEP6SF6apyiNLf/1yf8JblZDvkkvtMxpHJGc4C0=",
               "x-hubspot-request-timestamp": "1764331200000"}
    check("hubspot-v3", headers, b'[{"eventId":1}]', [b"hubspot-vector-secret"], url=url)
    with pytest.raises(SignatureMismatchError):
        check("hubspot-v3", headers, b'[{"eventId":1}]', [b"hubspot-vector-secret"],
              url=url.replace("hooks.", "other."))


# --- the signer is the verifier's inverse ------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_what_the_signer_makes_verifies_and_another_key_does_not(scheme):
    body = b'{"id": "evt_1", "type": "x"}'
    check(scheme, signed(scheme, body), body)
    with pytest.raises(SignatureMismatchError):
        check(scheme, signed(scheme, body, key=key_for(scheme, b"another-key")), body)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_during_a_rotation_a_request_signed_with_the_older_key_passes(scheme):
    body = b'{"id": "evt_2"}'
    newest, older = key_for(scheme, b"newest-key"), key_for(scheme, b"older-key")
    check(scheme, signed(scheme, body, key=older), body, keys=[newest, older])


@pytest.mark.parametrize("scheme", TIMED)
def test_a_signature_older_or_newer_than_the_tolerance_is_refused_not_a_mismatch(scheme):
    tolerance = SCHEME_TOLERANCE_SECONDS[scheme]
    body = b'{"id": "evt_3"}'
    check(scheme, signed(scheme, body, at=NOW - tolerance + 1), body)
    for at in (NOW - tolerance - 2, NOW + tolerance + 2):
        with pytest.raises(InvalidSignatureError, match="tolerance") as caught:
            check(scheme, signed(scheme, body, at=at), body)
        assert not isinstance(caught.value, SignatureMismatchError)


def test_calendlys_tolerance_is_three_minutes_by_default_and_a_mapping_can_widen_it():
    body = b'{"event": "invitee.created"}'
    headers = signed("calendly", body, at=NOW - 200)
    with pytest.raises(InvalidSignatureError, match="180s tolerance"):
        check("calendly", headers, body)
    wider = VerifyConfig(scheme="calendly", secret_id="s", tolerance_seconds=300)
    verify_signature(wider, [key_for("calendly")], headers, body, NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
@given(body=st.binary(min_size=1, max_size=200), position=st.integers(min_value=0))
def test_any_changed_byte_of_the_body_breaks_every_scheme(scheme, body, position):
    headers = signed(scheme, body)
    index = position % len(body)
    tampered = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1:]
    with pytest.raises(SignatureMismatchError):
        check(scheme, headers, tampered)


@pytest.mark.parametrize("scheme", SCHEMES)
@given(values=st.dictionaries(st.sampled_from([
    "stripe-signature", "calendly-webhook-signature", "webhook-id", "webhook-timestamp",
    "webhook-signature", "x-hub-signature-256", "x-shopify-hmac-sha256", "typeform-signature",
    "x-hubspot-signature-v3", "x-hubspot-request-timestamp"]),
    st.text(max_size=120) | st.sampled_from(["t=,v1=", "t=1764331200", "v1,", "sha256=",
                                              "t=1764331200,v1=zz", "v1,%%%", "1764331200000"])))
def test_garbage_signature_headers_are_refused_and_never_crash(scheme, values):
    with pytest.raises(InvalidSignatureError):
        check(scheme, values, b'{"id": "x"}')


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_missing_signature_names_the_header_and_never_echoes_a_value(scheme):
    body = b'{"id": "evt_4"}'
    headers = signed(scheme, body)
    for name in PROVIDER_SCHEMES[scheme][:1]:
        with pytest.raises(InvalidSignatureError, match="missing") as caught:
            check(scheme, {k: v for k, v in headers.items() if k != name}, body)
        assert not any(value in str(caught.value) for value in headers.values())


def test_a_standard_webhooks_secret_that_is_not_base64_is_an_operators_error():
    with pytest.raises(ValueError, match="whsec_"):
        scheme_keys(config("standard-webhooks"), [b"whsec_not base64!"])
    # Stripe's secrets also start with whsec_, and Stripe uses them as they are.
    assert scheme_keys(config("stripe"), [b"whsec_abc"]) == [b"whsec_abc"]


def test_the_rebuilt_url_uses_the_forwarded_protocol_the_host_the_path_and_query():
    headers = {"x-forwarded-proto": "https", "host": "abc.execute-api.eu-west-1.amazonaws.com"}
    assert rebuilt_url(headers, "/api/webhooks/hubspot", "a=1") == (
        "https://abc.execute-api.eu-west-1.amazonaws.com/api/webhooks/hubspot?a=1")
    assert rebuilt_url({"host": "127.0.0.1:8000"}, "/webhooks/hubspot", "") == (
        "http://127.0.0.1:8000/webhooks/hubspot")
