"""Each value of a planned update judged against its field's metadata, as the preview says it."""

import math

import pytest

from chalicelib.mapping.validation import (
    check_against_fields,
    modules_named,
    picklist_values,
    planned_value_problem,
)

PICKLIST = [{"actual_value": "Stripe"}, {"actual_value": "Paddle"},
            {"actual_value": "Old", "type": "unused"}, "not a value"]


def meta(data_type, **more):
    return {"api_name": "F", "data_type": data_type, **more}


@pytest.mark.parametrize("field, value, problem", [
    # read-only in every way Zoho says it
    (meta("formula"), 1, "is a formula field: Zoho computes it"),
    (meta("autonumber"), "1", "is an auto-number field: Zoho numbers it"),
    (meta("text", field_read_only=True), "x", "is read-only through Zoho's API"),
    (meta("text", read_only=True), "x", "is read-only through Zoho's API"),
    (meta("text", operation_type={"api_update": False}), "x", "is read-only through Zoho's API"),
    (meta("text", operation_type={"api_update": True}), "x", None),
    (meta("text", operation_type={"api_update": None}), "x", None),
    (meta("text", operation_type=["api_update"]), "x", None),
    (meta("text", field_read_only=False, read_only=False), "x", None),
    # clearing
    (meta("text", system_mandatory=True), None, "is mandatory and Zoho refuses to clear it"),
    (meta("text"), None, None),
    (meta("integer", system_mandatory=False), None, None),
    # text and its length
    (meta("text"), 5, "takes text, not a number"),
    (meta("email"), True, "takes text, not a boolean"),
    (meta("phone"), [1], "takes text, not a list"),
    (meta("website"), {}, "takes text, not an object"),
    (meta("textarea", length=3), "abcd", "takes at most 3 characters, not 4"),
    (meta("textarea", length=3), "abc", None),
    (meta("text", length="3"), "abcd", None),
    (meta("text"), "a" * 5000, None),
    # picklists
    (meta("picklist", pick_list_values=PICKLIST), "Stripe", None),
    (meta("picklist", pick_list_values=PICKLIST), "Old",
     "takes only its picklist's values: Stripe, Paddle"),
    (meta("picklist", pick_list_values=PICKLIST), 1,
     "takes only its picklist's values: Stripe, Paddle"),
    (meta("picklist"), "Stripe", "takes only its picklist's values: (none)"),
    (meta("picklist", pick_list_values=PICKLIST), ["Stripe"],
     "takes only its picklist's values: Stripe, Paddle"),
    (meta("multiselectpicklist", pick_list_values=PICKLIST), ["Stripe", "Paddle"], None),
    (meta("multiselectpicklist", pick_list_values=PICKLIST), [], None),
    (meta("multiselectpicklist", pick_list_values=PICKLIST), ["Stripe", "Nope"],
     "takes only its picklist's values: Stripe, Paddle"),
    (meta("multiselectpicklist", pick_list_values=PICKLIST), ["Stripe", 2],
     "takes only its picklist's values: Stripe, Paddle"),
    (meta("multiselectpicklist", pick_list_values=PICKLIST), "Stripe", "takes a list, not text"),
    # whole numbers
    (meta("integer"), 123456789, None),
    (meta("integer"), 1234567890, "takes at most 9 digits, not 10"),
    (meta("integer"), -123456789, None),
    (meta("integer"), -1234567890, "takes at most 9 digits, not 10"),
    (meta("integer", length=2), 99, None),
    (meta("integer", length=2), 100, "takes at most 2 digits, not 3"),
    (meta("integer"), True, "takes a whole number, not a boolean"),
    (meta("integer"), 1.5, "takes a whole number, not a number"),
    (meta("integer"), "12", "takes a whole number, not text"),
    (meta("integer"), None, None),
    (meta("bigint"), 123456789012345678, None),
    (meta("bigint"), 1234567890123456789, "takes at most 18 digits, not 19"),
    (meta("bigint"), "123456789012345678", None),
    (meta("bigint"), "-123456789012345678", None),
    (meta("bigint"), "1234567890123456789", "takes at most 18 digits, not 19"),
    (meta("bigint"), "-1234567890123456789", "takes at most 18 digits, not 19"),
    (meta("bigint"), "12a", "takes a whole number, not text"),
    (meta("bigint"), "", "takes a whole number, not text"),
    (meta("bigint"), False, "takes a whole number, not a boolean"),
    (meta("bigint"), [1], "takes a whole number, not a list"),
    (meta("bigint", length=3), "1000", "takes at most 3 digits, not 4"),
    # other numbers
    (meta("double"), 1.5, None),
    (meta("currency"), 2, None),
    (meta("percent"), -0.5, None),
    (meta("double"), math.inf, "takes a number, not a number"),
    (meta("currency"), math.nan, "takes a number, not a number"),
    (meta("percent"), True, "takes a number, not a boolean"),
    (meta("double"), "1.5", "takes a number, not text"),
    (meta("currency"), {"a": 1}, "takes a number, not an object"),
    # booleans, dates, lookups
    (meta("boolean"), False, None),
    (meta("boolean"), True, None),
    (meta("boolean"), 0, "takes true or false, not a number"),
    (meta("boolean"), "true", "takes true or false, not text"),
    (meta("date"), "2026-11-29", None),
    (meta("date"), "2026-11-29T10:00:00+00:00", "takes yyyy-MM-dd"),
    (meta("date"), "x2026-11-29", "takes yyyy-MM-dd"),
    (meta("date"), 20261129, "takes yyyy-MM-dd"),
    (meta("datetime"), "2026-11-29T10:00:00+01:00", None),
    (meta("datetime"), "2026-11-29T10:00:00-05:30", None),
    (meta("datetime"), "2026-11-29T10:00:00Z", "takes yyyy-MM-ddTHH:mm:ss+HH:MM"),
    (meta("datetime"), "2026-11-29", "takes yyyy-MM-ddTHH:mm:ss+HH:MM"),
    (meta("datetime"), "2026-11-29T10:00:00+01:00x", "takes yyyy-MM-ddTHH:mm:ss+HH:MM"),
    (meta("datetime"), 1, "takes yyyy-MM-ddTHH:mm:ss+HH:MM"),
    (meta("lookup"), {"id": "4876876000000624001"}, None),
    (meta("ownerlookup"), {"id": "1"}, None),
    (meta("lookup"), {"id": "12345678901234567890"}, 'takes {"id": "<record id>"}'),
    (meta("lookup"), {"id": "12a"}, 'takes {"id": "<record id>"}'),
    (meta("lookup"), {"id": ""}, 'takes {"id": "<record id>"}'),
    (meta("lookup"), {"id": 12}, 'takes {"id": "<record id>"}'),
    (meta("ownerlookup"), "12", 'takes {"id": "<record id>"}'),
    (meta("lookup"), {"name": "x"}, 'takes {"id": "<record id>"}'),
    # what the adapter does not write
    (meta("fileupload"), "x", "is a fileupload field, which this adapter does not write"),
    ({"api_name": "F"}, "x", "is a  field, which this adapter does not write"),
])
def test_a_planned_value_is_judged_by_the_fields_type(field, value, problem):
    assert planned_value_problem(field, value) == problem


