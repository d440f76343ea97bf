"""Webhook in, Zoho record updated: the whole pipeline over real processes and sockets."""

from __future__ import annotations

import json
import time

import pytest
import requests

from devstack.stack import EXAMPLE_CONTACT_ID, ROOT
from tests.integration.conftest import final_status, ledger_item, post_webhook, zwa

pytestmark = pytest.mark.integration

EVENT = json.loads((ROOT / "examples/events/example-contact-updated.json").read_text())


def event(delivery_id: str, **data: object) -> bytes:
    body = json.loads(json.dumps(EVENT))
    body["id"] = delivery_id
    body["data"].update(data)
    return json.dumps(body).encode()


def contact(sandbox: str) -> dict:
    response = requests.get(f"{sandbox}/__sandbox/records/Contacts/{EXAMPLE_CONTACT_ID}",
                            timeout=10)
    response.raise_for_status()
    return response.json()


def record_fields(state: dict) -> dict:
    """The record's fields, whether the sandbox nests them or not."""
    return state.get("record", state.get("fields", state))


def faults(sandbox: str, **spec: object) -> None:
    requests.post(f"{sandbox}/__sandbox/faults", json=spec, timeout=10).raise_for_status()


def puts(sandbox: str, *, with_token_refusals: bool = False) -> list[dict]:
    """The PUTs the sandbox received since its reset.

    A reset forgets the tokens the worker holds, so a test's first PUT may get a
    401 and a refresh; those are left out unless asked for.
    """
    log = requests.get(f"{sandbox}/__sandbox/requests", timeout=10).json()
    entries = log.get("requests", log) if isinstance(log, dict) else log
    return [r for r in entries if r["method"] == "PUT" and "/crm/v8/Contacts/" in r["path"]
            and (with_token_refusals or r["status"] != 401)]


def test_a_signed_webhook_updates_the_record_and_the_ledger_says_applied(
        stack, sandbox, ledger):
    response = post_webhook(stack, "example", event("it-applied-1"))
    assert response.status_code == 202, response.text
    assert response.json() == {"delivery_id": "it-applied-1", "status": "queued"}

    assert final_status(ledger, "example", "it-applied-1") == "applied"
    fields = record_fields(contact(sandbox))
    assert fields["Email"] == "ada@example.com"
    assert fields["Customer_Tier"] == "Gold"
    assert fields["Seats"] == 12
    assert fields["Last_Payment_At"].startswith("2026-11-27T09:30:00")
    item = ledger_item(stack, "example", "it-applied-1")
    assert item["attempts"] == 1
    assert item["rules"]["contact-updated"] == {
        "outcome": "applied", "module": "Contacts", "record_id": EXAMPLE_CONTACT_ID,
        "at": item["rules"]["contact-updated"]["at"]}
    (put,) = puts(sandbox)
    assert put["body"]["trigger"] == []
    assert "Zoho-oauthtoken" in put["headers"].get("Authorization", "")


def test_two_zoho_500s_then_success_end_applied_after_three_attempts(stack, sandbox, ledger):
    faults(sandbox, sequence=[500, 500], methods=["PUT"])
    response = post_webhook(stack, "example", event("it-retry-1", email="grace@example.com"))
    assert response.status_code == 202, response.text

    assert final_status(ledger, "example", "it-retry-1", timeout=60) == "applied"
    item = ledger_item(stack, "example", "it-retry-1")
    assert item["attempts"] == 3
    assert item["last_error"]["code"] == "INTERNAL_ERROR"  # kept from the last failed try
    assert record_fields(contact(sandbox))["Email"] == "grace@example.com"
    assert [put["status"] for put in puts(sandbox)] == [500, 500, 200]


