"""The `/__sandbox/` controls: reset, request log, stats and record state."""

from __future__ import annotations

import requests


def test_the_request_log_lists_api_calls_with_query_body_and_status(sandbox):
    [record_id] = sandbox.seed("Contacts", {"Last_Name": "A"})
    sandbox.update("Contacts", record_id, {"Seats": 2},
                   headers={"X-EXTERNAL": "Contacts.Stripe_Customer_Id"})
    sandbox.crm("GET", "Contacts/search", params={"criteria": "(Last_Name:equals:A)"})
    entries = sandbox.control("requests", method="GET")["requests"]
    put, found = entries[-2], entries[-1]
    assert put["method"] == "PUT"
    assert put["path"] == f"/crm/v8/Contacts/{record_id}"
    assert put["body"] == {"data": [{"Seats": 2}]}
    assert put["headers"]["X-EXTERNAL"] == "Contacts.Stripe_Customer_Id"
    assert put["status"] == 400
    assert found["query"] == {"criteria": "(Last_Name:equals:A)"}
    assert found["status"] == 200
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


def test_the_request_log_can_be_read_from_a_sequence_number(sandbox):
    sandbox.crm("GET", "settings/fields", params={"module": "Leads"})
    first = sandbox.control("requests", method="GET")
    sandbox.crm("GET", "settings/fields", params={"module": "Deals"})
    later = sandbox.control("requests", method="GET", params={"since": first["last_seq"]})
    assert [e["query"]["module"] for e in later["requests"]] == ["Deals"]


def test_stats_count_calls_per_endpoint_and_status_and_token_grants(sandbox):
    [record_id] = sandbox.seed("Contacts", {"Last_Name": "A"})
    sandbox.update("Contacts", record_id, {"Seats": 1})
    sandbox.update("Contacts", record_id, {"Seats": "x"})
    sandbox.grant(client_secret="wrong")
    stats = sandbox.control("stats", method="GET")
    assert stats["by_endpoint"]["PUT /crm/v8/{module}/{id}"] == {"200": 1, "400": 1}
    assert stats["by_endpoint"]["POST /oauth/v2/token"] == {"200": 2}
    assert stats["token_grants"] == 1
    assert stats["token_errors"] == {"invalid_client": 1}
    assert stats["sandbox_errors"] == 0


def test_reset_clears_records_tokens_faults_latency_and_counters(sandbox):
    [record_id] = sandbox.seed("Contacts", {"Last_Name": "A"})
    token = sandbox.token
    sandbox.control("faults", {"rates": {"500": 0.5}})
    sandbox.control("latency", {"ms": 50})
    sandbox.control("config", {"concurrency": 1})
    sandbox.control("reset")
    assert sandbox.control("faults", method="GET") == {"rules": []}
    assert sandbox.control("config", method="GET")["config"]["concurrency"] == 10
    assert sandbox.control("requests", method="GET")["requests"] == []
    answer = sandbox.crm("GET", f"Contacts/{record_id}", token=token)
    assert answer.status_code == 401
    fresh = sandbox.crm("GET", f"Contacts/{record_id}", token=sandbox.new_token())
    assert fresh.status_code == 204


def test_record_state_shows_fields_times_history_and_lock(sandbox):
    [record_id] = sandbox.seed("Accounts", {"Account_Name": "Acme"})
    sandbox.update("Accounts", record_id, {"Plan": "Growth"})
    state = sandbox.state("Accounts", record_id)
    assert state["module"] == "Accounts"
    assert state["id"] == record_id
    assert state["fields"]["Plan"] == "Growth"
    assert state["Modified_Time"] == state["fields"]["Modified_Time"]
    assert state["history_count"] == 2
    assert [h["operation"] for h in state["history"]] == ["seed", "update"]
    assert state["locked"] is False
    listing = sandbox.control("records/Accounts", method="GET")["records"]
    assert [r["id"] for r in listing] == [record_id]


def test_unknown_records_and_controls_answer_404(sandbox):
    for path in ("records/Contacts/4150868000999999999", "records/Widgets/1", "nope"):
        answer = requests.get(f"{sandbox.url}/__sandbox/{path}", timeout=10)
        assert answer.status_code == 404


def test_bad_control_input_answers_400(sandbox):
    for name, body in (("seed", {"module": "Widgets", "records": []}),
                       ("latency", {"ms": -1}), ("config", {"colour": "red"}),
                       ("lock", {"module": "Contacts"})):
        answer = requests.post(f"{sandbox.url}/__sandbox/{name}", json=body, timeout=10)
        assert answer.status_code in (400, 404)
        assert answer.json()["error"]
