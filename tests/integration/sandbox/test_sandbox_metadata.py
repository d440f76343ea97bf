"""`GET /crm/v8/settings/fields`: Zoho-shaped field metadata for the four modules."""

from __future__ import annotations

import pytest

MODULES = ("Leads", "Contacts", "Accounts", "Deals")
ALL_TYPES = {
    "text", "textarea", "email", "phone", "website", "picklist", "multiselectpicklist",
    "integer", "bigint", "double", "currency", "percent", "boolean", "date", "datetime",
    "lookup", "ownerlookup",
}
CONTACT_CUSTOM = {
    "Stripe_Customer_Id": "text",
    "Customer_Tier": "picklist",
    "Interests": "multiselectpicklist",
    "Balance": "currency",
    "Delinquent": "boolean",
    "Last_Payment_At": "datetime",
    "Signup_Date": "date",
    "Seats": "integer",
    "Lifetime_Events": "bigint",
    "Score": "double",
    "Discount": "percent",
    "Notes_Field": "textarea",
    "Homepage": "website",
    "Alt_Phone": "phone",
    "Alt_Email": "email",
    "Secondary_Owner": "ownerlookup",
}
KEYS = {
    "api_name", "field_label", "data_type", "json_type", "length", "decimal_place", "read_only",
    "field_read_only", "operation_type", "system_mandatory", "unique", "pick_list_values",
    "lookup", "external", "custom_field",
}


def fields_of(sandbox, module):
    answer = sandbox.crm("GET", "settings/fields", params={"module": module})
    assert answer.status_code == 200
    return {field["api_name"]: field for field in answer.json()["fields"]}


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_custom_fields_of_every_writable_type(sandbox, module):
    fields = fields_of(sandbox, module)
    custom_types = {f["data_type"] for f in fields.values() if f["custom_field"]}
    assert ALL_TYPES <= custom_types
    for field in fields.values():
        assert KEYS <= set(field)
        assert set(field["operation_type"]) == {"api_create", "api_update", "web_create",
                                                "web_update"}


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_one_external_id_a_unique_and_a_read_only_field(sandbox, module):
    fields = fields_of(sandbox, module).values()
    external = [f for f in fields if f["external"]]
    assert len(external) == 1
    assert external[0]["external"]["show"] is True
    assert external[0]["data_type"] == "text"
    assert any(f["unique"] for f in fields)
    read_only = [f for f in fields if f["field_read_only"]]
    assert {"Created_Time", "Modified_Time"} <= {f["api_name"] for f in read_only}
    assert all(not f["operation_type"]["api_update"] for f in read_only)


def test_contacts_carries_the_custom_fields_the_example_mappings_use(sandbox):
    fields = fields_of(sandbox, "Contacts")
    for api_name, data_type in CONTACT_CUSTOM.items():
        assert fields[api_name]["data_type"] == data_type
        assert fields[api_name]["custom_field"] is True
    assert fields["Stripe_Customer_Id"]["external"]["type"] == "user"
    assert fields["Stripe_Customer_Id"]["unique"]
    assert fields["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    assert fields["Last_Name"]["system_mandatory"] is True
    assert fields["Email"]["unique"]


def test_picklist_values_have_zoho_shape(sandbox):
    tiers = fields_of(sandbox, "Contacts")["Customer_Tier"]["pick_list_values"]
    assert [v["actual_value"] for v in tiers] == ["Gold", "Silver", "Standard"]
    assert set(tiers[0]) >= {"display_value", "actual_value", "reference_value", "type", "id",
                             "sequence_number"}
    assert tiers[0]["type"] == "used"
    assert len(tiers[0]["id"]) == 19


def test_standard_fields_match_zoho_names_and_types(sandbox):
    leads = fields_of(sandbox, "Leads")
    assert leads["Company"]["system_mandatory"] is True
    assert leads["Lead_Status"]["data_type"] == "picklist"
    assert leads["Owner"]["data_type"] == "ownerlookup"
    accounts = fields_of(sandbox, "Accounts")
    assert accounts["Account_Name"]["unique"]
    assert accounts["Website"]["data_type"] == "website"
    assert accounts["Annual_Revenue"]["data_type"] == "currency"
    deals = fields_of(sandbox, "Deals")
    assert deals["Stage"]["system_mandatory"] is True
    assert deals["Closing_Date"]["data_type"] == "date"
    assert deals["Contact_Name"]["lookup"]["module"]["api_name"] == "Contacts"


def test_fields_of_an_unknown_module_is_invalid_module(sandbox):
    answer = sandbox.crm("GET", "settings/fields", params={"module": "Widgets"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_MODULE"
    missing = sandbox.crm("GET", "settings/fields")
    assert missing.status_code == 400
    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_org_endpoint_names_the_sandbox_organisation(sandbox):
    answer = sandbox.crm("GET", "org")
    assert answer.status_code == 200
    org = answer.json()["org"]
    assert len(org) == 1
    assert org[0]["company_name"] == "Sandbox Org"
    assert org[0]["id"].isdigit()


def test_org_endpoint_needs_a_token(sandbox):
    import requests

    answer = requests.get(f"{sandbox.url}/crm/v8/org", timeout=10)
    assert answer.status_code == 401
