"""The console in a real browser (headless Chromium) against the local stack.

Each test takes screenshots of the pages it visits, into a temporary folder, or
into ``$ZWA_CONSOLE_SCREENSHOTS`` when set (``docs/console/`` holds those).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.stack import EXAMPLE_CONTACT_ID, ROOT, LocalStack, free_port
from tests.integration.conftest import final_status, post_webhook, zwa
from tests.integration.console import ConsoleProcess, start_console

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
EVENT = json.loads((ROOT / "examples/events/example-contact-updated.json").read_text())
# Runs if ever it is parsed as markup; its text is what a page must show instead.
HOSTILE_ID = "<script>window.zwaInjected = 1</script><img src=x onerror=\"window.zwaInjected=2\">"
# A zone with no summer time, so what the browser shows is known.
BROWSER_ZONE = "Asia/Kolkata"


def event(delivery_id: str, **data: object) -> bytes:
    body = json.loads(json.dumps(EVENT))
    body["id"] = delivery_id
    body["data"].update(data)
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def console(stack: LocalStack) -> Iterator[ConsoleProcess]:
    running = start_console(stack, free_port())
    yield running
    running.stop()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = os.environ.get("ZWA_CONSOLE_SCREENSHOTS")
    path = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="zwa-console-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium and chromedriver on PATH (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="zwa-chromium-")
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1280,800", "--hide-scrollbars",
                     "--lang=en-US", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    service = Service(CHROMEDRIVER, env={**os.environ, "TZ": BROWSER_ZONE})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def signed_in(browser, console: ConsoleProcess):
    """The browser after opening the URL the console printed."""
    browser.delete_all_cookies()
    browser.get(console.url)
    assert "token=" not in browser.current_url
    return browser


def shoot(browser, screenshots: Path, name: str) -> None:
    """A screenshot of the whole page, however long, 1280 pixels wide."""
    import base64

    height = browser.execute_script("return document.documentElement.scrollHeight")
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1280, "height": max(int(height), 600), "scale": 1}})
    (screenshots / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def follow(browser, element, to: str) -> None:
    """Click a link or button and wait until the browser shows a new page at ``to``.

    The page the click leaves is marked first and must be gone: a form that posts back to its
    own address (a replay, a preview, the filters) ends at the URL the browser already shows.
    While the page changes, the driver may answer with errors about the old document; the wait
    asks again until its time is up.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.zwaLeaving = true")
    element.click()

    def arrived(driver) -> bool:
        return bool(driver.execute_script(
            "return window.zwaLeaving === undefined && document.readyState === 'complete'")
            and driver.current_url.split("?")[0].endswith(to))

    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(arrived)


def by_css(browser, selector: str):
    from selenium.webdriver.common.by import By
    return browser.find_element(By.CSS_SELECTOR, selector)


def all_css(browser, selector: str):
    from selenium.webdriver.common.by import By
    return browser.find_elements(By.CSS_SELECTOR, selector)


def link_to(browser, text: str):
    from selenium.webdriver.common.by import By
    return browser.find_element(By.LINK_TEXT, text)


def test_a_delivery_just_sent_is_listed_and_its_page_shows_the_rule_outcome(
        stack, sandbox, ledger, console, signed_in, screenshots):
    browser = signed_in
    assert post_webhook(stack, "example", event("console-applied-1")).status_code == 202
    assert final_status(ledger, "example", "console-applied-1") == "applied"

    browser.refresh()
    assert by_css(browser, "h1").text == "Sources"
    [row] = [row for row in all_css(browser, "tbody tr")
             if row.find_element("css selector", "td").text == "example"]
    headers = [cell.text.lower() for cell in all_css(browser, "thead th")]
    cells = [cell.text for cell in row.find_elements("css selector", "td")]
    assert int(cells[headers.index("applied")]) >= 1

    follow(browser, link_to(browser, "Deliveries"), "/deliveries")
    first = by_css(browser, "tbody tr")
    assert "console-applied-1" in first.text and "applied" in first.text

    follow(browser, link_to(browser, "console-applied-1"), "/console-applied-1")
    assert browser.current_url == f"{console.base}/deliveries/example/console-applied-1"
    cells = [cell.text for cell in all_css(browser, "table tbody tr td")]
    assert cells[:4] == ["contact-updated", "applied", "Contacts", EXAMPLE_CONTACT_ID]
    assert by_css(browser, "h1 .badge").text == "applied"
    shoot(browser, screenshots, "delivery-applied")


