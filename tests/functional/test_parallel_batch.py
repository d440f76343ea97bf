"""A batch's messages handled at once: every outcome, failure report and metric as one by one."""

import json
import threading

import pytest

from tests.functional.test_batches import BATCH_MAPPING, event

LEADS = [f"57257670000007000{index:02d}" for index in range(1, 9)]


@pytest.fixture
def parallel(world):
    world.mappings.save(BATCH_MAPPING, now=0)
    world.parallel_messages = 4
    world.configure()
    return world


def queue_eight_leads(world):
    events = [{**event(index + 1, value=f"lead{index}@example.com"), "objectId": lead}
              for index, lead in enumerate(LEADS)]
    response = world.post("batches", json.dumps(events).encode(), sign=False)
    assert response.status_code == 202


def test_four_messages_of_a_batch_wait_on_zoho_together_and_all_are_applied(parallel):
    queue_eight_leads(parallel)
    together = threading.Barrier(4, timeout=5)  # breaks unless four calls are in flight at once
    parallel.zoho.on_call = together.wait
    assert parallel.run_worker() == {"batchItemFailures": []}
    assert {record for _, record in parallel.zoho.records} == set(LEADS)
    ledger = [parallel.ledger.get("batches", key) for key in _delivery_ids(parallel)]
    assert [item["status"] for item in ledger] == ["applied"] * 8


def test_failures_in_a_parallel_batch_are_reported_for_their_own_messages_only(parallel):
    queue_eight_leads(parallel)
    parallel.zoho.script = ["retry", "ok", "permanent", "ok", "retry", "ok", "ok", "ok"]
    response = parallel.run_worker()
    statuses = {key: parallel.ledger.get("batches", key)["status"]
                for key in _delivery_ids(parallel)}
    assert sorted(statuses.values()) == ["applied"] * 5 + ["failed"] + ["queued"] * 2
    failed_ids = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert len(failed_ids) == 2
    assert len(parallel.dead_letters.messages) == 1


def _delivery_ids(world):
    return [delivery_id for _, delivery_id in world.ledger.items]
