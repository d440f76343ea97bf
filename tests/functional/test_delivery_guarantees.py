"""The worker's guarantees: never out of order, no credit spent twice, limits never fail."""

import json
import time

import app as chalice_app
from chalicelib.delivery.guard import if_unmodified_since
from chalicelib.delivery.worker import Attempt, WorkerServices, process_message
from chalicelib.mapping.document import QUEUE_MAX_RECEIVE_COUNT
from chalicelib.stores.mappings import MappingCache
from chalicelib.stores.queues import InMemoryQueue
from tests.fakes import DownLedger

CONTACT = ("Contacts", "5725767000000524157")
CREATED = 1_764_331_200


def event(example_event_bytes, delivery_id, created=CREATED, **data):
    body = json.loads(example_event_bytes)
    body["id"] = delivery_id
    body["created"] = created
    body["data"].update(data)
    return json.dumps(body).encode()


def post(world, body, **headers):
    response = world.post("example", body, headers=headers or None)
    assert response.status_code == 202, response.body
    return response


def status(world, delivery_id):
    return world.ledger.get("example", delivery_id)["status"]


def only_new_messages(world):
    """Forget the messages the worker already took (Lambda deletes them)."""
    world.queue.messages.clear()


def test_an_older_event_after_a_newer_one_ends_stale_and_is_not_sent(
        world, example_event_bytes):
    post(world, event(example_event_bytes, "evt_new", CREATED + 60, first_name="Newer"))
    world.run_worker()
    only_new_messages(world)
    post(world, event(example_event_bytes, "evt_old", CREATED, first_name="Older"))
    world.run_worker()
    assert (status(world, "evt_new"), status(world, "evt_old")) == ("applied", "stale")
    assert len(world.zoho.calls) == 1
    assert world.zoho.records[CONTACT]["First_Name"] == "Newer"
    outcome = world.ledger.get("example", "evt_old")["rules"]["contact-updated"]
    assert outcome["outcome"] == "stale"
    assert outcome["reason"] == "a newer event was already applied to the record"


def test_an_event_as_old_as_the_newest_applied_is_still_sent(world, example_event_bytes):
    post(world, event(example_event_bytes, "evt_1", first_name="One"))
    world.run_worker()
    only_new_messages(world)
    post(world, event(example_event_bytes, "evt_2", first_name="Two"))
    world.run_worker()
    assert status(world, "evt_2") == "applied"
    assert world.zoho.records[CONTACT]["First_Name"] == "Two"


def test_the_same_body_under_a_second_delivery_id_ends_unchanged_with_no_put(
        world, example_event_bytes):
    post(world, event(example_event_bytes, "evt_1"))
    post(world, event(example_event_bytes, "evt_2"))
    world.run_worker()
    assert (status(world, "evt_1"), status(world, "evt_2")) == ("applied", "unchanged")
    assert len(world.zoho.calls) == 1
    outcome = world.ledger.get("example", "evt_2")["rules"]["contact-updated"]
    assert outcome["outcome"] == "unchanged"
    assert outcome["record_id"] == CONTACT[1]
    assert outcome["reason"] == "the same body as the last one applied to the record"


def test_a_replayed_body_under_a_forged_delivery_id_header_changes_nothing(
        world, example_mapping, example_event_bytes):
    # Providers sign the body, not every header: a replay can carry a new id.
    world.mappings.save({**example_mapping, "delivery_id": "header:X-Delivery"},
                        now=time.time())
    post(world, example_event_bytes, **{"X-Delivery": "d-1"})
    post(world, example_event_bytes, **{"X-Delivery": "d-forged"})
    world.run_worker()
    assert (status(world, "d-1"), status(world, "d-forged")) == ("applied", "unchanged")
    assert len(world.zoho.calls) == 1


def test_a_rule_that_sends_every_body_sends_an_identical_one_again(
        world, example_mapping, example_event_bytes):
    rule = {**example_mapping["rules"][0], "skip_unchanged": False}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    post(world, event(example_event_bytes, "evt_1"))
    post(world, event(example_event_bytes, "evt_2"))
    world.run_worker()
    assert (status(world, "evt_1"), status(world, "evt_2")) == ("applied", "applied")
    assert len(world.zoho.calls) == 2


def test_a_changed_body_after_an_unchanged_one_is_sent(world, example_event_bytes):
    for delivery_id, name in (("evt_1", "Ada"), ("evt_2", "Ada"), ("evt_3", "Augusta")):
        post(world, event(example_event_bytes, delivery_id, first_name=name))
    world.run_worker()
    assert [status(world, d) for d in ("evt_1", "evt_2", "evt_3")] == [
        "applied", "unchanged", "applied"]
    assert world.zoho.records[CONTACT]["First_Name"] == "Augusta"


