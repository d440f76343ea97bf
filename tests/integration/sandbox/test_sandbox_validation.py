"""Field values are checked by type, length, picklist, lookup and uniqueness, as Zoho does."""

from __future__ import annotations

import pytest

GOOD_VALUES = [
    ("Full_Address", "1 Main St, Springfield"),
    ("Notes_Field", "line one\nline two"),
    ("Alt_Email", "ada@example.com"),
    ("Alt_Phone", "+44 (20) 7946-0958"),
    ("Homepage", "https://www.example.com/about"),
    ("Homepage", "www.example.com"),
    ("Customer_Tier", "Gold"),
    ("Interests", ["Billing", "Support"]),
    ("Seats", 999999999),
    ("Lifetime_Events", 123456789012345678),
    ("Lifetime_Events", "123456789012345678"),
    ("Score", 12.5),
    ("Balance", 1234.56),
    ("Discount", 12.5),
    ("Delinquent", False),
    ("Signup_Date", "2026-02-28"),
    ("Last_Payment_At", "2026-02-28T13:45:00+05:30"),
    ("Secondary_Owner", {"id": "4150868000000225027"}),
]

BAD_TYPES = [
    ("Full_Address", 12, "text"),
    ("Alt_Email", "not-an-email", "email"),
    ("Alt_Phone", "call me", "phone"),
    ("Homepage", "not a url", "website"),
    ("Customer_Tier", 3, "picklist"),
    ("Interests", "Billing", "multiselectpicklist"),
    ("Seats", "5", "integer"),
    ("Seats", 2.5, "integer"),
    ("Lifetime_Events", "12x", "bigint"),
    ("Score", "1.5", "double"),
    ("Balance", True, "currency"),
    ("Discount", "10%", "percent"),
    ("Delinquent", "true", "boolean"),
    ("Signup_Date", "28/02/2026", "date"),
    ("Signup_Date", "2026-02-30", "date"),
    ("Last_Payment_At", "2026-02-28T13:45:00.123+00:00", "datetime"),
    ("Last_Payment_At", "2026-02-28T13:45:00", "datetime"),
    ("Account_Name", "4150868000000000001", "lookup"),
    ("Secondary_Owner", {"name": "Priya"}, "ownerlookup"),
]


@pytest.fixture
def contact_id(sandbox):
    return sandbox.seed("Contacts", {"Last_Name": "Lovelace"})[0]


@pytest.mark.parametrize(("api_name", "value"), GOOD_VALUES)
def test_a_well_formed_value_of_each_type_is_stored(sandbox, contact_id, api_name, value):
    answer = sandbox.update("Contacts", contact_id, {api_name: value})
    assert answer.status_code == 200, answer.json()
    stored = sandbox.state("Contacts", contact_id)["fields"][api_name]
    if api_name == "Lifetime_Events":
        assert stored == str(value)
    elif api_name == "Secondary_Owner":
        assert stored["id"] == value["id"]
        assert stored["name"] == "Priya Raman"
    else:
        assert stored == value


@pytest.mark.parametrize(("api_name", "value", "expected_type"), BAD_TYPES)
def test_a_value_of_the_wrong_type_is_invalid_data_naming_the_expected_type(
    sandbox, contact_id, api_name, value, expected_type
):
    answer = sandbox.update("Contacts", contact_id, {api_name: value})
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["status"] == "error"
    assert item["details"] == {
        "expected_data_type": expected_type,
        "api_name": api_name,
        "json_path": f"$.data[0].{api_name}",
    }


def test_an_unknown_field_api_name_is_invalid_data(sandbox, contact_id):
    answer = sandbox.update("Contacts", contact_id, {"Shoe_Size": 42})
    assert answer.json()["data"][0] == {
        "code": "INVALID_DATA",
        "details": {"api_name": "Shoe_Size", "json_path": "$.data[0].Shoe_Size"},
        "message": "the field api name given seems to be invalid",
        "status": "error",
    }


def test_a_value_longer_than_the_field_is_invalid_data_with_maximum_length(sandbox, contact_id):
    answer = sandbox.update("Contacts", contact_id, {"First_Name": "x" * 41})
    [item] = answer.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["details"] == {
        "maximum_length": 40,
        "api_name": "First_Name",
        "json_path": "$.data[0].First_Name",
    }
    too_long_phone = sandbox.update("Contacts", contact_id, {"Phone": "1" * 31})
    assert too_long_phone.json()["data"][0]["details"]["maximum_length"] == 30


def test_integers_over_nine_digits_and_bigints_over_eighteen_are_refused(sandbox, contact_id):
    seats = sandbox.update("Contacts", contact_id, {"Seats": 1_000_000_000})
    assert seats.json()["data"][0]["details"]["maximum_length"] == 9
    events = sandbox.update("Contacts", contact_id, {"Lifetime_Events": "1" * 19})
    assert events.json()["data"][0]["details"]["maximum_length"] == 18


