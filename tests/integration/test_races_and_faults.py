"""Faults and races at the edge, over HTTP: the queue failing at ingest, identical requests at
the same moment, and the ledger's conditional claim in DynamoDB (the moto server)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests

from chalicelib.stores.ledger import DynamoLedger
from devstack.stack import LocalStack
from tests.integration.conftest import final_status
from tests.integration.providers import SAMPLES, sandbox_puts, sign

pytestmark = pytest.mark.integration
STRIPE = next(s for s in SAMPLES if s.event == "stripe-customer-updated.json")


@pytest.fixture
def failing_queue(stack: LocalStack) -> Iterator[Callable[[], None]]:
    """The deliveries queue refusing every message over 1 KiB (SQS failing every send of
    this test); yields what ends the fault."""
    stage = stack.stage()
    sqs = stage.client("sqs")
    url = sqs.get_queue_url(QueueName=stage.settings.deliveries_queue)["QueueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])[
        "Attributes"]["MaximumMessageSize"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "1024"})

    def recover() -> None:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": before})

    try:
        yield recover
    finally:
        recover()


def stripe_request(stack: LocalStack) -> tuple[str, bytes, dict[str, str]]:
    """A fresh Stripe event and the headers Stripe sends with it, signed now."""
    body = STRIPE.fresh()
    url = f"{stack.api_url}/webhooks/stripe"
    headers = {"Content-Type": "application/json",
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    headers.update(sign("stripe", body, url, headers))
    return url, body, headers


def test_the_queue_failing_at_ingest_is_503_and_the_providers_retry_is_queued_exactly_once(
        stack, sandbox, ledger, failing_queue):
    url, body, headers = stripe_request(stack)
    failed = requests.post(url, data=body, headers=headers, timeout=20)
    assert (failed.status_code, failed.json()["code"]) == (503, "UNAVAILABLE")
    delivery_id = json.loads(body)["id"]
    item = ledger.get("stripe", delivery_id)
    assert item is not None and item["status"] == "received"
    assert item["claimed_by"] == ""  # released: the retry may take it at once
    failing_queue()

    retry = requests.post(url, data=body, headers=headers, timeout=20)
    assert (retry.status_code, retry.json()) == (202, {"delivery_id": delivery_id,
                                                       "status": "queued"})
    assert final_status(ledger, "stripe", delivery_id) == "applied"
    assert ledger.get("stripe", delivery_id)["attempts"] == 1
    again = requests.post(url, data=body, headers=headers, timeout=20)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    time.sleep(1.5)  # room for a second PUT that must not come
    puts = [put for put in sandbox_puts(sandbox, "Contacts")
            if put["path"].endswith("/cus_NffrFeUfNV2Hib")]
    assert len(puts) == 1


def test_two_identical_requests_at_the_same_moment_give_one_202_one_duplicate_and_one_put(
        stack, sandbox, ledger):
    rounds = 5
    outcomes: list[list[tuple[int, str]]] = []
    ids = []
    for _ in range(rounds):
        url, body, headers = stripe_request(stack)
        ids.append(json.loads(body)["id"])
        outcomes.append(_sent_twice_at_once(url, body, headers))
    assert outcomes == [[(200, "duplicate"), (202, "queued")]] * rounds
    # Each round is a new event with the same fields: the first is applied, the others
    # cost no PUT (the credit saver); a race letting a twin through would add a PUT.
    assert [final_status(ledger, "stripe", i) for i in ids] == \
        ["applied"] + ["unchanged"] * (rounds - 1)
    time.sleep(1.5)
    puts = [put for put in sandbox_puts(sandbox, "Contacts")
            if put["path"].endswith("/cus_NffrFeUfNV2Hib")]
    assert len(puts) == 1


def _sent_twice_at_once(url: str, body: bytes, headers: dict[str, str]) -> list[tuple[int, str]]:
    """The two answers, sorted, to the same request sent by two threads released together."""
    start = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        start.wait()
        response = requests.post(url, data=body, headers=headers, timeout=20)
        answers.append((response.status_code, response.json().get("status", "")))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(answers)


def test_the_ledgers_claim_is_conditional_in_dynamodb(ledger: DynamoLedger):
    delivery_id = f"claim-{uuid.uuid4().hex}"
    now = time.time()
    assert ledger.create({"source": "claims", "delivery_id": delivery_id, "status": "received",
                          "claimed_by": "first", "claimed_at": now})
    assert not ledger.claim("claims", delivery_id, "second", now, now - 60)  # live claim
    ledger.release("claims", delivery_id, "second")  # not its claim: nothing happens
    assert ledger.get("claims", delivery_id)["claimed_by"] == "first"
    ledger.release("claims", delivery_id, "first")
    assert ledger.claim("claims", delivery_id, "second", now, now - 60)
    assert not ledger.claim("claims", delivery_id, "third", now, now - 60)
    assert ledger.claim("claims", delivery_id, "third", now + 61, now + 1)  # the lease lapsed
    ledger.update("claims", delivery_id, {"status": "queued"})
    assert not ledger.claim("claims", delivery_id, "fourth", now + 200, now + 140)
    assert ledger.get("claims", delivery_id)["claimed_by"] == "third"


def test_marking_a_delivery_queued_never_undoes_what_the_worker_recorded(ledger: DynamoLedger):
    delivery_id = f"mark-{uuid.uuid4().hex}"
    assert ledger.create({"source": "claims", "delivery_id": delivery_id, "status": "received"})
    ledger.mark_queued("claims", delivery_id, 1.0)
    assert ledger.get("claims", delivery_id)["status"] == "queued"
    ledger.update("claims", delivery_id, {"status": "applied"})
    ledger.mark_queued("claims", delivery_id, 2.0)
    assert ledger.get("claims", delivery_id)["status"] == "applied"
