"""Thousands of generated requests against the running endpoint (``chalice local``): random
bytes, broken JSON, deep, wide and huge bodies, odd content types and charsets, missing and
repeated headers, forged, stale and genuine signatures for every scheme. No answer is a 5xx,
every answer is one of the status table's, and the server is still up afterwards.

Requests go out through ``http.client`` so that a header can be sent twice. The fuzz
sources queue deliveries to a connection that does not exist, so the worker dead-letters
them without calling Zoho; they are taken off the dead-letter queue afterwards.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.ingest.signatures import scheme_keys, sign_request, signing_keys
from chalicelib.mapping.document import parse_mapping
from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from devstack.stack import LocalStack
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration
REQUESTS = 2000
# The answers of the status table (SPEC section 2), by status: what an error's code must be.
TABLE = {200: None, 202: None, 400: "MALFORMED_PAYLOAD", 401: "INVALID_SIGNATURE",
         404: "UNKNOWN_SOURCE", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}
SCHEMES = {
    "none": {"scheme": "none"},
    "hmac": {"scheme": "hmac", "header": "X-Signature", "prefix": "sha256=",
             "timestamp_header": "X-Timestamp"},
    "stripe": {"scheme": "stripe"},
    "github": {"scheme": "github"},
    "shopify": {"scheme": "shopify"},
    "typeform": {"scheme": "typeform"},
    "calendly": {"scheme": "calendly"},
    "standard": {"scheme": "standard-webhooks"},
    "hubspot": {"scheme": "hubspot-v3"},
}
SECRET = "whsec_ZnV6ei1zaWduaW5nLWtleS1mb3ItZXZlcnktc2NoZW1l"  # noqa: S105 (base64, for all)
RULE = {"name": "queued", "when": "type == 'fuzz.queued'", "module": "Contacts",
        "record": {"id": "zoho_id"},
        "fields": {"Email": {"path": "email", "type": "email"}, "Last_Name": "name"}}
SIGNATURE_HEADERS = ["X-Signature", "X-Timestamp", "Stripe-Signature", "X-Hub-Signature-256",
                     "X-Shopify-Hmac-Sha256", "Typeform-Signature", "Calendly-Webhook-Signature",
                     "webhook-id", "webhook-timestamp", "webhook-signature",
                     "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"]


def fuzz_mapping(name: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "source": f"fuzz-{name}", "connection": "fuzz-nowhere", "verify": dict(SCHEMES[name]),
        "delivery_id": "id", "rules": [RULE]}
    if name != "none":
        document["verify"]["secret_id"] = f"zwa/webhook/fuzz-{name}"
    if name == "hubspot":
        document.update(each="@", delivery_id="[portalId, eventId]")
    return document


@pytest.fixture(scope="module")
def fuzz(stack: LocalStack) -> Iterator[LocalStack]:
    stage = stack.stage()
    store = DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table)
    secrets = SecretsManagerStore(stage.client("secretsmanager"))
    for name in SCHEMES:
        store.save(fuzz_mapping(name), now=time.time())
        if name != "none":
            secrets.put(f"zwa/webhook/fuzz-{name}", SECRET)
    wait_for(lambda: requests.post(f"{stack.api_url}/webhooks/fuzz-hubspot", data=b"[]",
                                   timeout=10).status_code != 404, timeout=15)
    yield stack
    _drain_fuzz_dead_letters(stack)
    for name in SCHEMES:  # disabled: later checks of the stage (zwa doctor) skip them
        store.save({**fuzz_mapping(name), "enabled": False}, now=time.time())


def _drain_fuzz_dead_letters(stack: LocalStack) -> None:
    """Delete the fuzz deliveries from the dead-letter queue; put back anything else."""
    time.sleep(3)  # the worker dead-letters the last ones
    stage = stack.stage()
    sqs = stage.client("sqs")
    url = sqs.get_queue_url(QueueName=stage.settings.dead_letter_queue)["QueueUrl"]
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=30, WaitTimeSeconds=1).get("Messages", [])
        if not messages or all(m["MessageId"] in seen for m in messages):
            for message in messages:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message[
                    "ReceiptHandle"], VisibilityTimeout=0)
            return
        for message in messages:
            seen.add(message["MessageId"])
            try:
                fuzzed = json.loads(message["Body"])["source"].startswith("fuzz-")
            except (ValueError, KeyError, TypeError, AttributeError):
                fuzzed = False
            if fuzzed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message[
                    "ReceiptHandle"], VisibilityTimeout=0)


# --- bodies -----------------------------------------------------------------------------------

JSON, FORM, MULTIPART = ("application/json", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=FUZZ")
ids = st.one_of(st.uuids().map(str), st.uuids().map(str), st.text(max_size=30), st.integers(),
               st.none(), st.text(min_size=500, max_size=600))
events = st.fixed_dictionaries(
    {"id": ids, "type": st.sampled_from(["fuzz.queued", "fuzz.ignored", "other"]),
     "zoho_id": st.sampled_from(["5725767000000524157", "x", "1" * 30]),
     "email": st.text(max_size=20), "name": st.text(max_size=20)},
    optional={"extra": st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                    max_size=4),
        max_leaves=12)})
hubspot_events = st.lists(st.fixed_dictionaries(
    {"eventId": ids, "portalId": st.integers(0, 99), "type": st.sampled_from(
        ["fuzz.queued", "fuzz.ignored"]), "zoho_id": st.just("5725767000000524157"),
     "email": st.just("a@example.com"), "name": st.just("Fuzz")}), max_size=110)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _broken(raw: bytes, cut: int, flip: int) -> bytes:
    if not raw:
        return b"{"
    index = flip % len(raw)
    return raw[: max(1, cut % len(raw))] if cut % 2 else \
        raw[:index] + bytes([raw[index] ^ 0x5A]) + raw[index + 1:]


def _multipart(charset: str, payload: bytes, name: str) -> bytes:
    return (f'--FUZZ\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() + payload + \
        b"\r\n--FUZZ--\r\n"


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any],
            odds: int = 4) -> st.SearchStrategy[Any]:
    """``common``, except about one time in ``odds + 1``, ``rare``."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda c: common if c else rare)


