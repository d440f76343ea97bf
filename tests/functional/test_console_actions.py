"""The console's actions over the in-memory stores: dead letters redriven, diffs, previews."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from chalicelib.errors import UnavailableError
from chalicelib.zoho.fields import FieldMetadataSource, StaticFieldMetadata
from tests.functional.test_console import HOST, PORT, TOKEN
from tests.functional.test_redrive import failed_on_a_mapping_error
from zwa.console.access import csrf_token
from zwa.console.services import ConsoleServices
from zwa.console.wsgi import Console

CSRF = csrf_token(TOKEN)
CONTACT_FIELDS = [
    {"api_name": name, "data_type": kind, "read_only": False, "length": 255}
    for name, kind in (("Email", "email"), ("First_Name", "text"), ("Last_Name", "text"),
                       ("Phone", "phone"), ("Seats", "integer"), ("Balance", "currency"),
                       ("Delinquent", "boolean"), ("Signup_Date", "date"),
                       ("Last_Payment_At", "datetime"), ("Account_Name", "lookup"),
                       ("Notes_Field", "text"))
] + [{"api_name": "Customer_Tier", "data_type": "picklist", "read_only": False,
      "pick_list_values": [{"actual_value": v} for v in ("Gold", "Silver", "Standard")]}]


class Browser:
    """The console over the world's stores, with the access cookie already set."""

    def __init__(self, services: ConsoleServices) -> None:
        self.client = Client(Console(services, access_token=TOKEN, port=PORT))
        assert self.client.get(f"/?token={TOKEN}", headers=HOST).status_code == 303

    def get(self, path: str) -> TestResponse:
        return self.client.get(path, headers=HOST)

    def post(self, path: str, data: dict[str, Any], csrf: bool = True) -> TestResponse:
        return self.client.post(path, data={**data, **({"csrf": CSRF} if csrf else {})},
                                headers=HOST)


def services_of(world: Any, field_metadata: Any = None) -> ConsoleServices:
    def worker_runs(seconds: float) -> None:
        world.run_worker()  # what the deployed worker does while the page waits
        world.queue.messages.clear()

    return ConsoleServices(
        stage="local", mappings=world.mappings, ledger=world.ledger, clock=time.time,
        webhooks_url="http://127.0.0.1:8000/webhooks", dead_letters=world.dead_letters,
        deliveries_queue=world.queue, field_metadata=field_metadata, sleep=worker_runs)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def fixed(mapping: dict[str, Any]) -> dict[str, Any]:
    rule = json.loads(json.dumps(mapping["rules"][0]))
    rule["fields"]["Seats"] = {"path": "data.seat_count", "type": "integer"}
    return {**mapping, "rules": [rule]}


def test_the_dlq_page_lists_each_dead_letter_with_its_reason_and_field(
        world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes, "evt_dead_1")
    page = text(Browser(services_of(world)).get("/dlq"))
    assert "evt_dead_1" in page
    assert "MAPPING_ERROR" in page and ">Seats<" in page
    assert 'name="delivery" value="evt_dead_1"' in page
    assert len(world.dead_letters.messages) == 1  # listing removes nothing


def test_with_no_dead_letter_the_dlq_page_says_what_it_is_for(world):
    page = text(Browser(services_of(world)).get("/dlq"))
    assert "No dead letters" in page
    assert "Fix the cause, then redrive it" in page


def test_a_chosen_dead_letter_redriven_after_a_fix_shows_applied(
        world, example_event_bytes, example_mapping):
    failed_on_a_mapping_error(world, example_event_bytes, "evt_dead_1")
    failed_on_a_mapping_error(world, example_event_bytes, "evt_dead_2")
    world.mappings.save(fixed(example_mapping), now=time.time())
    answer = Browser(services_of(world)).post("/dlq/redrive", {"delivery": "evt_dead_1"})
    assert answer.status_code == 200
    assert "1 of 1 sent back" in text(answer)
    assert "status-applied" in text(answer)
    assert world.ledger.get("example", "evt_dead_1")["status"] == "applied"
    assert world.ledger.get("example", "evt_dead_2")["status"] == "failed"
    assert [body["delivery_id"] for body, _ in world.dead_letters.messages] == ["evt_dead_2"]


def test_redrive_all_without_the_fix_shows_the_mapping_error_again(world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes, "evt_dead_1")
    answer = Browser(services_of(world)).post("/dlq/redrive", {"all": "1"})
    assert "status-failed" in text(answer) and "MAPPING_ERROR" in text(answer)
    assert world.ledger.get("example", "evt_dead_1")["status"] == "failed"


