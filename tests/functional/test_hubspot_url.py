"""HubSpot signs the full URL it called: behind a custom domain the api is told it (verify.url)."""

import json
import time

import pytest

from chalicelib.ingest.signatures import sign_request
from chalicelib.mapping.document import parse_mapping
from tests.conftest import load_json

SECRET = "hubspot-client-secret"
CUSTOM = "https://hooks.example.com/webhooks/hubspot"
BODY = json.dumps([{"eventId": 7, "subscriptionId": 1, "portalId": 62515,
                    "subscriptionType": "contact.propertyChange", "objectId": 1246965,
                    "propertyName": "email", "propertyValue": "a@example.com"}]).encode()


@pytest.fixture
def hubspot(world):
    mapping = load_json("examples/mappings/hubspot.json")
    world.mappings.save(mapping, now=0)
    world.secrets.put("zwa/webhook/hubspot", SECRET)
    return world, mapping


def post(world, mapping, signed_url: str, headers: dict | None = None):
    config = parse_mapping(mapping).verify
    signed = sign_request(config, SECRET.encode(), BODY, time.time(), url=signed_url)
    return world.client.http.post("/webhooks/hubspot", body=BODY, headers={
        "Content-Type": "application/json", **signed, **(headers or {})})


def test_without_verify_url_the_url_is_rebuilt_from_the_forwarded_protocol_and_host(hubspot):
    world, mapping = hubspot
    headers = {"Host": "abc.execute-api.eu-west-1.amazonaws.com", "X-Forwarded-Proto": "https"}
    signed_url = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/hubspot"
    assert post(world, mapping, signed_url, headers).status_code == 202


def test_with_verify_url_the_custom_domain_is_what_is_checked(hubspot):
    world, mapping = hubspot
    mapping["verify"]["url"] = CUSTOM
    world.mappings.save(mapping, now=0)
    headers = {"Host": "abc.execute-api.eu-west-1.amazonaws.com", "X-Forwarded-Proto": "https"}
    refused = post(world, mapping, "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/"
                   "hubspot", headers)
    assert (refused.status_code, json.loads(refused.body)["code"]) == (401, "INVALID_SIGNATURE")
    assert post(world, mapping, CUSTOM, headers).status_code == 202
