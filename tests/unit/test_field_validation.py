"""A mapping checked against Zoho's field metadata: each problem names rule, field and the fix."""

import copy

import pytest

from chalicelib.mapping.check import check_mapping
from chalicelib.zoho.fields import CachedFieldMetadata, InMemoryFieldCacheStore, StaticFieldMetadata
from tests.fakes import RecordingFieldMetadata
from tests.sandbox_fields import sandbox_fields


def with_fields(example_mapping, **fields):
    document = copy.deepcopy(example_mapping)
    document["rules"][0]["fields"].update(fields)
    return document


def problems_of(document):
    checked = check_mapping(document, sandbox_fields())
    assert checked.document is None
    return checked.problems


def test_the_example_mapping_fits_the_sandboxs_fields(example_mapping):
    checked = check_mapping(example_mapping, sandbox_fields())
    assert checked.ok and checked.document is not None
    assert checked.modules == ["Contacts"]


def test_an_unknown_field_is_named_with_the_field_it_was_probably_meant_to_be(example_mapping):
    assert problems_of(with_fields(example_mapping, Mailing_Citty="data.city")) == [
        "rules[0].fields.Mailing_Citty: Contacts has no field 'Mailing_Citty' "
        "(rule contact-updated); did you mean 'Mailing_City'?"]


@pytest.mark.parametrize("field, why", [
    ("Full_Name", "read-only through Zoho's API"),
    ("Contact_Number", "an auto-number field: Zoho numbers it"),
])
def test_a_field_the_api_cannot_write_is_refused(example_mapping, field, why):
    assert problems_of(with_fields(example_mapping, **{field: "data.x"})) == [
        f"rules[0].fields.{field}: Contacts.{field} is {why} (rule contact-updated); "
        "remove it from the rule"]


def test_a_formula_field_is_refused(example_mapping):
    document = copy.deepcopy(example_mapping)
    document["rules"][0].update(module="Deals", fields={"Expected_Revenue": "data.x"})
    assert problems_of(document) == [
        "rules[0].fields.Expected_Revenue: Deals.Expected_Revenue is a formula field: Zoho "
        "computes it (rule contact-updated); remove it from the rule"]


@pytest.mark.parametrize("spec, where, value", [
    ({"path": "data.tier", "type": "picklist", "map": {"gold": "Platinum"}}, "map", "Platinum"),
    ({"value": "Bronze"}, "value", "Bronze"),
    ({"path": "data.tier", "default": "Basic"}, "default", "Basic"),
])
def test_a_picklist_value_zoho_does_not_allow_is_named_with_the_allowed_ones(
        example_mapping, spec, where, value):
    assert problems_of(with_fields(example_mapping, Customer_Tier=spec)) == [
        f"rules[0].fields.Customer_Tier.{where}: {value!r} is not a value of the picklist "
        "Contacts.Customer_Tier (rule contact-updated); use one of Gold, Silver, Standard"]


def test_multiselect_values_are_checked_one_by_one(example_mapping):
    spec = {"value": "Billing;Golf", "type": "multiselect", "split": ";"}
    assert problems_of(with_fields(example_mapping, Interests=spec)) == [
        "rules[0].fields.Interests.value: 'Golf' is not a value of the picklist "
        "Contacts.Interests (rule contact-updated); use one of Analytics, Automation, Billing, "
        "Integrations, Mobile, Reporting, Security, Support"]


@pytest.mark.parametrize("field, spec, zoho_type, fix", [
    ("Seats", "data.seats", "integer", 'set "type": "integer"'),
    ("Signup_Date", {"path": "data.d", "type": "datetime"}, "date", 'set "type": "date"'),
    ("Account_Name", "data.account", "lookup", 'set "type": "lookup"'),
    ("Email", {"path": "data.email", "type": "integer"}, "email", 'set "type": "email"'),
])
def test_a_type_that_does_not_fill_zohos_field_says_which_type_would(
        example_mapping, field, spec, zoho_type, fix):
    kind = spec["type"] if isinstance(spec, dict) else "string"
    article = "an" if zoho_type[0] in "aeiou" else "a"
    assert problems_of(with_fields(example_mapping, **{field: spec})) == [
        f"rules[0].fields.{field}: Contacts.{field} is {article} {zoho_type} field in Zoho, "
        f"which type {kind!r} does not fill (rule contact-updated); {fix}"]