def test_a_redrive_without_a_choice_gets_400_and_sends_nothing(world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes, "evt_dead_1")
    answer = Browser(services_of(world)).post("/dlq/redrive", {})
    assert answer.status_code == 400
    assert "tick their boxes" in text(answer)
    assert len(world.dead_letters.messages) == 1


def test_a_redrive_without_the_csrf_token_is_refused_and_leaves_the_dead_letter(
        world, example_event_bytes):
    failed_on_a_mapping_error(world, example_event_bytes, "evt_dead_1")
    answer = Browser(services_of(world)).post("/dlq/redrive", {"all": "1"}, csrf=False)
    assert answer.status_code == 403
    assert len(world.dead_letters.messages) == 1
    assert world.ledger.get("example", "evt_dead_1")["status"] == "failed"


def test_the_diff_page_colours_an_added_field_and_a_removed_one(world, example_mapping):
    world.mappings.save(fixed(example_mapping), now=time.time())
    page = text(Browser(services_of(world)).get("/mappings/example/diff?a=1&b=2"))
    assert '<span class="add">+          &#34;path&#34;: &#34;data.seat_count&#34;,</span>' in page
    assert '<span class="del">-          &#34;path&#34;: &#34;data.seats&#34;,</span>' in page
    assert '<span class="same">           &#34;type&#34;: &#34;integer&#34;</span>' in page


def test_the_diff_of_a_missing_version_gets_404_naming_the_versions(world):
    answer = Browser(services_of(world)).get("/mappings/example/diff?a=1&b=7")
    assert answer.status_code == 404
    assert "no version 7 of example" in text(answer)


def test_the_preview_shows_the_put_checked_against_zohos_fields(
        world, example_event_bytes):
    metadata = StaticFieldMetadata({"Contacts": CONTACT_FIELDS})
    browser = Browser(services_of(world, lambda c: (metadata, "https://www.zohoapis.eu")))
    answer = browser.post("/mappings/example/preview",
                          {"payload": example_event_bytes.decode(), "headers": ""})
    page = text(answer)
    assert answer.status_code == 200
    assert "https://www.zohoapis.eu/crm/v8/Contacts/5725767000000524157" in page
    assert "Checked against Zoho&#39;s field metadata through the connection default" in page
    assert "&#34;Email&#34;: &#34;ada@example.com&#34;" in page
    assert "would be applied" in page
    assert world.zoho.records == {}  # nothing was sent


def test_when_zoho_is_unreachable_the_preview_is_offline_and_says_so(
        world, example_event_bytes):
    def unreachable(connection: str) -> tuple[FieldMetadataSource, str]:
        raise UnavailableError("Zoho did not answer")

    answer = Browser(services_of(world, unreachable)).post(
        "/mappings/example/preview", {"payload": example_event_bytes.decode()})
    page = text(answer)
    assert "Offline: Zoho&#39;s field metadata could not be read" in page
    assert "{api_domain}/crm/v8/Contacts/5725767000000524157" in page


def test_a_payload_the_mapping_cannot_map_shows_the_error_with_field_and_path(
        world, example_event_bytes):
    body = json.loads(example_event_bytes)
    body["data"]["seats"] = "a dozen"
    page = text(Browser(services_of(world)).post(
        "/mappings/example/preview", {"payload": json.dumps(body), "offline": "1"}))
    assert "would not be applied as it is" in page
    assert '<code class="field">Seats</code>' in page
    assert '<code class="path">data.seats</code>' in page
    assert "you asked for it offline" in page


@pytest.mark.parametrize(("form", "message"), [
    ({"payload": "{not json"}, "The api would refuse this payload (400)"),
    ({"payload": ""}, "Paste a payload"),
    ({"payload": "{}", "headers": "no colon here"}, "line 1 is not"),
    ({"payload": '{"id": "' + "x" * 300_000 + '"}'}, "max_body_bytes (262144)"),
])
def test_a_bad_preview_input_gets_400_with_the_form_kept(world, form, message):
    answer = Browser(services_of(world)).post("/mappings/example/preview", form)
    assert answer.status_code == 400
    assert message in text(answer)
    assert "<textarea" in text(answer)


def test_a_pasted_script_is_shown_as_text_in_the_preview(world, example_event_bytes):
    body = json.loads(example_event_bytes)
    body["data"]["first_name"] = "<script>alert(1)</script>"
    page = text(Browser(services_of(world)).post(
        "/mappings/example/preview", {"payload": json.dumps(body), "offline": "1"}))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_mapping_page_offers_the_diff_and_preview_forms(world, example_mapping):
    world.mappings.save(fixed(example_mapping), now=time.time())
    page = text(Browser(services_of(world)).get("/mappings/example"))
    assert 'action="/mappings/example/diff"' in page
    assert 'action="/mappings/example/preview"' in page
    assert f'name="csrf" value="{CSRF}"' in page
