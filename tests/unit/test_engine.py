import json

import pytest

from chalicelib.errors import MappingError, UnexpectedMappingError
from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.engine import matching_rules, plan_update


def mapping(fields, **rule):
    return parse_mapping({
        "source": "s",
        "rules": [{"name": "r", "module": "Contacts", "record": {"id": "id"}, "fields": fields,
                   **rule}],
    })


def test_example_event_plans_the_exact_zoho_body(example_mapping, example_event_bytes):
    document = parse_mapping(example_mapping)
    body = json.loads(example_event_bytes)
    (rule,) = matching_rules(document, body)
    plan = plan_update(rule, body)
    assert plan.module == "Contacts"
    assert plan.record == "5725767000000524157"
    assert plan.body == {
        "data": [{
            "Email": "ada@example.com",
            "First_Name": "Ada",
            "Last_Name": "Lovelace",
            "Phone": "+44 20 7946 0958",
            "Customer_Tier": "Gold",
            "Seats": 12,
            "Balance": 1250.5,
            "Delinquent": False,
            "Signup_Date": "2024-03-01",
            "Last_Payment_At": "2026-11-27T09:30:00+00:00",
            "Account_Name": {"id": "5725767000000411001"},
            "Notes_Field": "Updated by the example system",
        }],
        "trigger": [],
    }


def test_no_rule_matches_an_event_type_the_mapping_does_not_handle(example_mapping):
    document = parse_mapping(example_mapping)
    assert matching_rules(document, {"type": "contact.deleted"}) == []


def test_a_payload_cannot_add_fields_or_choose_the_module():
    document = mapping({"Email": "email"})
    body = {"id": "1", "email": "a@b.c", "Owner": {"id": "9"}, "module": "Deals"}
    plan = plan_update(document.rules[0], body)
    assert plan.module == "Contacts"
    assert plan.body["data"] == [{"Email": "a@b.c"}]


def test_absent_value_is_omitted_or_cleared_or_defaulted():
    document = mapping({
        "Phone": "phone",
        "Mobile": {"path": "mobile", "null": "clear"},
        "Customer_Tier": {"path": "tier", "type": "picklist", "map": {"g": "Gold"},
                          "default": "Standard"},
    })
    plan = plan_update(document.rules[0], {"id": "1", "tier": "unknown"})
    assert plan.body["data"] == [{"Mobile": None, "Customer_Tier": "Standard"}]


def test_required_field_without_value_names_the_field_and_path():
    document = mapping({"Last_Name": {"path": "name.last", "required": True}})
    with pytest.raises(MappingError) as caught:
        plan_update(document.rules[0], {"id": "1"})
    assert caught.value.field == "Last_Name"
    assert caught.value.path == "name.last"


def test_unconvertible_value_names_field_path_and_type_but_not_the_value():
    document = mapping({"Seats": {"path": "seats", "type": "integer"}})
    with pytest.raises(MappingError) as caught:
        plan_update(document.rules[0], {"id": "1", "seats": "twelve-secret"})
    assert caught.value.field == "Seats"
    assert caught.value.value_type == "string"
    assert "twelve-secret" not in str(caught.value)


def test_record_id_must_be_a_zoho_id():
    document = mapping({"Email": "email"})
    with pytest.raises(MappingError, match="not a Zoho record id"):
        plan_update(document.rules[0], {"id": "abc", "email": "x@y.z"})


def test_external_locator_sends_the_external_header():
    document = parse_mapping({"source": "s", "rules": [{
        "name": "r", "module": "Contacts",
        "record": {"external": {"field": "Stripe_Customer_Id", "value": "customer"}},
        "fields": {"Email": "email"}}]})
    plan = plan_update(document.rules[0], {"customer": "cus_123", "email": "a@b.c"})
    assert plan.record == "cus_123"
    assert plan.external_header == "Contacts.Stripe_Customer_Id"


def test_template_header_value_and_options():
    document = mapping(
        {"Description": {"template": "{a}, {b}"}, "Source": "header:X-Origin",
         "Interests": {"path": "tags", "type": "multiselect", "append": True}},
        trigger=["workflow"], skip_cadences=True, layout_id="111",
    )
    plan = plan_update(document.rules[0], {"id": "1", "a": "x", "tags": ["t"]},
                       {"x-origin": "shop"})
    assert plan.body == {
        "data": [{"Description": "x, ", "Source": "shop", "Interests": ["t"],
                  "$append_values": {"Interests": True}, "Layout": {"id": "111"}}],
        "trigger": ["workflow"],
        "skip_feature_execution": [{"name": "cadences"}],
    }


def external_mapping():
    return parse_mapping({"source": "s", "rules": [{
        "name": "by-customer", "module": "Contacts",
        "record": {"external": {"field": "Stripe_Customer_Id", "value": "customer"}},
        "fields": {"Email": "email"}}]})


