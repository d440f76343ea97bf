"""Zoho reads and updates: the exact request sent and the exact failure each answer becomes."""

import json
import time

import pytest
import requests

from chalicelib.errors import PermanentDeliveryError, RetryableDeliveryError
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.observability import ZOHO_LATENCY, flush_metrics
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.client import MAX_SEARCH_PAGES, ZohoClient, record_url
from chalicelib.zoho.tokens import TokenProvider
from tests.fakes import (
    FakeResponse,
    FakeZohoSession,
    crm_request_error,
    crm_success,
    token_grant,
    zoho_connection,
)

NOW = 1_764_331_200.0
SECRET_ID = "zwa/connection/default"
API = "https://www.zohoapis.eu"


def zoho(session, **kwargs):
    connection = zoho_connection(access_token="1000.cached", api_domain=API,
                                 expires_at=NOW + 3000)
    secrets = InMemorySecretStore({SECRET_ID: json.dumps(connection)})
    return ZohoClient(session, TokenProvider(secrets, session, SECRET_ID, clock=lambda: NOW),
                      **kwargs)


def reading(*answers):
    session = FakeZohoSession()
    session.get_answers = list(answers)
    return session


def failure_of(call, kind):
    with pytest.raises(kind) as caught:
        call()
    failure = caught.value.failure
    return failure.code, failure.message, failure.http_status


def test_a_record_url_quotes_the_module_and_the_record_whole():
    plan = PlannedUpdate(rule="r", module="My Mod/x", record="a b", body={})
    assert record_url(plan) == "/crm/v8/My%20Mod%2Fx/a%20b"


def test_an_update_waits_fifteen_seconds_for_zoho_unless_told_otherwise():
    session = FakeZohoSession(crm_answers=[crm_success()])
    zoho(session).update_record(PlannedUpdate(rule="r", module="Contacts", record="1",
                                              body={"data": [{}]}))
    assert session.puts[0]["timeout"] == 15.0


def test_a_fresh_token_refused_too_records_zohos_code_with_the_rejection():
    session = FakeZohoSession(token_answers=[token_grant("1000.new")],
                              default_crm=crm_request_error(401, "INVALID_TOKEN"))
    with pytest.raises(RetryableDeliveryError) as caught:
        zoho(session).update_record(PlannedUpdate(rule="r", module="Contacts", record="1",
                                                  body={"data": [{}]}))
    failure = caught.value.failure
    assert (failure.code, failure.http_status, failure.details) == (
        "TOKEN_REJECTED", 401, {"zoho_code": "INVALID_TOKEN"})


def test_reads_send_the_token_and_wait_as_long_as_the_client_is_told():
    session = reading((200, {"fields": []}))
    assert zoho(session, timeout=3.5).field_metadata("Deals") == []
    assert session.gets == [{"url": f"{API}/crm/v8/settings/fields", "params": {"module": "Deals"},
                             "headers": {"Authorization": "Zoho-oauthtoken 1000.cached"},
                             "timeout": 3.5}]


def test_a_search_quotes_the_module_in_its_path():
    session = reading(FakeResponse(204))
    assert zoho(session).search_records("My Mod/x", "(A:equals:b)") == []
    assert session.gets[0]["url"] == f"{API}/crm/v8/My%20Mod%2Fx/search"


def test_a_search_reads_at_most_ten_pages():
    more = (200, {"data": [{"id": "1"}], "info": {"more_records": True}})
    session = reading(*[more] * (MAX_SEARCH_PAGES + 2))
    rows = zoho(session).search_records("Contacts", "(A:equals:b)")
    assert len(rows) == 10 and MAX_SEARCH_PAGES == 10
    assert [get["params"]["page"] for get in session.gets] == [str(n) for n in range(1, 11)]


def test_a_search_skips_rows_that_are_not_records_and_stops_without_more_records():
    session = reading((200, {"data": [{"id": "1"}, "x", None], "info": {"more_records": "yes"}}))
    assert zoho(session).search_records("Contacts", "(A:equals:b)") == [{"id": "1"}]
    assert len(session.gets) == 1
    session = reading((200, {"data": [{"id": "1"}], "info": []}))
    assert zoho(session).search_records("Contacts", "(A:equals:b)") == [{"id": "1"}]