def test_a_planned_value_problem_never_quotes_the_value():
    secret = "s3cr3t-value-" * 30
    for data_type in ("text", "picklist", "integer", "bigint", "double", "boolean", "date",
                      "datetime", "lookup", "fileupload"):
        problem = planned_value_problem(meta(data_type, length=10), secret)
        assert problem is not None and "s3cr3t" not in problem


@pytest.mark.parametrize(("count", "ending"), [(12, ""), (13, " and 1 more"),
                                               (15, " and 3 more")])
def test_a_picklist_shows_at_most_twelve_values_and_counts_the_rest(count, ending):
    values = [{"actual_value": f"v{n}"} for n in range(count)]
    problem = planned_value_problem(meta("picklist", pick_list_values=values), "nope")
    assert problem == ("takes only its picklist's values: v0, v1, v2, v3, v4, v5, v6, v7, v8, "
                       "v9, v10, v11" + ending)


def test_picklist_values_are_the_actual_values_in_use_as_text():
    assert picklist_values(meta("picklist", pick_list_values=PICKLIST)) == ["Stripe", "Paddle"]
    assert picklist_values(meta("picklist", pick_list_values=[{"actual_value": 7}])) == ["7"]
    assert picklist_values(meta("picklist", pick_list_values={"a": 1})) == []
    assert picklist_values(meta("picklist")) == []


