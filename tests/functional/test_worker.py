"""The worker Lambda through its SQS handler: applied, retried, failed, dead."""

import json
import time

import app as chalice_app
from chalicelib.delivery.worker import WorkerServices
from chalicelib.stores.mappings import MappingCache
from devstack.local_worker import sqs_event
from tests.fakes import BuggyLedger, DownLedger, FlakyQueue, LambdaDeadline

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:zwa-deliveries"


def queue_example(world, example_event_bytes):
    assert world.post("example", example_event_bytes).status_code == 202


def test_a_queued_delivery_is_applied_and_the_ledger_says_so(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    response = world.run_worker()
    assert response == {"batchItemFailures": []}
    record = world.zoho.records[("Contacts", "5725767000000524157")]
    assert record["Email"] == "ada@example.com"
    assert record["Customer_Tier"] == "Gold"
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "applied"
    assert item["attempts"] == 1
    assert item["mapping_version"] == 1
    assert item["rules"]["contact-updated"]["outcome"] == "applied"
    assert item["rules"]["contact-updated"]["record_id"] == "5725767000000524157"


def test_a_retryable_failure_stays_on_the_queue_with_a_backoff(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    response = world.run_worker(receive_count=2)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    # Full jitter with a draw of 0.5 after attempt 2: 0.5 * 30 * 2.
    assert world.queue.delays == [("r0", 30)]
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "queued"
    assert item["last_error"]["code"] == "INTERNAL_ERROR"
    assert item["rules"]["contact-updated"]["outcome"] == "retrying"


def test_a_zoho_rejection_ends_failed_in_the_dead_letter_queue(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["permanent"]
    response = world.run_worker()
    assert response == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "failed"
    assert item["last_error"]["code"] == "INVALID_DATA"
    assert item["last_error"]["api_name"] == "Email"
    assert item["last_error"]["rule"] == "contact-updated"
    (message, attributes), = world.dead_letters.messages
    assert message["delivery_id"] == "evt_0001"
    assert attributes["failure_code"] == "INVALID_DATA"
    assert json.loads(attributes["failure"])["api_name"] == "Email"


def test_retries_end_dead_after_max_attempts(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    response = world.run_worker(receive_count=5)  # the example allows 5 attempts
    assert response == {"batchItemFailures": []}
    assert world.ledger.get("example", "evt_0001")["status"] == "dead"
    assert world.dead_letters.messages[0][1]["status"] == "dead"


def test_retries_end_dead_after_max_age(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    world.run_worker(receive_count=1, sent_at=time.time() - 3601)
    assert world.ledger.get("example", "evt_0001")["status"] == "dead"


def test_a_mapping_error_is_permanent_and_names_the_field(world, example_event_bytes):
    body = json.loads(example_event_bytes)
    body["data"]["seats"] = "a dozen"
    assert world.post("example", json.dumps(body).encode()).status_code == 202
    world.run_worker()
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "failed"
    assert item["last_error"]["code"] == "MAPPING_ERROR"
    assert item["last_error"]["api_name"] == "Seats"
    assert item["last_error"]["path"] == "data.seats"
    assert item["last_error"]["details"] == {"value_type": "string"}
    assert "a dozen" not in json.dumps(item)
    assert world.zoho.calls == []


def test_a_delivery_seen_again_after_it_finished_is_not_sent_twice(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.run_worker()
    world.run_worker()
    assert len(world.zoho.calls) == 1


def test_a_rule_that_succeeded_is_not_repeated_when_another_rule_is_retried(
        world, example_mapping, example_event_bytes):
    second = {**example_mapping["rules"][0], "name": "contact-updated-again",
              "fields": {"Phone": "data.phone"}}
    world.mappings.save({**example_mapping, "rules": [example_mapping["rules"][0], second]},
                        now=time.time())
    queue_example(world, example_event_bytes)
    world.zoho.script = ["ok", "retry"]
    world.run_worker()
    world.run_worker(receive_count=2)
    assert [call.rule for call in world.zoho.calls] == [
        "contact-updated", "contact-updated-again", "contact-updated-again"]
    assert world.ledger.get("example", "evt_0001")["status"] == "applied"


def test_one_bad_message_does_not_fail_the_batch(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.queue.messages.append(({"not": "a delivery"}, {}))
    response = world.run_worker()
    assert response == {"batchItemFailures": []}
    assert world.ledger.get("example", "evt_0001")["status"] == "applied"
    assert world.dead_letters.messages[0][1]["failure_code"] == "MALFORMED_MESSAGE"


def test_a_retry_says_when_and_a_later_success_clears_it(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    world.run_worker()
    waiting = world.ledger.get("example", "evt_0001")
    assert waiting["next_attempt_at"] > waiting["updated_at"]
    world.run_worker(receive_count=2)
    done = world.ledger.get("example", "evt_0001")
    assert (done["status"], done["attempts"], done["next_attempt_at"]) == ("applied", 2, None)


def test_an_external_value_of_dot_dot_ends_failed_before_any_request(
        world, example_mapping, example_event_bytes):
    rule = {**example_mapping["rules"][0],
            "record": {"external": {"field": "External_Id", "value": "data.zoho_id"}}}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    body = json.loads(example_event_bytes)
    body["data"]["zoho_id"] = ".."
    assert world.post("example", json.dumps(body).encode()).status_code == 202
    assert world.run_worker() == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "failed"
    assert item["last_error"]["code"] == "MAPPING_ERROR"
    assert item["last_error"]["rule"] == "contact-updated"
    assert item["last_error"]["api_name"] == "record.external"
    assert item["last_error"]["path"] == "data.zoho_id"
    assert "'.' or '..'" in item["last_error"]["message"]
    assert world.zoho.calls == []
    assert world.dead_letters.messages[0][1]["failure_code"] == "MAPPING_ERROR"


def test_an_unexpected_error_ends_failed_and_dead_lettered_naming_type_and_rule(
        world, example_event_bytes, logs):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["bug"]
    assert world.run_worker() == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "failed"
    error = item["last_error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert error["rule"] == "contact-updated"
    assert error["details"]["error_type"] == "KeyError"
    assert item["rules"]["contact-updated"]["outcome"] == "failed"
    assert item["rules"]["contact-updated"]["code"] == "INTERNAL_ERROR"
    (message, attributes), = world.dead_letters.messages
    assert message["delivery_id"] == "evt_0001"
    assert attributes["failure_code"] == "INTERNAL_ERROR"
    assert attributes["status"] == "failed"
    assert json.loads(attributes["failure"])["details"]["error_type"] == "KeyError"
    (logged,) = logs("ERROR")
    assert logged["code"] == "INTERNAL_ERROR"
    assert logged["rule"] == "contact-updated"
    assert logged["details"]["error_type"] == "KeyError"
    # The KeyError's message is the payload's email: it goes nowhere.
    assert "ada@example.com" not in json.dumps([item, attributes, logged])


def test_a_field_path_failing_on_the_payload_is_a_mapping_error_naming_the_expression(
        world, example_mapping, example_event_bytes):
    rule = {**example_mapping["rules"][0],
            "fields": {"Seats": {"path": "length(data.balance_cents)"}}}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    queue_example(world, example_event_bytes)
    assert world.run_worker() == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "failed"
    assert item["last_error"]["code"] == "MAPPING_ERROR"
    assert item["last_error"]["rule"] == "contact-updated"
    assert item["last_error"]["api_name"] == "Seats"
    assert item["last_error"]["path"] == "length(data.balance_cents)"
    assert "125050" not in json.dumps(item)
    assert world.zoho.calls == []
    assert world.dead_letters.messages[0][1]["failure_code"] == "MAPPING_ERROR"


def test_a_when_filter_failing_in_the_worker_is_a_mapping_error(
        world, example_mapping, example_event_bytes):
    queue_example(world, example_event_bytes)
    rule = {**example_mapping["rules"][0], "when": "length(data.balance_cents) > `0`"}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    assert world.run_worker() == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["last_error"]["code"]) == ("failed", "MAPPING_ERROR")
    assert item["last_error"]["path"] == "length(data.balance_cents) > `0`"
    assert world.zoho.calls == []
    assert world.dead_letters.messages[0][1]["failure_code"] == "MAPPING_ERROR"


def test_an_unexpected_error_is_left_for_a_retry_when_it_cannot_be_recorded(
        world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.dead_letters = FlakyQueue(failures=1)
    world.configure()
    world.zoho.script = ["bug", "bug"]
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert world.ledger.get("example", "evt_0001")["status"] == "queued"
    assert world.dead_letters.messages == []
    world.run_worker(receive_count=2)
    assert world.ledger.get("example", "evt_0001")["status"] == "failed"
    assert world.dead_letters.messages[0][1]["failure_code"] == "INTERNAL_ERROR"


def test_a_message_nested_too_deep_to_read_is_dead_lettered_as_malformed(world):
    deep = "[" * 100_000 + "]" * 100_000
    text = '{"source": "example", "delivery_id": "evt_deep", "body": ' + deep + "}"
    response = run_bodies(world, [text])
    assert response == {"batchItemFailures": []}
    (message, attributes), = world.dead_letters.messages
    assert attributes["failure_code"] == "MALFORMED_MESSAGE"


def run_bodies(world, bodies, receive_count=1, context=None):
    """Hand raw message bodies to the worker as one SQS event."""
    sent = str(int(time.time() * 1000))
    event = sqs_event([{
        "MessageId": f"m{index}", "ReceiptHandle": f"r{index}", "Body": body,
        "Attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": sent},
    } for index, body in enumerate(bodies)], QUEUE_ARN, "us-east-1")
    if context is None:
        return world.client.lambda_.invoke("apply_deliveries", event).payload
    return chalice_app.app.handler_map["apply_deliveries"](event, context)


def test_an_error_outside_any_delivery_is_logged_and_the_message_left_on_the_queue(
        world, example_event_bytes, logs):
    queue_example(world, example_event_bytes)
    world.ledger = BuggyLedger()
    world.configure()
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    (logged,) = logs("ERROR")
    assert logged["error_type"] == "KeyError"
    assert logged["message_id"] == "m0"


def queue_events(world, example_event_bytes, count):
    for number in range(1, count + 1):
        body = json.loads(example_event_bytes)
        body["id"] = f"evt_{number:04d}"
        body["data"]["seats"] = number  # a body of its own: none is skipped as unchanged
        assert world.post("example", json.dumps(body).encode()).status_code == 202


def worker_services(world, **settings):
    """The services the fixture wires, with worker settings of the test's own."""
    return WorkerServices(
        mappings=MappingCache(world.mappings, ttl=0), ledger=world.ledger, queue=world.queue,
        dead_letters=world.dead_letters, zoho=world.zoho.client, retry_base_seconds=30,
        retry_cap_seconds=900, draw=lambda: 0.5, **settings)


def test_messages_that_the_invocation_has_no_time_left_for_are_not_started(
        world, example_event_bytes, logs):
    queue_events(world, example_event_bytes, 3)
    chalice_app.configure(worker=worker_services(world, message_seconds=30))
    deadline = LambdaDeadline(remaining_ms=60_000)
    world.zoho.on_call = lambda: deadline.spend(35_000)  # a slow Zoho
    bodies = [json.dumps(body) for body, _ in world.queue.messages]
    response = run_bodies(world, bodies, context=deadline)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"},
                                              {"itemIdentifier": "m2"}]}
    assert [plan.rule for plan in world.zoho.calls] == ["contact-updated"]
    assert world.ledger.get("example", "evt_0001")["status"] == "applied"
    for delivery_id in ("evt_0002", "evt_0003"):
        item = world.ledger.get("example", delivery_id)
        assert item["status"] == "queued"
        assert item["attempts"] == 0
    # Visible again at once, for another invocation to take.
    assert world.queue.delays == [("r1", 0), ("r2", 0)]
    assert [line["count"] for line in logs("INFO")
            if line["message"] == "messages left for another invocation"] == [2]


def test_with_enough_time_left_every_message_of_the_batch_is_handled(
        world, example_event_bytes):
    queue_events(world, example_event_bytes, 3)
    chalice_app.configure(worker=worker_services(world, message_seconds=30))
    deadline = LambdaDeadline(remaining_ms=60_000)
    world.zoho.on_call = lambda: deadline.spend(5_000)
    bodies = [json.dumps(body) for body, _ in world.queue.messages]
    assert run_bodies(world, bodies, context=deadline) == {"batchItemFailures": []}
    assert len(world.zoho.calls) == 3
    assert deadline.checks == 3
    assert world.queue.delays == []


def test_once_a_message_is_left_no_later_message_of_the_batch_is_started(
        world, example_event_bytes):
    queue_events(world, example_event_bytes, 3)
    chalice_app.configure(worker=worker_services(world, message_seconds=30))
    deadline = LambdaDeadline(remaining_ms=60_000, readings=[60_000, 29_000])
    bodies = [json.dumps(body) for body, _ in world.queue.messages]
    response = run_bodies(world, bodies, context=deadline)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"},
                                              {"itemIdentifier": "m2"}]}
    assert len(world.zoho.calls) == 1
    assert world.queue.delays == [("r1", 0), ("r2", 0)]


def test_a_batch_started_with_too_little_time_starts_nothing(world, example_event_bytes):
    queue_events(world, example_event_bytes, 2)
    chalice_app.configure(worker=worker_services(world, message_seconds=30))
    bodies = [json.dumps(body) for body, _ in world.queue.messages]
    response = run_bodies(world, bodies, context=LambdaDeadline(remaining_ms=29_999))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"},
                                              {"itemIdentifier": "m1"}]}
    assert world.zoho.calls == []
    assert world.queue.delays == [("r0", 0), ("r1", 0)]


def swap_ledger(world, ledger):
    """The same ledger items behind a ledger that fails as told."""
    ledger.items = world.ledger.items
    world.ledger = ledger
    world.configure()


def test_a_delivery_whose_source_lost_its_mapping_ends_failed_unknown_source(
        world, example_mapping, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.mappings.save({**example_mapping, "enabled": False}, now=time.time())
    assert world.run_worker() == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["last_error"]["code"]) == ("failed", "UNKNOWN_SOURCE")
    assert item["mapping_version"] == 2
    assert world.zoho.calls == []
    (message, attributes), = world.dead_letters.messages
    assert (message["delivery_id"], attributes["failure_code"]) == ("evt_0001", "UNKNOWN_SOURCE")


def test_a_delivery_from_a_source_never_mapped_ends_failed_unknown_source(world):
    text = json.dumps({"source": "nobody", "delivery_id": "evt_x", "body": {}})
    assert run_bodies(world, [text]) == {"batchItemFailures": []}
    item = world.ledger.get("nobody", "evt_x")
    assert (item["status"], item["last_error"]["code"]) == ("failed", "UNKNOWN_SOURCE")
    assert "mapping_version" not in item
    assert world.dead_letters.messages[0][1]["failure_code"] == "UNKNOWN_SOURCE"


def test_a_delivery_no_rule_matches_any_more_ends_ignored_without_a_request(
        world, example_mapping, example_event_bytes):
    queue_example(world, example_event_bytes)
    rule = {**example_mapping["rules"][0], "when": "type == 'contact.deleted'"}
    world.mappings.save({**example_mapping, "rules": [rule]}, now=time.time())
    assert world.run_worker() == {"batchItemFailures": []}
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["attempts"], item["next_attempt_at"]) == ("ignored", 1, None)
    assert world.zoho.calls == []
    assert world.dead_letters.messages == []


def test_a_retryable_failure_waits_the_backoff_of_its_attempt(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    now = time.time()
    world.run_worker(receive_count=3, sent_at=now)
    # Attempt 3: ceiling min(900, 30 * 2**2) = 120, full jitter draw 0.5.
    assert world.queue.delays == [("r0", 60)]
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["attempts"]) == ("queued", 3)
    assert item["last_error"] == {"code": "INTERNAL_ERROR", "message": "Internal Server Error",
                                  "http_status": 500, "rule": "contact-updated"}
    assert item["next_attempt_at"] - item["updated_at"] == 60
    assert world.dead_letters.messages == []


def test_a_retry_one_attempt_short_of_the_limit_is_still_retried(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    response = world.run_worker(receive_count=4, sent_at=time.time() - 3500)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert world.ledger.get("example", "evt_0001")["status"] == "queued"


def test_retries_end_dead_with_the_last_error_and_no_further_delay(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    world.run_worker(receive_count=5)
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["attempts"], item["next_attempt_at"]) == ("dead", 5, None)
    assert item["last_error"]["code"] == "INTERNAL_ERROR"
    assert world.queue.delays == []
    (message, attributes), = world.dead_letters.messages
    assert (attributes["status"], attributes["failure_code"]) == ("dead", "INTERNAL_ERROR")
    assert message["body"]["id"] == "evt_0001"


def test_a_ledger_that_cannot_be_read_leaves_the_message_for_a_retry(
        world, example_event_bytes):
    queue_example(world, example_event_bytes)
    swap_ledger(world, DownLedger(reads_fail=True))
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert world.zoho.calls == []
    assert world.queue.delays == []
    assert world.dead_letters.messages == []


def test_a_dead_letter_queue_that_is_down_leaves_the_message_for_a_retry(
        world, example_event_bytes):
    queue_example(world, example_event_bytes)
    world.dead_letters = FlakyQueue(failures=1)
    world.configure()
    world.zoho.script = ["permanent", "permanent"]
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert world.ledger.get("example", "evt_0001")["status"] == "queued"
    world.run_worker(receive_count=2)
    assert world.ledger.get("example", "evt_0001")["status"] == "failed"
    assert len(world.dead_letters.messages) == 1


def test_a_retry_whose_ledger_write_fails_still_waits_its_backoff(world, example_event_bytes):
    queue_example(world, example_event_bytes)
    swap_ledger(world, DownLedger(failing_write=lambda changes, rules: True))
    world.zoho.script = ["retry"]
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert world.queue.delays == [("r0", 15)]
    item = world.ledger.get("example", "evt_0001")
    assert (item["status"], item["attempts"]) == ("queued", 0)


def test_a_retry_whose_delay_cannot_be_set_is_still_left_on_the_queue(
        world, example_event_bytes):
    world.queue = FlakyQueue(failures=0, delay_failures=1)
    world.configure()
    queue_example(world, example_event_bytes)
    world.zoho.script = ["retry"]
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert world.queue.delays == []
    assert world.dead_letters.messages == []


def test_a_delivery_applied_but_not_recorded_as_such_is_not_sent_again(
        world, example_event_bytes):
    queue_example(world, example_event_bytes)
    # The rule's outcome and the delivery's end are one write: it fails after Zoho took the PUT.
    swap_ledger(world, DownLedger(
        failing_write=lambda changes, rules: changes.get("status") == "applied"))
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "queued" and "contact-updated" not in item["rules"]
    world.ledger.failing_write = None
    world.run_worker(receive_count=2)
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "unchanged"
    assert item["rules"]["contact-updated"]["reason"].startswith(
        "this delivery's update was applied")
    assert len(world.zoho.calls) == 1
