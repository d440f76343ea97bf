"""The mapping language over the real stack: the search locator, checks at save, preview, diff."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import ROOT, SANDBOX_CLIENT, LocalStack
from tests.integration.conftest import final_status, ledger_item, post_webhook, wait_for, zwa

pytestmark = pytest.mark.integration

SEARCH_SOURCE = "search-it"
SEARCH_MAPPING = {
    "source": SEARCH_SOURCE,
    "verify": {"scheme": "none"},
    "delivery_id": "id",
    "rules": [{
        "name": "by-email", "module": "Contacts", "trigger": [],
        "record": {"search": {"field": "Email", "value": "customer.email"}},
        "fields": {"Mailing_City": "customer.city", "Title": "customer.title"},
    }],
}


def write(tmp_path: Path, document: dict[str, Any], name: str = "mapping.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def post_json(stack: LocalStack, source: str, body: dict[str, Any]) -> requests.Response:
    """Post unsigned JSON, waiting out the api's mapping cache for a source just saved."""
    deadline = time.monotonic() + 10
    while True:
        response = requests.post(f"{stack.api_url}/webhooks/{source}", json=body, timeout=10)
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def requests_seen(sandbox: str, endpoint: str) -> list[dict[str, Any]]:
    log = requests.get(f"{sandbox}/__sandbox/requests", timeout=10).json()["requests"]
    return [entry for entry in log if entry["endpoint"] == endpoint and entry["status"] != 401]


def searches(sandbox: str) -> list[dict[str, Any]]:
    return requests_seen(sandbox, "GET /crm/v8/{module}/search")


def puts(sandbox: str) -> list[dict[str, Any]]:
    return requests_seen(sandbox, "PUT /crm/v8/{module}/{id}")


def seed(sandbox: str, module: str, *records: dict[str, Any]) -> list[str]:
    answer = requests.post(f"{sandbox}/__sandbox/seed", timeout=10,
                           json={"module": module, "records": list(records)})
    answer.raise_for_status()
    return list(answer.json()["ids"])


def record(sandbox: str, module: str, record_id: str) -> dict[str, Any]:
    answer = requests.get(f"{sandbox}/__sandbox/records/{module}/{record_id}", timeout=10)
    answer.raise_for_status()
    return dict(answer.json()["fields"])


