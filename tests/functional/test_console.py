"""The operator console as a WSGI app over in-memory stores: access, pages, escaping, actions."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from chalicelib.errors import UnavailableError
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.mappings import InMemoryMappingStore
from zwa.console.access import csrf_token
from zwa.console.services import ConsoleServices
from zwa.console.wsgi import Console

TOKEN = "test-access-token"  # noqa: S105
PORT = 8787
HOST = {"Host": f"127.0.0.1:{PORT}"}
NOW = 1_800_000_000.0
HOSTILE = "<script>document.title='pwned'</script>"


@dataclass
class Stores:
    mappings: InMemoryMappingStore
    ledger: InMemoryLedger
    client: Client

    def get(self, path: str, **headers: str) -> TestResponse:
        return self.client.get(path, headers={**HOST, **headers})

    def post(self, path: str, data: dict[str, str], **headers: str) -> TestResponse:
        return self.client.post(path, data=data, headers={**HOST, **headers})


def delivery(delivery_id: str, status: str = "applied", received_at: float = NOW - 60,
             **extra: Any) -> dict[str, Any]:
    return {"source": "example", "delivery_id": delivery_id, "status": status,
            "received_at": received_at, "updated_at": received_at + 1, "attempts": 1,
            "mapping_version": 1, "matched_rules": ["contact-updated"], "rules": {}, **extra}


def console_client(mappings: InMemoryMappingStore, ledger: Any) -> Client:
    services = ConsoleServices(stage="local", mappings=mappings, ledger=ledger,
                               clock=lambda: NOW, webhooks_url="http://127.0.0.1:8000/webhooks")
    return Client(Console(services, access_token=TOKEN, port=PORT))


@pytest.fixture
def stores(example_mapping) -> Stores:
    mappings, ledger = InMemoryMappingStore(), InMemoryLedger()
    mappings.save(example_mapping, now=NOW - 7200)
    return Stores(mappings, ledger, console_client(mappings, ledger))


@pytest.fixture
def signed_in(stores: Stores) -> Stores:
    """A browser that opened the printed URL once: it holds the cookie."""
    assert stores.get(f"/?token={TOKEN}").status_code == 303
    return stores


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def test_a_request_without_the_token_gets_403_and_no_data(stores):
    stores.ledger.create(delivery("evt-secret-looking-id"))
    for path in ("/", "/deliveries", "/deliveries/example/evt-secret-looking-id",
                 "/mappings/example"):
        response = stores.get(path)
        assert response.status_code == 403, path
        assert "evt-secret-looking-id" not in text(response)
        assert "contact-updated" not in text(response)
        assert "URL that zwa console printed" in text(response)


def test_a_wrong_token_gets_403_and_sets_no_cookie(stores):
    response = stores.get("/deliveries?token=guessed")
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
    assert stores.get("/deliveries").status_code == 403


def test_the_first_visit_sets_a_strict_httponly_cookie_and_drops_the_token_from_the_url(stores):
    response = stores.get(f"/deliveries?status=failed&token={TOKEN}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/deliveries?status=failed"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"zwa_console_{PORT}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert stores.get("/deliveries?status=failed").status_code == 200


def test_a_request_to_another_host_name_is_refused_even_with_the_cookie(signed_in):
    response = signed_in.client.get("/", headers={"Host": f"attacker.example:{PORT}"})
    assert response.status_code == 403
    assert "answers only at http://127.0.0.1:8787/" in text(response)
    admitted = signed_in.client.get(f"/?token={TOKEN}", headers={"Host": f"localhost:{PORT}"})
    assert admitted.status_code == 303


def test_every_answer_forbids_foreign_scripts_framing_and_caching(signed_in):
    for path in ("/", "/deliveries", "/nowhere"):
        headers = signed_in.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'nonce-" in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Frame-Options"] == "DENY"


def test_the_inline_script_and_style_carry_this_answers_nonce(signed_in):
    response = signed_in.get("/")
    nonce = re.search(r"script-src 'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in text(response)
    assert f'<style nonce="{nonce.group(1)}">' in text(response)


def test_sources_show_the_mapping_version_and_last_24_hours_by_status(signed_in, example_mapping):
    signed_in.mappings.save(example_mapping, now=NOW - 3600)
    signed_in.ledger.create(delivery("a", "applied"))
    signed_in.ledger.create(delivery("b", "applied"))
    signed_in.ledger.create(delivery("c", "failed"))
    signed_in.ledger.create(delivery("old", "failed", received_at=NOW - 2 * 86400))
    page = text(signed_in.get("/"))
    assert 'href="/mappings/example">version 2</a>' in page
    row = page[page.index("<tbody>"):page.index("</tbody>")]
    applied = 'status=applied&amp;since=24h">2</a>'
    failed = 'status=failed&amp;since=24h">1</a>'
    assert applied in row and failed in row
    assert 'since=24h">3</a>' in row  # the total of the last 24 hours, not the older one


def test_with_no_mapping_the_sources_page_says_how_to_store_one():
    client = console_client(InMemoryMappingStore(), InMemoryLedger())
    client.get(f"/?token={TOKEN}", headers=HOST)
    page = text(client.get("/", headers=HOST))
    assert "No sources yet." in page
    assert "zwa --stage local mapping put my-source.json" in page


def test_with_no_delivery_the_deliveries_page_shows_a_curl_to_send_one(signed_in):
    page = text(signed_in.get("/deliveries"))
    assert "No deliveries yet." in page
    assert "curl -i -X POST http://127.0.0.1:8000/webhooks/example" in page


def test_deliveries_are_listed_newest_first_with_the_error_code_and_field(signed_in):
    signed_in.ledger.create(delivery("older", received_at=NOW - 300))
    signed_in.ledger.create(delivery("newer", "failed", received_at=NOW - 30, last_error={
        "code": "INVALID_DATA", "message": "invalid data", "api_name": "Email"}))
    page = text(signed_in.get("/deliveries"))
    assert page.index(">newer</a>") < page.index(">older</a>")
    assert "INVALID_DATA</span>" in page and ">Email</span>" in page
    assert 'href="/deliveries/example/newer"' in page


def test_filters_by_status_and_since_keep_only_matching_deliveries(signed_in):
    signed_in.ledger.create(delivery("recent-failed", "failed", received_at=NOW - 60))
    signed_in.ledger.create(delivery("recent-applied", "applied", received_at=NOW - 60))
    signed_in.ledger.create(delivery("old-failed", "failed", received_at=NOW - 3 * 86400))
    page = text(signed_in.get("/deliveries?source=example&status=failed&since=1d"))
    assert ">recent-failed</a>" in page
    assert "recent-applied" not in page and "old-failed" not in page
    assert '<option value="failed" selected>' in page
    assert 'value="1d"' in page


def test_deliveries_come_fifty_to_a_page_with_links_both_ways(signed_in):
    for n in range(120):
        signed_in.ledger.create(delivery(f"evt-{n:03d}", received_at=NOW - 1000 + n))
    first = text(signed_in.get("/deliveries"))
    assert first.count('href="/deliveries/example/') == 50
    assert ">evt-119</a>" in first and "evt-069" not in first
    assert 'href="/deliveries?page=2"' in first and "Newer" not in first
    last = text(signed_in.get("/deliveries?page=3"))
    assert last.count('href="/deliveries/example/') == 20
    assert ">evt-019</a>" in last and ">evt-000</a>" in last
    assert 'href="/deliveries?page=2"' in last and "Older" not in last


@pytest.mark.parametrize(("query", "message"), [
    ("since=yesterday", "since: &#39;yesterday&#39; is neither an ISO 8601 time nor a duration"),
    ("status=done", "status &#39;done&#39; is not a ledger status"),
    ("page=0", "page must be a whole number from 1 to 1000"),
])
def test_bad_filters_get_400_with_what_to_type_instead(signed_in, query, message):
    response = signed_in.get(f"/deliveries?{query}")
    assert response.status_code == 400
    assert message in text(response)


def test_a_delivery_page_shows_each_rule_outcome_and_the_zoho_error(signed_in):
    signed_in.ledger.create(delivery(
        "evt-1", "failed", attempts=1, rules={"contact-updated": {
            "outcome": "failed", "module": "Contacts", "at": NOW - 50}},
        last_error={"code": "INVALID_DATA", "message": "invalid data", "api_name": "Email",
                    "expected_data_type": "email", "http_status": 400,
                    "rule": "contact-updated"}))
    page = text(signed_in.get("/deliveries/example/evt-1"))
    for shown in ('<dt class="mono">code</dt>', "INVALID_DATA", '<dt class="mono">api_name</dt>',
                  ">Email</span>", ">email</span>", '<span class="badge status-failed">failed',
                  "<td>Contacts</td>"):
        assert shown in page, shown
    assert "zwa --stage local deliveries show example evt-1" in page


def test_a_delivery_id_holding_markup_is_shown_as_text_everywhere(signed_in):
    signed_in.ledger.create(delivery(HOSTILE))
    listing = text(signed_in.get("/deliveries"))
    detail = text(signed_in.get(
        "/deliveries/example/%3Cscript%3Edocument.title%3D'pwned'%3C%2Fscript%3E"))
    for page in (listing, detail):
        assert HOSTILE not in page
        assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page


def test_an_unknown_delivery_is_a_404_that_says_how_long_items_are_kept(signed_in):
    response = signed_in.get("/deliveries/example/nope")
    assert response.status_code == 404
    assert "No delivery &#39;nope&#39; for source &#39;example&#39;" in text(response)
    assert "kept 14 days" in text(response)


def test_the_mapping_page_lists_versions_and_shows_documents_escaped(signed_in, example_mapping):
    second = copy.deepcopy(example_mapping)
    second["description"] = HOSTILE
    signed_in.mappings.save(second, now=NOW - 60)
    page = text(signed_in.get("/mappings/example"))
    assert page.index("version 2</a>") < page.index("version 1</a>")
    assert '<span class="badge current">current</span>' in page
    assert 'href="/mappings/example/restore?version=1"' in page
    assert 'restore?version=2"' not in page  # the current one has nothing to restore
    assert HOSTILE not in page
    assert "&lt;script&gt;" in page


def test_a_source_without_mapping_gets_a_404_saying_how_to_store_one(signed_in):
    response = signed_in.get("/mappings/nosuch")
    assert response.status_code == 404
    assert "No mapping for nosuch." in text(response)
    assert "mapping put my-source.json" in text(response)


def test_restoring_a_version_asks_first_then_saves_it_as_the_newest(signed_in, example_mapping):
    second = copy.deepcopy(example_mapping)
    second["rules"][0]["trigger"] = ["workflow"]
    signed_in.mappings.save(second, now=NOW - 60)
    form = text(signed_in.get("/mappings/example/restore?version=1"))
    assert f'name="csrf" value="{csrf_token(TOKEN)}"' in form
    assert signed_in.mappings.current("example").version == 2  # asking changed nothing

    response = signed_in.post("/mappings/example/restore",
                              {"csrf": csrf_token(TOKEN), "version": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/mappings/example?restored=1"
    current = signed_in.mappings.current("example")
    assert (current.version, current.document) == (3, example_mapping)
    assert "Version 1 was restored as version 3." in text(signed_in.get(response.headers[
        "Location"]))


@pytest.mark.parametrize("form", [{"version": "1"}, {"version": "1", "csrf": "forged"}])
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(signed_in, form):
    response = signed_in.post("/mappings/example/restore", form)
    assert response.status_code == 403
    assert "nothing was changed" in text(response)
    assert len(signed_in.mappings.history("example")) == 1


def test_a_post_from_another_origin_is_refused_even_with_the_csrf_token(signed_in):
    response = signed_in.post("/mappings/example/restore",
                              {"csrf": csrf_token(TOKEN), "version": "1"},
                              Origin="http://attacker.example")
    assert response.status_code == 403
    assert len(signed_in.mappings.history("example")) == 1


def test_restoring_a_version_that_does_not_exist_is_a_404(signed_in):
    response = signed_in.post("/mappings/example/restore",
                              {"csrf": csrf_token(TOKEN), "version": "9"})
    assert response.status_code == 404
    assert len(signed_in.mappings.history("example")) == 1


class DownLedger(InMemoryLedger):
    """A ledger whose DynamoDB does not answer."""

    def recent(self, source: str, limit: int = 50) -> list[dict[str, Any]]:
        raise UnavailableError("listing the delivery ledger failed (ServiceUnavailable)")


def test_when_aws_does_not_answer_the_page_says_so_with_503(example_mapping):
    mappings = InMemoryMappingStore()
    mappings.save(example_mapping, now=NOW)
    client = console_client(mappings, DownLedger())
    client.get(f"/?token={TOKEN}", headers=HOST)
    response = client.get("/deliveries", headers=HOST)
    assert response.status_code == 503
    assert "listing the delivery ledger failed" in text(response)
    assert "make dev" in text(response)


def test_times_are_utc_iso_in_the_html_for_readers_without_javascript(signed_in):
    signed_in.ledger.create(delivery("evt-t", received_at=1_800_000_000.0))
    page = text(signed_in.get("/deliveries"))
    assert ('<time datetime="2027-01-15T08:00:00Z" title="2027-01-15T08:00:00Z (UTC)">'
            '2027-01-15T08:00:00Z</time>') in page


def test_a_page_that_does_not_exist_is_a_404_inside_the_layout(signed_in):
    response = signed_in.get("/nowhere")
    assert response.status_code == 404
    assert 'href="/deliveries"' in text(response)  # the menu is there to go on


def test_json_documents_keep_non_ascii_text_readable(signed_in, example_mapping):
    document = copy.deepcopy(example_mapping)
    document["description"] = "Zürich → Ōsaka"
    signed_in.mappings.save(document, now=NOW)
    assert json.dumps("Zürich → Ōsaka", ensure_ascii=False)[1:-1] in text(
        signed_in.get("/mappings/example"))
