"""Archive, replay and the field-level audit over the local stack: the operator's commands."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from chalicelib.stores.mappings import DynamoMappingStore
from devstack.stack import EXAMPLE_CONTACT_ID, LocalStack
from tests.integration.conftest import final_status, zwa
from tests.integration.test_pipeline import contact, puts, record_fields

pytestmark = pytest.mark.integration
# The local stage caches mappings for 2 seconds (ZWA_MAPPING_CACHE_SECONDS).
MAPPING_CACHE_SECONDS = 2.5


def save_mapping(stack: LocalStack, source: str, fields: dict[str, Any], **extra: Any) -> None:
    document = {"source": source, "verify": {"scheme": "none"}, "delivery_id": "id",
                "rules": [{"name": "contact", "module": "Contacts", "record": {"id": "zoho_id"},
                           "fields": fields}], **extra}
    stage = stack.stage()
    DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table).save(
        document, now=time.time())


def post(stack: LocalStack, source: str, body: dict[str, Any]) -> None:
    """Post until the api knows the new source (it caches an absent mapping a moment)."""
    deadline = time.monotonic() + 10
    while True:
        answer = requests.post(f"{stack.api_url}/webhooks/{source}", json=body, timeout=10)
        if answer.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.status_code == 202, answer.text


def seed_contacts(sandbox: str, ids: list[str]) -> None:
    records = [{"id": record_id, "Last_Name": f"Replay {index}"}
               for index, record_id in enumerate(ids)]
    requests.post(f"{sandbox}/__sandbox/seed", json={"module": "Contacts", "records": records},
                  timeout=10).raise_for_status()


def test_a_delivery_failed_on_a_mapping_error_is_applied_by_replay_after_the_fix(
        stack, sandbox, ledger):
    save_mapping(stack, "replay-fix", {"First_Name": "first_name",
                                       "Department": {"path": "seats", "type": "integer"}})
    post(stack, "replay-fix", {"id": "rf-1", "zoho_id": EXAMPLE_CONTACT_ID,
                               "first_name": "Grace", "seats": "a dozen"})
    assert final_status(ledger, "replay-fix", "rf-1") == "failed"
    shown = zwa(stack, "deliveries", "show", "replay-fix", "rf-1", "--payload", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["body"]["seats"] == "a dozen"

    save_mapping(stack, "replay-fix", {"First_Name": "first_name", "Department": "seats"})
    time.sleep(MAPPING_CACHE_SECONDS)
    result = zwa(stack, "replay", "replay-fix", "--delivery", "rf-1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "replay-fix\trf-1\tfailed -> applied" in result.stdout
    assert "summary: 1 applied" in result.stdout
    fields = record_fields(contact(sandbox))
    assert (fields["First_Name"], fields["Department"]) == ("Grace", "a dozen")
    item = ledger.get("replay-fix", "rf-1")
    assert (item["status"], item["replays"]) == ("applied", 1)
    assert [(h["status"], h["error"]["code"], h["error"]["api_name"])
            for h in item["replay_history"]] == [("failed", "MAPPING_ERROR", "Department")]
    assert item["rules"]["contact"]["outcome"] == "applied"


def test_replay_of_twenty_applied_deliveries_sends_no_put_until_a_field_is_added(
        stack, sandbox, ledger):
    ids = [f"5725767000900{index:06d}" for index in range(20)]
    seed_contacts(sandbox, ids)
    save_mapping(stack, "replay-many", {"First_Name": "first_name"})
    for index, record_id in enumerate(ids):
        post(stack, "replay-many", {"id": f"rm-{index}", "zoho_id": record_id,
                                    "first_name": f"Name {index}"})
    for index in range(20):
        assert final_status(ledger, "replay-many", f"rm-{index}") == "applied"
    assert len(puts(sandbox)) == 20

    unchanged = zwa(stack, "replay", "replay-many", "--since", "1h")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "summary: 20 unchanged" in unchanged.stdout
    assert len(puts(sandbox)) == 20

    save_mapping(stack, "replay-many", {"First_Name": "first_name",
                                        "Title": {"value": "Replayed"}})
    time.sleep(MAPPING_CACHE_SECONDS)
    applied = zwa(stack, "replay", "replay-many", "--since", "1h", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert json.loads(applied.stdout)["summary"] == {"applied": 20}
    new_puts = puts(sandbox)[20:]
    assert sorted(put["path"].rsplit("/", 1)[1] for put in new_puts) == ids
    assert all(put["body"]["data"][0]["Title"] == "Replayed" for put in new_puts)
    assert ledger.get("replay-many", "rm-0")["replays"] == 2


def test_records_history_lists_three_deliveries_with_field_names_and_no_value(
        stack, sandbox, ledger):
    record_id = "5725767000008880001"
    seed_contacts(sandbox, [record_id])
    save_mapping(stack, "audit-three", {"First_Name": "first_name", "Title": "title",
                                        "Department": "department"})
    sent = [{"first_name": "Katherine"}, {"title": "Mathematician"},
            {"first_name": "Katherine", "department": "Flight Research"}]
    for index, values in enumerate(sent):
        post(stack, "audit-three", {"id": f"at-{index}", "zoho_id": record_id, **values})
        assert final_status(ledger, "audit-three", f"at-{index}") == "applied"

    result = zwa(stack, "records", "history", "Contacts", record_id)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[1:4] for line in lines] == [
        ["set", "Department, First_Name", "audit-three/at-2"],
        ["set", "Title", "audit-three/at-1"],
        ["set", "First_Name", "audit-three/at-0"],
    ]
    as_json = zwa(stack, "records", "history", "Contacts", record_id, "--json")
    entries = json.loads(as_json.stdout)
    # The mapping was saved once: each entry names version 1, as the delivery's ledger item does.
    assert [(e["delivery_id"], e["rule"], e["mapping_version"]) for e in entries] == [
        ("at-2", "contact", 1), ("at-1", "contact", 1), ("at-0", "contact", 1)]
    assert ledger.get("audit-three", "at-0")["mapping_version"] == 1
    for value in ("Katherine", "Mathematician", "Flight Research"):
        assert value not in result.stdout and value not in as_json.stdout


def test_with_archive_false_no_payload_is_kept_and_replay_has_nothing_to_replay(
        stack, sandbox, ledger):
    save_mapping(stack, "no-archive", {"First_Name": "first_name"}, archive=False)
    post(stack, "no-archive", {"id": "na-1", "zoho_id": EXAMPLE_CONTACT_ID,
                               "first_name": "Dorothy"})
    assert final_status(ledger, "no-archive", "na-1") == "applied"
    stage = stack.stage()
    kept = stage.client("dynamodb").query(
        TableName=stage.settings.archive_table, KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "source"},
        ExpressionAttributeValues={":s": {"S": "no-archive"}})
    assert kept["Items"] == []

    result = zwa(stack, "replay", "no-archive", "--since", "1h")
    assert result.returncode == 0, result.stderr
    assert "nothing to replay" in result.stdout and '"archive": false' in result.stdout
    shown = zwa(stack, "deliveries", "show", "no-archive", "na-1", "--payload")
    assert shown.returncode == 1
    assert "its payload was not archived" in shown.stderr
    assert "Dorothy" not in shown.stderr + shown.stdout
