"""The worker Lambda through its SQS handler: applied, retried, failed, dead."""

import json
import time


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
