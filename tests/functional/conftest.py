"""The app through ``chalice.test.Client``, with in-memory stores and a scripted Zoho."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from chalice.test import Client

import app as chalice_app
from chalicelib.delivery.worker import WorkerServices
from chalicelib.ingest.accept import IngestServices
from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from chalicelib.stores.archive import InMemoryArchive
from chalicelib.stores.audit import InMemoryAudit
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache
from chalicelib.stores.queues import InMemoryQueue
from chalicelib.stores.records import InMemoryRecordStore
from chalicelib.stores.secrets import InMemorySecretStore
from devstack.local_worker import sqs_event
from tests.fakes import FakeZohoCrm

SIGNING_SECRET = "test-signing-secret"


@dataclass
class World:
    """Everything the app talks to, in memory."""

    mappings: InMemoryMappingStore = field(default_factory=InMemoryMappingStore)
    secrets: InMemorySecretStore = field(default_factory=InMemorySecretStore)
    ledger: InMemoryLedger = field(default_factory=InMemoryLedger)
    queue: InMemoryQueue = field(default_factory=lambda: InMemoryQueue("zwa-deliveries"))
    dead_letters: InMemoryQueue = field(default_factory=lambda: InMemoryQueue("zwa-dlq"))
    zoho: FakeZohoCrm = field(default_factory=FakeZohoCrm)
    archive: InMemoryArchive = field(default_factory=InMemoryArchive)
    audit: InMemoryAudit = field(default_factory=InMemoryAudit)
    records: InMemoryRecordStore | None = None
    client: Any = None
    parallel_messages: int = 1  # messages of a batch the worker handles at once

    def configure(self) -> None:
        # Each configuration starts with no record state, as a new deployment would.
        self.records = InMemoryRecordStore(self.ledger, audit=self.audit)
        chalice_app.configure(
            ingest=IngestServices(
                mappings=MappingCache(self.mappings, ttl=0),
                secrets=self.secrets, ledger=self.ledger, queue=self.queue,
                archive=self.archive),
            worker=WorkerServices(
                mappings=MappingCache(self.mappings, ttl=0), ledger=self.ledger,
                queue=self.queue, dead_letters=self.dead_letters, zoho=self.zoho.client,
                retry_base_seconds=30, retry_cap_seconds=900, draw=lambda: 0.5,
                records=self.records, parallel_messages=self.parallel_messages),
        )

    def post(self, source: str, body: bytes, headers: dict[str, str] | None = None,
             sign: bool = True) -> Any:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if sign:
            config = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
            all_headers["X-Signature"] = hmac_signature(config, SIGNING_SECRET.encode(), body)
        return self.client.http.post(f"/webhooks/{source}", headers=all_headers, body=body)

    def deliver(self, event: bytes, delivery_id: str, **data: Any) -> None:
        """Post ``event`` as ``delivery_id``, ``data`` merged into its ``data``, and run the
        worker; Lambda then deletes the messages the worker finished."""
        body = json.loads(event)
        body["id"] = delivery_id
        body["data"].update(data)
        assert self.post("example", json.dumps(body).encode()).status_code == 202
        self.run_worker()
        self.queue.messages.clear()

    def run_worker(self, receive_count: int = 1, sent_at: float | None = None) -> dict[str, Any]:
        """Hand every queued message to the worker once, as Lambda would."""
        sent = int((sent_at if sent_at is not None else time.time()) * 1000)
        messages = [{
            "MessageId": f"m{index}", "ReceiptHandle": f"r{index}", "Body": json.dumps(body),
            "Attributes": {"ApproximateReceiveCount": str(receive_count),
                           "SentTimestamp": str(sent)},
        } for index, (body, _) in enumerate(self.queue.messages)]
        event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:zwa-deliveries",
                          "us-east-1")
        response = self.client.lambda_.invoke("apply_deliveries", event)
        return response.payload


@pytest.fixture
def world(example_mapping):
    state = World()
    state.secrets.put("zwa/webhook/example", SIGNING_SECRET)
    state.mappings.save(example_mapping, now=time.time())
    state.configure()
    with Client(chalice_app.app) as client:
        state.client = client
        yield state
    chalice_app.configure(None, None)
