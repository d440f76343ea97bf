"""The worker's HTTP session against the Zoho sandbox: a token, an update, a read, failures."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.records import InMemoryRecordStore
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.http import Urllib3Session, is_timeout, is_transport_error
from chalicelib.zoho.tokens import TokenProvider
from devstack.zoho_sandbox import SandboxServer

RECORD = "5725767000400000001"


@pytest.fixture
def sandbox():
    with SandboxServer() as server:
        requests.post(f"{server.url}/__sandbox/seed", timeout=10, json={
            "module": "Contacts", "records": [{"id": RECORD, "Last_Name": "Before"}]})
        yield server


def test_a_token_an_update_and_a_search_go_through_one_kept_alive_session(sandbox):
    secrets = InMemorySecretStore({"zwa/connection/default": json.dumps({
        "client_id": "sandbox-client", "client_secret": "sandbox-secret",
        "refresh_token": "sandbox-refresh-token", "accounts_url": sandbox.url})})
    session = Urllib3Session(connections=2)
    tokens = TokenProvider(secrets, session, "zwa/connection/default",
                           leases=InMemoryRecordStore(InMemoryLedger()), connection="default")
    client = ZohoClient(session, tokens, timeout=5)
    plan = PlannedUpdate(rule="r", module="Contacts", record=RECORD,
                         body={"data": [{"Last_Name": "Über \"quoted\""}]})
    outcome = client.update_record(plan)
    assert outcome.kind == "applied"
    state = requests.get(f"{sandbox.url}/__sandbox/records/Contacts/{RECORD}", timeout=10).json()
    assert state["fields"]["Last_Name"] == "Über \"quoted\""
    found = client.search_records("Contacts", "(Last_Name:equals:Über)")
    assert [row["id"] for row in found] == [RECORD]


def test_no_answer_is_a_transport_error_and_a_slow_one_a_timeout(sandbox):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    session = Urllib3Session()
    with pytest.raises(Exception) as refused:
        session.get(f"http://127.0.0.1:{closed}/crm/v8/org", timeout=2)
    assert is_transport_error(refused.value) and not is_timeout(refused.value)
    requests.post(f"{sandbox.url}/__sandbox/faults", timeout=10, json={
        "rates": {"hang": 1.0}, "methods": ["GET"], "hang_seconds": 1.5}).raise_for_status()
    with pytest.raises(Exception) as slow:
        session.get(f"{sandbox.url}/crm/v8/org", timeout=0.2)
    assert is_timeout(slow.value) and is_transport_error(slow.value)


def test_a_requests_failure_is_told_apart_too():
    assert is_timeout(requests.Timeout()) and is_transport_error(requests.ConnectionError())
    assert not is_transport_error(ValueError("a bug"))
