"""The record a rule updates: its key read from the payload or a header, or the exact refusal."""

import pytest

from chalicelib.errors import MappingError
from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.engine import plan_update


def rule(record):
    return parse_mapping({"source": "s", "rules": [{
        "name": "r", "module": "Deals", "record": record, "fields": {"Amount": "a"}}]}).rules[0]


def refusal(record, body):
    with pytest.raises(MappingError) as caught:
        plan_update(rule(record), body)
    error = caught.value
    return error.message, error.rule, error.field, error.path, error.value_type


@pytest.mark.parametrize("record, body, refused", [
    ({"id": "k"}, {"k": None}, ("rule 'r': record.id (k) gives no usable record key", "r",
                                "record.id", "k", "null")),
    ({"id": "k"}, {"k": 1.5}, ("rule 'r': record.id (k) gives no usable record key", "r",
                               "record.id", "k", "number")),
    ({"search": {"field": "Email", "value": "k"}}, {"k": "  "},
     ("rule 'r': record.search (k) gives an empty value to search for", "r", "record.search",
      "k", "string")),
    ({"id": "k"}, {"k": "12a"}, ("rule 'r': record.id (k) is not a Zoho record id", "r",
                                 "record.id", "k", "string")),
    ({"id": "k"}, {"k": "1" * 20}, ("rule 'r': record.id (k) is not a Zoho record id", "r",
                                    "record.id", "k", "string")),
])
def test_a_record_key_that_cannot_be_used_is_refused_naming_rule_locator_and_path(
        record, body, refused):
    assert refusal(record, body) == refused


def test_a_key_that_could_leave_the_record_url_is_refused_as_such():
    message, *where = refusal({"external": {"field": "Ref", "value": "k"}}, {"k": ".."})
    assert message.startswith("rule 'r': record.external (k) ")
    assert message.endswith(": a record key must address exactly one record")
    assert where == ["r", "record.external", "k", "string"]


def test_a_searched_value_is_kept_whole_even_with_characters_a_path_refuses():
    plan = plan_update(rule({"search": {"field": "Email", "value": "k"}}), {"k": " a/b .. "})
    assert (plan.record, plan.search_field) == ("a/b ..", "Email")


def test_a_record_key_may_come_from_a_header():
    plan = plan_update(rule({"id": "header:X-Record"}), {"a": 1}, {"x-record": " 123 "})
    assert plan.record == "123"
    assert plan_update(rule({"id": "k"}), {"k": 1234}).record == "1234"
