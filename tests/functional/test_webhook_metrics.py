"""The api counts each webhook's outcome in one EMF line per request (CloudWatch metrics)."""

import json

from chalicelib.observability import (
    DELIVERIES_DUPLICATE,
    DELIVERIES_FAILED,
    DELIVERIES_IGNORED,
    DELIVERIES_QUEUED,
    NAMESPACE,
    WEBHOOKS_RECEIVED,
    WEBHOOKS_REFUSED,
    WEBHOOKS_UNAVAILABLE,
)
from tests.fakes import BrokenLedger

OUTCOMES = {DELIVERIES_QUEUED, DELIVERIES_DUPLICATE, DELIVERIES_IGNORED, DELIVERIES_FAILED,
            WEBHOOKS_REFUSED, WEBHOOKS_UNAVAILABLE}


def emf_lines(capsys):
    """The metrics each EMF line printed since the last call holds, with their values."""
    lines = []
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        values = {m["Name"]: document[m["Name"]] for m in directive["Metrics"]}
        lines.append({name: sum(v) if isinstance(v, list) else v for name, v in values.items()})
    return lines


def test_a_queued_webhook_is_counted_received_and_queued_in_one_line(
        world, example_event_bytes, capsys):
    capsys.readouterr()
    assert world.post("example", example_event_bytes).status_code == 202
    assert emf_lines(capsys) == [{WEBHOOKS_RECEIVED: 1.0, DELIVERIES_QUEUED: 1.0}]


def test_a_duplicate_is_counted_as_a_duplicate(world, example_event_bytes, capsys):
    world.post("example", example_event_bytes)
    capsys.readouterr()
    assert world.post("example", example_event_bytes).status_code == 200
    assert emf_lines(capsys) == [{WEBHOOKS_RECEIVED: 1.0, DELIVERIES_DUPLICATE: 1.0}]


def test_a_refused_webhook_is_counted_refused(world, example_event_bytes, capsys):
    capsys.readouterr()
    response = world.post("example", example_event_bytes, sign=False)
    assert response.status_code == 401
    assert emf_lines(capsys) == [{WEBHOOKS_RECEIVED: 1.0, WEBHOOKS_REFUSED: 1.0}]


def test_an_ignored_and_an_unavailable_webhook_are_counted_so(world, capsys):
    capsys.readouterr()
    assert world.post("example", b'{"id": "evt_9", "type": "other"}').status_code == 200
    world.ledger = BrokenLedger()
    world.configure()
    assert world.post("example", b'{"id": "evt_10", "type": "other"}').status_code == 503
    assert emf_lines(capsys) == [{WEBHOOKS_RECEIVED: 1.0, DELIVERIES_IGNORED: 1.0},
                                 {WEBHOOKS_RECEIVED: 1.0, WEBHOOKS_UNAVAILABLE: 1.0}]


def test_a_when_that_fails_on_the_payload_is_counted_failed(world, example_mapping, capsys):
    example_mapping["rules"][0]["when"] = "length(data.seats) > `0`"
    world.mappings.save(example_mapping, now=0)
    capsys.readouterr()
    assert world.post("example", b'{"id": "evt_w", "data": {"seats": 3}}').status_code == 200
    assert emf_lines(capsys) == [{WEBHOOKS_RECEIVED: 1.0, DELIVERIES_FAILED: 1.0}]


def test_every_request_is_counted_once_with_exactly_one_outcome(world, example_event_bytes, capsys):
    capsys.readouterr()
    for body in (example_event_bytes, example_event_bytes, b"{", b'{"id": "x", "type": "y"}'):
        world.post("example", body)
    world.post("nosuch", b"{}")
    lines = emf_lines(capsys)
    assert len(lines) == 5
    for line in lines:
        assert line[WEBHOOKS_RECEIVED] == 1.0
        assert len(set(line) & OUTCOMES) == 1
