"""The delivery guarantees over real processes: moto server, the sandbox, chalice local, workers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from chalicelib.delivery.worker import Attempt, WorkerServices, process_message
from chalicelib.stores.ledger import DynamoLedger
from chalicelib.stores.mappings import DynamoMappingStore, MappingCache
from chalicelib.stores.queues import SqsQueue
from chalicelib.stores.records import DynamoRecordStore
from chalicelib.stores.secrets import SecretsManagerStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.tokens import TokenProvider, connection_secret_id
from devstack.stack import EXAMPLE_CONTACT_ID, ROOT, SANDBOX_CLIENT, LocalStack
from tests.integration.conftest import final_status, post_webhook, zwa
from tests.integration.test_pipeline import EVENT, contact, event, puts, record_fields

pytestmark = pytest.mark.integration
CREATED = EVENT["created"]


def timed(delivery_id: str, created: float, **data: object) -> bytes:
    body = json.loads(event(delivery_id, **data))
    body["created"] = created
    return json.dumps(body).encode()


def test_two_events_arriving_newest_first_the_older_ends_stale_and_the_newer_values_stay(
        stack, sandbox, ledger):
    newer = post_webhook(stack, "example", timed("it-order-new", CREATED + 60,
                                                 first_name="Newer", seats=20))
    assert newer.status_code == 202, newer.text
    assert final_status(ledger, "example", "it-order-new") == "applied"
    older = post_webhook(stack, "example", timed("it-order-old", CREATED, first_name="Older",
                                                 seats=10))
    assert older.status_code == 202, older.text
    assert final_status(ledger, "example", "it-order-old") == "stale"
    fields = record_fields(contact(sandbox))
    assert (fields["First_Name"], fields["Seats"]) == ("Newer", 20)
    assert len(puts(sandbox)) == 1


def test_the_same_event_body_under_two_delivery_ids_ends_unchanged_with_no_second_put(
        stack, sandbox, ledger):
    for delivery_id in ("it-same-1", "it-same-2"):
        answer = post_webhook(stack, "example", event(delivery_id, first_name="Twice"))
        assert answer.status_code == 202, answer.text
        assert final_status(ledger, "example", delivery_id) in ("applied", "unchanged")
    assert ledger.get("example", "it-same-1")["status"] == "applied"
    assert ledger.get("example", "it-same-2")["status"] == "unchanged"
    assert len(puts(sandbox)) == 1
    assert record_fields(contact(sandbox))["First_Name"] == "Twice"


def test_if_unmodified_since_goes_to_zoho_and_its_412_ends_stale(stack, sandbox, ledger):
    mapping = {
        "source": "guarded", "verify": {"scheme": "none"}, "delivery_id": "id",
        "rules": [{"name": "guarded", "module": "Contacts", "record": {"id": "zoho_id"},
                   "event_time": "at", "if_unmodified_since": True,
                   "fields": {"First_Name": "first_name"}}],
    }
    stage = stack.stage()
    DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table).save(
        mapping, now=time.time())

    def send(delivery_id: str, at: float, name: str) -> str:
        body = {"id": delivery_id, "at": at, "zoho_id": EXAMPLE_CONTACT_ID, "first_name": name}
        deadline = time.monotonic() + 10
        while True:  # the local stage caches mappings for 2 seconds
            answer = requests.post(f"{stack.api_url}/webhooks/guarded", json=body, timeout=10)
            if answer.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert answer.status_code == 202, answer.text
        return final_status(ledger, "guarded", delivery_id)

    # The seeded record was modified just now: an event of an hour ago is refused.
    assert send("it-ius-old", time.time() - 3600, "Before") == "stale"
    assert send("it-ius-new", time.time() + 5, "After") == "applied"
    sent = puts(sandbox)
    assert [put["status"] for put in sent] == [412, 200]
    assert all(put["headers"]["If-Unmodified-Since"].endswith("+00:00") for put in sent)
    assert record_fields(contact(sandbox))["First_Name"] == "After"
    outcome = ledger.get("guarded", "it-ius-old")["rules"]["guarded"]
    assert (outcome["outcome"], outcome["code"]) == ("stale", "ALREADY_MODIFIED")


COLD_WORKERS = 20
COLD_RECORDS = [str(5725767000200000001 + index) for index in range(COLD_WORKERS)]


def cold_worker(stack: LocalStack) -> WorkerServices:
    """A worker as a new Lambda container builds it: nothing in memory, its own clients."""
    stage = stack.stage()
    dynamodb, sqs = stage.client("dynamodb"), stage.client("sqs")
    settings = stage.settings
    records = DynamoRecordStore(dynamodb, settings.records_table, settings.deliveries_table)
    session = requests.Session()
    tokens = TokenProvider(SecretsManagerStore(stage.client("secretsmanager")), session,
                           connection_secret_id(settings.secret_prefix, "default"),
                           leases=records, connection="default")
    client = ZohoClient(session, tokens, timeout=10)
    return WorkerServices(
        mappings=MappingCache(DynamoMappingStore(dynamodb, settings.mappings_table), 60),
        ledger=DynamoLedger(dynamodb, settings.deliveries_table),
        queue=SqsQueue(sqs, settings.deliveries_queue),
        dead_letters=SqsQueue(sqs, settings.dead_letter_queue),
        zoho=lambda connection: client, records=records)


def test_twenty_cold_workers_racing_for_an_expired_token_make_exactly_one_refresh(
        stack, sandbox, ledger):
    stage = stack.stage()
    requests.post(f"{sandbox}/__sandbox/seed", timeout=10, json={"module": "Contacts", "records": [
        {"id": record, "Last_Name": "Cold"} for record in COLD_RECORDS]}).raise_for_status()
    SecretsManagerStore(stage.client("secretsmanager")).put(
        connection_secret_id(stage.settings.secret_prefix, "default"), json.dumps({
            **SANDBOX_CLIENT, "accounts_url": sandbox, "access_token": "1000.expired.token",
            "api_domain": sandbox, "expires_at": time.time() - 60}))
    now = time.time()
    messages = []
    for index, record in enumerate(COLD_RECORDS):
        delivery_id = f"it-cold-{index:02d}"
        ledger.create({"source": "example", "delivery_id": delivery_id, "status": "queued",
                       "received_at": now, "rules": {}})
        body = json.loads(event(delivery_id, zoho_id=record, first_name=f"Cold {index}",
                                email=f"cold{index}@example.com"))
        messages.append(json.dumps({"source": "example", "delivery_id": delivery_id,
                                    "received_at": now, "headers": {}, "body": body}))
    workers = [cold_worker(stack) for _ in COLD_RECORDS]
    start = threading.Barrier(COLD_WORKERS)
    statuses: dict[int, str] = {}

    def work(index: int) -> None:
        start.wait()
        statuses[index] = process_message(
            messages[index], Attempt(1, time.time(), f"receipt-{index}"), workers[index],
            time.time())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(COLD_WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses.values()) == ["applied"] * COLD_WORKERS
    stats = requests.get(f"{sandbox}/__sandbox/stats", timeout=10).json()
    assert stats["token_grants"] == 1
    assert stats["by_endpoint"]["PUT /crm/v8/{module}/{id}"] == {"200": COLD_WORKERS}
    for index, record in enumerate(COLD_RECORDS):
        state = requests.get(f"{sandbox}/__sandbox/records/Contacts/{record}", timeout=10).json()
        assert state["fields"]["First_Name"] == f"Cold {index}"


def test_dlq_redrive_of_a_mapping_error_after_the_mapping_is_fixed_ends_applied(
        stack, sandbox, ledger, tmp_path: Path):
    body = json.loads(event("it-redrive-1", first_name="Redriven"))
    body["data"]["seats"] = "a dozen"
    answer = post_webhook(stack, "example", json.dumps(body).encode())
    assert answer.status_code == 202, answer.text
    assert final_status(ledger, "example", "it-redrive-1") == "failed"
    listed = zwa(stack, "dlq", "list")
    assert listed.returncode == 0, listed.stderr
    (line,) = [line for line in listed.stdout.splitlines() if "\tit-redrive-1\t" in line]
    assert line.startswith("example\tit-redrive-1\tMAPPING_ERROR Seats\tfailed\tage ")

    example = json.loads((ROOT / "examples/mappings/example.json").read_text())
    fixed = json.loads(json.dumps(example))
    fixed["rules"][0]["fields"]["Seats"] = {"path": "data.seat_count", "type": "integer"}
    (tmp_path / "fixed.json").write_text(json.dumps(fixed))
    try:
        assert zwa(stack, "mapping", "put", str(tmp_path / "fixed.json")).returncode == 0
        time.sleep(2.5)  # the local stage's workers cache a mapping for 2 seconds
        result = zwa(stack, "dlq", "redrive", "--delivery", "it-redrive-1")
    finally:
        (tmp_path / "example.json").write_text(json.dumps(example))
        assert zwa(stack, "mapping", "put", str(tmp_path / "example.json")).returncode == 0
    assert result.returncode == 0, result.stdout + result.stderr
    assert "example\tit-redrive-1\tapplied" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "1 of 1 sent back"
    assert result.stderr == ""  # no progress bar when piped
    item = ledger.get("example", "it-redrive-1")
    assert (item["status"], item["redrives"]) == ("applied", 1)
    assert record_fields(contact(sandbox))["First_Name"] == "Redriven"
    again = zwa(stack, "dlq", "list", "--json")
    assert "it-redrive-1" not in {letter["delivery_id"] for letter in json.loads(again.stdout)}
