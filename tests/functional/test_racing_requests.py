"""Two identical requests at the same moment: one queues the delivery, the other waits and
answers ``duplicate`` only once it is queued; never two messages, never a false duplicate."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from chalicelib.errors import UnavailableError
from chalicelib.ingest.accept import Accepted, IngestServices, WebhookRequest, accept_webhook
from chalicelib.ingest.claim import CLAIM_LEASE_SECONDS
from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache
from chalicelib.stores.queues import InMemoryQueue
from chalicelib.stores.secrets import InMemorySecretStore

SECRET = "race-secret"
NOW = 1_764_331_200.0


class GatedQueue(InMemoryQueue):
    """A queue whose first send waits at a gate, then succeeds or fails as told."""

    def __init__(self, first_send_fails: bool = False) -> None:
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()
        self.first_send_fails = first_send_fails
        self.sends = 0

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        self.sends += 1
        if self.sends == 1:
            self.entered.set()
            assert self.gate.wait(10), "the test never opened the gate"
            if self.first_send_fails:
                raise UnavailableError("sending to the queue failed (ServiceUnavailable)")
        return super().send(body, attributes)


def services(example_mapping: dict, queue: InMemoryQueue, ledger: InMemoryLedger,
             sleep: Any) -> IngestServices:
    mappings = InMemoryMappingStore()
    mappings.save(example_mapping, now=0)
    return IngestServices(mappings=MappingCache(mappings, ttl=0),
                          secrets=InMemorySecretStore({"zwa/webhook/example": SECRET}),
                          ledger=ledger, queue=queue, sleep=sleep)


def request(body: bytes) -> WebhookRequest:
    config = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
    return WebhookRequest("example", {"Content-Type": "application/json",
                                      "X-Signature": hmac_signature(config, SECRET.encode(), body)},
                          body)


def first_request_in_flight(services: IngestServices, body: bytes) -> tuple[threading.Thread,
                                                                            dict[str, Any]]:
    """Start request A; return once it has recorded the delivery and is sending it."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["answer"] = accept_webhook(request(body), services, NOW)
        except UnavailableError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    assert services.queue.entered.wait(10)  # type: ignore[attr-defined]
    return thread, outcome


def test_a_twin_that_arrives_while_the_first_is_queueing_waits_and_answers_duplicate(
        example_mapping, example_event_bytes):
    queue, ledger = GatedQueue(), InMemoryLedger()

    def sleep(seconds: float) -> None:  # B found A's claim: let A finish meanwhile
        queue.gate.set()
        time.sleep(0.01)

    world = services(example_mapping, queue, ledger, sleep)
    thread, first = first_request_in_flight(world, example_event_bytes)
    second = accept_webhook(request(example_event_bytes), world, NOW)
    thread.join(10)
    assert first["answer"] == Accepted("evt_0001", "queued")
    assert second == Accepted("evt_0001", "duplicate")
    assert len(queue.messages) == 1
    assert ledger.get("example", "evt_0001")["status"] == "queued"


def test_when_the_first_fails_to_queue_its_waiting_twin_queues_the_delivery_itself(
        example_mapping, example_event_bytes):
    queue, ledger = GatedQueue(first_send_fails=True), InMemoryLedger()

    def sleep(seconds: float) -> None:
        queue.gate.set()
        time.sleep(0.01)

    world = services(example_mapping, queue, ledger, sleep)
    thread, first = first_request_in_flight(world, example_event_bytes)
    second = accept_webhook(request(example_event_bytes), world, NOW)
    thread.join(10)
    assert isinstance(first["error"], UnavailableError)  # answered 503: nothing promised
    assert second == Accepted("evt_0001", "queued")
    assert len(queue.messages) == 1
    assert ledger.get("example", "evt_0001")["status"] == "queued"


def test_a_twin_that_cannot_learn_the_outcome_in_time_answers_503_never_duplicate(
        example_mapping, example_event_bytes):
    queue, ledger = GatedQueue(), InMemoryLedger()
    naps: list[float] = []
    world = services(example_mapping, queue, ledger, naps.append)
    thread, first = first_request_in_flight(world, example_event_bytes)
    try:
        with pytest.raises(UnavailableError, match="being recorded by another request"):
            accept_webhook(request(example_event_bytes), world, NOW)
    finally:
        queue.gate.set()
        thread.join(10)
    assert 2.5 <= sum(naps) <= 3.5  # it waited about CLAIM_WAIT_SECONDS
    assert first["answer"].status == "queued"
    assert len(queue.messages) == 1


def test_a_claim_left_by_a_request_that_died_is_taken_over_after_the_lease(
        example_mapping, example_event_bytes):
    ledger, queue = InMemoryLedger(), InMemoryQueue()
    ledger.create({"source": "example", "delivery_id": "evt_0001", "status": "received",
                   "claimed_by": "a-request-that-died", "received_at": NOW - 100,
                   "claimed_at": NOW - CLAIM_LEASE_SECONDS - 1})
    answer = accept_webhook(request(example_event_bytes),
                            services(example_mapping, queue, ledger, lambda s: None), NOW)
    assert answer == Accepted("evt_0001", "queued")
    assert len(queue.messages) == 1


def test_a_live_claim_is_not_taken_over_even_by_a_later_retry(
        example_mapping, example_event_bytes):
    ledger, queue = InMemoryLedger(), InMemoryQueue()
    ledger.create({"source": "example", "delivery_id": "evt_0001", "status": "received",
                   "claimed_by": "a-request-in-flight", "claimed_at": NOW - 5})
    with pytest.raises(UnavailableError):
        accept_webhook(request(example_event_bytes),
                       services(example_mapping, queue, ledger, lambda s: None), NOW)
    assert queue.messages == []


class InstantWorkerQueue(InMemoryQueue):
    """A queue whose worker applies each delivery before ``send`` even returns."""

    def __init__(self, ledger: InMemoryLedger) -> None:
        super().__init__()
        self.ledger = ledger

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        message_id = super().send(body, attributes)
        self.ledger.update(body["source"], body["delivery_id"], {"status": "applied"})
        return message_id


def test_a_delivery_the_worker_finished_before_the_api_marked_it_queued_stays_finished(
        example_mapping, example_event_bytes):
    ledger = InMemoryLedger()
    queue = InstantWorkerQueue(ledger)
    answer = accept_webhook(request(example_event_bytes),
                            services(example_mapping, queue, ledger, lambda s: None), NOW)
    assert answer == Accepted("evt_0001", "queued")
    assert ledger.get("example", "evt_0001")["status"] == "applied"
