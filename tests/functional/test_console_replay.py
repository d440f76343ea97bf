"""The console's archived payload, Replay action and record history over in-memory stores."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from chalicelib.stores.archive import ArchivedDelivery, InMemoryArchive
from chalicelib.stores.audit import AuditEntry, InMemoryAudit
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.mappings import InMemoryMappingStore
from chalicelib.stores.queues import InMemoryQueue
from tests.functional.test_console import HOST, HOSTILE, NOW, PORT, TOKEN
from zwa.console.access import csrf_token
from zwa.console.services import ConsoleServices
from zwa.console.wsgi import Console

RECORD = "5725767000000524157"


class ConsoleWorld:
    def __init__(self, example_mapping) -> None:
        self.mappings, self.ledger = InMemoryMappingStore(), InMemoryLedger()
        self.archive, self.audit = InMemoryArchive(), InMemoryAudit()
        self.queue = InMemoryQueue("zwa-deliveries")
        self.mappings.save(example_mapping, now=NOW - 7200)
        services = ConsoleServices(
            stage="local", mappings=self.mappings, ledger=self.ledger, clock=lambda: NOW,
            webhooks_url="http://127.0.0.1:8000/webhooks", archive=self.archive,
            audit=self.audit, deliveries_queue=self.queue)
        self.client = Client(Console(services, access_token=TOKEN, port=PORT))
        assert self.client.get(f"/?token={TOKEN}", headers=HOST).status_code == 303

    def get(self, path: str) -> str:
        response = self.client.get(path, headers=HOST)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict[str, str]):
        return self.client.post(path, data=data, headers=HOST)

    def delivered(self, delivery_id: str, status: str, body: object) -> None:
        self.ledger.create({"source": "example", "delivery_id": delivery_id, "status": status,
                            "received_at": NOW - 60, "updated_at": NOW - 50, "attempts": 1,
                            "mapping_version": 1, "matched_rules": ["contact-updated"],
                            "rules": {}, "archived_until": int(NOW + 86400)})
        self.archive.put(ArchivedDelivery("example", delivery_id, NOW - 60, NOW + 86400,
                                          {}, body))


@pytest.fixture
def console(example_mapping) -> ConsoleWorld:
    return ConsoleWorld(example_mapping)


def test_the_delivery_page_shows_the_archived_payload_escaped(console):
    console.delivered("evt_1", "applied", {"note": HOSTILE})
    page = console.get("/deliveries/example/evt_1")
    assert HOSTILE not in page
    assert "&lt;script&gt;document.title=" in page
    assert 'id="replay"' in page and f'value="{csrf_token(TOKEN)}"' in page


def test_replay_queues_the_delivery_again_and_keeps_its_earlier_outcome(console):
    console.delivered("evt_1", "failed", {"id": "evt_1"})
    response = console.post("/deliveries/example/evt_1", {"csrf": csrf_token(TOKEN)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/deliveries/example/evt_1?replayed=1"
    [(message, _)] = console.queue.messages
    assert (message["delivery_id"], message["body"]) == ("evt_1", {"id": "evt_1"})
    item = console.ledger.get("example", "evt_1")
    assert (item["status"], item["replays"]) == ("queued", 1)
    page = console.get(response.headers["Location"])
    assert "Replayed." in page and "Earlier outcomes (1 replay)" in page


def test_a_replay_without_the_csrf_token_changes_nothing(console):
    console.delivered("evt_1", "failed", {"id": "evt_1"})
    assert console.post("/deliveries/example/evt_1", {}).status_code == 403
    assert console.queue.messages == []
    assert console.ledger.get("example", "evt_1")["status"] == "failed"


def test_a_delivery_without_an_archive_says_why_and_offers_no_replay(console):
    console.ledger.create({"source": "example", "delivery_id": "evt_2", "status": "applied",
                           "received_at": NOW - 60, "rules": {}})
    page = console.get("/deliveries/example/evt_2")
    assert "No archived payload: its payload was not archived" in page
    assert 'id="replay"' not in page
    response = console.post("/deliveries/example/evt_2", {"csrf": csrf_token(TOKEN)})
    assert response.status_code == 400
    assert console.queue.messages == []


def test_the_record_page_lists_the_audit_newest_first_with_field_names(console):
    for index, (outcome, fields) in enumerate([("applied", ("Email", "First_Name")),
                                               ("unchanged", ("Email",))]):
        console.audit.add(AuditEntry("default", "Contacts", RECORD, NOW - 100 + index,
                                     "example", f"evt_{index}", "contact-updated", outcome,
                                     fields, mapping_version=1))
    page = console.get(f"/records/Contacts/{RECORD}")
    assert page.index("evt_1") < page.index("evt_0")
    assert "Email, First_Name" in page and "unchanged" in page
    empty = console.get("/records/Contacts/1")
    assert "No recorded update of this record." in empty
    assert json.dumps(HOSTILE) not in empty


def test_a_delivery_page_links_each_updated_record_to_its_audit(console):
    console.ledger.create({"source": "example", "delivery_id": "evt_3", "status": "applied",
                           "received_at": NOW - 60, "rules": {"contact-updated": {
                               "outcome": "applied", "module": "Contacts",
                               "record_id": RECORD}}})
    page = console.get("/deliveries/example/evt_3")
    assert f'href="/records/Contacts/{RECORD}"' in page
    assert "No recorded update of this record." in console.get(f"/records/Contacts/{RECORD}")