well_formed = st.one_of(events.map(_json), hubspot_events.map(_json))
bodies = _mostly(well_formed, st.one_of(
    st.builds(_broken, events.map(_json), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.binary(max_size=300),
    st.builds(lambda depth, arrays: (b"[" * depth + b"]" * depth) if arrays else
              (b'{"a":' * depth + b"1" + b"}" * depth),
              st.integers(30, 120_000), st.booleans()),
    st.integers(19_990, 20_010).map(lambda n: b'{"id": "wide", ' + b",".join(
        b'"k%d":0' % i for i in range(n)) + b"}"),
    st.integers(262_000, 263_000).map(lambda n: b'{"id": "huge", "pad": "' + b"a" * n + b'"}'),
    st.builds(lambda digits: b'{"id": "num", "n": ' + b"9" * digits + b"}",
              st.integers(4000, 5000)),
    st.builds(_multipart, st.sampled_from(["utf-8", "latin-1", "utf-16", "undefined", "x-nope",
                                           "base64", "utf-7", ""]),
              st.binary(max_size=60) | events.map(_json), st.sampled_from(
                  ["rawRequest", "id", "type"])),
    st.dictionaries(st.sampled_from(["id", "type", "zoho_id", "x"]), st.text(max_size=10),
                    max_size=4).map(lambda d: "&".join(f"{k}={v}" for k, v in d.items())
                                    .encode("utf-8", "surrogatepass")),
), odds=1)
content_types = _mostly(st.just(JSON), st.one_of(
    st.sampled_from(["application/vnd.api+json", FORM, MULTIPART, "multipart/form-data",
                     "text/plain", "application/xml", "application/json; charset=latin-1",
                     "application/json; charset=utf-16", None]),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)), odds=2)


# --- signatures ---------------------------------------------------------------------------------

