"""The worker's metrics: one EMF line per batch, one outcome per message, Zoho's latency."""

import json
import time

import pytest
import requests

import app as chalice_app
from chalicelib.delivery.worker import WorkerServices
from chalicelib.observability import flush_metrics
from chalicelib.stores.mappings import MappingCache
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.tokens import TokenProvider
from tests.fakes import (
    BuggyLedger,
    FakeZohoSession,
    FlakyQueue,
    crm_error,
    crm_success,
    token_grant,
)

OUTCOMES = ("DeliveriesApplied", "DeliveriesUnchanged", "DeliveriesStale", "DeliveriesFailed",
            "DeliveriesDead", "DeliveriesRetried")
WORKER_METRICS = {*OUTCOMES, "DeliveriesIgnored", "TokenRefreshes", "TokenErrors",
                  "ZohoLatency"}


@pytest.fixture
def emf(capsys):
    """The worker's EMF lines printed since the last look, as JSON (the api prints its own)."""
    flush_metrics()
    capsys.readouterr()

    def lines():
        printed = [json.loads(text) for text in capsys.readouterr().out.splitlines()
                   if text.startswith('{"_aws"')]
        return [line for line in printed if WORKER_METRICS & line.keys()]
    return lines


def outcomes(line):
    return {name: line[name] for name in OUTCOMES if name in line}


def queue_events(world, example_event_bytes, *emails):
    for number, email in enumerate(emails, start=1):
        body = json.loads(example_event_bytes)
        body["id"] = f"evt_{number:04d}"
        body["data"]["email"] = email
        assert world.post("example", json.dumps(body).encode()).status_code == 202


def use_zoho(world, session):
    """The worker with the real Zoho client and token provider over a fake session."""
    world.secrets.put("zwa/connection/default", json.dumps({
        "client_id": "c", "client_secret": "s", "refresh_token": "r",
        "accounts_url": "https://accounts.zoho.eu"}))
    tokens = TokenProvider(world.secrets, session, "zwa/connection/default")
    client = ZohoClient(session, tokens)
    chalice_app.configure(worker=WorkerServices(
        mappings=MappingCache(world.mappings, ttl=0), ledger=world.ledger, queue=world.queue,
        dead_letters=world.dead_letters, zoho=lambda connection: client, draw=lambda: 0.5))


def test_a_batch_prints_one_emf_line_with_its_outcomes_latencies_and_refreshes(
        world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com", "not-an-email")
    session = FakeZohoSession([token_grant()], [
        crm_success(),
        crm_error(400, "INVALID_DATA", api_name="Email", expected_data_type="email")])
    use_zoho(world, session)
    assert world.run_worker() == {"batchItemFailures": []}
    (line,) = emf()
    assert line["DeliveriesApplied"] == [1.0]
    assert line["DeliveriesFailed"] == [1.0]
    assert outcomes(line) == {"DeliveriesApplied": [1.0], "DeliveriesFailed": [1.0]}
    assert line["TokenRefreshes"] == [1.0]
    assert "TokenErrors" not in line
    assert len(line["ZohoLatency"]) == 2
    assert all(value >= 0 for value in line["ZohoLatency"])
    units = {m["Name"]: m["Unit"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["ZohoLatency"] == "Milliseconds"
    assert units["DeliveriesApplied"] == "Count"
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ZohoWebhookAdapter"


def test_a_refused_refresh_is_counted_and_the_next_delivery_asks_zoho_nothing(
        world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com", "grace@example.com")
    session = FakeZohoSession([(200, {"error": "Access Denied"})])
    use_zoho(world, session)
    world.run_worker()
    (line,) = emf()
    assert outcomes(line) == {"DeliveriesRetried": [1.0, 1.0]}
    assert line["TokenErrors"] == [1.0]
    assert "TokenRefreshes" not in line and "ZohoLatency" not in line
    assert len(session.posts) == 1  # the throttle is waited out, not asked again
    assert world.ledger.get("example", "evt_0002")["last_error"]["code"] == "TOKEN_THROTTLED"


def test_a_refresh_and_a_timeout_are_counted(world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com")
    session = FakeZohoSession([token_grant()], [requests.Timeout()])
    use_zoho(world, session)
    world.run_worker()
    (line,) = emf()
    assert outcomes(line) == {"DeliveriesRetried": [1.0]}
    assert line["TokenRefreshes"] == [1.0]
    assert "TokenErrors" not in line
    assert len(line["ZohoLatency"]) == 1


@pytest.mark.parametrize("script,receive_count,expected", [
    (["ok"], 1, {"DeliveriesApplied": [1.0]}),
    (["permanent"], 1, {"DeliveriesFailed": [1.0]}),
    (["bug"], 1, {"DeliveriesFailed": [1.0]}),
    (["retry"], 1, {"DeliveriesRetried": [1.0]}),
    (["retry"], 5, {"DeliveriesDead": [1.0]}),
])
def test_each_message_counts_once_by_its_outcome(
        world, example_event_bytes, emf, script, receive_count, expected):
    queue_events(world, example_event_bytes, "ada@example.com")
    world.zoho.script = list(script)
    world.run_worker(receive_count=receive_count)
    (line,) = emf()
    assert outcomes(line) == expected


def test_an_already_modified_record_counts_as_stale(world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com")
    use_zoho(world, FakeZohoSession([token_grant()], [crm_error(412, "ALREADY_MODIFIED")]))
    world.run_worker()
    assert world.ledger.get("example", "evt_0001")["status"] == "stale"
    (line,) = emf()
    assert outcomes(line) == {"DeliveriesStale": [1.0]}


def test_a_message_seen_again_after_it_finished_counts_nothing(world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com")
    world.run_worker()
    emf()
    world.run_worker()
    assert [outcomes(line) for line in emf()] == []


def test_a_dead_letter_that_cannot_be_sent_counts_as_retried(world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com")
    world.dead_letters = FlakyQueue(failures=1)
    world.configure()
    world.zoho.script = ["permanent"]
    world.run_worker()
    (line,) = emf()
    assert outcomes(line) == {"DeliveriesRetried": [1.0]}


def test_a_malformed_message_counts_as_failed(world, example_event_bytes, emf):
    world.queue.messages.append(({"not": "a delivery"}, {}))
    world.run_worker(sent_at=time.time())
    (line,) = emf()
    assert outcomes(line) == {"DeliveriesFailed": [1.0]}


def test_a_message_that_could_not_be_handled_counts_as_retried(
        world, example_event_bytes, emf):
    queue_events(world, example_event_bytes, "ada@example.com")
    world.ledger = BuggyLedger()
    world.configure()
    assert world.run_worker() == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    (line,) = emf()
    assert outcomes(line) == {"DeliveriesRetried": [1.0]}
