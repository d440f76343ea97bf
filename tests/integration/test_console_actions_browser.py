"""The console's actions in a real browser against the local stack: redrive, diff, preview.

The browser, the console process and the screenshots are those of
``test_console_browser``; screenshots go to ``$ZWA_CONSOLE_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from devstack.stack import EXAMPLE_CONTACT_ID
from tests.conftest import load_json
from tests.integration import test_console_browser as shared
from tests.integration.conftest import final_status, post_webhook, wait_for, zwa
from tests.integration.test_console_browser import (
    HOSTILE_ID,
    all_css,
    by_css,
    event,
    follow,
    link_to,
    shoot,
)
from tests.integration.test_pipeline import contact, puts, record_fields

pytestmark = pytest.mark.integration

# The same fixtures: this module gets a console and a browser of its own.
browser = shared.browser
console = shared.console
screenshots = shared.screenshots
signed_in = shared.signed_in

EXAMPLE = load_json("examples/mappings/example.json")


def put_mapping(stack, folder: Path, document: dict) -> None:
    path = folder / f"{document['source']}.json"
    path.write_text(json.dumps(document))
    stored = zwa(stack, "mapping", "put", str(path))
    assert stored.returncode == 0, stored.stdout + stored.stderr


def dead_letter_ids(stack) -> set[str]:
    listed = zwa(stack, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {letter["delivery_id"] for letter in json.loads(listed.stdout)}


def dead_letter(stack, ledger, delivery_id: str, **values: str) -> None:
    """A delivery the example mapping cannot map (its seats are words), failed and dead."""
    sent = event(delivery_id, **values, seats="a dozen")
    assert post_webhook(stack, "example", sent).status_code == 202
    assert final_status(ledger, "example", delivery_id) == "failed"
    wait_for(lambda: delivery_id in dead_letter_ids(stack))


def paste(driver, name: str, text: str) -> None:
    """Fill a textarea as a paste would (send_keys types slowly and opens no brackets)."""
    area = by_css(driver, f"textarea[name={name}]")
    driver.execute_script("arguments[0].value = arguments[1];", area, text)


def test_a_dead_letter_is_redriven_from_the_dlq_page_after_the_mapping_is_fixed(
        stack, sandbox, ledger, console, signed_in, screenshots, tmp_path):
    browser = signed_in
    dead_letter(stack, ledger, "console-dead-1", first_name="Redriven from the console")

    follow(browser, link_to(browser, "Dead letters"), "/dlq")
    [row] = [row for row in all_css(browser, "tbody tr") if "console-dead-1" in row.text]
    cells = [cell.text for cell in row.find_elements("css selector", "td")]
    assert cells[1:6] == ["example", "console-dead-1", "MAPPING_ERROR", "Seats", "failed"]
    shoot(browser, screenshots, "dlq")

    fixed = json.loads(json.dumps(EXAMPLE))
    fixed["rules"][0]["fields"]["Seats"] = {"path": "data.seat_count", "type": "integer"}
    try:
        put_mapping(stack, tmp_path, fixed)
        time.sleep(2.5)  # the local stage's workers cache a mapping for 2 seconds
        row.find_element("css selector", "input[name=delivery]").click()
        follow(browser, by_css(browser, "#redrive-selected"), "/dlq/redrive")
    finally:
        put_mapping(stack, tmp_path, EXAMPLE)

    [row] = [row for row in all_css(browser, "tbody tr") if "console-dead-1" in row.text]
    assert "1 of 1 sent back" in by_css(browser, "p.lead").text
    outcome = row.find_element("css selector", "td.outcome").text
    assert outcome in ("applied", "queued not finished yet"), outcome
    shoot(browser, screenshots, "dlq-redriven")
    follow(browser, row.find_element("link text", "console-dead-1"), "/example/console-dead-1")
    assert final_status(ledger, "example", "console-dead-1") == "applied"
    browser.refresh()
    assert by_css(browser, "h1 .badge").text == "applied"
    assert "console-dead-1" not in dead_letter_ids(stack)
    assert record_fields(contact(sandbox))["First_Name"] == "Redriven from the console"


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
        stack, sandbox, ledger, console):
    dead_letter(stack, ledger, "console-dead-2")

    session = requests.Session()
    session.get(console.url, timeout=10)  # holds the access cookie, not the form's token
    for path, form in (("/dlq/redrive", {"all": "1"}),
                       ("/mappings/example/preview", {"payload": "{}"})):
        forged = session.post(f"{console.base}{path}", data=form, timeout=10)
        assert forged.status_code == 403, path
        assert "nothing was changed" in forged.text
    assert "console-dead-2" in dead_letter_ids(stack)
    assert ledger.get("example", "console-dead-2")["status"] == "failed"


def test_the_preview_form_shows_the_put_for_a_pasted_payload(
        stack, sandbox, console, signed_in, screenshots):
    browser = signed_in
    browser.get(f"{console.base}/mappings/example")
    paste(browser, "payload", event("console-preview-1").decode())
    follow(browser, by_css(browser, "form.preview button[type=submit]"),
           "/mappings/example/preview")
    put = by_css(browser, "pre.request")
    assert put.text.startswith(f"PUT {sandbox}/crm/v8/Contacts/{EXAMPLE_CONTACT_ID}\n")
    assert "Authorization: Zoho-oauthtoken ****" in put.text
    assert '"Email": "ada@example.com"' in put.text
    assert "Checked against Zoho's field metadata" in by_css(browser, "p.metadata").text
    assert "console-preview-1" in by_css(browser, ".panel-head").text
    shoot(browser, screenshots, "preview")
    # Nothing was sent or written.
    assert puts(sandbox, with_token_refusals=True) == []


def test_a_payload_holding_a_script_pasted_in_the_preview_is_shown_as_text(
        stack, sandbox, console, signed_in, screenshots):
    browser = signed_in
    browser.get(f"{console.base}/mappings/example")
    pasted = event(HOSTILE_ID, first_name=HOSTILE_ID).decode()
    paste(browser, "payload", pasted)
    follow(browser, by_css(browser, "form.preview button[type=submit]"),
           "/mappings/example/preview")
    assert browser.execute_script("return window.zwaInjected === undefined")
    assert HOSTILE_ID in by_css(browser, ".panel-head").text
    assert f'"First_Name": {json.dumps(HOSTILE_ID)}' in by_css(browser, "pre.request").text
    assert by_css(browser, "textarea[name=payload]").get_attribute("value") == pasted
    assert all_css(browser, "main img") == []


def test_a_payload_the_mapping_cannot_map_shows_the_field_and_path_in_the_preview(
        stack, sandbox, console, signed_in, screenshots):
    browser = signed_in
    browser.get(f"{console.base}/mappings/example")
    paste(browser, "payload", event("console-preview-2", seats="a dozen").decode())
    follow(browser, by_css(browser, "form.preview button[type=submit]"),
           "/mappings/example/preview")
    assert "would not be applied" in by_css(browser, "h2 .badge").text
    [error] = all_css(browser, "ul.errors li")
    assert error.find_element("css selector", "code.field").text == "Seats"
    assert error.find_element("css selector", "code.path").text == "data.seats"
    assert all_css(browser, "pre.request") == []
    shoot(browser, screenshots, "preview-errors")


def test_the_diff_page_shows_an_added_field(stack, console, signed_in, screenshots, tmp_path):
    browser = signed_in
    document = {"source": "console-diff", "verify": {"scheme": "none"},
                "rules": [{"name": "by-id", "module": "Contacts", "record": {"id": "id"},
                           "fields": {"Email": {"path": "email", "type": "email"}}}]}
    put_mapping(stack, tmp_path, document)
    document["rules"][0]["fields"]["Phone"] = {"path": "phone", "type": "phone"}
    put_mapping(stack, tmp_path, document)

    browser.get(f"{console.base}/mappings/console-diff")
    follow(browser, by_css(browser, "form.filters button[type=submit]"),
           "/mappings/console-diff/diff")
    assert "version 1 → version 2" in by_css(browser, "h1").text
    added = [span.text for span in all_css(browser, "pre.diff span.add")]
    assert '+        "Phone": {' in added
    assert all_css(browser, "pre.diff span.del") == []
    shoot(browser, screenshots, "mapping-diff")
