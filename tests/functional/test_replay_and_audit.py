"""Archive, replay and the field-level audit, over the app with in-memory stores."""

import json
import time

from chalicelib.mapping.document import parse_mapping
from zwa.dlq import wait_for_outcomes
from zwa.records_cli import history_line
from zwa.replay import (
    NOT_REPLAYED,
    QUEUED,
    ReplaySelection,
    dry_run,
    replay,
    summary,
)

RECORD = "5725767000000524157"


def save_mapping(world, example_mapping, change):
    fields = dict(example_mapping["rules"][0]["fields"])
    change(fields)
    rule = {**example_mapping["rules"][0], "fields": fields}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())


def replay_and_apply(world, selection):
    results = replay(world.archive, world.queue, world.ledger, selection, time.time())
    world.run_worker()
    world.queue.messages.clear()
    wait_for_outcomes(world.ledger, results, timeout=0, clock=time.time, sleep=time.sleep)
    return results


def test_an_accepted_delivery_is_archived_apart_from_the_ledger(world, example_event_bytes):
    world.deliver(example_event_bytes, "evt_1")
    archived = world.archive.get("example", "evt_1", time.time())
    assert archived.body["data"]["email"] == "ada@example.com"
    assert archived.expires_at == int(archived.received_at + 7 * 86400)
    item = world.ledger.get("example", "evt_1")
    assert item["archived_until"] == int(archived.expires_at)
    assert "ada@example.com" not in json.dumps(item, default=str)


def test_a_delivery_failed_on_a_mapping_error_is_applied_by_a_replay_after_the_fix(
        world, example_mapping, example_event_bytes):
    world.deliver(example_event_bytes, "evt_1", seats="a dozen")
    assert world.ledger.get("example", "evt_1")["status"] == "failed"
    save_mapping(world, example_mapping, lambda fields: fields.pop("Seats"))

    results = replay_and_apply(world, ReplaySelection("example", ("evt_1",)))

    assert [(r.outcome, r.previous, r.status) for r in results] == [(QUEUED, "failed", "applied")]
    assert world.zoho.records[("Contacts", RECORD)]["Email"] == "ada@example.com"
    item = world.ledger.get("example", "evt_1")
    assert (item["status"], item["replays"], item["mapping_version"]) == ("applied", 1, 2)
    assert [(h["status"], h["error"]["code"]) for h in item["replay_history"]] == [
        ("failed", "MAPPING_ERROR")]


def test_replaying_applied_deliveries_with_an_unchanged_mapping_sends_nothing(
        world, example_mapping, example_event_bytes):
    for index in range(3):
        world.deliver(example_event_bytes, f"evt_{index}", zoho_id=f"57257670000000{index}")
    calls = len(world.zoho.calls)

    results = replay_and_apply(world, ReplaySelection("example", since=time.time() - 3600))
    assert summary(results) == {"unchanged": 3}
    assert len(world.zoho.calls) == calls

    save_mapping(world, example_mapping,
                 lambda fields: fields.update(Description={"value": "replayed"}))
    results = replay_and_apply(world, ReplaySelection("example", since=time.time() - 3600))
    assert summary(results) == {"applied": 3}
    sent = world.zoho.calls[calls:]
    assert sorted(call.record for call in sent) == [f"57257670000000{i}" for i in range(3)]
    assert all(call.body["data"][0]["Description"] == "replayed" for call in sent)
    assert world.ledger.get("example", "evt_0")["replays"] == 2


def test_a_delivery_without_an_archive_is_reported_not_replayed(
        world, example_mapping, example_event_bytes):
    world.mappings.save({**example_mapping, "archive": False}, now=time.time())
    world.deliver(example_event_bytes, "evt_1")
    assert world.archive.items == {}
    assert replay(world.archive, world.queue, world.ledger,
                  ReplaySelection("example", since=time.time() - 60), time.time()) == []
    [result] = replay(world.archive, world.queue, world.ledger,
                      ReplaySelection("example", ("evt_1",)), time.time())
    assert (result.outcome, result.detail) == (
        NOT_REPLAYED, "its payload was not archived (the source's archive is off, "
                      "or it was not queued)")
    assert world.queue.messages == []


def test_an_expired_archive_is_reported_expired_and_never_replayed(world, example_event_bytes):
    world.deliver(example_event_bytes, "evt_1")
    later = time.time() + 8 * 86400
    for selection in (ReplaySelection("example", ("evt_1",)),
                      ReplaySelection("example", since=0)):
        [result] = replay(world.archive, world.queue, world.ledger, selection, later)
        assert (result.outcome, result.detail) == (NOT_REPLAYED,
                                                   "its archived payload has expired")
    assert world.ledger.get("example", "evt_1").get("replays") is None


def test_a_dry_run_shows_the_requests_and_changes_nothing(
        world, example_mapping, example_event_bytes):
    world.deliver(example_event_bytes, "evt_1")
    before = world.ledger.get("example", "evt_1")
    document = parse_mapping(example_mapping, version=1)
    previews, missing = dry_run(world.archive, world.ledger, document,
                                ReplaySelection("example", ("evt_1",)), time.time())
    assert missing == []
    [request] = previews[0].rules[0].requests
    assert request.url.endswith(f"/crm/v8/Contacts/{RECORD}")
    assert world.ledger.get("example", "evt_1") == before
    assert world.queue.messages == []


def test_the_audit_lists_each_update_of_a_record_newest_first_with_names_only(
        world, example_event_bytes):
    world.deliver(example_event_bytes, "evt_1", created=1764331200)
    world.deliver(example_event_bytes, "evt_2", created=1764331300, first_name="Augusta")
    world.deliver(example_event_bytes, "evt_3", created=1764331400, first_name="Augusta")

    entries = world.audit.history("default", "Contacts", RECORD)
    assert [(e.delivery_id, e.outcome) for e in entries] == [
        ("evt_3", "unchanged"), ("evt_2", "applied"), ("evt_1", "applied")]
    assert "First_Name" in entries[1].fields and "Email" in entries[1].fields
    assert {e.rule for e in entries} == {"contact-updated"}
    assert {e.mapping_version for e in entries} == {1}
    printed = "\n".join(history_line(e) for e in entries)
    assert "unchanged (not sent)" in printed
    for value in ("Augusta", "ada@example.com", "Ada", "Lovelace", "Gold"):
        assert value not in printed
        assert value not in json.dumps([e.to_dict() for e in entries])