@pytest.mark.parametrize("value,rule", [
    (".", "must not be '.' or '..'"),
    ("..", "must not be '.' or '..'"),
    (" .. ", "must not be '.' or '..'"),
    ("", "is empty"),
    ("   ", "is empty"),
    ("\t\n", "is empty"),
    ("../Deals", "must not contain '/' or '\\'"),
    ("cus/1", "must not contain '/' or '\\'"),
    ("cus\\1", "must not contain '/' or '\\'"),
    ("cus\n1", "must not contain a control character"),
    ("cus\x001", "must not contain a control character"),
    ("cus\x7f", "must not contain a control character"),
])
def test_an_external_value_that_could_address_another_path_is_a_mapping_error(value, rule):
    with pytest.raises(MappingError) as caught:
        plan_update(external_mapping().rules[0], {"customer": value, "email": "a@b.c"})
    error = caught.value
    assert error.rule == "by-customer"
    assert error.field == "record.external"
    assert error.path == "customer"
    assert error.value_type == "string"
    assert error.message == (f"rule 'by-customer': record.external (customer) {rule}: "
                             "a record key must address exactly one record")
    if value.strip() not in ("", ".", ".."):
        assert value not in error.message


def test_an_id_of_only_spaces_is_a_mapping_error_not_the_bulk_endpoint():
    document = mapping({"Email": "email"})
    with pytest.raises(MappingError, match="is empty") as caught:
        plan_update(document.rules[0], {"id": "   ", "email": "x@y.z"})
    assert caught.value.field == "record.id"


@pytest.mark.parametrize("value", ["cus_123", "a.b", "...", "CUS 1", "50%", "ünïcode", 42])
def test_an_external_value_that_names_one_record_is_kept(value):
    plan = plan_update(external_mapping().rules[0], {"customer": value, "email": "a@b.c"})
    assert plan.record == str(value)


class Exploding(dict):
    """A payload object whose lookups fail the way a bug would, quoting a value."""

    def get(self, key, default=None):
        raise RuntimeError("ada@example.com")


def test_an_unforeseen_error_in_a_field_names_rule_field_and_type_not_the_message():
    document = mapping({"Email": "data.email"})
    with pytest.raises(UnexpectedMappingError) as caught:
        plan_update(document.rules[0], {"id": "1", "data": Exploding()})
    error = caught.value
    assert (error.rule, error.field, error.error_type) == ("r", "Email", "RuntimeError")
    assert "ada@example.com" not in str(error)


def test_an_unforeseen_error_in_the_locator_names_the_locator():
    document = mapping({"Email": "email"}, record={"id": "data.id"})
    with pytest.raises(UnexpectedMappingError) as caught:
        plan_update(document.rules[0], {"email": "a@b.c", "data": Exploding()})
    assert (caught.value.field, caught.value.error_type) == ("record.id", "RuntimeError")


def test_a_mapping_error_is_not_disguised_as_an_unforeseen_one():
    document = mapping({"Seats": {"path": "seats", "type": "integer"}})
    with pytest.raises(MappingError):
        plan_update(document.rules[0], {"id": "1", "seats": "many"})


def test_a_required_field_without_value_is_a_mapping_error_naming_rule_field_and_path():
    document = mapping({"Last_Name": {"path": "name.last", "required": True}})
    with pytest.raises(MappingError) as caught:
        plan_update(document.rules[0], {"id": "1", "name": {}})
    error = caught.value
    assert error.message == "rule 'r': field Last_Name is required but name.last gives no value"
    assert (error.rule, error.field, error.path, error.value_type) == (
        "r", "Last_Name", "name.last", "null")


def test_an_unconvertible_value_is_a_mapping_error_of_its_rule():
    document = mapping({"Seats": {"path": "seats", "type": "integer"}})
    with pytest.raises(MappingError) as caught:
        plan_update(document.rules[0], {"id": "1", "seats": [1]})
    assert caught.value.message.startswith("rule 'r': field Seats (seats) as integer: ")
    assert (caught.value.rule, caught.value.value_type) == ("r", "array")


def test_empty_text_is_sent_to_a_text_field_and_is_no_value_for_any_other():
    document = mapping({
        "Description": "d",
        "Notes": {"path": "t", "type": "textarea"},
        "Seats": {"path": "n", "type": "integer"},
        "Tier": {"path": "tier", "type": "picklist", "default": "Standard"},
    })
    plan = plan_update(document.rules[0], {"id": "1", "d": "", "t": "", "n": "", "tier": ""})
    assert plan.body["data"] == [{"Description": "", "Notes": "", "Tier": "Standard"}]


def test_a_default_replaces_only_a_missing_or_unmapped_value():
    document = mapping({
        "Kept": {"path": "k", "default": "fallback"},
        "Label": {"path": "label", "map": {"g": "Gold"}, "default": "Standard"},
        "Interests": {"path": "tags", "type": "multiselect", "map": {"a": "Alpha"},
                      "default": ["None"]},
    })
    plan = plan_update(document.rules[0],
                       {"id": "1", "k": "given", "label": "unknown", "tags": ["a"]})
    # A text field's unmapped value takes the default; a multiselect maps item by item.
    assert plan.body["data"] == [{"Kept": "given", "Label": "Standard", "Interests": ["Alpha"]}]


def test_a_template_reads_headers_and_is_omitted_when_none_of_its_parts_exists():
    document = mapping({"Summary": {"template": "{x} and {y}"},
                        "Origin": {"template": "from {header:X-Origin}"},
                        "Partial": {"template": "{x}/{z}"}})
    plan = plan_update(document.rules[0], {"id": "1", "z": "zed"}, {"x-origin": "shop"})
    assert plan.body["data"] == [{"Origin": "from shop", "Partial": "/zed"}]