def test_a_failed_delivery_shows_invalid_data_and_the_fields_api_name(
        stack, sandbox, ledger, signed_in, console, screenshots):
    browser = signed_in
    body = event("console-failed-1", email="not-an-email")
    assert post_webhook(stack, "example", body).status_code == 202
    assert final_status(ledger, "example", "console-failed-1") == "failed"

    browser.get(f"{console.base}/deliveries?status=failed")
    failed_row = next(row for row in all_css(browser, "tbody tr")
                      if "console-failed-1" in row.text)
    assert "INVALID_DATA · Email" in failed_row.text
    follow(browser, failed_row.find_element("link text", "console-failed-1"),
           "/example/console-failed-1")
    error = by_css(browser, ".error-box")
    facts = dict(zip([dt.text for dt in error.find_elements("css selector", "dt")],
                     [dd.text for dd in error.find_elements("css selector", "dd")], strict=True))
    assert facts["code"] == "INVALID_DATA"
    assert facts["api_name"] == "Email"
    # The value is in the archived payload only, never in the ledger's error or outcomes.
    assert "not-an-email" not in error.text
    assert "not-an-email" not in by_css(browser, "table").text
    shoot(browser, screenshots, "delivery-failed")


def test_without_the_token_the_browser_gets_403_and_sees_no_data(
        stack, sandbox, ledger, console, browser, screenshots):
    assert post_webhook(stack, "example", event("console-private-1")).status_code == 202
    assert final_status(ledger, "example", "console-private-1") == "applied"
    assert requests.get(f"{console.base}/deliveries", timeout=10).status_code == 403

    browser.delete_all_cookies()
    browser.get(f"{console.base}/deliveries")
    assert "403" in by_css(browser, "h1").text
    assert "console-private-1" not in browser.page_source
    assert all_css(browser, "nav a") == []
    shoot(browser, screenshots, "forbidden")


def test_a_delivery_id_holding_a_script_is_shown_as_text_and_never_runs(
        stack, sandbox, ledger, console, signed_in, screenshots):
    browser = signed_in
    assert post_webhook(stack, "example", event(HOSTILE_ID)).status_code == 202
    assert final_status(ledger, "example", HOSTILE_ID) == "applied"

    browser.get(f"{console.base}/deliveries?source=example")
    assert browser.execute_script("return window.zwaInjected === undefined")
    cell = next(cell for cell in all_css(browser, "td.id") if "zwaInjected" in cell.text)
    assert cell.text == HOSTILE_ID

    link = cell.find_element("css selector", "a")
    follow(browser, link, link.get_attribute("href").rsplit("/", 1)[1])
    assert by_css(browser, "h1 .id").text == HOSTILE_ID
    assert browser.execute_script("return window.zwaInjected === undefined")
    assert all_css(browser, "main img") == []


def test_a_mapping_shows_its_versions_and_a_restore_needs_the_forms_csrf_token(
        stack, console, signed_in, screenshots, tmp_path):
    browser = signed_in
    source = "console-restore"
    document = {"source": source, "description": "<script>window.zwaInjected = 3</script>",
                "verify": {"scheme": "none"},
                "rules": [{"name": "by-id", "module": "Contacts", "record": {"id": "id"},
                           "fields": {"Email": {"path": "email", "type": "email"}}}]}
    for seats in ("seats", "licences"):
        document["rules"][0]["fields"]["Seats"] = {"path": seats, "type": "integer"}
        path = tmp_path / "mapping.json"
        path.write_text(json.dumps(document))
        assert zwa(stack, "mapping", "put", str(path)).returncode == 0

    browser.get(f"{console.base}/mappings/{source}")
    assert [row.find_element("css selector", "td").text.split()[:2]
            for row in all_css(browser, "tbody tr")] == [["version", "2"], ["version", "1"]]
    assert "<script>window.zwaInjected = 3</script>" in by_css(browser, "details[open] pre").text
    assert browser.execute_script("return window.zwaInjected === undefined")
    shoot(browser, screenshots, "mapping")

    # A POST that did not come from the console's own form is refused.
    session = requests.Session()
    session.get(console.url, timeout=10)
    forged = session.post(f"{console.base}/mappings/{source}/restore", data={"version": "1"},
                          timeout=10)
    assert forged.status_code == 403
    assert "nothing was changed" in forged.text
    history = zwa(stack, "mapping", "history", source, "--json")
    assert [v["version"] for v in json.loads(history.stdout)] == [1, 2]

    follow(browser, link_to(browser, "Restore…"), f"/mappings/{source}/restore")
    assert "Restore version 1" in by_css(browser, "h1").text
    shoot(browser, screenshots, "restore")
    follow(browser, by_css(browser, "form button[type=submit]"), f"/mappings/{source}")
    assert "Version 1 was restored as version 3." in by_css(browser, ".notice").text
    stored = zwa(stack, "mapping", "get", source)
    assert json.loads(stored.stdout)["rules"][0]["fields"]["Seats"]["path"] == "seats"


def test_times_show_in_the_browsers_zone_with_utc_on_hover(console, signed_in, screenshots):
    browser = signed_in
    for path, shot in (("/", "sources"), ("/deliveries", "deliveries")):
        browser.get(f"{console.base}{path}")
        stamp = by_css(browser, "time")
        utc = stamp.get_attribute("datetime")
        assert stamp.get_attribute("title") == f"{utc} (UTC)"
        assert stamp.text.endswith("GMT+5:30"), stamp.text
        assert stamp.text != utc
        # The lists of the whole module's deliveries make the fullest pictures.
        shoot(browser, screenshots, shot)
