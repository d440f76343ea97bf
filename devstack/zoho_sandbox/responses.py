"""What the sandbox answers: the `Response` value and builders for Zoho's two error envelopes.

Pure, no I/O. Zoho has a request-level envelope (`{"code","details","message","status"}` at the
top: auth, URL, module, limits, server errors) and a record-level one (the same four keys inside
`{"data": [...]}`: validation results, success or failure per record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Messages Zoho uses for these codes (OAS examples and observed responses).
MSG_INVALID_FIELD = "the field api name given seems to be invalid"
MSG_INVALID_DATA = "invalid data"
MSG_INVALID_ID = "the id given seems to be invalid"
MSG_UNKNOWN_ID = "the related id given seems to be invalid"
MSG_READ_ONLY = "the field is read only and cannot be set through the API"
MSG_MANDATORY = "required field not found"
MSG_DUPLICATE = "duplicate data"
MSG_RECORD_LOCKED = "Sorry, you cannot perform this operation as the record is locked."
MSG_ALREADY_MODIFIED = "record updated time has already passed if-unmodified-since time"
MSG_INVALID_MODULE = "the module name given seems to be invalid"
MSG_INVALID_URL = "Please check if the URL trying to access is a correct one"
MSG_INVALID_METHOD = "The http request method type is not a valid one"


@dataclass(frozen=True)
class Response:
    """One HTTP answer. `body` is JSON-encoded unless `raw` is given; `None` sends no body.

    `disconnect` closes the connection without answering; `delay_seconds` waits first (a hang).
    """

    status: int
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json;charset=UTF-8"
    headers: tuple[tuple[str, str], ...] = ()
    disconnect: bool = False
    delay_seconds: float = 0.0
    fault: str | None = field(default=None, compare=False)


def request_error(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    return Response(status, error_item(code, message, details))


def error_item(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def record_errors(status: int, *items: dict[str, Any]) -> Response:
    return Response(status, {"data": list(items)})


def field_error(code: str, message: str, api_name: str, index: int, **extra: Any) -> dict[str, Any]:
    """A record-level error naming a field of `data[index]`, with Zoho's `json_path`."""
    details = {**extra, "api_name": api_name, "json_path": f"$.data[{index}].{api_name}"}
    return error_item(code, message, details)


def invalid_module(resource_path_index: int | None = 0) -> Response:
    details = {} if resource_path_index is None else {"resource_path_index": resource_path_index}
    return request_error(400, "INVALID_MODULE", MSG_INVALID_MODULE, details)


def invalid_url() -> Response:
    return request_error(404, "INVALID_URL_PATTERN", MSG_INVALID_URL)


def invalid_method() -> Response:
    return request_error(400, "INVALID_REQUEST_METHOD", MSG_INVALID_METHOD)


def invalid_body(message: str, **details: Any) -> Response:
    return request_error(400, "INVALID_DATA", message, details)


def outcome_status(items: list[dict[str, Any]], all_ok: int) -> int:
    """Zoho v8 bulk writes: `all_ok` when every record succeeded, 207 when mixed, 400 when none."""
    successes = sum(1 for item in items if item.get("status") == "success")
    if successes == len(items):
        return all_ok
    if successes == 0:
        return 400
    return 207
