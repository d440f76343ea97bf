"""Every row of the status table, as a provider sees it."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import UnavailableError
from tests.fakes import BrokenLedger, FlakyQueue
from tests.functional.aws_limits import DynamoLikeLedger, SqsLikeQueue


def answer(response):
    return response.status_code, json.loads(response.body)


@pytest.fixture
def strict_world(world):
    """The world, with a queue and a ledger that hold the limits SQS and DynamoDB hold."""
    world.queue, world.ledger = SqsLikeQueue("zwa-deliveries"), DynamoLikeLedger()
    world.configure()
    return world


def warnings_logged(caplog):
    """The reasons of the WARNING lines the app logged."""
    return [record.reason for record in caplog.records
            if record.levelname == "WARNING" and hasattr(record, "reason")]


def test_a_signed_webhook_is_queued_with_202(world, example_event_bytes):
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body) == (202, {"delivery_id": "evt_0001", "status": "queued"})
    item = world.ledger.get("example", "evt_0001")
    assert item["status"] == "queued"
    assert item["matched_rules"] == ["contact-updated"]
    (message, _), = world.queue.messages
    assert message["body"]["data"]["email"] == "ada@example.com"
    assert "x-signature" not in message["headers"]


def test_the_same_delivery_id_again_is_a_200_duplicate(world, example_event_bytes):
    world.post("example", example_event_bytes)
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["status"]) == (200, "duplicate")
    assert len(world.queue.messages) == 1


def test_an_event_no_rule_matches_is_ignored_and_recorded(world):
    status, body = answer(world.post("example", b'{"id": "evt_9", "type": "contact.deleted"}'))
    assert (status, body["status"]) == (200, "ignored")
    assert world.ledger.get("example", "evt_9")["status"] == "ignored"
    assert world.queue.messages == []


def test_broken_json_is_400_malformed(world):
    status, body = answer(world.post("example", b'{"id": "evt_1", '))
    assert status == 400
    assert body["code"] == "MALFORMED_PAYLOAD"
    assert "not valid JSON" in body["message"]


def test_a_body_without_the_delivery_id_is_400_malformed(world):
    status, body = answer(world.post("example", b'{"type": "contact.updated"}'))
    assert (status, body["code"]) == (400, "MALFORMED_PAYLOAD")
    assert "delivery id" in body["message"]


def test_a_wrong_signature_is_401_and_nothing_is_recorded(world, example_event_bytes):
    status, body = answer(world.post("example", example_event_bytes, sign=False,
                                     headers={"X-Signature": "sha256=" + "0" * 64}))
    assert (status, body["code"]) == (401, "INVALID_SIGNATURE")
    assert world.ledger.items == {}


def test_a_missing_signature_is_401(world, example_event_bytes):
    status, body = answer(world.post("example", example_event_bytes, sign=False))
    assert (status, body["code"]) == (401, "INVALID_SIGNATURE")
    assert "X-Signature" in body["message"]


def test_an_unknown_source_is_404(world, example_event_bytes):
    status, body = answer(world.post("nosuch", example_event_bytes))
    assert (status, body["code"]) == (404, "UNKNOWN_SOURCE")


def test_a_disabled_source_is_404(world, example_mapping, example_event_bytes):
    world.mappings.save({**example_mapping, "enabled": False}, now=0)
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["code"]) == (404, "UNKNOWN_SOURCE")


def test_a_body_over_the_limit_is_413(world, example_mapping):
    world.mappings.save({**example_mapping, "max_body_bytes": 100}, now=0)
    status, body = answer(world.post("example", b'{"id": "x", "pad": "' + b"a" * 200 + b'"}'))
    assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_xml_is_415(world):
    status, body = answer(world.post("example", b"<a/>", headers={"Content-Type": "text/xml"}))
    assert (status, body["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_dynamodb_down_is_503_and_nothing_is_promised(world, example_event_bytes):
    world.ledger = BrokenLedger()
    world.configure()
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["code"]) == (503, "UNAVAILABLE")
    assert world.queue.messages == []


def test_a_503_names_no_internals_and_the_log_keeps_the_detail(world, example_event_bytes, caplog):
    world.ledger = BrokenLedger()
    world.configure()
    caplog.clear()
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["code"]) == (503, "UNAVAILABLE")
    assert "ProvisionedThroughputExceeded" not in body["message"]
    assert "ledger" not in body["message"]
    assert "retry" in body["message"]
    (reason,) = warnings_logged(caplog)
    assert "ProvisionedThroughputExceeded" in reason


def test_sqs_down_is_503_and_the_providers_retry_is_queued(world, example_event_bytes):
    world.queue = FlakyQueue(failures=1)
    world.configure()
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["code"]) == (503, "UNAVAILABLE")
    assert world.ledger.get("example", "evt_0001")["status"] == "received"
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["status"]) == (202, "queued")
    assert len(world.queue.messages) == 1


def test_a_missing_signing_secret_is_503_so_the_provider_retries_after_the_fix(
        world, example_event_bytes, caplog):
    world.secrets.values.clear()
    caplog.clear()
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["code"]) == (503, "UNAVAILABLE")
    assert "zwa/webhook/example" not in body["message"]
    (reason,) = warnings_logged(caplog)
    assert "zwa/webhook/example" in reason


def test_a_whitespace_only_signing_secret_is_an_operators_mistake_503_and_logged(
        world, example_event_bytes, caplog):
    world.secrets.put("zwa/webhook/example", "  \n")
    caplog.clear()
    status, body = answer(world.post("example", example_event_bytes, sign=False,
                                     headers={"X-Signature": "sha256=" + "0" * 64}))
    assert (status, body["code"]) == (503, "UNAVAILABLE")
    (reason,) = warnings_logged(caplog)
    assert "zwa/webhook/example" in reason
    assert world.ledger.items == {}


def test_a_signing_secret_stored_with_a_trailing_newline_verifies(world, example_event_bytes):
    world.secrets.put("zwa/webhook/example", "test-signing-secret\n")
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["status"]) == (202, "queued")


def test_health_answers_with_the_version(world):
    response = world.client.http.get("/health")
    assert response.status_code == 200
    assert json.loads(response.body)["version"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.binary(max_size=400),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=zz", "text/plain", ""]))
def test_no_signed_body_of_any_shape_gets_a_500(world, body, content_type):
    response = world.post("example", body, headers={"Content-Type": content_type})
    assert response.status_code in (200, 202, 400, 415)
    assert set(json.loads(response.body)) in ({"delivery_id", "status"}, {"code", "message"})


def test_form_and_multipart_bodies_are_verified_over_their_raw_bytes(world, example_mapping):
    rule = {"name": "form", "module": "Contacts", "record": {"id": "zoho_id"},
            "fields": {"Email": "email"}}
    world.mappings.save({**example_mapping, "source": "forms", "delivery_id": "event_id",
                         "rules": [rule]}, now=0)
    form = b"event_id=f-1&zoho_id=5725767000000524157&email=a%40b.c&tag=x&tag=y"
    response = world.post("forms", form,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status_code, json.loads(response.body)["status"]) == (202, "queued")
    multipart = (b"--B\r\nContent-Disposition: form-data; name=\"event_id\"\r\n\r\nf-2\r\n"
                 b"--B\r\nContent-Disposition: form-data; name=\"rawRequest\"\r\n\r\n"
                 b"{\"zoho_id\": \"5725767000000524157\"}\r\n--B--\r\n")
    response = world.post("forms", multipart,
                          headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert (response.status_code, json.loads(response.body)["status"]) == (202, "queued")
    bodies = [message["body"] for message, _ in world.queue.messages]
    assert bodies[0]["tag"] == ["x", "y"]
    assert bodies[1]["rawRequest"] == {"zoho_id": "5725767000000524157"}


def test_only_the_headers_the_mapping_reads_travel_with_the_delivery(world, example_mapping):
    rule = example_mapping["rules"][0]
    rule["fields"]["Lead_Source"] = "header:X-Origin"
    world.mappings.save(example_mapping, now=0)
    body = b'{"id": "evt_h1", "type": "contact.updated", "data": {"zoho_id": "1"}}'
    status, _ = answer(world.post("example", body, headers={
        "X-Origin": "shop", "X-Forwarded-For": "203.0.113.9", "X-Gitlab-Token": "glpat-secret",
        "Authorization": "Bearer t", "User-Agent": "provider/1.0"}))
    assert status == 202
    (message, _), = world.queue.messages
    assert message["headers"] == {"x-origin": "shop"}


HOSTILE_BODIES = {
    "nested a thousand deep": (b'{"id": "h1", "a": ' + b"[" * 1000 + b"]" * 1000 + b"}",
                               "application/json", 400, "nested deeper than 64"),
    "nested sixty-five deep": (b'{"id": "h2", "a": ' + b"[" * 64 + b"]" * 64 + b"}",
                               "application/json", 400, "nested deeper than 64"),
    "an integer of 5,000 digits": (b'{"id": "h3", "n": ' + b"9" * 5000 + b"}",
                                   "application/json", 400, "digits"),
    "a content type outside Latin-1": (b"--B--\r\n", "multipart/form-data; boundary=\u2603",
                                       415, "ASCII"),
    "a multipart part in charset undefined": (
        b'--B\r\nContent-Disposition: form-data; name="id"\r\n'
        b"Content-Type: text/plain; charset=undefined\r\n\r\nh5\r\n--B--\r\n",
        "multipart/form-data; boundary=B", 400, "charset"),
    "a lone surrogate": (b'{"id": "h6", "type": "contact.updated", "data": {"first_name": '
                         b'"\\ud800", "zoho_id": "1"}}', "application/json", 400, "surrogate"),
    "a lone surrogate as the delivery id": (b'{"id": "\\udc00"}', "application/json", 400,
                                            "surrogate"),
}


@pytest.mark.parametrize("case", HOSTILE_BODIES, ids=list(HOSTILE_BODIES))
def test_a_body_that_can_never_be_carried_is_refused_and_nothing_is_left_received(
        strict_world, case):
    raw, content_type, expected_status, says = HOSTILE_BODIES[case]
    status, body = answer(strict_world.post("example", raw, headers={"Content-Type": content_type}))
    assert status == expected_status
    assert body["code"] == ("MALFORMED_PAYLOAD" if status == 400 else "UNSUPPORTED_MEDIA_TYPE")
    assert says in body["message"]
    assert strict_world.ledger.items == {}
    assert strict_world.queue.messages == []


def test_a_delivery_id_over_512_utf8_bytes_is_400_and_says_bytes(strict_world):
    delivery_id = "\u20ac" * 512  # 512 characters, 1,536 bytes
    raw = json.dumps({"id": delivery_id, "type": "contact.updated"}).encode()
    status, body = answer(strict_world.post("example", raw))
    assert (status, body["code"]) == (400, "MALFORMED_PAYLOAD")
    assert "512 bytes" in body["message"]
    assert strict_world.ledger.items == {}


def test_a_payload_holding_code_points_sqs_refuses_is_queued_and_applied_intact(strict_world):
    raw = json.dumps({"id": "evt_ffff", "type": "contact.updated", "data": {
        "zoho_id": "5725767000000524157", "first_name": "Ada\uffff\ufffe", "last_name": "L"}}
    ).encode()
    status, body = answer(strict_world.post("example", raw))
    assert (status, body["status"]) == (202, "queued")
    strict_world.run_worker()
    assert strict_world.ledger.get("example", "evt_ffff")["status"] == "applied"
    record = strict_world.zoho.records[("Contacts", "5725767000000524157")]
    assert record["First_Name"] == "Ada\uffff\ufffe"


def test_a_delivery_id_expression_that_fails_on_the_payload_is_400_naming_it(
        world, example_mapping):
    world.mappings.save({**example_mapping, "delivery_id": "join('-', ids)"}, now=0)
    status, body = answer(world.post("example", b'{"ids": 5, "type": "contact.updated"}'))
    assert (status, body["code"]) == (400, "MALFORMED_PAYLOAD")
    assert "join('-', ids)" in body["message"]
    assert world.ledger.items == {}


def test_a_when_that_fails_on_the_payload_records_the_delivery_failed_and_never_queues_it(
        world, example_mapping):
    example_mapping["rules"][0]["when"] = "length(data.seats) > `0`"
    world.mappings.save(example_mapping, now=0)
    raw = b'{"id": "evt_w1", "data": {"seats": 12, "zoho_id": "1"}}'
    status, body = answer(world.post("example", raw))
    assert (status, body) == (200, {"delivery_id": "evt_w1", "status": "failed"})
    item = world.ledger.get("example", "evt_w1")
    assert item["status"] == "failed"
    error = item["last_error"]
    assert error["code"] == "MAPPING_ERROR"
    assert error["path"] == "length(data.seats) > `0`"
    assert "contact-updated" in error["message"] and "length(data.seats)" in error["message"]
    assert "12" not in error["message"]
    assert world.queue.messages == []
    status, body = answer(world.post("example", raw))
    assert (status, body["status"]) == (200, "duplicate")
    assert world.queue.messages == []


def test_a_source_name_no_mapping_can_have_is_404_without_asking_the_store(world):
    class DownMappingStore:
        """DynamoDB refuses a partition key over 2,048 bytes; here it refuses every read."""

        def current(self, source):
            raise UnavailableError("reading the mapping failed (ValidationException)")

    world.mappings = DownMappingStore()
    world.configure()
    status, body = answer(world.post("x" * 3000, b"{}"))
    assert (status, body["code"]) == (404, "UNKNOWN_SOURCE")


def test_a_retry_that_no_rule_matches_any_more_is_not_left_received(
        world, example_mapping, example_event_bytes):
    world.queue = FlakyQueue(failures=1)
    world.configure()
    assert world.post("example", example_event_bytes).status_code == 503
    assert world.ledger.get("example", "evt_0001")["status"] == "received"
    example_mapping["rules"][0]["when"] = "type == 'contact.deleted'"
    world.mappings.save(example_mapping, now=0)
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["status"]) == (200, "ignored")
    assert world.ledger.get("example", "evt_0001")["status"] == "ignored"
    assert world.queue.messages == []
