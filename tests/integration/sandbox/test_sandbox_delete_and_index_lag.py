"""Deleting a record, and search that finds a new record only after Zoho has indexed it."""

from __future__ import annotations

import time


def insert(sandbox, **fields):
    answer = sandbox.crm("POST", "Contacts", json={"data": [fields]})
    assert answer.status_code == 201, answer.text
    return answer.json()["data"][0]["details"]["id"]


def search_email(sandbox, email):
    return sandbox.crm("GET", "Contacts/search", params={"criteria": f"(Email:equals:{email})"})


def test_a_deleted_record_is_gone_and_an_update_of_its_id_is_refused_like_zohos(sandbox):
    (record_id,) = sandbox.seed("Contacts", {"Last_Name": "Ng", "Email": "ng@x.example"})
    answer = sandbox.crm("DELETE", f"Contacts/{record_id}")
    assert answer.status_code == 200
    assert answer.json()["data"][0] == {"code": "SUCCESS", "details": {"id": record_id},
                                        "message": "record deleted", "status": "success"}
    assert sandbox.crm("GET", f"Contacts/{record_id}").status_code == 204
    assert search_email(sandbox, "ng@x.example").status_code == 204
    refused = sandbox.update("Contacts", record_id, {"Title": "x"})
    assert refused.status_code == 400
    assert refused.json()["data"][0]["code"] == "INVALID_DATA"
    assert refused.json()["data"][0]["details"] == {"resource_path_index": 1}
    again = sandbox.crm("DELETE", f"Contacts/{record_id}")
    assert again.status_code == 400 and again.json()["data"][0]["code"] == "INVALID_DATA"


def test_a_deleted_records_unique_value_can_be_used_by_a_new_record(sandbox):
    (old,) = sandbox.seed("Contacts", {"Last_Name": "Ng", "Email": "ng@x.example"})
    sandbox.crm("DELETE", f"Contacts/{old}")
    new = insert(sandbox, Last_Name="Ng", Email="ng@x.example")
    assert new != old
    assert [row["id"] for row in search_email(sandbox, "ng@x.example").json()["data"]] == [new]


def test_search_finds_a_new_record_only_once_the_index_lag_has_passed(sandbox):
    sandbox.control("config", {"search_index_lag_seconds": 0.6})
    (seeded,) = sandbox.seed("Contacts", {"Last_Name": "Seeded", "Email": "s@x.example"})
    created = insert(sandbox, Last_Name="New", Email="new@x.example")
    assert search_email(sandbox, "new@x.example").status_code == 204
    assert search_email(sandbox, "s@x.example").json()["data"][0]["id"] == seeded
    time.sleep(0.7)
    assert search_email(sandbox, "new@x.example").json()["data"][0]["id"] == created


def test_a_reset_puts_the_index_lag_back_to_none(sandbox):
    sandbox.control("config", {"search_index_lag_seconds": 30})
    sandbox.control("reset")
    created = insert(sandbox, Last_Name="New", Email="new@x.example")
    assert search_email(sandbox, "new@x.example").json()["data"][0]["id"] == created
