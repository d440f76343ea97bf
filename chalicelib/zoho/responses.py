"""What a Zoho answer means for a delivery: applied, retry later, or never (pure).

Zoho answers a single-record PUT in two shapes (zoho-api-facts section 2):
request-level errors as a top-level ``{"code", "details", "message", "status"}``
and record-level results inside ``data[0]``, for success and for validation
errors alike (HTTP 400 with the error in ``data[0]``). The token endpoint
answers errors with HTTP 200, so its answers are judged by ``access_token``.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Failure
from chalicelib.values import frozen

APPLIED = "applied"
RETRY = "retry"
PERMANENT = "permanent"
STALE = "stale"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 (an outcome name)

# Codes that can succeed later without anyone changing anything.
RETRYABLE_CODES = frozenset({
    "RECORD_LOCKED", "TOO_MANY_REQUESTS", "RATE_LIMIT_EXCEEDED", "INTERNAL_ERROR",
    "DEPENDENT_SERVICE_ERROR", "REQUEST_TIMEOUT",
})
# An access token Zoho no longer takes: refresh once, then try again.
TOKEN_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN"})
# Detail keys worth keeping besides api_name and expected_data_type (which the
# failure carries itself): they name places and limits, never the values sent.
_KEPT_DETAILS = ("json_path", "maximum_length", "supported_values", "resource_path_index", "id")


@frozen
class ZohoOutcome:
    """The meaning of one Zoho answer."""

    kind: str  # applied | retry | permanent | stale | refresh_token
    record_id: str | None = None
    modified_time: str | None = None
    failure: Failure | None = None


def classify_zoho_response(status: int, body: Any) -> ZohoOutcome:
    """Classify the HTTP status and parsed JSON body (None if absent) of an update."""
    entry = _record_entry(body)
    if 200 <= status < 300 and entry is not None and entry.get("status") == "success":
        details = _details(entry)
        return ZohoOutcome(
            APPLIED,
            record_id=_text(details.get("id")),
            modified_time=_text(details.get("Modified_Time")),
        )
    error = entry if entry is not None else (body if isinstance(body, dict) else {})
    failure = _failure(status, error)
    code = failure.code
    if code in TOKEN_CODES or (status == 401 and code not in ("OAUTH_SCOPE_MISMATCH",)):
        return ZohoOutcome(REFRESH_TOKEN, failure=failure)
    if status == 412 or code == "ALREADY_MODIFIED":
        return ZohoOutcome(STALE, failure=failure)
    if status >= 500 or status in (408, 429) or code in RETRYABLE_CODES:
        return ZohoOutcome(RETRY, failure=failure)
    if 200 <= status < 300 and entry is None:
        # A 2xx without a record result is not Zoho's documented answer; trying
        # again is safe, and the attempts bound keeps it from going on forever.
        return ZohoOutcome(RETRY, failure=failure)
    return ZohoOutcome(PERMANENT, failure=failure)


def network_failure(kind: str) -> Failure:
    """A failure for an answer that never came (timeout, refused or dropped connection)."""
    return Failure(code="NETWORK_ERROR", message=f"no answer from Zoho ({kind})")


def _record_entry(body: Any) -> dict[str, Any] | None:
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        first = body["data"][0]
        return first if isinstance(first, dict) else None
    return None


def _failure(status: int, error: dict[str, Any]) -> Failure:
    code = _text(error.get("code")) or f"HTTP_{status}"
    message = _text(error.get("message")) or f"Zoho answered HTTP {status}"
    details = _details(error)
    kept = {key: details[key] for key in _KEPT_DETAILS if key in details}
    return Failure(
        code=code,
        message=message,
        api_name=_text(details.get("api_name")),
        expected_data_type=_text(details.get("expected_data_type")),
        http_status=status,
        details=kept,
    )


def _details(entry: dict[str, Any]) -> dict[str, Any]:
    details = entry.get("details")
    return details if isinstance(details, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
