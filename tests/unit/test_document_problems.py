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


RULE = {"name": "r", "module": "Contacts", "record": {"id": "data.id"}, "fields": {"Email": "e"}}


@pytest.mark.parametrize(("rule", "expected"), [
    ("not a rule", ["rules[0]: a rule must be an object"]),
    ({**RULE, "name": "bad name!"},
     ["rules[0].name: every rule needs a name of letters, digits, '-' or '_'"]),
    ({**RULE, "trigger": ["email", "nope"]},
     ["rules[0].trigger: must be a list of approval, blueprint, orchestration, pathfinder, "
      "workflow"]),
    ({**RULE, "skip_cadences": "yes", "skip_unchanged": 1, "if_unmodified_since": "no"},
     ["rules[0].skip_cadences: must be true or false",
      "rules[0].skip_unchanged: must be true or false",
      "rules[0].if_unmodified_since: must be true or false"]),
    ({**RULE, "layout_id": 123}, ["rules[0].layout_id: must be a layout id as a string of digits"]),
    ({**RULE, "fields": {}},
     ["rules[0].fields: must map at least one Zoho field API name to a spec"]),
    ({**RULE, "record": {"id": "a", "external": {}}},
     ['rules[0].record: must be {"id": EXPR}, {"external": {"field": F, "value": EXPR}} or '
      '{"search": {"field": F, "value": EXPR}}']),
    ({**RULE, "record": {"external": {"field": "bad name", "value": "x", "extra": 1}}},
     ["rules[0].record.external: unknown key 'extra'",
      "rules[0].record.external.field: must be a Zoho field API name"]),
    ({**RULE, "fields": {"bad name": "e"}},
     ["rules[0].fields.bad name: is not a Zoho field API name"]),
    ({**RULE, "fields": {"Email": 5}},
     ["rules[0].fields.Email: must be a path string or an object"]),
    ({**RULE, "fields": {"Tier": {"path": "t", "map": ["a"]}}},
     ["rules[0].fields.Tier.map: must be an object of input value to output value"]),
    ({**RULE, "fields": {"Tags": {"path": "t", "required": "y", "append": 1, "truncate": "n"}}},
     ["rules[0].fields.Tags.required: must be true or false",
      "rules[0].fields.Tags.append: must be true or false",
      "rules[0].fields.Tags.truncate: must be true or false",
      "rules[0].fields.Tags.append: only applies to type multiselect"]),
])
def test_each_problem_of_a_rule_says_where_it_is_and_what_is_allowed(rule, expected):
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping({"source": "s", "rules": [rule]})
    assert caught.value.problems == expected


def test_a_when_that_is_no_jmespath_is_a_problem_of_the_rules_when():
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping({"source": "s", "rules": [{**RULE, "when": "a[?"}]})
    (problem,) = caught.value.problems
    assert problem.startswith("rules[0].when: 'a[?' is not valid JMESPath")


DOCUMENT = {"source": "s", "rules": [RULE]}
HMAC = {"scheme": "hmac", "secret_id": "zwa/webhook/s", "header": "X-Sig"}


@pytest.mark.parametrize(("document", "expected"), [
    ([1, 2], ["the mapping document must be a JSON object"]),
    ({**DOCUMENT, "colour": 1}, ["unknown key 'colour'"]),
    ({**DOCUMENT, "source": "bad source!"},
     ["source: must be a name of letters, digits, '-', '_' or '.'"]),
    ({**DOCUMENT, "rules": []}, ["rules: must be a non-empty list"]),
    ({**DOCUMENT, "rules": [RULE, RULE]}, ["rules: the rule name 'r' is used twice"]),
    ({**DOCUMENT, "max_body_bytes": 0, "enabled": "yes", "connection": "bad name"},
     ["max_body_bytes: must be a positive whole number", "enabled: must be true or false",
      "connection: must be a connection name"]),
    ({**DOCUMENT, "verify": "hmac"}, ["verify: must be an object"]),
    ({**DOCUMENT, "verify": {"scheme": "nope"}},
     ["verify.scheme: 'nope' is not supported; use one of calendly, github, hmac, hubspot-v3, "
      "none, shopify, standard-webhooks, stripe, typeform"]),
    ({**DOCUMENT, "verify": {"scheme": "hmac"}},
     ["verify.header: names the header carrying the signature"]),
    ({**DOCUMENT, "verify": {**HMAC, "tolerance_seconds": 0, "algorithm": "md5",
                             "encoding": "hexa", "prefix": 5}},
     ["verify.algorithm: must be sha1, sha256 or sha512",
      "verify.encoding: must be hex or base64", "verify.prefix: must be text",
      "verify.tolerance_seconds: the hmac scheme signs no timestamp (set timestamp_header)",
      "verify.tolerance_seconds: must be a positive whole number"]),
])
def test_each_problem_of_a_document_says_where_it_is_and_what_is_allowed(document, expected):
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping(document)
    assert caught.value.problems == expected


def test_a_signed_document_keeps_its_defaults():
    document = parse_mapping({**DOCUMENT, "verify": HMAC})
    verify = document.verify
    assert (verify.algorithm, verify.encoding, verify.prefix, verify.tolerance_seconds) == (
        "sha256", "hex", "", 300)
    assert (document.connection, document.enabled) == ("default", True)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"T": {"template": 5}}, ["rules[0].fields.T.template: must be text with {expression} slots"]),
    ({"T": {"path": "t", "max_length": 0}},
     ["rules[0].fields.T.max_length: must be a positive whole number"]),
    ({"T": {"path": "t", "split": 1, "timezone": 2, "format": 3}},
     ["rules[0].fields.T.split: must be text", "rules[0].fields.T.timezone: must be text",
      "rules[0].fields.T.format: must be text"]),
])
def test_each_problem_of_a_fields_options_is_named(fields, expected):
    assert problems(**fields) == expected


@pytest.mark.parametrize(("archive", "expected"), [
    (True, ['archive: must be {"days": N} or false']),
    ("7", ['archive: must be {"days": N} or false']),
    ({"weeks": 1}, ["archive: unknown key 'weeks'"]),
    ({"days": 0}, ["archive.days: must be a whole number from 1 to 90"]),
    ({"days": 91}, ["archive.days: must be a whole number from 1 to 90"]),
])
def test_an_archive_setting_out_of_bounds_is_a_problem(archive, expected):
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping({**DOCUMENT, "archive": archive})
    assert caught.value.problems == expected


def test_the_archive_keeps_seven_days_unless_told():
    assert [parse_mapping({**DOCUMENT, **extra}).archive_days
            for extra in ({}, {"archive": {"days": 3}}, {"archive": False})] == [7, 3, 0]


def test_a_fields_options_reach_its_conversion():
    document = parse_mapping({**DOCUMENT, "rules": [{**RULE, "record": {"id": "id"}, "fields": {
        "Description": {"path": "d", "max_length": 5, "truncate": True},
        "Tags": {"path": "t", "type": "multiselect", "split": ";"},
        "At": {"path": "at", "type": "datetime", "timezone": "Asia/Kolkata"},
        "On": {"path": "on", "type": "date", "format": "%d/%m/%Y"}}}]})
    plan = plan_update(document.rules[0], {"id": "1", "d": "abcdefgh", "t": "a;b",
                                           "at": 1700000000, "on": "15/01/2024"})
    assert plan.body["data"] == [{"Description": "abcde", "Tags": ["a", "b"],
                                  "At": "2023-11-15T03:43:20+05:30", "On": "2024-01-15"}]