def services(world, **settings):
    return WorkerServices(
        mappings=MappingCache(world.mappings, ttl=0), ledger=world.ledger, queue=world.queue,
        dead_letters=world.dead_letters, zoho=world.zoho.client, draw=lambda: 0.5,
        sleep=lambda seconds: None, **settings)


def message(world, index):
    return json.dumps(world.queue.messages[index][0])


def attempt(receipt="r", number=1):
    return Attempt(number=number, first_sent_at=time.time(), receipt_handle=receipt)


def test_an_older_event_handled_while_a_newer_one_is_sent_never_lands_last(
        world, example_event_bytes):
    """Two workers at the same moment: the claim, not a read-then-write, decides."""
    post(world, event(example_event_bytes, "evt_new", CREATED + 60, first_name="Newer"))
    post(world, event(example_event_bytes, "evt_old", CREATED, first_name="Older"))
    worker = services(world)
    seen = []

    def meanwhile_the_older_one_arrives():
        world.zoho.on_call = None
        try:
            seen.append(process_message(message(world, 1), attempt("r-old"), worker,
                                        time.time()))
        except Exception as exc:
            seen.append(type(exc).__name__)

    world.zoho.on_call = meanwhile_the_older_one_arrives
    assert process_message(message(world, 0), attempt("r-new"), worker, time.time()) == "applied"
    assert seen == ["RetryLaterError"]  # the record was busy: it waits on the queue
    assert world.ledger.get("example", "evt_old")["last_error"]["code"] == "RECORD_BUSY"
    assert process_message(message(world, 1), attempt("r-old", 2), worker, time.time()) == (
        "stale")
    assert [plan.body["data"][0]["First_Name"] for plan in world.zoho.calls] == ["Newer"]
    assert world.zoho.records[CONTACT]["First_Name"] == "Newer"


def test_a_newer_event_handled_while_an_older_one_is_sent_is_applied_after_it(
        world, example_event_bytes):
    post(world, event(example_event_bytes, "evt_old", CREATED, first_name="Older"))
    post(world, event(example_event_bytes, "evt_new", CREATED + 60, first_name="Newer"))
    worker = services(world)
    seen = []

    def meanwhile_the_newer_one_arrives():
        world.zoho.on_call = None
        try:
            seen.append(process_message(message(world, 1), attempt("r-new"), worker,
                                        time.time()))
        except Exception as exc:
            seen.append(type(exc).__name__)

    world.zoho.on_call = meanwhile_the_newer_one_arrives
    assert process_message(message(world, 0), attempt("r-old"), worker, time.time()) == "applied"
    assert seen == ["RetryLaterError"]
    assert process_message(message(world, 1), attempt("r-new", 2), worker, time.time()) == (
        "applied")
    assert world.zoho.records[CONTACT]["First_Name"] == "Newer"
    # Waiting for the record used up no attempt.
    assert world.ledger.get("example", "evt_new")["waits"] == 1


def test_a_failed_ledger_write_after_zoho_took_the_update_makes_the_retry_end_unchanged(
        world, example_event_bytes):
    failures = []

    def first_applied_outcome(changes, rule_outcomes):
        if rule_outcomes and not failures and any(
                o.get("outcome") == "applied" for o in rule_outcomes.values()):
            failures.append(1)
            return True
        return False

    world.ledger = DownLedger(failing_write=first_applied_outcome)
    world.configure()
    post(world, event(example_event_bytes, "evt_1"))
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert status(world, "evt_1") == "queued"
    world.run_worker(receive_count=2)
    assert status(world, "evt_1") == "unchanged"
    assert world.ledger.get("example", "evt_1")["rules"]["contact-updated"]["reason"] == (
        "this delivery's update was applied; its outcome could not be recorded then")
    assert len(world.zoho.calls) == 1


def test_if_unmodified_since_carries_the_event_time_and_a_412_ends_stale(
        world, example_mapping, example_event_bytes):
    rule = {**example_mapping["rules"][0], "if_unmodified_since": True}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    post(world, event(example_event_bytes, "evt_1"))
    world.zoho.script = ["modified"]
    world.run_worker()
    assert world.zoho.headers == [if_unmodified_since(CREATED)] == ["2025-11-28T12:00:00+00:00"]
    assert status(world, "evt_1") == "stale"
    outcome = world.ledger.get("example", "evt_1")["rules"]["contact-updated"]
    assert (outcome["outcome"], outcome["code"]) == ("stale", "ALREADY_MODIFIED")
    assert CONTACT not in world.zoho.records


