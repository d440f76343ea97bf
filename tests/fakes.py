"""Test doubles that are not adapters of ours: a scripted Zoho CRM and failing stores."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.errors import (
    Failure,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnavailableError,
)
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.queues import InMemoryQueue
from chalicelib.zoho.responses import APPLIED, ZohoOutcome


class FakeZohoCrm:
    """Records in a dict; ``script`` holds outcomes for the next calls ('retry', 'permanent')."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.script: list[str] = []
        self.calls: list[PlannedUpdate] = []

    def client(self, connection: str) -> FakeZohoCrm:
        return self

    def update_record(self, plan: PlannedUpdate) -> ZohoOutcome:
        self.calls.append(plan)
        step = self.script.pop(0) if self.script else "ok"
        if step == "retry":
            raise RetryableDeliveryError(Failure(
                code="INTERNAL_ERROR", message="Internal Server Error", http_status=500))
        if step == "permanent":
            raise PermanentDeliveryError(Failure(
                code="INVALID_DATA", message="invalid data", api_name="Email",
                expected_data_type="email", http_status=400))
        record = self.records.setdefault((plan.module, plan.record), {})
        record.update(copy.deepcopy(plan.body["data"][0]))
        return ZohoOutcome(APPLIED, record_id=plan.record,
                           modified_time="2026-11-28T10:00:00+00:00")


class BrokenLedger(InMemoryLedger):
    """A ledger whose DynamoDB is down."""

    def create(self, item: dict[str, Any]) -> bool:
        raise UnavailableError("writing the delivery ledger failed (ProvisionedThroughputExceeded)")


class FlakyQueue(InMemoryQueue):
    """A queue that fails the next ``failures`` sends."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise UnavailableError("sending to the queue failed (ServiceUnavailable)")
        return super().send(body, attributes)