def test_the_modules_a_document_names_come_once_each_in_order():
    raw = {"rules": [{"module": "Deals"}, {"module": "Contacts"}, {"module": "Deals"},
                     {"module": ""}, {"module": 3}, "rule", {}]}
    assert modules_named(raw) == ["Deals", "Contacts"]
    assert modules_named({"rules": "Deals"}) == []
    assert modules_named(["Deals"]) == []


FIELDS = [
    {"api_name": "Last_Name", "data_type": "text", "system_mandatory": True},
    {"api_name": "Email", "data_type": "email", "external": True},
    {"api_name": "Secondary", "data_type": "email"},
    {"api_name": "Source", "data_type": "picklist", "pick_list_values": PICKLIST},
    {"api_name": "Tags", "data_type": "multiselectpicklist", "pick_list_values": PICKLIST},
    {"api_name": "Score", "data_type": "integer"},
    {"api_name": "Hidden", "data_type": "text", "operation_type": {"api_update": False}},
    {"api_name": "Blob", "data_type": "fileupload"},
    {"api_name": "Agreed", "data_type": "boolean"},
]


def rule(**more):
    return {"name": "r", "module": "Contacts",
            "record": {"external": {"field": "Email", "path": "data.email"}}, **more}


def report_of(*rules, modules=None):
    return check_against_fields({"rules": list(rules)},
                                modules if modules is not None else {"Contacts": FIELDS})


def test_a_mapping_that_fits_has_no_problem_and_notes_the_unmapped_mandatory_field():
    report = report_of(rule(fields={"Email": "data.email", "Source": {"value": "Stripe"}}))
    assert report.problems == []
    assert report.notes == [
        "rules[0] (rule r) updates existing Contacts records and creates none, so the mandatory "
        "fields of Contacts (Last_Name) need not be mapped"]


def test_a_mapped_mandatory_field_is_not_noted():
    report = report_of(rule(fields={"Last_Name": "data.name"}))
    assert report.problems == [] and report.notes == []


def test_rules_of_modules_not_looked_up_and_malformed_rules_are_skipped():
    report = report_of("rule", {"module": 5}, rule(module="Deals", fields={"Nope": "x"}))
    assert report.problems == [] and report.notes == []


def test_an_unknown_module_is_named_with_its_rule():
    report = report_of({"module": "Contact"}, modules={"Contact": None})
    assert report.problems == [
        "rules[0].module: Zoho has no module 'Contact' (rule rules[0]); use the module's API "
        "name, such as Contacts"]


def test_a_field_far_from_any_name_says_where_to_find_the_api_name():
    report = report_of(rule(fields={"Zzzzzzzz": "x"}))
    assert report.problems == [
        "rules[0].fields.Zzzzzzzz: Contacts has no field 'Zzzzzzzz' (rule r); check the API "
        "name in Zoho's field settings"]


def test_a_locator_on_a_field_that_is_not_external_says_to_search_instead():
    report = report_of(rule(record={"external": {"field": "Secondary", "path": "p"}},
                            fields={"Last_Name": "x"}))
    assert report.problems == [
        "rules[0].record.external.field: Contacts.Secondary is not an External ID field (rule "
        'r); mark it External in Zoho, or find the record with {"search": {"field": ..., '
        '"value": ...}}']