def test_a_picklist_value_outside_the_list_is_invalid_data_with_supported_values(
    sandbox, contact_id
):
    answer = sandbox.update("Contacts", contact_id, {"Customer_Tier": "Platinum"})
    [item] = answer.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["details"]["supported_values"] == ["Gold", "Silver", "Standard"]
    assert item["details"]["api_name"] == "Customer_Tier"
    multi = sandbox.update("Contacts", contact_id, {"Interests": ["Billing", "Golf"]})
    assert "Billing" in multi.json()["data"][0]["details"]["supported_values"]


def test_a_read_only_field_is_invalid_data_saying_it_is_read_only(sandbox, contact_id):
    for api_name, value in (("Created_Time", "2026-01-01T00:00:00+00:00"),
                            ("Contact_Number", "C-9"), ("Full_Name", "X")):
        answer = sandbox.update("Contacts", contact_id, {api_name: value})
        [item] = answer.json()["data"]
        assert item["code"] == "INVALID_DATA"
        assert item["details"]["api_name"] == api_name
        assert "read only" in item["message"]


def test_a_missing_mandatory_field_on_insert_is_mandatory_not_found(sandbox):
    answer = sandbox.crm("POST", "Leads", json={"data": [{"Last_Name": "Only"}]})
    assert answer.status_code == 400
    assert answer.json()["data"][0] == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Company", "json_path": "$.data[0].Company"},
        "message": "required field not found",
        "status": "error",
    }


@pytest.mark.parametrize("empty", [None, ""])
def test_clearing_a_mandatory_field_on_update_is_mandatory_not_found(sandbox, contact_id, empty):
    answer = sandbox.update("Contacts", contact_id, {"Last_Name": empty})
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "MANDATORY_NOT_FOUND"
    assert item["details"]["api_name"] == "Last_Name"


def test_null_clears_an_optional_field(sandbox, contact_id):
    sandbox.update("Contacts", contact_id, {"Seats": 4})
    assert sandbox.update("Contacts", contact_id, {"Seats": None}).status_code == 200
    assert sandbox.state("Contacts", contact_id)["fields"]["Seats"] is None


def test_a_unique_value_held_by_another_record_is_duplicate_data(sandbox, contact_id):
    [other] = sandbox.seed("Contacts", {"Last_Name": "Byron", "Email": "lord@example.com"})
    answer = sandbox.update("Contacts", contact_id, {"Email": "LORD@example.com"})
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "DUPLICATE_DATA"
    assert item["details"]["api_name"] == "Email"
    assert item["details"]["duplicate_record"]["id"] == other
    assert item["details"]["duplicate_record"]["module"]["api_name"] == "Contacts"
    insert = sandbox.crm("POST", "Accounts", json={"data": [{"Account_Name": "Acme"},
                                                            {"Account_Name": "Acme"}]})
    assert insert.status_code == 207
    assert insert.json()["data"][1]["code"] == "DUPLICATE_DATA"


def test_a_record_may_keep_its_own_unique_value(sandbox):
    [record_id] = sandbox.seed("Contacts", {"Last_Name": "A", "Email": "a@example.com"})
    answer = sandbox.update("Contacts", record_id, {"Email": "a@example.com", "Seats": 1})
    assert answer.status_code == 200


def test_a_lookup_must_point_at_an_existing_record_of_its_module(sandbox, contact_id):
    [account] = sandbox.seed("Accounts", {"Account_Name": "Analytical Engines"})
    ok = sandbox.update("Contacts", contact_id, {"Account_Name": {"id": account}})
    assert ok.status_code == 200
    stored = sandbox.state("Contacts", contact_id)["fields"]["Account_Name"]
    assert stored == {"name": "Analytical Engines", "id": account}
    wrong_module = sandbox.update("Contacts", contact_id, {"Account_Name": {"id": contact_id}})
    [item] = wrong_module.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["details"]["api_name"] == "Account_Name"
    assert item["details"]["expected_data_type"] == "lookup"


def test_an_owner_must_be_a_known_user(sandbox, contact_id):
    answer = sandbox.update("Contacts", contact_id, {"Owner": {"id": "4150868000000000042"}})
    [item] = answer.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["details"]["expected_data_type"] == "ownerlookup"
    users = sandbox.control("users", method="GET")["users"]
    ok = sandbox.update("Contacts", contact_id, {"Owner": {"id": users[1]["id"]}})
    assert ok.status_code == 200


def test_append_values_must_name_a_multiselect_field(sandbox, contact_id):
    answer = sandbox.update("Contacts", contact_id, {"Seats": 1, "$append_values": {"Seats": True}})
    assert answer.json()["data"][0]["code"] == "INVALID_DATA"


def test_derived_fields_follow_the_fields_they_derive_from(sandbox):
    [deal] = sandbox.seed("Deals", {"Deal_Name": "Big", "Stage": "Qualification"})
    sandbox.update("Deals", deal, {"Amount": 1000, "Probability": 25})
    assert sandbox.state("Deals", deal)["fields"]["Expected_Revenue"] == 250
    missing_stage = sandbox.crm("POST", "Deals", json={"data": [{"Deal_Name": "No stage"}]})
    assert missing_stage.json()["data"][0]["details"]["api_name"] == "Stage"
