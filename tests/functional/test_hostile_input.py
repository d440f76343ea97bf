"""Whatever a caller sends, the api answers it: never a 500, and never a 503 for the input.

Signed requests (so that every body reaches the parser and the mapping) carry
hostile bodies and content types to the app, whose queue and ledger hold the
limits of SQS and DynamoDB; the only 5xx these stores could cause would be an
input that should have been refused.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.aws_limits import DynamoLikeLedger, SqsLikeQueue

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=BOUNDARY"


def json_event(data: bytes, delivery_id: bytes = b'"evt_h"') -> bytes:
    return (b'{"id": ' + delivery_id + b', "type": "contact.updated", '
            b'"data": {"zoho_id": "5725767000000524157", "first_name": ' + data + b"}}")


def multipart(charset: str, payload: bytes, name: bytes = b"rawRequest") -> bytes:
    return (b'--BOUNDARY\r\nContent-Disposition: form-data; name="' + name + b'"\r\n'
            b"Content-Type: text/plain; charset=" + charset.encode("ascii", "replace") + b"\r\n"
            b"\r\n" + payload + b"\r\n--BOUNDARY--\r\n")


deep_nesting = st.builds(
    lambda depth, arrays: (json_event(b"[" * depth + b"1" + b"]" * depth) if arrays else
                           json_event(b'{"a": ' * depth + b"1" + b"}" * depth), JSON),
    st.integers(min_value=60, max_value=5000), st.booleans())

huge_integers = st.builds(
    lambda digits, where: ((json_event(b"9" * digits) if where else
                            json_event(b'"x"', delivery_id=b"9" * digits)), JSON),
    st.integers(min_value=4000, max_value=7000), st.booleans())

surrogates = st.builds(
    lambda point, where: (json_event(f'"a\\u{point:04x}b"'.encode()) if where else
                          json_event(b'"x"', delivery_id=f'"\\u{point:04x}"'.encode()), JSON),
    st.integers(min_value=0xD800, max_value=0xDFFF), st.booleans())

refused_by_sqs = st.builds(
    lambda text, uuid: (json_event(json.dumps(text).encode(), f'"{uuid}"'.encode()), JSON),
    st.text(st.sampled_from("a\ufffe\uffff\u0000\u001f\U0010ffff"), max_size=20), st.uuids())

any_json = st.builds(
    lambda value, delivery_id: (json.dumps({"id": delivery_id, "type": "contact.updated",
                                            "data": value}).encode(), JSON),
    st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers()
                 | st.text(), lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10),
    st.text(max_size=600) | st.integers())

odd_charsets = st.builds(
    lambda charset, payload, name: (multipart(charset, payload, name), MULTIPART),
    st.sampled_from(["undefined", "utf-7", "unicode_escape", "raw_unicode_escape", "base64",
                     "idna", "punycode", "utf-16", "utf-32", "rot13", "zlib", "hex", "x-nope",
                     "latin-1", "cp1252", "utf-8-sig", ""]),
    st.binary(max_size=40) | st.sampled_from([b"+2AA-", b"\\ud800", b"{\"id\": 1}", b"\xff\xfe"]),
    st.sampled_from([b"rawRequest", b"id", b"x"]))

hostile_content_types = st.builds(
    lambda body, content_type: (body, content_type),
    st.binary(max_size=200),
    st.text(max_size=60) | st.sampled_from([
        "multipart/form-data; boundary=\u2603", "application/json; charset=\u00e9\u4e2d",
        "multipart/form-data; boundary=B; a*", "multipart/form-data; boundary*=x''y",
        "multipart/form-data; boundary=", "application/\u0000json", "text/plain",
        f"{FORM}; charset=undefined", "application/vnd.x+json; q=\ud800"]))

random_bytes = st.tuples(st.binary(max_size=400), st.sampled_from([JSON, FORM, MULTIPART, ""]))

HOSTILE = st.one_of(deep_nesting, huge_integers, surrogates, refused_by_sqs, any_json,
                    odd_charsets, hostile_content_types, random_bytes)


@pytest.fixture
def hostile_world(world, example_mapping):
    world.queue, world.ledger = SqsLikeQueue("zwa-deliveries"), DynamoLikeLedger()
    # A second source whose expressions can fail on a payload, read headers, and id by header.
    world.mappings.save({
        **example_mapping, "source": "probe",
        "delivery_id": "header:X-Event-Id",
        "rules": [{**example_mapping["rules"][0],
                   "when": "length(data.first_name) > `1`",
                   "fields": {"First_Name": "data.first_name", "Lead_Source": "header:X-Origin",
                              "Description": {"template": "{to_string(data)}"}}}],
    }, now=0)
    world.configure()
    return world


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=HOSTILE, source=st.sampled_from(["example", "probe"]),
       event_id=st.text(max_size=700))
def test_no_hostile_body_or_content_type_gets_a_5xx(hostile_world, case, source, event_id):
    body, content_type = case
    headers = {"Content-Type": content_type, "X-Event-Id": event_id, "X-Origin": event_id}
    response = hostile_world.post(source, body, headers=headers)
    answer = json.loads(response.body)
    assert response.status_code < 500, answer
    assert set(answer) in ({"delivery_id", "status"}, {"code", "message"})
