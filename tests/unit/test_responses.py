import pytest

from chalicelib.zoho.responses import (
    APPLIED,
    PERMANENT,
    REFRESH_TOKEN,
    RETRY,
    STALE,
    classify_zoho_response,
)


def record_error(code, **details):
    return {"data": [{"code": code, "details": details, "message": code.lower(),
                      "status": "error"}]}


def test_success_gives_the_record_id_and_modified_time():
    body = {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                      "details": {"id": "5725767000000524157",
                                  "Modified_Time": "2026-11-28T10:00:00+05:30"}}]}
    outcome = classify_zoho_response(200, body)
    assert outcome.kind == APPLIED
    assert outcome.record_id == "5725767000000524157"


def test_invalid_data_is_permanent_and_names_the_field():
    outcome = classify_zoho_response(400, record_error(
        "INVALID_DATA", api_name="Email", expected_data_type="email", json_path="$.data[0].Email"))
    assert outcome.kind == PERMANENT
    assert outcome.failure.code == "INVALID_DATA"
    assert outcome.failure.api_name == "Email"
    assert outcome.failure.expected_data_type == "email"


@pytest.mark.parametrize("code", ["MANDATORY_NOT_FOUND", "DUPLICATE_DATA", "INVALID_MODULE",
                                  "NO_PERMISSION", "RECORD_NOT_FOUND"])
def test_documented_permanent_codes(code):
    assert classify_zoho_response(400, record_error(code)).kind == PERMANENT


def test_scope_mismatch_is_permanent_even_as_a_401():
    body = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "Unauthorized",
            "status": "error"}
    assert classify_zoho_response(401, body).kind == PERMANENT


@pytest.mark.parametrize("status,body", [
    (500, {"code": "INTERNAL_ERROR", "details": {}, "message": "x", "status": "error"}),
    (503, None),
    (429, {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "x", "status": "error"}),
    (400, {"data": [{"code": "RECORD_LOCKED", "details": {}, "message": "x", "status": "error"}]}),
    (200, None),
])
def test_retryable_answers(status, body):
    assert classify_zoho_response(status, body).kind == RETRY


def test_invalid_token_asks_for_a_refresh():
    body = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
            "status": "error"}
    assert classify_zoho_response(401, body).kind == REFRESH_TOKEN


def test_already_modified_is_stale():
    assert classify_zoho_response(412, record_error("ALREADY_MODIFIED")).kind == STALE


def test_unknown_client_errors_are_permanent_with_the_http_status_as_code():
    outcome = classify_zoho_response(404, None)
    assert outcome.kind == PERMANENT
    assert outcome.failure.code == "HTTP_404"
