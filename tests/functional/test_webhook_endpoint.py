"""Every row of the status table, as a provider sees it."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import BrokenLedger, FlakyQueue


def answer(response):
    return response.status_code, json.loads(response.body)


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
        world, example_event_bytes):
    world.secrets.values.clear()
    status, body = answer(world.post("example", example_event_bytes))
    assert (status, body["code"]) == (503, "UNAVAILABLE")
    assert "zwa/webhook/example" in body["message"]


def test_health_answers_with_the_version(world):
    response = world.client.http.get("/health")
    assert response.status_code == 200
    assert json.loads(response.body)["version"]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
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
