"""Insert, read and update records: single, bulk, by External ID, If-Unmodified-Since, locks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .conftest import SandboxClient

RECORD_ID = re.compile(r"^\d{19}$")
ZOHO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
UNKNOWN_ID = "4150868000999999999"


def contact(**fields):
    return {"Last_Name": "Lovelace", **fields}


def test_insert_answers_201_with_zoho_success_details(sandbox):
    answer = sandbox.crm("POST", "Contacts", json={"data": [contact(First_Name="Ada")]})
    assert answer.status_code == 201
    item = answer.json()["data"][0]
    assert item["code"] == "SUCCESS"
    assert item["message"] == "record added"
    assert item["status"] == "success"
    details = item["details"]
    assert RECORD_ID.match(details["id"])
    assert ZOHO_TIME.match(details["Modified_Time"])
    assert ZOHO_TIME.match(details["Created_Time"])
    assert details["Modified_By"]["id"] == details["Created_By"]["id"]
    assert set(details["Modified_By"]) == {"name", "id"}


def test_insert_with_some_bad_records_answers_207_in_input_order(sandbox):
    answer = sandbox.crm("POST", "Contacts", json={"data": [contact(), {"First_Name": "x"}]})
    assert answer.status_code == 207
    codes = [item["code"] for item in answer.json()["data"]]
    assert codes == ["SUCCESS", "MANDATORY_NOT_FOUND"]


def test_insert_with_only_bad_records_answers_400(sandbox):
    answer = sandbox.crm("POST", "Contacts", json={"data": [{"Nope": 1}]})
    assert answer.status_code == 400
    assert answer.json()["data"][0]["code"] == "INVALID_DATA"


def test_more_than_100_records_in_one_call_is_limit_exceeded(sandbox):
    answer = sandbox.crm("POST", "Contacts", json={"data": [contact()] * 101})
    assert answer.status_code == 400
    assert answer.json()["code"] == "LIMIT_EXCEEDED"
    bulk = sandbox.crm("PUT", "Contacts", json={"data": [{"id": UNKNOWN_ID}] * 101})
    assert bulk.json()["code"] == "LIMIT_EXCEEDED"


def test_unknown_module_is_invalid_module_request_level(sandbox):
    answer = sandbox.crm("POST", "Widgets", json={"data": [contact()]})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "INVALID_MODULE"
    assert body["status"] == "error"
    assert "data" not in body
    assert sandbox.update("Widgets", UNKNOWN_ID, {}).json()["code"] == "INVALID_MODULE"


def test_get_returns_every_field_of_the_record(sandbox):
    [record_id] = sandbox.seed("Contacts", contact(First_Name="Ada", Seats=3))
    answer = sandbox.crm("GET", f"Contacts/{record_id}")
    assert answer.status_code == 200
    [record] = answer.json()["data"]
    assert record["id"] == record_id
    assert record["Full_Name"] == "Ada Lovelace"
    assert record["Seats"] == 3
    assert record["Balance"] is None
    assert record["Owner"]["id"]
    assert record["Contact_Number"].startswith("C-")


def test_get_of_an_unknown_id_answers_204_with_no_body(sandbox):
    answer = sandbox.crm("GET", f"Contacts/{UNKNOWN_ID}")
    assert answer.status_code == 204
    assert answer.content == b""


def test_put_updates_one_record_and_moves_modified_time(sandbox):
    [record_id] = sandbox.seed("Contacts", contact(Modified_Time="2020-01-01T00:00:00+00:00"))
    answer = sandbox.update("Contacts", record_id, {"First_Name": "Augusta", "Seats": 7})
    assert answer.status_code == 200
    [item] = answer.json()["data"]
    assert item["code"] == "SUCCESS"
    assert item["message"] == "record updated"
    assert item["details"]["id"] == record_id
    assert item["details"]["Modified_Time"] > "2020-01-01T00:00:00+00:00"
    fields = sandbox.state("Contacts", record_id)["fields"]
    assert fields["First_Name"] == "Augusta"
    assert fields["Seats"] == 7
    assert fields["Last_Name"] == "Lovelace"


def test_modified_time_strictly_increases_on_every_write(sandbox):
    [record_id] = sandbox.seed("Contacts", contact())
    times = [
        sandbox.update("Contacts", record_id, {"Seats": n}).json()["data"][0]["details"][
            "Modified_Time"
        ]
        for n in range(3)
    ]
    moments = [datetime.fromisoformat(t) for t in times]
    assert moments[0] < moments[1] < moments[2]


def test_put_with_a_malformed_id_is_invalid_data_with_resource_path_index(sandbox):
    answer = sandbox.update("Contacts", "12ab", {"Seats": 1})
    assert answer.status_code == 400
    assert answer.json()["data"][0] == {
        "code": "INVALID_DATA",
        "details": {"resource_path_index": 1},
        "message": "the id given seems to be invalid",
        "status": "error",
    }


def test_put_with_an_unknown_id_is_invalid_data_the_related_id(sandbox):
    answer = sandbox.update("Contacts", UNKNOWN_ID, {"Seats": 1})
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["details"] == {"resource_path_index": 1}
    assert item["message"] == "the related id given seems to be invalid"


def test_put_validation_failure_is_http_400_with_the_error_in_data(sandbox):
    [record_id] = sandbox.seed("Contacts", contact())
    answer = sandbox.update("Contacts", record_id, {"Seats": "many"})
    assert answer.status_code == 400
    assert answer.json()["data"][0]["details"]["expected_data_type"] == "integer"


def test_bulk_put_answers_200_207_or_400_by_outcome(sandbox):
    first, second = sandbox.seed("Contacts", contact(), contact())
    ok = sandbox.crm("PUT", "Contacts", json={"data": [{"id": first, "Seats": 1},
                                                        {"id": second, "Seats": 2}]})
    assert ok.status_code == 200
    assert [item["details"]["id"] for item in ok.json()["data"]] == [first, second]
    mixed = sandbox.crm("PUT", "Contacts", json={"data": [{"id": first, "Seats": 3},
                                                           {"id": second, "Seats": "x"}]})
    assert mixed.status_code == 207
    failed = sandbox.crm("PUT", "Contacts", json={"data": [{"Seats": 3}, {"id": UNKNOWN_ID}]})
    assert failed.status_code == 400
    missing, unknown = failed.json()["data"]
    assert missing["code"] == "MANDATORY_NOT_FOUND"
    assert missing["details"]["api_name"] == "id"
    assert unknown["code"] == "INVALID_DATA"
    assert unknown["details"]["api_name"] == "id"


def test_put_by_external_id_updates_the_record_holding_that_value(sandbox):
    [record_id] = sandbox.seed("Contacts", contact(Stripe_Customer_Id="cus_123"))
    answer = sandbox.update("Contacts", "cus_123", {"Seats": 4},
                            headers={"X-EXTERNAL": "Contacts.Stripe_Customer_Id"})
    assert answer.status_code == 200
    assert answer.json()["data"][0]["details"]["id"] == record_id
    assert sandbox.state("Contacts", record_id)["fields"]["Seats"] == 4


def test_put_by_an_unknown_external_value_is_invalid_data(sandbox):
    answer = sandbox.update("Contacts", "cus_missing", {"Seats": 4},
                            headers={"X-EXTERNAL": "Contacts.Stripe_Customer_Id"})
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "INVALID_DATA"
    assert item["details"] == {"resource_path_index": 1}


def test_x_external_naming_a_field_that_is_not_external_is_invalid_data(sandbox):
    sandbox.seed("Contacts", contact(Email="ada@example.com"))
    for header in ("Contacts.Email", "Contacts.Nope", "Leads.External_Lead_Id", "Stripe"):
        answer = sandbox.update("Contacts", "ada@example.com", {"Seats": 4},
                                headers={"X-EXTERNAL": header})
        assert answer.status_code == 400
        [item] = answer.json()["data"]
        assert item["code"] == "INVALID_DATA"
        assert item["details"]["header"] == "X-EXTERNAL"


def test_bulk_put_with_x_external_finds_each_record_by_its_external_value(sandbox):
    first, second = sandbox.seed("Deals", {"Deal_Name": "a", "Stage": "Qualification",
                                           "External_Deal_Id": "d-1"},
                                 {"Deal_Name": "b", "Stage": "Qualification",
                                  "External_Deal_Id": "d-2"})
    answer = sandbox.crm("PUT", "Deals", headers={"X-EXTERNAL": "Deals.External_Deal_Id"},
                         json={"data": [{"External_Deal_Id": "d-2", "Amount": 10.5},
                                        {"External_Deal_Id": "d-1", "Amount": 20}]})
    assert answer.status_code == 200
    assert [item["details"]["id"] for item in answer.json()["data"]] == [second, first]
    assert sandbox.state("Deals", second)["fields"]["Amount"] == 10.5


def test_if_unmodified_since_before_the_last_write_answers_412_already_modified(sandbox):
    [record_id] = sandbox.seed("Contacts", contact(Modified_Time="2026-01-10T10:00:00+00:00"))
    answer = sandbox.update("Contacts", record_id, {"Seats": 1},
                            headers={"If-Unmodified-Since": "2026-01-10T09:59:59+00:00"})
    assert answer.status_code == 412
    [item] = answer.json()["data"]
    assert item["code"] == "ALREADY_MODIFIED"
    assert item["message"] == "record updated time has already passed if-unmodified-since time"
    assert item["status"] == "error"
    assert item["details"]["id"] == record_id
    assert item["details"]["Modified_Time"] == "2026-01-10T10:00:00+00:00"
    assert item["details"]["Modified_By"]["id"]
    assert sandbox.state("Contacts", record_id)["fields"]["Seats"] is None


def test_if_unmodified_since_at_or_after_the_last_write_lets_the_update_through(sandbox):
    [record_id] = sandbox.seed("Contacts", contact(Modified_Time="2026-01-10T10:00:00+00:00"))
    same_instant = "2026-01-10T15:30:00+05:30"
    answer = sandbox.update("Contacts", record_id, {"Seats": 1},
                            headers={"If-Unmodified-Since": same_instant})
    assert answer.status_code == 200
    written = answer.json()["data"][0]["details"]["Modified_Time"]
    again = sandbox.update("Contacts", record_id, {"Seats": 2},
                           headers={"If-Unmodified-Since": written})
    assert again.status_code == 200
    stale = sandbox.update("Contacts", record_id, {"Seats": 3},
                           headers={"If-Unmodified-Since": written})
    assert stale.status_code == 412


def test_the_modified_time_a_put_returns_is_usable_as_if_unmodified_since(sandbox):
    [record_id] = sandbox.seed("Contacts", contact())
    modified = sandbox.crm("GET", f"Contacts/{record_id}").json()["data"][0]["Modified_Time"]
    earlier = (datetime.fromisoformat(modified) - timedelta(seconds=1)).isoformat()
    assert sandbox.update("Contacts", record_id, {"Seats": 1},
                          headers={"If-Unmodified-Since": earlier}).status_code == 412
    assert sandbox.update("Contacts", record_id, {"Seats": 1},
                          headers={"If-Unmodified-Since": modified}).status_code == 200


def test_a_locked_record_refuses_updates_with_record_locked_until_unlocked(sandbox):
    [record_id] = sandbox.seed("Contacts", contact())
    sandbox.control("lock", {"module": "Contacts", "id": record_id})
    answer = sandbox.update("Contacts", record_id, {"Seats": 1})
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "RECORD_LOCKED"
    assert item["details"]["action"] == "record_locking"
    sandbox.control("unlock", {"module": "Contacts", "id": record_id})
    assert sandbox.update("Contacts", record_id, {"Seats": 1}).status_code == 200


def test_append_values_adds_to_a_multiselect_instead_of_replacing(sandbox):
    [record_id] = sandbox.seed("Contacts", contact(Interests=["Billing"]))
    sandbox.update("Contacts", record_id, {"Interests": ["Support", "Billing"],
                                           "$append_values": {"Interests": True}})
    assert sandbox.state("Contacts", record_id)["fields"]["Interests"] == ["Billing", "Support"]
    sandbox.update("Contacts", record_id, {"Interests": ["Mobile"]})
    assert sandbox.state("Contacts", record_id)["fields"]["Interests"] == ["Mobile"]


def test_trigger_and_feature_options_are_kept_on_the_record_state(sandbox: SandboxClient):
    [record_id] = sandbox.seed("Contacts", contact())
    body = {
        "data": [{"Seats": 2, "Layout": {"id": "4150868000000091055"}}],
        "trigger": [],
        "skip_feature_execution": [{"name": "cadences"}],
        "apply_feature_execution": [{"name": "layout_rules"}],
    }
    assert sandbox.crm("PUT", f"Contacts/{record_id}", json=body).status_code == 200
    state = sandbox.state("Contacts", record_id)
    assert state["last_trigger"] == []
    assert state["last_write_options"] == {
        "trigger": [],
        "skip_feature_execution": ["cadences"],
        "apply_feature_execution": ["layout_rules"],
        "layout": {"id": "4150868000000091055"},
    }
    assert state["history_count"] == 2
    sandbox.update("Contacts", record_id, {"Seats": 3})
    assert sandbox.state("Contacts", record_id)["last_trigger"] is None
    sandbox.crm("PUT", f"Contacts/{record_id}", json={"data": [{"Seats": 4}],
                                                     "trigger": ["workflow"]})
    assert sandbox.state("Contacts", record_id)["last_trigger"] == ["workflow"]


def test_an_unknown_trigger_value_is_rejected(sandbox):
    [record_id] = sandbox.seed("Contacts", contact())
    answer = sandbox.crm("PUT", f"Contacts/{record_id}",
                         json={"data": [{"Seats": 2}], "trigger": ["everything"]})
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_DATA"
    assert answer.json()["details"]["api_name"] == "trigger"


def test_seed_keeps_a_given_id_and_skips_mandatory_checks(sandbox):
    ids = sandbox.seed("Contacts", {"id": "5725767000000524157", "First_Name": "NoLastName"})
    assert ids == ["5725767000000524157"]
    assert sandbox.state("Contacts", ids[0])["fields"]["Last_Name"] is None
    answer = sandbox.http.post(f"{sandbox.url}/__sandbox/seed", timeout=10, json={
        "module": "Contacts", "records": [{"id": "5725767000000524157", "Last_Name": "x"}]})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_DATA"


def test_a_body_that_is_not_json_is_rejected(sandbox):
    [record_id] = sandbox.seed("Contacts", contact())
    answer = sandbox.crm("PUT", f"Contacts/{record_id}", data=b"{not json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_DATA"
    missing = sandbox.crm("PUT", f"Contacts/{record_id}", json={"records": []})
    assert missing.json()["code"] == "MANDATORY_NOT_FOUND"


def test_unknown_crm_path_is_invalid_url_pattern_and_wrong_method_is_refused(sandbox):
    answer = sandbox.crm("GET", "Contacts/1/2/3")
    assert answer.status_code == 404
    assert answer.json()["code"] == "INVALID_URL_PATTERN"
    wrong = sandbox.crm("DELETE", "settings/fields")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "INVALID_REQUEST_METHOD"
