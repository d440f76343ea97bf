"""The ingestion parts of a mapping document: ``verify``, ``each`` and ``delivery_id`` (pure)."""

import pytest

from chalicelib.errors import MappingDocumentError
from chalicelib.mapping.document import PROVIDER_SCHEMES, parse_mapping

RULE = {"name": "r", "module": "Leads", "record": {"id": "zoho_id"}, "fields": {"City": "city"}}


def document(**keys) -> dict:
    return {"source": "src", "rules": [RULE], **keys}


def problems(raw: dict) -> list[str]:
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping(raw)
    return caught.value.problems


@pytest.mark.parametrize("scheme", sorted(PROVIDER_SCHEMES))
def test_every_provider_scheme_is_accepted_with_its_default_secret(scheme):
    parsed = parse_mapping(document(verify={"scheme": scheme}))
    assert parsed.verify.scheme == scheme
    assert parsed.verify.secret_id == "zwa/webhook/src"


def test_each_timestamped_scheme_has_its_providers_tolerance_unless_the_mapping_sets_one():
    tolerance = {scheme: parse_mapping(document(verify={"scheme": scheme})).verify.tolerance_seconds
                 for scheme in ("stripe", "calendly", "standard-webhooks", "hubspot-v3")}
    assert tolerance == {"stripe": 300, "calendly": 180, "standard-webhooks": 300,
                         "hubspot-v3": 300}
    wider = parse_mapping(document(verify={"scheme": "calendly", "tolerance_seconds": 600}))
    assert wider.verify.tolerance_seconds == 600


def test_a_provider_scheme_refuses_the_generic_keys_it_fixes_itself():
    found = problems(document(verify={"scheme": "stripe", "header": "X-Sig", "encoding": "hex"}))
    assert found == [
        "verify.header: does not apply to the stripe scheme, which signs as the provider does",
        "verify.encoding: does not apply to the stripe scheme, which signs as the provider does"]


def test_a_tolerance_on_a_scheme_that_signs_no_time_is_refused_rather_than_ignored():
    (found,) = problems(document(verify={"scheme": "github", "tolerance_seconds": 60}))
    assert found == "verify.tolerance_seconds: the github scheme signs no timestamp"


def test_only_hubspot_takes_a_url_and_it_must_be_an_absolute_http_url():
    parsed = parse_mapping(document(verify={
        "scheme": "hubspot-v3", "url": "https://hooks.example.com/webhooks/hubspot"}))
    assert parsed.verify.url == "https://hooks.example.com/webhooks/hubspot"
    assert problems(document(verify={"scheme": "hubspot-v3", "url": "/webhooks/hubspot"}))[
        0].startswith("verify.url: must be the https://")
    assert problems(document(verify={"scheme": "stripe", "url": "https://x.example"})) == [
        "verify.url: only the hubspot-v3 scheme signs the URL"]


def test_an_unknown_or_unhashable_scheme_is_one_clear_problem():
    for scheme in ("svix", ["stripe"]):
        (found,) = problems(document(verify={"scheme": scheme}))
        assert found.startswith("verify.scheme:") and "standard-webhooks" in found


@pytest.mark.parametrize("header", ["header:Stripe-Signature", "header:X-Hub-Signature",
                                    "header:webhook-signature"])
def test_a_mapping_may_not_read_its_schemes_signature_headers(header):
    scheme = {"header:Stripe-Signature": "stripe", "header:X-Hub-Signature": "github",
              "header:webhook-signature": "standard-webhooks"}[header]
    (found,) = problems(document(verify={"scheme": scheme}, delivery_id=header))
    assert found.startswith("delivery_id:") and "signature header" in found


def test_each_splits_a_body_and_reads_each_items_own_id():
    parsed = parse_mapping(document(each="@", delivery_id="join('-', [to_string(portalId), "
                                                         "to_string(eventId)])"))
    assert parsed.each is not None and parsed.each.text == "@"
    assert parsed.each.evaluate([{"eventId": 1}]) == [{"eventId": 1}]


def test_each_needs_a_delivery_id_from_the_item_not_the_body_hash_or_a_header():
    assert problems(document(each="@")) == [
        "delivery_id: with each, names what tells the items apart, evaluated on each item "
        "(such as eventId)"]
    assert problems(document(each="events", delivery_id="header:X-Request-Id")) == [
        "delivery_id: with each, is read from each item: a header would give every item the "
        "same id"]
    assert problems(document(each="header:X-Events", delivery_id="id"))[0].startswith("each:")


def test_each_inside_a_rule_is_an_unknown_key():
    (found,) = problems(document(rules=[{**RULE, "each": "@"}]))
    assert found == "rules[0]: unknown key 'each'"


def test_a_composite_delivery_id_joins_several_fields():
    parsed = parse_mapping(document(delivery_id="join('|', [event, payload.uri])"))
    assert parsed.delivery_id is not None
    assert parsed.delivery_id.evaluate({"event": "invitee.created", "payload": {
        "uri": "https://api.calendly.com/scheduled_events/E/invitees/I"}}) == (
        "invitee.created|https://api.calendly.com/scheduled_events/E/invitees/I")
