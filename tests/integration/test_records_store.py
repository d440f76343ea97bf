"""The records table and the ledger's conditional writes, against the moto server."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.stores.audit import AuditEntry, DynamoAudit
from chalicelib.stores.ledger import DynamoLedger, RuleOutcomeWrite
from chalicelib.stores.records import (
    BUSY,
    CLAIM_LOST,
    CLAIMED,
    COMMITTED,
    DONE_BEFORE,
    STALE,
    DynamoRecordStore,
    StateChange,
)

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0


@pytest.fixture
def store(stack) -> DynamoRecordStore:
    stage = stack.stage()
    return DynamoRecordStore(stage.client("dynamodb"), stage.settings.records_table,
                             stage.settings.deliveries_table)


@pytest.fixture
def key() -> str:
    return f"record#default#Contacts#{uuid.uuid4().int % 10**19}"


@pytest.fixture
def delivery(ledger: DynamoLedger) -> str:
    delivery_id = f"store-{uuid.uuid4().hex[:8]}"
    ledger.create({"source": "example", "delivery_id": delivery_id, "status": "queued",
                   "rules": {}})
    return delivery_id


def applied(delivery_id: str, outcome: str = "applied") -> RuleOutcomeWrite:
    return RuleOutcomeWrite("example", delivery_id, "contact-updated",
                            {"outcome": outcome, "module": "Contacts"})


def test_a_claim_refuses_an_older_event_and_a_second_claimant(store, key, delivery, ledger):
    assert store.claim(key, "a", event_time=100, now=NOW, lease_seconds=30).result == CLAIMED
    assert store.claim(key, "b", event_time=200, now=NOW + 1, lease_seconds=30).result == BUSY
    change = StateChange(event_time=100, body_hash="h1", applied_by=("example", delivery, "r"))
    assert store.commit(key, "a", change, applied(delivery), NOW + 2) == COMMITTED
    assert ledger.get("example", delivery)["rules"]["contact-updated"]["outcome"] == "applied"
    older = store.claim(key, "c", event_time=99.5, now=NOW + 3, lease_seconds=30)
    assert (older.result, older.state.event_time, older.state.body_hash) == (STALE, 100, "h1")
    same = store.claim(key, "d", event_time=100, now=NOW + 3, lease_seconds=30)
    assert (same.result, same.state.applied_by) == (CLAIMED, ("example", delivery, "r"))


def test_a_commit_can_end_the_delivery_in_the_same_write(store, key, delivery, ledger):
    end = {"status": "applied", "attempts": 1, "updated_at": NOW, "next_attempt_at": None}
    store.claim(key, "a", event_time=None, now=NOW, lease_seconds=30)
    write = RuleOutcomeWrite("example", delivery, "contact-updated",
                             {"outcome": "applied", "module": "Contacts"}, end)
    assert store.commit(key, "a", StateChange(body_hash="h1"), write, NOW) == COMMITTED
    item = ledger.get("example", delivery)
    assert (item["status"], item["attempts"], item["next_attempt_at"]) == ("applied", 1, None)
    assert item["rules"]["contact-updated"]["outcome"] == "applied"
    # A second receive's commit of the same rule writes neither its outcome nor its end.
    store.claim(key, "b", event_time=None, now=NOW, lease_seconds=30)
    again = RuleOutcomeWrite("example", delivery, "contact-updated", {"outcome": "unchanged"},
                             {**end, "status": "unchanged", "attempts": 2})
    assert store.commit(key, "b", StateChange(body_hash="h1"), again, NOW) == DONE_BEFORE
    assert (ledger.get("example", delivery)["status"], ledger.get("example", delivery)[
        "attempts"]) == ("applied", 1)


def test_the_audit_entry_written_with_the_outcome_expires_with_the_ledger(
        stack, key, delivery):
    stage = stack.stage()
    dynamodb = stage.client("dynamodb")
    audit = DynamoAudit(dynamodb, stage.settings.audit_table, ttl_days=3)
    store = DynamoRecordStore(dynamodb, stage.settings.records_table,
                              stage.settings.deliveries_table, ttl_days=3, audit=audit)
    record_id = key.rsplit("#", 1)[1]
    entry = AuditEntry("default", "Contacts", record_id, NOW + 0.5, "example", delivery,
                       "contact-updated", "applied", ("Email",))
    store.claim(key, "a", event_time=None, now=NOW, lease_seconds=30)
    assert store.commit(key, "a", StateChange(body_hash="h1"), applied(delivery), NOW,
                        audit=entry) == COMMITTED
    [written] = audit.history("default", "Contacts", record_id)
    assert (written.delivery_id, written.fields) == (delivery, ("Email",))
    assert written.expires_at == int(NOW) + 3 * 86400


def test_a_claim_whose_holder_died_ends_with_its_lease(store, key):
    assert store.claim(key, "dead", event_time=None, now=NOW, lease_seconds=30).result == CLAIMED
    assert store.claim(key, "next", event_time=None, now=NOW + 29, lease_seconds=30).result == BUSY
    assert store.claim(key, "next", event_time=None, now=NOW + 31,
                       lease_seconds=30).result == CLAIMED


def test_a_commit_writes_nothing_over_a_rule_another_receive_finished(
        store, key, delivery, ledger):
    store.claim(key, "a", event_time=None, now=NOW, lease_seconds=30)
    store.commit(key, "a", StateChange(body_hash="h1"), applied(delivery), NOW)
    store.claim(key, "b", event_time=None, now=NOW, lease_seconds=30)
    result = store.commit(key, "b", StateChange(body_hash="h2"), applied(delivery, "unchanged"),
                          NOW)
    assert result == DONE_BEFORE
    assert ledger.get("example", delivery)["rules"]["contact-updated"]["outcome"] == "applied"
    assert store.get(key).body_hash == "h1"
    assert store.claim(key, "c", event_time=None, now=NOW, lease_seconds=30).result == CLAIMED


def test_a_commit_after_the_claim_ran_out_and_was_taken_changes_nothing(store, key, delivery):
    store.claim(key, "slow", event_time=None, now=NOW, lease_seconds=30)
    store.claim(key, "next", event_time=None, now=NOW + 31, lease_seconds=30)
    assert store.commit(key, "slow", StateChange(body_hash="late"), applied(delivery),
                        NOW + 40) == CLAIM_LOST
    assert store.get(key).claim_owner == "next"
    assert store.save(key, "slow", StateChange(body_hash="late"), NOW + 40) is False


def test_a_lease_has_one_holder_until_it_ends_or_is_given_back(store):
    name = f"token#test-{uuid.uuid4().hex[:6]}"
    assert store.take_lease(name, "a", until=NOW + 15, now=NOW)
    assert not store.take_lease(name, "b", until=NOW + 20, now=NOW + 5)
    assert store.lease_until(name, NOW + 5) == NOW + 15
    store.release_lease(name, "b")  # not b's to give back
    assert store.lease_until(name, NOW + 5) == NOW + 15
    store.release_lease(name, "a")
    assert store.lease_until(name, NOW + 5) is None
    assert store.take_lease(name, "b", until=NOW + 20, now=NOW + 5)
    assert store.take_lease(name, "c", until=NOW + 40, now=NOW + 21)  # b's ended


def test_reopen_and_the_conditional_queued_mark(ledger):
    delivery_id = f"store-{uuid.uuid4().hex[:8]}"
    ledger.create({"source": "example", "delivery_id": delivery_id, "status": "received",
                   "rules": {}})
    ledger.update("example", delivery_id, {"status": "applied"})
    assert not ledger.update_if_status("example", delivery_id, "received", {"status": "queued"})
    assert not ledger.reopen("example", delivery_id, NOW)
    ledger.update("example", delivery_id, {"status": "failed", "next_attempt_at": 5})
    assert ledger.reopen("example", delivery_id, NOW)
    item = ledger.get("example", delivery_id)
    assert (item["status"], item["redrives"], item["redriven_at"]) == ("queued", 1, NOW)
    assert "next_attempt_at" not in item


def test_a_retry_or_dead_letter_write_never_undoes_a_finished_delivery_or_rule(ledger):
    delivery_id = f"store-{uuid.uuid4().hex[:8]}"
    ledger.create({"source": "example", "delivery_id": delivery_id, "status": "queued",
                   "rules": {}})
    retrying = {"contact-updated": {"outcome": "retrying", "code": "RECORD_BUSY"}}
    assert ledger.update_unless_final("example", delivery_id, {"waits": 1},
                                      rule_outcomes=retrying)
    ledger.update("example", delivery_id, {},
                  rule_outcomes={"contact-updated": {"outcome": "applied"}})
    assert not ledger.update_unless_final("example", delivery_id, {"waits": 2},
                                          rule_outcomes=retrying)
    assert ledger.update_unless_final("example", delivery_id, {"waits": 2})
    ledger.update("example", delivery_id, {"status": "applied"})
    assert not ledger.update_unless_final("example", delivery_id, {"status": "dead"})
    item = ledger.get("example", delivery_id)
    assert (item["status"], item["waits"], item["rules"]["contact-updated"]["outcome"]) == (
        "applied", 2, "applied")
