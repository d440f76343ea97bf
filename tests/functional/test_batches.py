"""One request, several deliveries (``each``), and the limits checked before any work."""

import json

import pytest

from chalicelib.ingest.accept import MAX_EACH_ITEMS
from chalicelib.ingest.body import MAX_BODY_KEYS
from tests.fakes import FlakyQueue

LEAD = "5725767000000700001"
BATCH_MAPPING = {
    "source": "batches",
    "verify": {"scheme": "none"},
    "each": "@",
    "delivery_id": "[portalId, subscriptionId, eventId]",
    "rules": [{"name": "email", "when": "propertyName == 'email'", "module": "Leads",
               "record": {"id": "objectId"}, "fields": {"Email": {"path": "propertyValue",
                                                                  "type": "email"}}}],
}


def event(event_id: int, name: str = "email", value: str = "ada@example.com",
          attempt: int = 0) -> dict:
    return {"eventId": event_id, "subscriptionId": 4849549, "portalId": 62515,
            "occurredAt": 1764331200000, "subscriptionType": "contact.propertyChange",
            "attemptNumber": attempt, "objectId": LEAD, "propertyName": name,
            "propertyValue": value}


def answer(response):
    return response.status_code, json.loads(response.body)


class QueueFailingAt(FlakyQueue):
    """A queue whose ``n``-th send fails (SQS down for a moment), the others succeed."""

    def __init__(self, n: int) -> None:
        super().__init__(failures=0)
        self.n, self.calls = n, 0

    def send(self, body, attributes=None):
        self.calls += 1
        self.failures = 1 if self.calls == self.n else 0
        return super().send(body, attributes)


@pytest.fixture
def batches(world):
    world.mappings.save(BATCH_MAPPING, now=0)
    return world


def post(world, body: bytes):
    return world.post("batches", body, sign=False)


def test_three_events_in_one_request_are_three_deliveries_each_recorded_and_queued(batches):
    body = json.dumps([event(1), event(2, value="grace@example.com"), event(3)]).encode()
    status, reply = answer(post(batches, body))
    assert status == 202
    assert reply == {"status": "queued", "deliveries": [
        {"delivery_id": f"62515|4849549|{n}", "status": "queued"} for n in (1, 2, 3)]}
    assert [message["body"]["eventId"] for message, _ in batches.queue.messages] == [1, 2, 3]
    assert {item["status"] for item in batches.ledger.items.values()} == {"queued"}


def test_the_same_batch_again_even_retried_with_a_new_attempt_number_is_three_duplicates(
        batches):
    post(batches, json.dumps([event(1), event(2), event(3)]).encode())
    retried = json.dumps([event(n, attempt=1) for n in (1, 2, 3)]).encode()
    status, reply = answer(post(batches, retried))
    assert (status, reply["status"]) == (200, "duplicate")
    assert [d["status"] for d in reply["deliveries"]] == ["duplicate"] * 3
    assert len(batches.queue.messages) == 3


def test_rules_are_evaluated_on_each_item(batches):
    body = json.dumps([event(1), event(2, name="phone", value="555")]).encode()
    status, reply = answer(post(batches, body))
    assert status == 202
    assert [d["status"] for d in reply["deliveries"]] == ["queued", "ignored"]
    assert batches.ledger.get("batches", "62515|4849549|2")["status"] == "ignored"
    assert len(batches.queue.messages) == 1


def test_a_batch_with_nothing_to_queue_is_200_with_its_first_notable_status(batches):
    body = json.dumps([event(1, name="phone")]).encode()
    assert answer(post(batches, body)) == (200, {"status": "ignored", "deliveries": [
        {"delivery_id": "62515|4849549|1", "status": "ignored"}]})
    assert answer(post(batches, b"[]")) == (200, {"status": "ignored", "deliveries": []})