def test_invalid_data_ends_failed_in_the_dead_letter_queue_with_the_field(
        stack, sandbox, ledger):
    response = post_webhook(stack, "example", event("it-invalid-1", email="not-an-email"))
    assert response.status_code == 202, response.text

    assert final_status(ledger, "example", "it-invalid-1") == "failed"
    item = ledger_item(stack, "example", "it-invalid-1")
    assert item["last_error"]["code"] == "INVALID_DATA"
    assert item["last_error"]["api_name"] == "Email"
    assert "not-an-email" not in json.dumps(item)
    assert record_fields(contact(sandbox))["Email"] == "ada@old.example.com"

    stage = stack.stage()
    sqs = stage.client("sqs")
    url = sqs.get_queue_url(QueueName=stage.settings.dead_letter_queue)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"]).get("Messages", [])
    dead = [m for m in messages if json.loads(m["Body"])["delivery_id"] == "it-invalid-1"]
    assert len(dead) == 1
    attributes = dead[0]["MessageAttributes"]
    assert attributes["failure_code"]["StringValue"] == "INVALID_DATA"
    assert json.loads(attributes["failure"]["StringValue"])["api_name"] == "Email"


def test_a_duplicate_and_a_wrong_signature_get_their_documented_answers(stack, sandbox, ledger):
    body = event("it-dup-1")
    assert post_webhook(stack, "example", body).status_code == 202
    again = post_webhook(stack, "example", body)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    forged = post_webhook(stack, "example", event("it-forged-1"),
                          **{"X-Signature": "sha256=" + "0" * 64})
    assert (forged.status_code, forged.json()["code"]) == (401, "INVALID_SIGNATURE")
    assert ledger.get("example", "it-forged-1") is None
    # Done before the next test resets the sandbox under it.
    assert final_status(ledger, "example", "it-dup-1") == "applied"


def test_a_new_source_works_after_mapping_put_with_no_restart(stack, sandbox, ledger, tmp_path):
    mapping = {
        "source": "shop-orders",
        "verify": {"scheme": "none"},
        "delivery_id": "header:X-Event-Id",
        "rules": [{"name": "order", "module": "Contacts", "record": {"id": "customer.zoho_id"},
                   "fields": {"Mailing_City": "customer.city"}}],
    }
    path = tmp_path / "shop-orders.json"
    path.write_text(json.dumps(mapping))
    result = zwa(stack, "mapping", "put", str(path))
    assert result.returncode == 0, result.stderr
    assert "version 1" in result.stdout
    listed = zwa(stack, "mapping", "list")
    assert "shop-orders" in listed.stdout

    body = json.dumps({"customer": {"zoho_id": EXAMPLE_CONTACT_ID, "city": "London"}}).encode()
    deadline = time.monotonic() + 10
    while True:  # the local stage caches mappings for 2 seconds
        response = requests.post(f"{stack.api_url}/webhooks/shop-orders", data=body, timeout=10,
                                 headers={"Content-Type": "application/json",
                                          "X-Event-Id": "order-42"})
        if response.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 202, response.text
    assert final_status(ledger, "shop-orders", "order-42") == "applied"
    assert record_fields(contact(sandbox))["Mailing_City"] == "London"


def test_an_expired_token_is_refreshed_once_and_the_delivery_applied(stack, sandbox, ledger):
    assert post_webhook(stack, "example", event("it-token-1")).status_code == 202
    assert final_status(ledger, "example", "it-token-1") == "applied"
    requests.post(f"{sandbox}/__sandbox/expire-tokens", timeout=10).raise_for_status()
    assert post_webhook(stack, "example", event("it-token-2", first_name="Augusta")
                        ).status_code == 202
    assert final_status(ledger, "example", "it-token-2") == "applied"
    assert ledger.get("example", "it-token-2")["attempts"] == 1
    assert record_fields(contact(sandbox))["First_Name"] == "Augusta"
    statuses = [put["status"] for put in puts(sandbox, with_token_refusals=True)]
    assert statuses[-3:] == [200, 401, 200]


def test_bootstrap_is_idempotent_and_sets_the_dead_letter_redrive(stack):
    result = zwa(stack, "bootstrap")
    assert result.returncode == 0, result.stderr
    assert "table zwa-deliveries: exists" in result.stdout
    stage = stack.stage()
    sqs = stage.client("sqs")
    url = sqs.get_queue_url(QueueName=stage.settings.deliveries_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":" + stage.settings.dead_letter_queue)
    assert int(redrive["maxReceiveCount"]) == 25
