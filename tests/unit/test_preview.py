"""The preview: the exact requests a payload would make, or its errors, sending nothing."""

import copy
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.errors import (
    MappingDocumentError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from chalicelib.mapping.preview import preview_payload
from tests.conftest import ROOT
from tests.sandbox_fields import sandbox_fields

API = "https://www.zohoapis.eu"
EVENT = (ROOT / "examples/events/example-contact-updated.json").read_bytes()


def event(**data):
    body = json.loads(EVENT)
    body["data"].update(data)
    return json.dumps(body).encode()


def test_the_example_event_previews_as_the_exact_put_with_the_token_masked(example_mapping):
    preview = preview_payload(example_mapping, EVENT, {}, sandbox_fields(), api_domain=API)
    assert preview.ok and preview.checked_fields
    assert (preview.source, preview.delivery_id) == ("example", "evt_0001")
    (rule,) = preview.rules
    (put,) = rule.requests
    assert (put.method, put.url) == ("PUT", f"{API}/crm/v8/Contacts/5725767000000524157")
    assert put.headers == {"Authorization": "Zoho-oauthtoken ****",
                           "Content-Type": "application/json"}
    assert put.body["trigger"] == []
    assert put.body["data"][0]["Customer_Tier"] == "Gold"
    assert put.body["data"][0]["Last_Payment_At"] == "2026-11-27T09:30:00+00:00"


def test_a_mapping_error_names_rule_field_path_and_type_never_the_value(example_mapping):
    preview = preview_payload(example_mapping, event(seats="a dozen"), {}, sandbox_fields())
    assert not preview.ok
    (rule,) = preview.rules
    assert rule.requests == ()
    (error,) = rule.errors
    assert (error.rule, error.field, error.path, error.value_type) == (
        "contact-updated", "Seats", "data.seats", "string")
    assert "a dozen" not in json.dumps(preview.to_dict())


def test_values_zoho_would_refuse_are_errors_beside_the_request(example_mapping):
    mapping = copy.deepcopy(example_mapping)
    mapping["rules"][0]["fields"].update({
        "Lead_Source": "data.source", "Mailing_Citty": "data.city",
        "Department": "data.department"})
    preview = preview_payload(mapping, event(source="Carrier pigeon", city="Paris",
                                             department="x" * 31), {}, sandbox_fields())
    (rule,) = preview.rules
    assert len(rule.requests) == 1
    assert [(e.field, e.path, e.message) for e in rule.errors] == [
        ("Lead_Source", "data.source", "Contacts.Lead_Source takes only its picklist's values: "
         "Advertisement, Cold Call, Employee Referral, External Referral, Online Store, Partner, "
         "Public Relations, Seminar Partner, Trade Show, Web Download, Web Research, Chat and "
         "5 more"),
        ("Mailing_Citty", "data.city", "Contacts has no field 'Mailing_Citty'"),
        ("Department", "data.department",
         "Contacts.Department takes at most 30 characters, not 31"),
    ]
    assert "Carrier pigeon" not in json.dumps([e.message for e in rule.errors])


def test_a_search_locator_previews_as_the_search_then_the_put(example_mapping):
    mapping = copy.deepcopy(example_mapping)
    mapping["rules"][0]["record"] = {"search": {"field": "Email", "value": "data.email"}}
    preview = preview_payload(mapping, event(email="ada(x),y@example.com"), {},
                              sandbox_fields(), api_domain=API)
    search, put = preview.rules[0].requests
    assert search.method == "GET" and search.body is None
    parts = urlsplit(search.url)
    assert parts.path == "/crm/v8/Contacts/search"
    assert parse_qs(parts.query) == {"criteria": [r"(Email:equals:ada\(x\)\,y@example.com)"]}
    assert put.url == f"{API}/crm/v8/Contacts/{{id of the one record whose Email is this value}}"


def test_an_external_locator_previews_with_x_external_and_the_value_quoted(example_mapping):
    mapping = copy.deepcopy(example_mapping)
    mapping["rules"][0]["record"] = {
        "external": {"field": "Stripe_Customer_Id", "value": "data.customer"}}
    preview = preview_payload(mapping, event(customer="cus 9?x#"), {}, sandbox_fields())
    (put,) = preview.rules[0].requests
    assert put.url == "{api_domain}/crm/v8/Contacts/cus%209%3Fx%23"
    assert put.headers["X-EXTERNAL"] == "Contacts.Stripe_Customer_Id"


def test_fields_left_out_for_want_of_a_value_are_listed(example_mapping):
    body = json.loads(EVENT)
    del body["data"]["phone"], body["data"]["signup_date"]
    preview = preview_payload(example_mapping, json.dumps(body).encode(), {}, None)
    assert preview.rules[0].omitted == ("Phone", "Signup_Date")
    assert not preview.checked_fields


def test_a_form_body_is_read_by_its_content_type_and_headers_are_read_too():
    mapping = {"source": "form", "delivery_id": "header:X-Event", "rules": [{
        "name": "lead", "module": "Leads", "when": "form == 'contact'",
        "record": {"external": {"field": "External_Lead_Id", "value": "ref"}},
        "fields": {"Email": {"path": "email", "type": "email"},
                   "Products_Interested": {"path": "products", "type": "multiselect"}}}]}
    preview = preview_payload(
        mapping, b"form=contact&ref=L-1&email=a%40b.io&products=CRM&products=Desk",
        {"Content-Type": "application/x-www-form-urlencoded", "X-Event": "ev-1"},
        sandbox_fields())
    assert preview.ok and preview.delivery_id == "ev-1"
    assert preview.updates[0].body["data"][0] == {
        "Email": "a@b.io", "Products_Interested": ["CRM", "Desk"]}


def test_a_payload_no_rule_matches_previews_as_ignored(example_mapping):
    preview = preview_payload(example_mapping, b'{"id": "e", "type": "other"}', {}, None)
    assert preview.ok and preview.rules == ()


def test_a_body_the_api_would_refuse_and_a_broken_mapping_are_errors_not_previews(
        example_mapping):
    with pytest.raises(UnsupportedMediaTypeError):
        preview_payload(example_mapping, EVENT, {"Content-Type": "text/plain"}, None)
    small = {**example_mapping, "max_body_bytes": len(EVENT) - 1}
    with pytest.raises(PayloadTooLargeError, match=rf"max_body_bytes \({len(EVENT) - 1}\)"):
        preview_payload(small, EVENT, {"Content-Type": "application/json"}, None)
    with pytest.raises(MappingDocumentError):
        preview_payload({"source": "x", "rules": []}, EVENT, {}, None)
