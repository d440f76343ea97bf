"""The Update Records call: the exact request, and what each answer becomes (fake session)."""

import json

import pytest
import requests

from chalicelib.errors import PermanentDeliveryError, RetryableDeliveryError
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.observability import ZOHO_LATENCY, flush_metrics
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.client import ZohoClient
from chalicelib.zoho.responses import APPLIED, STALE
from chalicelib.zoho.tokens import TokenProvider
from tests.fakes import (
    FakeResponse,
    FakeZohoSession,
    crm_error,
    crm_request_error,
    crm_success,
    token_grant,
)

NOW = 1_764_331_200.0
SECRET_ID = "zwa/connection/default"
API = "https://www.zohoapis.eu"
BODY = {"data": [{"Email": "ada@example.com"}], "trigger": []}


def by_id(record="5725767000000524157"):
    return PlannedUpdate(rule="r", module="Contacts", record=record, body=BODY)


def by_external(value):
    return PlannedUpdate(rule="r", module="Contacts", record=value, body=BODY,
                         external_field="Stripe_Customer_Id")


def zoho(session, cached_token="1000.cached"):
    connection = {"client_id": "c", "client_secret": "s", "refresh_token": "r",
                  "accounts_url": "https://accounts.zoho.eu"}
    if cached_token:
        connection.update(access_token=cached_token, api_domain=API, expires_at=NOW + 3000)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(connection)})
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=lambda: NOW)
    return ZohoClient(session, tokens, timeout=7.5)


def test_an_update_by_id_puts_the_body_to_the_record_url_with_the_token():
    session = FakeZohoSession(crm_answers=[crm_success()])
    outcome = zoho(session).update_record(by_id())
    assert outcome.kind == APPLIED
    assert outcome.record_id == "5725767000000524157"
    assert outcome.modified_time == "2026-11-28T10:00:00+05:30"
    (put,) = session.puts
    assert put == {"url": f"{API}/crm/v8/Contacts/5725767000000524157", "json": BODY,
                   "headers": {"Authorization": "Zoho-oauthtoken 1000.cached"}, "timeout": 7.5}
    assert session.posts == []


def test_an_update_by_external_id_names_the_field_in_x_external_and_quotes_the_value():
    session = FakeZohoSession(crm_answers=[crm_success()])
    zoho(session).update_record(by_external("cus 1?x=#%y.z"))
    (put,) = session.puts
    assert put["url"] == f"{API}/crm/v8/Contacts/cus%201%3Fx%3D%23%25y.z"
    assert put["headers"] == {"Authorization": "Zoho-oauthtoken 1000.cached",
                              "X-EXTERNAL": "Contacts.Stripe_Customer_Id"}


@pytest.mark.parametrize("record", ["..", ".", "", " ", "../Deals", "a/b", "a\\b", "a\r\nb"])
def test_a_record_key_that_could_leave_the_record_url_is_never_sent(record):
    session = FakeZohoSession()
    with pytest.raises(PermanentDeliveryError) as caught:
        zoho(session).update_record(by_external(record))
    assert caught.value.failure.code == "MAPPING_ERROR"
    assert "exactly one record" in caught.value.failure.message
    assert session.puts == [] and session.posts == []


def test_a_rejected_token_is_refreshed_once_and_the_update_sent_again():
    session = FakeZohoSession(
        token_answers=[token_grant("1000.new")],
        crm_answers=[crm_request_error(401, "INVALID_TOKEN"), crm_success()])
    outcome = zoho(session).update_record(by_id())
    assert outcome.kind == APPLIED
    assert [put["headers"]["Authorization"] for put in session.puts] == [
        "Zoho-oauthtoken 1000.cached", "Zoho-oauthtoken 1000.new"]
    assert len(session.posts) == 1


def test_a_timeout_is_retryable_and_says_so():
    session = FakeZohoSession(crm_answers=[requests.Timeout("read timed out")])
    with pytest.raises(RetryableDeliveryError) as caught:
        zoho(session).update_record(by_id())
    assert caught.value.failure.code == "NETWORK_ERROR"
    assert caught.value.failure.message == "no answer from Zoho (timeout)"
    assert caught.value.failure.http_status is None


def test_a_network_error_is_retryable_and_names_its_kind_only():
    session = FakeZohoSession(crm_answers=[requests.ConnectionError("refused by 10.0.0.1")])
    with pytest.raises(RetryableDeliveryError) as caught:
        zoho(session).update_record(by_id())
    assert caught.value.failure.code == "NETWORK_ERROR"
    assert caught.value.failure.message == "no answer from Zoho (ConnectionError)"


def test_a_validation_error_is_permanent_and_names_the_field():
    session = FakeZohoSession(crm_answers=[crm_error(
        400, "INVALID_DATA", api_name="Email", expected_data_type="email",
        json_path="$.data[0].Email")])
    with pytest.raises(PermanentDeliveryError) as caught:
        zoho(session).update_record(by_id())
    failure = caught.value.failure
    assert (failure.code, failure.api_name, failure.expected_data_type, failure.http_status) == (
        "INVALID_DATA", "Email", "email", 400)
    assert len(session.puts) == 1