def test_an_event_without_a_readable_time_is_applied_with_a_warning(
        world, example_event_bytes):
    body = json.loads(event(example_event_bytes, "evt_1"))
    body["created"] = "sometime last week"
    post(world, json.dumps(body).encode())
    world.run_worker()
    item = world.ledger.get("example", "evt_1")
    assert item["status"] == "applied"
    assert item["rules"]["contact-updated"]["warning"] == {
        "code": "EVENT_TIME_UNREADABLE",
        "message": "event_time (created) gave no readable time; applied without the "
                   "ordering guard"}
    assert "last week" not in json.dumps(item)


def test_an_event_time_that_fails_on_the_payload_is_a_mapping_error(
        world, example_mapping, example_event_bytes):
    rule = {**example_mapping["rules"][0], "event_time": "length(created)"}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    post(world, event(example_event_bytes, "evt_1"))
    world.run_worker()
    item = world.ledger.get("example", "evt_1")
    assert item["status"] == "failed"
    assert item["last_error"]["code"] == "MAPPING_ERROR"
    assert item["last_error"]["path"] == "length(created)"
    assert world.zoho.calls == []


def test_a_429_never_uses_up_a_deliverys_attempts(world, example_event_bytes):
    # The retry comes long after the container's pause (a wait is at least twice it).
    chalice_app.configure(chalice_app.get_ingest(), services(world, pause_seconds=0))
    post(world, event(example_event_bytes, "evt_1"))
    world.zoho.script = ["limit"]
    # The example allows 5 attempts: a fifth receive ending in an error is dead.
    assert world.run_worker(receive_count=5) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    item = world.ledger.get("example", "evt_1")
    assert (item["status"], item["waits"], item["last_error"]["code"]) == (
        "queued", 1, "TOO_MANY_REQUESTS")
    # A wait: in [c/2, c] with c = 4 * 30 s (the base), here 0.5 of the way.
    assert world.queue.delays == [("r0", 90)]
    world.run_worker(receive_count=6)
    assert status(world, "evt_1") == "applied"


def test_after_a_429_the_containers_next_delivery_of_that_connection_waits_without_a_call(
        world, example_event_bytes):
    post(world, event(example_event_bytes, "evt_1", first_name="One"))
    post(world, event(example_event_bytes, "evt_2", first_name="Two"))
    world.zoho.script = ["limit"]
    world.run_worker()
    assert len(world.zoho.calls) == 1
    item = world.ledger.get("example", "evt_2")
    assert (item["status"], item["last_error"]["code"]) == ("queued", "CONNECTION_PAUSED")


def test_a_delivery_waiting_near_the_queues_receive_limit_goes_back_as_a_new_message(
        world, example_event_bytes):
    chalice_app.configure(chalice_app.get_ingest(), services(world, pause_seconds=0))
    post(world, event(example_event_bytes, "evt_1"))
    world.zoho.script = ["limit"]
    received = QUEUE_MAX_RECEIVE_COUNT - 1
    assert world.run_worker(receive_count=received) == {"batchItemFailures": []}
    (again, _) = world.queue.messages[-1]
    assert (again["delivery_id"], again["prior_attempts"]) == ("evt_1", received)
    assert world.queue.send_delays[-1] > 0
    world.queue.messages[:] = [world.queue.messages[-1]]
    world.run_worker(receive_count=1)
    item = world.ledger.get("example", "evt_1")
    assert (item["status"], item["attempts"]) == ("applied", received + 1)


class FinishingQueue(InMemoryQueue):
    """A queue whose worker takes each message at once, before the api's next write."""

    def __init__(self, world):
        super().__init__("zwa-deliveries")
        self.world = world

    def send(self, body, attributes=None, delay_seconds=0):
        message_id = super().send(body, attributes, delay_seconds)
        process_message(json.dumps(body), attempt(message_id), services(self.world), time.time())
        return message_id


def test_a_delivery_the_worker_finished_before_the_api_marked_it_queued_stays_finished(
        world, example_event_bytes):
    world.queue = FinishingQueue(world)
    world.configure()
    response = post(world, event(example_event_bytes, "evt_1"))
    assert response.json_body == {"delivery_id": "evt_1", "status": "queued"}
    assert status(world, "evt_1") == "applied"

