"""Every problem of a document in one pass, each with where it is and what to change."""

import pytest

from chalicelib.errors import MappingDocumentError
from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.engine import plan_update


def problems(rule_patch=None, **fields):
    rule = {"name": "r", "module": "Contacts", "record": {"id": "data.id"},
            "fields": fields or {"Email": "e"}, **(rule_patch or {})}
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping({"source": "s", "rules": [rule]})
    return caught.value.problems


def test_an_unknown_key_does_not_hide_an_unknown_type_in_the_same_field():
    assert problems(City={"pth": "data.city", "type": "str"}) == [
        "rules[0].fields.City: unknown key 'pth'; did you mean 'path'?",
        "rules[0].fields.City: needs exactly one of path, value or template",
        "rules[0].fields.City.type: unknown type 'str'; did you mean 'string'? (one of bigint, "
        "boolean, currency, date, datetime, decimal, email, integer, lookup, multiselect, owner, "
        "percent, phone, picklist, string, textarea, url)",
    ]


def test_options_of_a_field_without_a_source_are_checked_too():
    found = problems(Seats={"type": "integer", "scale": "ten", "null": "drop", "format": 3})
    assert found == [
        "rules[0].fields.Seats: needs exactly one of path, value or template",
        "rules[0].fields.Seats.null: must be omit or clear",
        "rules[0].fields.Seats.scale: must be a number",
        "rules[0].fields.Seats.format: must be text",
    ]


def test_a_bare_number_as_record_id_says_how_to_write_a_constant_id():
    (problem,) = problems({"record": {"id": "5725767000000524157"}})
    assert problem == (
        "rules[0].record.id: 5725767000000524157 is not an expression; for a constant record "
        "id write it as a JMESPath literal in single quotes: \"'5725767000000524157'\"")


def test_a_constant_record_id_written_as_a_literal_plans_that_record():
    document = parse_mapping({"source": "s", "rules": [{
        "name": "r", "module": "Contacts", "record": {"id": "'5725767000000524157'"},
        "fields": {"Description": "note"}}]})
    assert plan_update(document.rules[0], {"note": "x"}).record == "5725767000000524157"


def test_a_plan_names_the_fields_left_out_for_want_of_a_value_in_rule_order():
    document = parse_mapping({"source": "s", "rules": [{
        "name": "r", "module": "Contacts", "record": {"id": "id"},
        "fields": {"Phone": "phone", "Email": "email", "Mobile": {"path": "m", "null": "clear"},
                   "Title": {"path": "t", "default": "Customer"}, "City": "city"}}]})
    plan = plan_update(document.rules[0], {"id": "1", "email": "a@b.io", "phone": None})
    assert plan.omitted == ("Phone", "City")
    assert plan.body["data"][0] == {"Email": "a@b.io", "Mobile": None, "Title": "Customer"}
