"""What each Zoho answer means for a delivery, one code path at a time (pure)."""

import pytest

from chalicelib.zoho.responses import (
    APPLIED,
    PERMANENT,
    REFRESH_TOKEN,
    RETRY,
    STALE,
    classify_zoho_response,
    network_failure,
)


def record_error(code, **details):
    return {"data": [{"code": code, "details": details, "message": code.lower(),
                      "status": "error"}]}


def request_error(code):
    return {"code": code, "details": {}, "message": code.lower(), "status": "error"}


def test_success_gives_the_record_id_and_modified_time():
    body = {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                      "details": {"id": "5725767000000524157",
                                  "Modified_Time": "2026-11-28T10:00:00+05:30"}}]}
    outcome = classify_zoho_response(200, body)
    assert outcome.kind == APPLIED
    assert outcome.record_id == "5725767000000524157"
    assert outcome.modified_time == "2026-11-28T10:00:00+05:30"
    assert outcome.failure is None


def test_a_success_without_details_is_applied_without_an_id():
    outcome = classify_zoho_response(200, {"data": [{"code": "SUCCESS", "status": "success"}]})
    assert (outcome.kind, outcome.record_id, outcome.modified_time) == (APPLIED, None, None)


def test_a_numeric_record_id_comes_back_as_text():
    body = {"data": [{"status": "success", "details": {"id": 5725767000000524157}}]}
    assert classify_zoho_response(200, body).record_id == "5725767000000524157"


def test_invalid_data_is_permanent_and_names_the_field():
    outcome = classify_zoho_response(400, record_error(
        "INVALID_DATA", api_name="Email", expected_data_type="email", json_path="$.data[0].Email"))
    assert outcome.kind == PERMANENT
    failure = outcome.failure
    assert (failure.code, failure.message, failure.http_status) == (
        "INVALID_DATA", "invalid_data", 400)
    assert (failure.api_name, failure.expected_data_type) == ("Email", "email")
    assert failure.details == {"json_path": "$.data[0].Email"}


@pytest.mark.parametrize("code", ["MANDATORY_NOT_FOUND", "DUPLICATE_DATA", "INVALID_MODULE",
                                  "NO_PERMISSION", "RECORD_NOT_FOUND", "DEPENDENT_MISMATCH"])
def test_documented_permanent_codes(code):
    outcome = classify_zoho_response(400, record_error(code))
    assert (outcome.kind, outcome.failure.code) == (PERMANENT, code)


@pytest.mark.parametrize("status", [401, 403])
def test_scope_mismatch_is_permanent_even_as_a_401(status):
    outcome = classify_zoho_response(status, request_error("OAUTH_SCOPE_MISMATCH"))
    assert (outcome.kind, outcome.failure.code, outcome.failure.http_status) == (
        PERMANENT, "OAUTH_SCOPE_MISMATCH", status)


@pytest.mark.parametrize("code", ["INVALID_TOKEN", "AUTHENTICATION_FAILURE",
                                  "INVALID_OAUTHTOKEN"])
def test_each_token_code_asks_for_a_refresh_whatever_the_status(code):
    for status in (401, 400):
        outcome = classify_zoho_response(status, request_error(code))
        assert (outcome.kind, outcome.failure.code) == (REFRESH_TOKEN, code)


def test_any_other_401_asks_for_a_refresh():
    outcome = classify_zoho_response(401, None)
    assert (outcome.kind, outcome.failure.code) == (REFRESH_TOKEN, "HTTP_401")


def test_a_412_is_stale_whatever_its_body():
    outcome = classify_zoho_response(412, None)
    assert (outcome.kind, outcome.failure.code, outcome.failure.http_status) == (
        STALE, "HTTP_412", 412)


def test_already_modified_is_stale_whatever_the_status():
    outcome = classify_zoho_response(400, record_error("ALREADY_MODIFIED", id="57"))
    assert (outcome.kind, outcome.failure.code) == (STALE, "ALREADY_MODIFIED")
    assert outcome.failure.details == {"id": "57"}