def test_a_constant_fills_a_picklist_without_a_type_and_a_text_type_fills_an_email(
        example_mapping):
    document = with_fields(example_mapping, Lead_Source={"value": "Stripe"},
                           Secondary_Email="data.email2", Description={"template": "{data.x}"})
    assert check_mapping(document, sandbox_fields()).ok


def test_an_unknown_module_and_bad_locator_fields_are_refused(example_mapping):
    document = copy.deepcopy(example_mapping)
    first = document["rules"][0]
    document["rules"] = [
        {**first, "name": "a", "module": "Contactz"},
        {**first, "name": "b", "record": {"external": {"field": "Email", "value": "x"}}},
        {**first, "name": "c", "record": {"search": {"field": "E_mail", "value": "x"}}},
    ]
    assert problems_of(document) == [
        "rules[0].module: Zoho has no module 'Contactz' (rule a); use the module's API name, "
        "such as Contacts",
        "rules[1].record.external.field: Contacts.Email is not an External ID field (rule b); "
        'mark it External in Zoho, or find the record with {"search": {"field": ..., '
        '"value": ...}}',
        "rules[2].record.search.field: Contacts has no field 'E_mail' (rule c); "
        "did you mean 'Email'?",
    ]


def test_clearing_a_mandatory_field_is_refused(example_mapping):
    spec = {"path": "data.last_name", "null": "clear"}
    assert problems_of(with_fields(example_mapping, Last_Name=spec)) == [
        "rules[0].fields.Last_Name.null: Contacts.Last_Name is mandatory and Zoho refuses to "
        'clear it (rule contact-updated); use "null": "omit"']


def test_mandatory_fields_a_rule_leaves_alone_are_noted_not_refused(example_mapping):
    document = copy.deepcopy(example_mapping)
    document["rules"][0]["fields"] = {"Email": {"path": "data.email", "type": "email"}}
    checked = check_mapping(document, sandbox_fields())
    assert checked.ok
    assert checked.notes == [
        "rules[0] (rule contact-updated) updates existing Contacts records and creates none, "
        "so the mandatory fields of Contacts (Last_Name) need not be mapped"]


def test_shape_and_field_problems_are_reported_together_in_one_pass(example_mapping):
    document = with_fields(example_mapping, Mailing_Citty={"pth": "data.city", "type": "str"})
    assert problems_of(document) == [
        "rules[0].fields.Mailing_Citty: unknown key 'pth'; did you mean 'path'?",
        "rules[0].fields.Mailing_Citty: needs exactly one of path, value or template",
        "rules[0].fields.Mailing_Citty.type: unknown type 'str'; did you mean 'string'? (one of "
        "bigint, boolean, currency, date, datetime, decimal, email, integer, lookup, "
        "multiselect, owner, percent, phone, picklist, string, textarea, url)",
        "rules[0].fields.Mailing_Citty: Contacts has no field 'Mailing_Citty' "
        "(rule contact-updated); did you mean 'Mailing_City'?",
    ]


def test_offline_checks_the_shape_alone_and_says_so(example_mapping):
    checked = check_mapping(with_fields(example_mapping, Mailing_Citty="x"), None)
    assert checked.ok and checked.offline and checked.modules == []


def test_a_problem_found_in_cached_metadata_is_checked_again_afresh(example_mapping):
    now = [1000.0]
    old = StaticFieldMetadata({"Contacts": [{"api_name": "Email", "data_type": "email"}]})
    store = InMemoryFieldCacheStore()
    CachedFieldMetadata(old, store, namespace="dev/default", clock=lambda: now[0]).fields(
        "Contacts")
    now[0] += 60  # within the cache's time, Zoho got the example's fields meanwhile
    cached = CachedFieldMetadata(sandbox_fields(), store, namespace="dev/default",
                                 clock=lambda: now[0])
    assert check_mapping(example_mapping, cached).ok
    assert cached.served_from_cache


def test_cached_metadata_is_used_within_its_time_and_read_again_after(example_mapping):
    now = [1000.0]
    source = RecordingFieldMetadata({"Contacts": [{"api_name": "Email", "data_type": "email"}]})
    cached = CachedFieldMetadata(source, InMemoryFieldCacheStore(), namespace="n", ttl=600,
                                 clock=lambda: now[0])
    cached.fields("Contacts")
    now[0] += 599
    cached.fields("Contacts")
    now[0] += 2
    cached.fields("Contacts")
    assert [module for module, _ in source.asked] == ["Contacts", "Contacts"]