@pytest.mark.parametrize("answer, kind, failure", [
    ((400, {"data": [{"code": "INVALID_QUERY", "message": "invalid query", "status": "error"}]}),
     PermanentDeliveryError, ("INVALID_QUERY", "invalid query", 400)),
    ((202, {"data": {"id": "1"}}), RetryableDeliveryError,
     ("HTTP_202", "Zoho answered HTTP 202", 202)),
    ((200, {"data": "none"}), RetryableDeliveryError, ("HTTP_200", "Zoho answered HTTP 200", 200)),
    (FakeResponse(500, text="<html>oops</html>"), RetryableDeliveryError,
     ("HTTP_500", "Zoho answered HTTP 500", 500)),
    ((400, {"code": "INVALID_QUERY", "message": "the criteria is wrong", "status": "error"}),
     PermanentDeliveryError, ("INVALID_QUERY", "the criteria is wrong", 400)),
])
def test_a_search_answer_without_records_is_the_failure_zoho_described(answer, kind, failure):
    session = reading(answer)
    assert failure_of(lambda: zoho(session).search_records("Contacts", "(A:equals:b)"),
                      kind) == failure


@pytest.mark.parametrize("answer, kind, failure", [
    ((400, {"fields": [{"api_name": "Email"}], "code": "INVALID_DATA", "message": "bad"}),
     PermanentDeliveryError, ("INVALID_DATA", "bad", 400)),
    (FakeResponse(500, text="not json"), RetryableDeliveryError,
     ("HTTP_500", "Zoho answered HTTP 500", 500)),
    ((200, {"data": [{"status": "success", "details": {"id": "1"}}]}), RetryableDeliveryError,
     ("HTTP_200", "Zoho answered HTTP 200", 200)),
    ((200, {"data": [{"status": "error", "code": "INVALID_DATA", "message": "no"}]}),
     RetryableDeliveryError, ("INVALID_DATA", "no", 200)),
    ((400, {"code": "INVALID_REQUEST", "message": "what"}), PermanentDeliveryError,
     ("INVALID_REQUEST", "what", 400)),
    ((403, {"code": "NO_PERMISSION", "message": "denied"}), PermanentDeliveryError,
     ("NO_PERMISSION", "denied", 403)),
])
def test_field_metadata_zoho_does_not_list_is_the_failure_it_described(answer, kind, failure):
    session = reading(answer)
    assert failure_of(lambda: zoho(session).field_metadata("Contacts"), kind) == failure


def test_field_metadata_keeps_only_the_fields_that_are_objects():
    session = reading((200, {"fields": [{"api_name": "Email"}, "Phone", 3]}))
    assert zoho(session).field_metadata("Contacts") == [{"api_name": "Email"}]


@pytest.mark.parametrize("error, kind", [
    (requests.ReadTimeout("slow"), "timeout"),
    (requests.ConnectTimeout("slow"), "timeout"),
    (requests.ConnectionError("refused"), "ConnectionError"),
    (requests.TooManyRedirects("loop"), "TooManyRedirects"),
])
def test_a_read_with_no_answer_is_retryable_naming_only_the_kind(error, kind):
    session = reading(error)
    assert failure_of(lambda: zoho(session).field_metadata("Contacts"),
                      RetryableDeliveryError) == ("NETWORK_ERROR", f"no answer from Zoho ({kind})",
                                                  None)


class SlowSession(FakeZohoSession):
    """Zoho taking at least 50 ms over each call."""

    def get(self, *args, **kwargs):
        time.sleep(0.05)
        return super().get(*args, **kwargs)

    def put(self, *args, **kwargs):
        time.sleep(0.05)
        return super().put(*args, **kwargs)


def test_the_latency_of_reads_and_updates_is_reported_in_milliseconds(capsys):
    flush_metrics()
    capsys.readouterr()
    session = SlowSession(crm_answers=[crm_success()])
    session.get_answers = [(200, {"fields": []})]
    client = zoho(session)
    client.field_metadata("Contacts")
    client.update_record(PlannedUpdate(rule="r", module="Contacts", record="1",
                                       body={"data": [{}]}))
    flush_metrics()
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text]
    latencies = line[ZOHO_LATENCY]
    assert len(latencies) == 2
    # At least the 50 ms the call took, and not the clock's reading itself.
    assert all(50 <= value < 600_000 for value in latencies)
