"""Dead letters listed and sent back through the current mapping (the redrive service)."""

import json
import time

import pytest

from chalicelib.stores.queues import InMemoryQueue
from tests.fakes import FlakyQueue
from zwa.dlq import (
    NOT_REDRIVEN,
    QUEUED,
    Selection,
    list_dead_letters,
    redrive,
    wait_for_outcomes,
)


def failed_on_a_mapping_error(world, example_event_bytes, delivery_id="evt_0001"):
    world.deliver(example_event_bytes, delivery_id, seats="a dozen")


def fix_the_mapping(world, example_mapping):
    fields = dict(example_mapping["rules"][0]["fields"])
    del fields["Seats"]
    rule = {**example_mapping["rules"][0], "fields": fields}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())


def test_a_delivery_that_failed_on_a_mapping_error_is_applied_once_redriven_after_a_fix(
        world, example_mapping, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes)
    assert world.ledger.get("example", "evt_0001")["status"] == "failed"
    fix_the_mapping(world, example_mapping)

    progress = []
    results = redrive(world.dead_letters, world.queue, world.ledger,
                      Selection(delivery_ids=frozenset({"evt_0001"})), time.time(),
                      progress=lambda done, total: progress.append((done, total)))
    assert [(r.letter.delivery_id, r.outcome) for r in results] == [("evt_0001", QUEUED)]
    assert progress == [(1, 1)]
    assert world.dead_letters.messages == []
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["redrives"]) == ("queued", 1)

    world.run_worker()
    wait_for_outcomes(world.ledger, results, timeout=0, clock=time.time, sleep=time.sleep)
    assert results[0].status == "applied"
    assert world.zoho.records[("Contacts", "5725767000000524157")]["Email"] == "ada@example.com"
    assert world.ledger.get("example", "evt_0001")["mapping_version"] == 2


def test_without_the_fix_the_redriven_delivery_fails_again_and_says_why(
        world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes)
    results = redrive(world.dead_letters, world.queue, world.ledger,
                      Selection(source="example"), time.time())
    world.run_worker()
    wait_for_outcomes(world.ledger, results, timeout=0, clock=time.time, sleep=time.sleep)
    assert results[0].status == "failed"
    assert results[0].last_error["code"] == "MAPPING_ERROR"
    assert len(world.dead_letters.messages) == 1  # dead-lettered again


def test_the_list_names_source_delivery_reason_and_age_and_removes_nothing(
        world, example_event_bytes):
    world.dead_letters.now = time.time() - 3600
    failed_on_a_mapping_error(world, example_event_bytes)
    world.zoho.script = ["permanent"]
    body = json.loads(example_event_bytes)
    body["id"] = "evt_0002"
    assert world.post("example", json.dumps(body).encode()).status_code == 202
    world.dead_letters.now = time.time()
    world.run_worker()
    letters = list_dead_letters(world.dead_letters)
    assert [(x.source, x.delivery_id, x.reason, x.api_name, x.status) for x in letters] == [
        ("example", "evt_0001", "MAPPING_ERROR", "Seats", "failed"),
        ("example", "evt_0002", "INVALID_DATA", "Email", "failed"),
    ]
    assert 3590 < letters[0].to_dict(time.time())["age_seconds"] < 3700
    assert "body" not in letters[0].to_dict(time.time())
    assert len(world.dead_letters.messages) == 2
    assert len(list_dead_letters(world.dead_letters)) == 2  # visible again


def test_a_delivery_that_ended_applied_is_not_sent_back_and_its_message_stays(
        world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes)
    world.ledger.update("example", "evt_0001", {"status": "applied"})
    results = redrive(world.dead_letters, world.queue, world.ledger, Selection(everything=True),
                      time.time())
    assert [(r.outcome, r.detail) for r in results] == [
        (NOT_REDRIVEN, "the delivery is already applied")]
    assert world.queue.messages == []
    assert len(list_dead_letters(world.dead_letters)) == 1


def test_a_message_stays_in_the_dead_letter_queue_until_it_is_back_on_the_queue(
        world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes)
    down = FlakyQueue(failures=1)
    (result,) = redrive(world.dead_letters, down, world.ledger, Selection(everything=True),
                        time.time())
    assert result.outcome == NOT_REDRIVEN
    assert result.detail.startswith("left in the dead-letter queue")
    assert len(list_dead_letters(world.dead_letters)) == 1
    (again,) = redrive(world.dead_letters, down, world.ledger, Selection(everything=True),
                       time.time())
    assert again.outcome == QUEUED
    assert list_dead_letters(world.dead_letters) == []
    assert len(down.messages) == 1


def test_only_the_chosen_dead_letters_go_back(world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes, "evt_0001")
    failed_on_a_mapping_error(world, example_event_bytes, "evt_0002")
    results = redrive(world.dead_letters, world.queue, world.ledger,
                      Selection(source="example", delivery_ids=frozenset({"evt_0002"})),
                      time.time())
    assert [r.letter.delivery_id for r in results] == ["evt_0002"]
    assert [m["delivery_id"] for m, _ in world.queue.messages] == ["evt_0002"]
    assert [x.delivery_id for x in list_dead_letters(world.dead_letters)] == ["evt_0001"]


def test_a_message_that_is_no_delivery_stays_where_it_is(world):
    world.dead_letters.send({"raw": "not a delivery"}, {"failure_code": "MALFORMED_MESSAGE"})
    (result,) = redrive(world.dead_letters, world.queue, world.ledger,
                        Selection(everything=True), time.time())
    assert (result.outcome, result.detail) == (NOT_REDRIVEN, "the message is not a delivery")
    assert len(world.dead_letters.messages) == 1


def test_two_copies_of_one_delivery_go_back_once(world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes)
    body, attributes = world.dead_letters.messages[0]
    world.dead_letters.send(body, attributes)
    results = redrive(world.dead_letters, world.queue, world.ledger,
                      Selection(everything=True), time.time())
    assert [r.outcome for r in results] == [QUEUED, NOT_REDRIVEN]
    assert len(world.queue.messages) == 1
    assert world.dead_letters.messages == []


def test_a_redrive_must_say_which_dead_letters():
    with pytest.raises(ValueError, match="--source S, --delivery ID or --all"):
        Selection()


def test_a_message_the_queue_itself_moved_is_listed_with_what_is_known():
    dlq = InMemoryQueue("dlq")
    dlq.send({"source": "example", "delivery_id": "evt_9", "received_at": 1, "body": {}})
    (letter,) = list_dead_letters(dlq)
    assert (letter.source, letter.delivery_id, letter.reason, letter.status) == (
        "example", "evt_9", "RECEIVE_LIMIT", None)