def _genuine(scheme: str, body: bytes, url: str, at: float,
             message_id: str) -> list[tuple[str, str]]:
    """The headers the scheme's provider would send, signed at ``at``."""
    document = parse_mapping(fuzz_mapping(scheme))
    config = document.verify
    if config.scheme == "none":
        return []
    key = scheme_keys(config, signing_keys(SECRET))[0]
    extra = {"webhook-id": message_id} if config.scheme == "standard-webhooks" else {}
    return list({**extra, **sign_request(config, key, body, at, url=url, headers=extra)}.items())


@st.composite
def hostile_requests(draw: st.DrawFn, port: int) -> tuple[str, list[tuple[str, str]], bytes]:
    scheme = draw(st.sampled_from(sorted(SCHEMES)))
    source = draw(_mostly(st.just(f"fuzz-{scheme}"),
                          st.sampled_from(["fuzz-unknown", "-", "..", "x" * 90]), odds=12))
    body = draw(bodies)
    headers: list[tuple[str, str]] = []
    content_type = draw(content_types)
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    mode = draw(_mostly(st.just("genuine"), st.sampled_from([
        "forged", "missing", "repeated", "repeated-forged-first", "stale", "future", "garbage"]),
        odds=1))
    now = time.time()
    at = now - 3600 if mode == "stale" else now + 3600 if mode == "future" else now
    genuine = _genuine(scheme, body, f"http://127.0.0.1:{port}/webhooks/{source}", at,
                       draw(st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                    min_size=1, max_size=20)))
    forged = [(name, draw(st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                  max_size=80))) for name, _ in genuine]
    if mode in ("genuine", "stale", "future"):
        headers += genuine
    elif mode == "forged":
        headers += forged
    elif mode == "repeated":
        headers += genuine + forged
    elif mode == "repeated-forged-first":
        headers += forged + genuine
    elif mode == "garbage":
        headers += [(draw(st.sampled_from(SIGNATURE_HEADERS)),
                     draw(st.text(st.characters(min_codepoint=32, max_codepoint=255),
                                  max_size=60))) for _ in range(draw(st.integers(1, 4)))]
    return source, headers, body


def _post(port: int, source: str, headers: list[tuple[str, str]],
          body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", f"/webhooks/{source}", skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value.encode("latin-1"))
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _check(status: int, raw: bytes) -> None:
    assert status < 500, raw[:300]
    assert status in TABLE, (status, raw[:300])
    answer = json.loads(raw)
    if TABLE[status] is None:
        assert set(answer) in ({"delivery_id", "status"}, {"status", "deliveries"}), answer
        assert answer["status"] in ("queued", "duplicate", "ignored", "failed"), answer
        assert (status == 202) == (answer["status"] == "queued"), answer
    else:
        assert set(answer) == {"code", "message"} and answer["code"] == TABLE[status], answer


def test_thousands_of_hostile_requests_get_only_answers_of_the_status_table(fuzz):
    port = fuzz.ports.api
    seen: dict[int, int] = {}

    @settings(max_examples=REQUESTS, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(hostile_requests(port))
    def one_request(request: tuple[str, list[tuple[str, str]], bytes]) -> None:
        source, headers, body = request
        status, raw = _post(port, source, headers, body)
        _check(status, raw)
        seen[status] = seen.get(status, 0) + 1

    one_request()
    assert sum(seen.values()) >= REQUESTS, seen
    assert {200, 202, 400, 401, 404, 413, 415} <= set(seen), seen  # every row was reached
    assert fuzz.processes["chalice-local"].poll() is None
    assert requests.get(f"{fuzz.api_url}/health", timeout=10).status_code == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD"])
def test_a_method_other_than_post_gets_a_json_405_from_chalice_local(stack, method):
    response = requests.request(method, f"{stack.api_url}/webhooks/example", timeout=10)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    if method != "HEAD":
        assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_a_path_no_route_has_gets_json_not_html(stack):
    for path in ("/", "/webhook/example", "/webhooks", "/webhooks/example/extra"):
        response = requests.post(f"{stack.api_url}{path}", data=b"{}", timeout=10)
        assert response.status_code == 403, path
        assert response.json() == {"message": "Missing Authentication Token"}