def test_the_queue_failing_on_one_item_is_503_and_the_retry_queues_only_what_is_missing(
        batches):
    batches.queue = QueueFailingAt(2)
    batches.configure()
    body = json.dumps([event(1), event(2), event(3)]).encode()
    status, reply = answer(post(batches, body))
    assert (status, reply["code"]) == (503, "UNAVAILABLE")
    assert [m["body"]["eventId"] for m, _ in batches.queue.messages] == [1]
    status, reply = answer(post(batches, body))
    assert status == 202
    assert [d["status"] for d in reply["deliveries"]] == ["duplicate", "queued", "queued"]
    assert sorted(m["body"]["eventId"] for m, _ in batches.queue.messages) == [1, 2, 3]


def test_an_item_without_its_id_refuses_the_whole_batch_before_anything_is_recorded(batches):
    broken = event(2)
    del broken["eventId"]
    status, reply = answer(post(batches, json.dumps([event(1), broken]).encode()))
    assert (status, reply["code"]) == (400, "MALFORMED_PAYLOAD")
    assert "delivery id" in reply["message"]
    assert batches.ledger.items == {} and batches.queue.messages == []


def test_a_body_that_is_no_list_for_each_is_400(batches):
    status, reply = answer(post(batches, json.dumps(event(1)).encode()))
    assert (status, reply["code"]) == (400, "MALFORMED_PAYLOAD")
    assert "each (@) gives no list" in reply["message"]


def test_more_items_than_one_request_may_hold_is_413_and_nothing_is_recorded(batches):
    body = json.dumps([event(n) for n in range(MAX_EACH_ITEMS + 1)]).encode()
    status, reply = answer(post(batches, body))
    assert (status, reply["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert f"at most {MAX_EACH_ITEMS}" in reply["message"]
    assert batches.ledger.items == {}


def test_a_body_with_too_many_keys_is_413_before_any_work(world):
    keys = ",".join(f'"k{n}":0' for n in range(MAX_BODY_KEYS + 1))
    status, reply = answer(world.post("example", ('{"id": "evt_k", ' + keys + "}").encode()))
    assert (status, reply["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert "keys" in reply["message"]
    assert world.ledger.items == {}


def test_a_method_other_than_post_gets_a_json_405_in_the_house_shape(world):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = world.client.http.request(method, "/webhooks/example", body=b"",
                                             headers={})
        assert answer(response) == (405, {"code": "METHOD_NOT_ALLOWED",
                                          "message": "a webhook is sent with POST"})
        assert response.headers["Allow"] == "POST"
    status, reply = answer(world.client.http.request("POST", "/health", body=b"", headers={}))
    assert (status, reply["code"]) == (405, "METHOD_NOT_ALLOWED")


def test_a_delivery_id_of_several_fields_joins_them_and_refuses_a_missing_one(world):
    world.mappings.save({**BATCH_MAPPING, "source": "calendar", "each": None,
                         "delivery_id": "[event, payload.uri]",
                         "rules": [{**BATCH_MAPPING["rules"][0], "when": "event == 'x'"}]},
                        now=0)
    body = {"event": "invitee.created", "payload": {"uri": "https://api.calendly.com/i/1"}}
    status, reply = answer(world.post("calendar", json.dumps(body).encode(), sign=False))
    assert (status, reply["delivery_id"]) == (200, "invitee.created|https://api.calendly.com/i/1")
    del body["event"]
    status, reply = answer(world.post("calendar", json.dumps(body).encode(), sign=False))
    assert (status, reply["code"]) == (400, "MALFORMED_PAYLOAD")
    assert "[event, payload.uri]" in reply["message"]


def test_a_batch_counts_each_delivery_by_its_outcome(batches, capsys):
    from chalicelib.observability import (
        DELIVERIES_IGNORED,
        DELIVERIES_QUEUED,
        WEBHOOKS_RECEIVED,
    )
    from tests.functional.test_webhook_metrics import emf_lines

    capsys.readouterr()
    body = json.dumps([event(1), event(2), event(3, name="phone")]).encode()
    assert post(batches, body).status_code == 202
    assert emf_lines(capsys) == [{WEBHOOKS_RECEIVED: 1.0, DELIVERIES_QUEUED: 2.0,
                                  DELIVERIES_IGNORED: 1.0}]
