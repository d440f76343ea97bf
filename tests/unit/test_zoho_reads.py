"""Zoho reads: the search call (204, pages, errors) and the field metadata call (fake session)."""

import json

import pytest
import requests

from chalicelib.errors import PermanentDeliveryError, RetryableDeliveryError
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.tokens import TokenProvider
from tests.fakes import FakeResponse, FakeZohoSession, crm_request_error, token_grant

NOW = 1_764_331_200.0
SECRET_ID = "zwa/connection/default"
API = "https://www.zohoapis.eu"


def zoho(session):
    connection = {"client_id": "c", "client_secret": "s", "refresh_token": "r",
                  "accounts_url": "https://accounts.zoho.eu", "access_token": "1000.cached",
                  "api_domain": API, "expires_at": NOW + 3000}
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(connection)})
    return ZohoClient(session, TokenProvider(secrets, session, SECRET_ID, clock=lambda: NOW),
                      timeout=7.5)


def page(ids, more=False):
    return (200, {"data": [{"id": i, "Email": f"{i}@x.io"} for i in ids],
                  "info": {"count": len(ids), "more_records": more}})


def test_a_search_sends_the_criteria_with_the_token_and_reads_every_page():
    session = FakeZohoSession()
    session.get_answers = [page(["1", "2"], more=True), page(["3"])]
    rows = zoho(session).search_records("Contacts", "(Email:equals:a@b.c)")
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    first, second = session.gets
    assert first["url"] == f"{API}/crm/v8/Contacts/search"
    assert first["params"] == {"criteria": "(Email:equals:a@b.c)", "page": "1", "per_page": "200"}
    assert first["headers"] == {"Authorization": "Zoho-oauthtoken 1000.cached"}
    assert second["params"]["page"] == "2"


def test_a_search_answered_204_with_no_body_finds_nothing():
    session = FakeZohoSession()
    session.get_answers = [FakeResponse(204)]
    assert zoho(session).search_records("Contacts", "(Email:equals:a@b.c)") == []


def test_a_refused_token_is_refreshed_once_for_a_search():
    session = FakeZohoSession(token_answers=[token_grant("1000.fresh", api_domain=API)])
    session.get_answers = [crm_request_error(401, "INVALID_TOKEN"), page(["1"])]
    assert [row["id"] for row in zoho(session).search_records("Contacts", "(A:equals:b)")] == ["1"]
    assert session.gets[1]["headers"]["Authorization"] == "Zoho-oauthtoken 1000.fresh"


@pytest.mark.parametrize("answer, error", [
    (crm_request_error(500, "INTERNAL_ERROR"), RetryableDeliveryError),
    (crm_request_error(429, "TOO_MANY_REQUESTS"), RetryableDeliveryError),
    (requests.ConnectionError("refused"), RetryableDeliveryError),
    (crm_request_error(400, "INVALID_QUERY"), PermanentDeliveryError),
    (crm_request_error(401, "OAUTH_SCOPE_MISMATCH"), PermanentDeliveryError),
])
def test_a_search_zoho_cannot_answer_is_retryable_and_a_refused_one_permanent(answer, error):
    session = FakeZohoSession()
    session.get_answers = [answer]
    with pytest.raises(error):
        zoho(session).search_records("Contacts", "(A:equals:b)")


def test_field_metadata_lists_the_modules_fields_or_none_for_an_unknown_module():
    session = FakeZohoSession()
    session.get_answers = [
        (200, {"fields": [{"api_name": "Email", "data_type": "email"}]}),
        crm_request_error(400, "INVALID_MODULE"),
    ]
    client = zoho(session)
    assert client.field_metadata("Contacts") == [{"api_name": "Email", "data_type": "email"}]
    assert client.field_metadata("Contactz") is None
    assert session.gets[0]["url"] == f"{API}/crm/v8/settings/fields"
    assert session.gets[0]["params"] == {"module": "Contacts"}