def test_a_search_locator_may_use_any_field_that_exists():
    ok = report_of(rule(record={"search": {"field": "Secondary", "value": "p"}},
                        fields={"Last_Name": "x"}))
    missing = report_of(rule(record={"search": {"field": "Secondery", "value": "p"}},
                             fields={"Last_Name": "x"}))
    assert ok.problems == []
    assert missing.problems == [
        "rules[0].record.search.field: Contacts has no field 'Secondery' (rule r); did you mean "
        "'Secondary'?"]


@pytest.mark.parametrize("record", [
    {"id": {"path": "p"}}, {"external": "Email"}, {"external": {"field": 3}},
    {"external": {"field": "Nope"}, "search": {"field": "Nope"}}, "Email",
])
def test_locators_of_other_shapes_are_left_to_the_shape_check(record):
    assert report_of(rule(record=record, fields={"Last_Name": "x"})).problems == []


def test_a_field_updates_cannot_set_is_refused_with_how_it_is_read_only():
    report = report_of(rule(fields={"Last_Name": "x", "Hidden": "data.h"}))
    assert report.problems == [
        "rules[0].fields.Hidden: Contacts.Hidden is read-only through Zoho's API (rule r); "
        "remove it from the rule"]


def test_a_type_zoho_has_no_adapter_type_for_says_to_remove_the_field():
    report = report_of(rule(fields={"Last_Name": "x", "Blob": {"path": "p"}}))
    assert report.problems == [
        "rules[0].fields.Blob: Contacts.Blob is a fileupload field in Zoho, which type 'string' "
        "does not fill (rule r); this adapter cannot write it; remove it from the rule"]


def test_a_wrong_type_names_the_type_to_set_with_its_article():
    report = report_of(rule(fields={"Last_Name": "x", "Score": {"path": "p", "type": "boolean"},
                                    "Agreed": {"path": "p", "type": "integer"}}))
    assert report.problems == [
        "rules[0].fields.Score: Contacts.Score is an integer field in Zoho, which type "
        "'boolean' does not fill (rule r); set \"type\": \"integer\"",
        "rules[0].fields.Agreed: Contacts.Agreed is a boolean field in Zoho, which type "
        "'integer' does not fill (rule r); set \"type\": \"boolean\""]


def test_an_unknown_type_is_left_to_the_shape_check():
    assert report_of(rule(fields={"Last_Name": {"path": "p", "type": "weird"}})).problems == []


def test_picklist_values_from_value_default_and_map_are_each_checked():
    report = report_of(rule(fields={"Last_Name": "x", "Source": {
        "path": "p", "value": "Stripe", "default": "Nope", "map": {"a": "Paddle", "b": "Bad",
                                                                   "c": None}}}))
    assert report.problems == [
        "rules[0].fields.Source.default: 'Nope' is not a value of the picklist Contacts.Source "
        "(rule r); use one of Stripe, Paddle",
        "rules[0].fields.Source.map: 'Bad' is not a value of the picklist Contacts.Source "
        "(rule r); use one of Stripe, Paddle"]


def test_a_single_picklist_value_is_checked_whole_even_when_it_has_the_separator():
    report = report_of(rule(fields={"Last_Name": "x", "Source": {
        "path": "p", "value": "Stripe;Paddle", "split": ";"}}))
    assert report.problems == [
        "rules[0].fields.Source.value: 'Stripe;Paddle' is not a value of the picklist "
        "Contacts.Source (rule r); use one of Stripe, Paddle"]


