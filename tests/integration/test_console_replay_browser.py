"""The console's archived payload, Replay button and record history in a real browser."""

from __future__ import annotations

import time

import pytest

from devstack.stack import EXAMPLE_CONTACT_ID
from tests.integration import test_console_browser as browser_tests
from tests.integration.conftest import final_status, wait_for
from tests.integration.test_pipeline import contact, record_fields
from tests.integration.test_replay import MAPPING_CACHE_SECONDS, post, save_mapping

pytestmark = pytest.mark.integration
# The browser, the console and their helpers, as the console's own browser tests have them.
browser = browser_tests.browser
console = browser_tests.console
screenshots = browser_tests.screenshots
signed_in = browser_tests.signed_in
all_css, by_css, follow, shoot = (browser_tests.all_css, browser_tests.by_css,
                                  browser_tests.follow, browser_tests.shoot)
SCRIPT = "<script>window.zwaInjected = 4</script>"


def test_replay_after_fixing_the_mapping_turns_a_failed_delivery_applied(
        stack, sandbox, ledger, console, signed_in, screenshots):
    browser = signed_in
    source = "console-replay"
    save_mapping(stack, source, {"First_Name": "first_name",
                                 "Department": {"path": "team", "type": "integer"}})
    post(stack, source, {"id": "cr-1", "zoho_id": EXAMPLE_CONTACT_ID, "first_name": "Mary",
                         "team": "Computing"})
    assert final_status(ledger, source, "cr-1") == "failed"
    save_mapping(stack, source, {"First_Name": "first_name", "Department": "team"})
    time.sleep(MAPPING_CACHE_SECONDS)

    browser.get(f"{console.base}/deliveries/{source}/cr-1")
    assert by_css(browser, "h1 .badge").text == "failed"
    assert '"team": "Computing"' in by_css(browser, "pre.payload").text
    follow(browser, by_css(browser, "#replay"), f"/deliveries/{source}/cr-1")
    assert "Replayed." in browser.page_source, by_css(browser, "main").text[:600]

    def applied() -> bool:
        browser.refresh()
        return by_css(browser, "h1 .badge").text == "applied"

    wait_for(applied, timeout=40, every=1)
    rows = [row.text for row in all_css(browser, "table.replays tbody tr")]
    assert len(rows) == 1 and "failed" in rows[0] and "MAPPING_ERROR Department" in rows[0]
    fields = record_fields(contact(sandbox))
    assert (fields["First_Name"], fields["Department"]) == ("Mary", "Computing")
    shoot(browser, screenshots, "delivery-replayed")

    follow(browser, by_css(browser, f"a[href='/records/Contacts/{EXAMPLE_CONTACT_ID}']"),
           f"/records/Contacts/{EXAMPLE_CONTACT_ID}")
    first = by_css(browser, "table.history tbody tr").text
    assert "cr-1" in first and "Department, First_Name" in first and "applied" in first
    assert "Mary" not in browser.page_source and "Computing" not in browser.page_source
    shoot(browser, screenshots, "record-history")


def test_an_archived_payload_holding_a_script_is_shown_as_text_and_never_runs(
        stack, sandbox, ledger, console, signed_in):
    browser = signed_in
    source = "console-payload"
    save_mapping(stack, source, {"First_Name": "first_name"})
    post(stack, source, {"id": "cp-1", "zoho_id": EXAMPLE_CONTACT_ID, "first_name": "Ada",
                         "note": SCRIPT})
    assert final_status(ledger, source, "cp-1") == "applied"

    browser.get(f"{console.base}/deliveries/{source}/cp-1")
    assert SCRIPT in by_css(browser, "pre.payload").text
    assert browser.execute_script("return window.zwaInjected === undefined")