def test_a_server_error_is_retryable_with_zohos_code():
    session = FakeZohoSession(crm_answers=[crm_request_error(500, "INTERNAL_ERROR")])
    with pytest.raises(RetryableDeliveryError) as caught:
        zoho(session).update_record(by_id())
    assert (caught.value.failure.code, caught.value.failure.http_status) == (
        "INTERNAL_ERROR", 500)


def test_an_answer_that_is_not_json_is_classified_by_its_status():
    session = FakeZohoSession(crm_answers=[FakeResponse(502, text="<html>Bad Gateway</html>")])
    with pytest.raises(RetryableDeliveryError) as caught:
        zoho(session).update_record(by_id())
    assert caught.value.failure.code == "HTTP_502"


def test_already_modified_comes_back_as_stale():
    session = FakeZohoSession(crm_answers=[crm_error(412, "ALREADY_MODIFIED")])
    assert zoho(session).update_record(by_id()).kind == STALE



def test_a_second_401_after_a_refresh_is_retryable_token_rejected():
    session = FakeZohoSession(
        token_answers=[token_grant("1000.new")],
        crm_answers=[crm_request_error(401, "INVALID_TOKEN"),
                     crm_request_error(401, "INVALID_TOKEN")])
    with pytest.raises(RetryableDeliveryError) as caught:
        zoho(session).update_record(by_id())
    failure = caught.value.failure
    assert (failure.code, failure.http_status) == ("TOKEN_REJECTED", 401)
    assert len(session.puts) == 2
    assert len(session.posts) == 1



def test_each_crm_call_reports_its_latency(capsys):
    flush_metrics()
    capsys.readouterr()
    session = FakeZohoSession(
        token_answers=[token_grant()],
        crm_answers=[crm_request_error(401, "INVALID_TOKEN"), requests.Timeout()])
    with pytest.raises(RetryableDeliveryError):
        zoho(session).update_record(by_id())
    flush_metrics()
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text]
    latencies = line[ZOHO_LATENCY]
    assert isinstance(latencies, list) and len(latencies) == 2
    assert all(isinstance(value, float) and value >= 0 for value in latencies)


def test_a_search_whose_stored_token_is_refused_too_makes_a_new_token_and_finds_the_record():
    # The worker's token and the one another process stored were both revoked (a Zoho
    # revocation drops every live token): neither refusal says anything of a new token.
    session = FakeZohoSession(token_answers=[token_grant("1000.mine"), token_grant("1000.new")])
    client = zoho(session, cached_token=None)
    found = (200, {"data": [{"id": "5725767000000524157"}], "info": {"more_records": False}})
    session.get_answers = [found]
    client.search_records("Contacts", "(Email:equals:ada@example.com)")  # makes 1000.mine
    connection = json.loads(client._tokens._secrets.values[SECRET_ID])
    client._tokens._secrets.values[SECRET_ID] = json.dumps({**connection,
                                                             "access_token": "1000.stored"})
    invalid = crm_request_error(401, "INVALID_TOKEN")
    session.get_answers = [invalid, invalid, found]
    rows = client.search_records("Contacts", "(Email:equals:ada@example.com)")
    assert rows == [{"id": "5725767000000524157"}]
    assert len(session.posts) == 2
    assert [get["headers"]["Authorization"] for get in session.gets[1:]] == [
        "Zoho-oauthtoken 1000.mine", "Zoho-oauthtoken 1000.stored",
        "Zoho-oauthtoken 1000.new"]
def test_if_unmodified_since_goes_as_its_header_on_every_try():
    session = FakeZohoSession([token_grant("1000.new", api_domain=API)],
                              [crm_request_error(401, "INVALID_TOKEN"), crm_success()])
    zoho(session).update_record(by_id(), if_unmodified_since="2025-11-28T12:00:00+00:00")
    assert [put["headers"].get("If-Unmodified-Since") for put in session.puts] == [
        "2025-11-28T12:00:00+00:00", "2025-11-28T12:00:00+00:00"]


def test_a_token_another_worker_stored_and_zoho_refuses_too_makes_one_here_not_a_cool_down():
    connection = {"client_id": "c", "client_secret": "s", "refresh_token": "r",
                  "accounts_url": "https://accounts.zoho.eu", "access_token": "1000.cached",
                  "api_domain": API, "expires_at": NOW + 3000}
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(connection)})
    session = FakeZohoSession([token_grant("1000.mine", api_domain=API)], [
        crm_request_error(401, "INVALID_TOKEN"), crm_request_error(401, "INVALID_TOKEN"),
        crm_success()])
    tokens = TokenProvider(secrets, session, SECRET_ID, clock=lambda: NOW)
    tokens.token()  # this worker holds the cached token in memory
    secrets.put(SECRET_ID, json.dumps({**connection, "access_token": "1000.theirs"}))
    assert ZohoClient(session, tokens).update_record(by_id()).kind == APPLIED
    assert [put["headers"]["Authorization"] for put in session.puts] == [
        "Zoho-oauthtoken 1000.cached", "Zoho-oauthtoken 1000.theirs",
        "Zoho-oauthtoken 1000.mine"]
    assert len(session.posts) == 1