def test_multiselect_values_are_split_and_each_part_checked():
    report = report_of(rule(fields={"Last_Name": "x", "Tags": {
        "path": "p", "type": "multiselect", "value": " Stripe ; Bad ;; ", "split": ";",
        "default": ["Paddle", "Worse"], "map": {"a": ["Stripe", "Nope"], "b": "Stripe;Paddle"}}}))
    assert report.problems == [
        "rules[0].fields.Tags.value: 'Bad' is not a value of the picklist Contacts.Tags "
        "(rule r); use one of Stripe, Paddle",
        "rules[0].fields.Tags.default: 'Worse' is not a value of the picklist Contacts.Tags "
        "(rule r); use one of Stripe, Paddle",
        "rules[0].fields.Tags.map: 'Nope' is not a value of the picklist Contacts.Tags "
        "(rule r); use one of Stripe, Paddle",
        "rules[0].fields.Tags.map: 'Stripe;Paddle' is not a value of the picklist Contacts.Tags "
        "(rule r); use one of Stripe, Paddle"]


def test_a_multiselect_value_without_a_separator_is_checked_whole():
    report = report_of(rule(fields={"Last_Name": "x", "Tags": {
        "path": "p", "type": "multiselect", "value": "Stripe;Paddle", "split": ""}}))
    assert report.problems == [
        "rules[0].fields.Tags.value: 'Stripe;Paddle' is not a value of the picklist "
        "Contacts.Tags (rule r); use one of Stripe, Paddle"]


def test_clearing_a_mandatory_field_says_to_omit_instead():
    report = report_of(rule(fields={"Last_Name": {"path": "p", "null": "clear"},
                                    "Secondary": {"path": "p", "null": "clear"}}))
    assert report.problems == [
        "rules[0].fields.Last_Name.null: Contacts.Last_Name is mandatory and Zoho refuses to "
        'clear it (rule r); use "null": "omit"']


def test_a_document_or_rules_of_the_wrong_shape_give_no_field_problem():
    assert check_against_fields(["rules"], {"Contacts": FIELDS}).problems == []
    assert check_against_fields({"rules": 5}, {"Contacts": FIELDS}).problems == []
    assert report_of(rule(fields="Email")).problems == []
    assert report_of(rule(fields=5)).problems == []


def test_rules_after_a_malformed_or_unlooked_rule_are_still_checked():
    report = report_of("rule", {"module": 5}, rule(module="Deals"),
                       rule(fields={"Last_Name": "x", "Nope": "p"}))
    assert report.problems == [
        "rules[3].fields.Nope: Contacts has no field 'Nope' (rule r); check the API name in "
        "Zoho's field settings"]


def test_every_unmapped_mandatory_field_is_named():
    fields = [*FIELDS, {"api_name": "Account", "data_type": "lookup", "system_mandatory": True}]
    report = report_of(rule(fields={"Email": "e"}), modules={"Contacts": fields})
    assert report.notes == [
        "rules[0] (rule r) updates existing Contacts records and creates none, so the mandatory "
        "fields of Contacts (Account, Last_Name) need not be mapped"]


def test_a_field_whose_type_zoho_does_not_say_cannot_be_written():
    fields = [*FIELDS, {"api_name": "Odd"}, {"api_name": "Xml", "data_type": "xml"}]
    report = report_of(rule(fields={"Last_Name": "x", "Odd": "p", "Xml": "p"}),
                       modules={"Contacts": fields})
    assert report.problems == [
        "rules[0].fields.Odd: Contacts.Odd is an  field in Zoho, which type 'string' does not "
        "fill (rule r); this adapter cannot write it; remove it from the rule",
        "rules[0].fields.Xml: Contacts.Xml is a xml field in Zoho, which type 'string' does not "
        "fill (rule r); this adapter cannot write it; remove it from the rule"]


def test_a_multiselect_default_is_split_as_the_value_is():
    report = report_of(rule(fields={"Last_Name": "x", "Tags": {
        "path": "p", "type": "multiselect", "default": "Stripe;Bad", "split": ";"}}))
    assert report.problems == [
        "rules[0].fields.Tags.default: 'Bad' is not a value of the picklist Contacts.Tags "
        "(rule r); use one of Stripe, Paddle"]