def delete(sandbox: str, module: str, record_id: str) -> None:
    """Delete a record through the CRM API, as someone in Zoho would."""
    token = requests.post(f"{sandbox}/oauth/v2/token", timeout=10, data={
        "grant_type": "refresh_token", **SANDBOX_CLIENT}).json()["access_token"]
    answer = requests.delete(f"{sandbox}/crm/v8/{module}/{record_id}", timeout=10,
                             headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def search_source(stack, tmp_path_factory):
    path = write(tmp_path_factory.mktemp("search"), SEARCH_MAPPING)
    result = zwa(stack, "mapping", "put", str(path))
    assert result.returncode == 0, result.stderr
    return SEARCH_SOURCE


@pytest.fixture
def email():
    """An address no other test uses: the search cache outlives the sandbox's resets."""
    return f"grace.{uuid.uuid4().hex[:8]}@example.com"


def event(email: str, **customer: str) -> dict[str, Any]:
    return {"id": f"s-{uuid.uuid4().hex[:10]}", "customer": {"email": email, **customer}}


# --- the search locator -------------------------------------------------------------------

def test_a_search_finds_the_one_exact_record_and_puts_it(stack, sandbox, ledger, search_source,
                                                         email):
    grace, decoy = seed(sandbox, "Contacts", {"Last_Name": "Hopper", "Email": email},
                        {"Last_Name": "Decoy", "Email": "x" + email + ".au"})
    body = event(email, city="Arlington", title="Rear Admiral")
    assert post_json(stack, search_source, body).status_code == 202
    assert final_status(ledger, search_source, body["id"]) == "applied"
    assert ledger_item(stack, search_source, body["id"])["rules"]["by-email"]["record_id"] == grace
    assert record(sandbox, "Contacts", grace)["Mailing_City"] == "Arlington"
    assert record(sandbox, "Contacts", decoy)["Mailing_City"] is None
    (search,) = searches(sandbox)
    assert search["query"]["criteria"] == f"(Email:equals:{email})"


def test_a_second_event_for_the_same_value_makes_no_second_search(stack, sandbox, ledger,
                                                                  search_source, email):
    (grace,) = seed(sandbox, "Contacts", {"Last_Name": "Hopper", "Email": email})
    for city in ("Arlington", "Boston"):
        body = event(email, city=city)
        assert post_json(stack, search_source, body).status_code == 202
        assert final_status(ledger, search_source, body["id"]) == "applied"
    assert len(searches(sandbox)) == 1
    assert [entry["path"] for entry in puts(sandbox)] == [f"/crm/v8/Contacts/{grace}"] * 2
    assert record(sandbox, "Contacts", grace)["Mailing_City"] == "Boston"


def test_no_match_ends_failed_record_not_found_after_one_more_search(stack, sandbox, ledger,
                                                                     search_source, email):
    body = event(email, city="Nowhere")
    assert post_json(stack, search_source, body).status_code == 202
    assert final_status(ledger, search_source, body["id"]) == "failed"
    item = ledger_item(stack, search_source, body["id"])
    assert item["attempts"] == 2
    assert (item["last_error"]["code"], item["last_error"]["api_name"]) == (
        "RECORD_NOT_FOUND", "Email")
    assert email not in json.dumps(item)
    assert len(searches(sandbox)) == 2 and puts(sandbox) == []


def test_a_deleted_records_cached_id_is_searched_again_once(stack, sandbox, ledger,
                                                            search_source, email):
    (first,) = seed(sandbox, "Contacts", {"Last_Name": "Hopper", "Email": email})
    body = event(email, city="Arlington")
    assert post_json(stack, search_source, body).status_code == 202
    assert final_status(ledger, search_source, body["id"]) == "applied"
    delete(sandbox, "Contacts", first)
    (second,) = seed(sandbox, "Contacts", {"Last_Name": "Hopper", "Email": email})

    body = event(email, city="Boston")
    assert post_json(stack, search_source, body).status_code == 202
    assert final_status(ledger, search_source, body["id"]) == "applied"
    assert ledger_item(stack, search_source, body["id"])["rules"]["by-email"]["record_id"] == \
        second
    assert len(searches(sandbox)) == 2
    assert [(entry["path"], entry["status"]) for entry in puts(sandbox)] == [
        (f"/crm/v8/Contacts/{first}", 200), (f"/crm/v8/Contacts/{first}", 400),
        (f"/crm/v8/Contacts/{second}", 200)]
    assert record(sandbox, "Contacts", second)["Mailing_City"] == "Boston"


def test_a_record_zoho_had_not_indexed_yet_is_found_when_the_miss_is_retried(
        stack, sandbox, ledger, search_source, email):
    body = event(email, city="Arlington")
    assert post_json(stack, search_source, body).status_code == 202
    wait_for(lambda: [s for s in searches(sandbox) if s["status"] == 204], timeout=20, every=0.1)
    (created,) = seed(sandbox, "Contacts", {"Last_Name": "Hopper", "Email": email})
    assert final_status(ledger, search_source, body["id"]) == "applied"
    item = ledger_item(stack, search_source, body["id"])
    assert item["attempts"] == 2
    assert item["rules"]["by-email"]["record_id"] == created


# --- checks at save -----------------------------------------------------------------------

BAD_FIELDS = {
    "an unknown field": ({"Mailing_Citty": "data.city"},
                         "rules[0].fields.Mailing_Citty: Contacts has no field 'Mailing_Citty' "
                         "(rule contact-updated); did you mean 'Mailing_City'?"),
    "a read-only field": ({"Full_Name": "data.name"},
                          "rules[0].fields.Full_Name: Contacts.Full_Name is read-only through "
                          "Zoho's API (rule contact-updated); remove it from the rule"),
    "a picklist value zoho does not allow": (
        {"Customer_Tier": {"path": "data.tier", "map": {"gold": "Platinum"}}},
        "rules[0].fields.Customer_Tier.map: 'Platinum' is not a value of the picklist "
        "Contacts.Customer_Tier (rule contact-updated); use one of Gold, Silver, Standard"),
    "a type that does not fit": (
        {"Seats": {"path": "data.seats", "type": "date"}},
        "rules[0].fields.Seats: Contacts.Seats is an integer field in Zoho, which type 'date' "
        'does not fill (rule contact-updated); set "type": "integer"'),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_mapping_put_refuses_naming_the_field(stack, sandbox, example_mapping, tmp_path, case):
    fields, problem = BAD_FIELDS[case]
    source = f"refused-{case.replace(' ', '-')}"
    example_mapping.update(source=source)
    example_mapping["rules"][0]["fields"].update(fields)
    result = zwa(stack, "mapping", "put", str(write(tmp_path, example_mapping)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == ["zwa: the mapping is invalid (1 problem):",
                                          f"  - {problem}"]
    assert "no mapping for" in zwa(stack, "mapping", "get", source).stderr


def test_a_good_mapping_saves_after_the_check_and_validate_says_which_modules(
        stack, sandbox, example_mapping, tmp_path):
    example_mapping.update(source="checked-good")
    path = write(tmp_path, example_mapping)
    validated = zwa(stack, "mapping", "validate", str(path))
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.splitlines() == [
        "mapping checked-good is valid (1 rule), checked against Zoho's field metadata of "
        "Contacts (connection default)"]
    saved = zwa(stack, "mapping", "put", str(path))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.splitlines() == [
        "mapping checked-good saved as version 1 (1 rule; checked against Zoho's field "
        "metadata of Contacts)"]
    assert json.loads(zwa(stack, "mapping", "get", "checked-good").stdout) == example_mapping


def test_a_connection_zoho_cannot_be_reached_through_is_named_and_offline_still_checks(
        stack, example_mapping, tmp_path):
    example_mapping.update(source="no-connection", connection="missing")
    path = write(tmp_path, example_mapping)
    result = zwa(stack, "mapping", "validate", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "zwa: could not read Zoho's field metadata through the connection missing "
        "(CONNECTION_NOT_FOUND:")
    assert result.stderr.rstrip().endswith("or check the shape alone with --offline")
    offline = zwa(stack, "mapping", "validate", "--offline", str(path))
    assert offline.returncode == 0 and "(--offline)" in offline.stdout


# --- preview, diff, the ledger's left-out fields ------------------------------------------

def test_preview_shows_the_exact_put_against_the_sandbox_and_sends_nothing(stack, sandbox):
    result = zwa(stack, "mapping", "preview", "example",
                 "examples/events/example-contact-updated.json")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("source example (version ") and lines[0].endswith(
        "delivery id evt_0001")
    assert f"  PUT {stack.sandbox_url}/crm/v8/Contacts/5725767000000524157" in lines
    assert "  Authorization: Zoho-oauthtoken ****" in lines
    assert '        "Customer_Tier": "Gold",' in lines
    assert lines[-1] == ("ok; checked against Zoho's field metadata; nothing was sent or "
                         "written")
    assert puts(sandbox) == []
    assert record(sandbox, "Contacts", "5725767000000524157")["Email"] == "ada@old.example.com"


def test_preview_of_a_search_mapping_file_shows_the_search_and_errors_exit_1(
        stack, sandbox, tmp_path):
    mapping = write(tmp_path, SEARCH_MAPPING)
    payload = tmp_path / "order.json"
    payload.write_text(json.dumps({"id": "p-1", "customer": {"email": "a@b.io", "city": [1]}}))
    result = zwa(stack, "mapping", "preview", str(mapping), str(payload), "--json")
    assert result.returncode == 1
    preview = json.loads(result.stdout)
    (rule,) = preview["rules"]
    assert rule["requests"] == []
    (error,) = rule["errors"]
    assert (error["field"], error["path"], error["value_type"]) == (
        "Mailing_City", "customer.city", "array")
    payload.write_text(json.dumps({"id": "p-2", "customer": {"email": "a@b.io"}}))
    result = zwa(stack, "mapping", "preview", str(mapping), str(payload))
    assert result.returncode == 0, result.stdout
    assert (f"  GET {stack.sandbox_url}/crm/v8/Contacts/search?criteria="
            "%28Email%3Aequals%3Aa%40b.io%29") in result.stdout.splitlines()
    assert "  left out for want of a value: Mailing_City, Title" in result.stdout.splitlines()
    assert searches(sandbox) == [] and puts(sandbox) == []


def test_diff_shows_what_changed_between_two_versions(stack, tmp_path, example_mapping):
    example_mapping.update(source="diffed")
    assert zwa(stack, "mapping", "put", "--offline", str(write(tmp_path, example_mapping))
               ).returncode == 0
    example_mapping["rules"][0]["fields"]["Seats"]["type"] = "bigint"
    assert zwa(stack, "mapping", "put", "--offline", str(write(tmp_path, example_mapping))
               ).returncode == 0
    result = zwa(stack, "mapping", "diff", "diffed", "1", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- diffed version 1", "+++ diffed version 2"]
    assert [line for line in lines[2:] if line[:1] in "+-"] == [
        '-          "type": "integer"', '+          "type": "bigint"']
    same = zwa(stack, "mapping", "diff", "diffed", "2", "2")
    assert same.stdout == "versions 2 and 2 of diffed are the same\n"


def test_deliveries_show_names_the_fields_a_rule_left_out(stack, sandbox, ledger):
    body = json.loads((ROOT / "examples/events/example-contact-updated.json").read_text())
    body["id"] = f"left-out-{uuid.uuid4().hex[:8]}"
    del body["data"]["phone"], body["data"]["signup_date"]
    assert post_webhook(stack, "example", json.dumps(body).encode()).status_code == 202
    assert final_status(ledger, "example", body["id"]) == "applied"
    shown = zwa(stack, "deliveries", "show", "example", body["id"])
    assert "rule contact-updated left out for want of a value: Phone, Signup_Date" in \
        shown.stdout.splitlines()
    assert ledger_item(stack, "example", body["id"])["rules"]["contact-updated"]["omitted"] == [
        "Phone", "Signup_Date"]


def test_mapping_schema_prints_the_schema_kept_in_the_repo(stack):
    result = zwa(stack, "mapping", "schema")
    assert json.loads(result.stdout) == json.loads(
        (ROOT / "schemas/mapping.schema.json").read_text())