@pytest.mark.parametrize("status", [408, 429])
def test_request_timeout_and_too_many_requests_are_retryable_without_a_body(status):
    outcome = classify_zoho_response(status, None)
    assert (outcome.kind, outcome.failure.code, outcome.failure.http_status) == (
        RETRY, f"HTTP_{status}", status)
    assert outcome.failure.message == f"Zoho answered HTTP {status}"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable(status):
    assert classify_zoho_response(status, None).kind == RETRY


@pytest.mark.parametrize("code", ["RECORD_LOCKED", "TOO_MANY_REQUESTS", "RATE_LIMIT_EXCEEDED",
                                  "INTERNAL_ERROR", "DEPENDENT_SERVICE_ERROR",
                                  "REQUEST_TIMEOUT"])
def test_each_retryable_code_is_retryable_even_as_a_400(code):
    outcome = classify_zoho_response(400, record_error(code))
    assert (outcome.kind, outcome.failure.code) == (RETRY, code)


def test_a_2xx_holding_an_error_entry_is_that_error():
    outcome = classify_zoho_response(200, record_error("INVALID_DATA", api_name="Phone"))
    assert (outcome.kind, outcome.failure.code, outcome.failure.api_name) == (
        PERMANENT, "INVALID_DATA", "Phone")
    assert classify_zoho_response(200, record_error("RECORD_LOCKED")).kind == RETRY


@pytest.mark.parametrize("body", [None, {}, {"data": []}, {"data": ["SUCCESS"]}, {"data": {}},
                                  "ok"])
def test_a_2xx_without_a_record_entry_is_retryable(body):
    outcome = classify_zoho_response(200, body)
    assert (outcome.kind, outcome.failure.code) == (RETRY, "HTTP_200")


def test_a_request_level_error_is_read_from_the_top_level():
    outcome = classify_zoho_response(404, request_error("INVALID_URL_PATTERN"))
    assert (outcome.kind, outcome.failure.code, outcome.failure.message) == (
        PERMANENT, "INVALID_URL_PATTERN", "invalid_url_pattern")


def test_unknown_client_errors_are_permanent_with_the_http_status_as_code():
    outcome = classify_zoho_response(404, None)
    assert outcome.kind == PERMANENT
    assert outcome.failure.code == "HTTP_404"
    assert outcome.failure.message == "Zoho answered HTTP 404"


def test_only_the_listed_details_are_kept():
    outcome = classify_zoho_response(400, record_error(
        "INVALID_DATA", api_name="Tier", expected_data_type="picklist", json_path="$.data[0].Tier",
        maximum_length=255, supported_values=["Gold", "Silver"], resource_path_index=0, id="57",
        value="secret customer value", Modified_By={"name": "Ada"},
        layout_rule={"name": "r"}))
    assert outcome.failure.details == {
        "json_path": "$.data[0].Tier", "maximum_length": 255,
        "supported_values": ["Gold", "Silver"], "resource_path_index": 0, "id": "57"}
    assert "secret customer value" not in repr(outcome.failure)


def test_details_that_are_not_an_object_are_ignored():
    body = {"data": [{"code": "INVALID_DATA", "status": "error", "details": ["x"]}]}
    outcome = classify_zoho_response(400, body)
    assert (outcome.failure.details, outcome.failure.api_name) == ({}, None)


def test_a_network_failure_names_its_kind():
    failure = network_failure("timeout")
    assert (failure.code, failure.message) == ("NETWORK_ERROR", "no answer from Zoho (timeout)")


def test_an_answer_of_status_300_is_never_applied():
    success = {"data": [{"status": "success", "code": "SUCCESS", "details": {"id": "1"}}]}
    assert classify_zoho_response(300, success).kind == PERMANENT
    assert classify_zoho_response(300, None).kind == PERMANENT
    assert classify_zoho_response(300, {}).failure.code == "HTTP_300"
