"""The CRM v8 record and metadata endpoints, as Zoho answers them. No HTTP here, no auth.

Each public method of `CrmApi` takes what the router extracted (module name, path segment, query,
headers, parsed JSON body) and returns a `Response`. Checks that need several records (unique
values, If-Unmodified-Since, locks) run under the store's lock together with the write.

Choices where Zoho's documentation is silent or disagrees (documented v8 behaviour first):

- Insert answers 201 / 207 / 400 and bulk update 200 / 207 / 400 (v8 OAS), a single-record PUT
  200, or 400 with the error in `data[0]`.
- A bad record id in the URL is INVALID_DATA with `details.resource_path_index` 1 (the segment
  after the module): "the id given seems to be invalid" when it is not a 19-digit id, "the related
  id given seems to be invalid" when no such record exists. An unknown X-EXTERNAL value is the
  second case, since the value takes the id's place in the path. A bad X-EXTERNAL header
  (malformed, another module, or a field that is not an External ID field) is INVALID_DATA with
  `details.api_name` set to the field named and `details.header` "X-EXTERNAL".
- A PUT with an id in the URL takes exactly one record in `data`; `id` in that record is ignored.
- RECORD_LOCKED (a record locked through `/__sandbox/lock`) is a record-level error, HTTP 400
  for a single PUT, like Zoho's OAS `RecordLockedError`.
- If-Unmodified-Since is honoured on every PUT; 412 when the record's `Modified_Time` is later
  than the header. In a bulk PUT the failing records carry ALREADY_MODIFIED, and the answer is
  412 only when every record failed that way.
- GET of an unknown (well-formed) id answers 204 with no body.
- DELETE of a record answers 200 `record deleted`; of an unknown id, INVALID_DATA in `data[0]`
  as for a PUT. A deleted record's id is never given to another record.
- Search may lag new records (`search_index_lag_seconds`, default 0): a record created less than
  that long ago is not found yet. Seeded records are found at once; updates are seen at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from . import search
from .clock import parse_http_datetime
from .responses import (
    MSG_ALREADY_MODIFIED,
    MSG_DUPLICATE,
    MSG_INVALID_ID,
    MSG_MANDATORY,
    MSG_RECORD_LOCKED,
    MSG_UNKNOWN_ID,
    Response,
    error_item,
    field_error,
    invalid_body,
    invalid_module,
    outcome_status,
    record_errors,
    request_error,
)
from .schema import MODULES, FieldSpec, ModuleSpec, field_metadata, find_module
from .store import RecordStore, StoredRecord, WriteOptions
from .validation import Mode, RecordCheck, check_record

MAX_RECORDS_PER_CALL = 100
MAX_PER_PAGE = 200
RECORD_ID = re.compile(r"^\d{19}$")
TRIGGERS = ("approval", "workflow", "blueprint", "pathfinder", "orchestration")
SKIPPABLE_FEATURES = ("assignment_rules", "cadences", "connected_workflows")
INVALID_JSON = object()
"""Stands for a request body that is not JSON (the router passes it instead of a value)."""


class Headers(Protocol):
    """Request headers, looked up case-insensitively (http.server's message object)."""

    def get(self, name: str, /) -> str | None: ...

    def items(self) -> Iterable[tuple[str, str]]: ...


class _Rejected(Exception):
    """A request-level problem found while reading the body; carries the answer to send."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


# What GET /crm/v8/org answers: the keys Zoho documents, with sandbox values.
SANDBOX_ORG = {
    "id": "5725767000000000001",
    "company_name": "Sandbox Org",
    "domain_name": "org5725767",
    "primary_email": "admin@example.com",
    "time_zone": "UTC",
    "currency": "USD",
    "country_code": "US",
}


class CrmApi:
    """Zoho CRM v8: fields metadata, insert, get, single/bulk/external update, delete, search."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    # --- metadata -------------------------------------------------------------------------

    def describe_fields(self, query: Mapping[str, str]) -> Response:
        name = query.get("module")
        if not name:
            return request_error(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param": "module"},
            )
        module = find_module(name)
        if module is None:
            return invalid_module(None)
        return Response(200, {"fields": [field_metadata(spec) for spec in module.fields]})

    def describe_org(self) -> Response:
        """``GET /crm/v8/org``: the organisation the token belongs to (one sandbox org)."""
        return Response(200, {"org": [dict(SANDBOX_ORG)]})

    # --- reads ----------------------------------------------------------------------------

    def get_record(self, module_name: str, segment: str) -> Response:
        module = find_module(module_name)
        if module is None:
            return invalid_module()
        if not RECORD_ID.match(segment):
            return record_errors(400, _path_id_error(MSG_INVALID_ID))
        record = self.store.get(module.api_name, segment)
        if record is None:
            return Response(204)
        with self.store.lock:
            return Response(200, {"data": [record.as_zoho()]})

    def delete_record(self, module_name: str, segment: str) -> Response:
        """`DELETE /crm/v8/{module}/{id}`."""
        module = find_module(module_name)
        if module is None:
            return invalid_module()
        if not RECORD_ID.match(segment):
            return record_errors(400, _path_id_error(MSG_INVALID_ID))
        with self.store.lock:
            record = self.store.get(module.api_name, segment)
            if record is None:
                return record_errors(400, _path_id_error(MSG_UNKNOWN_ID))
            self.store.delete(record)
        return Response(200, {"data": [{"code": "SUCCESS", "details": {"id": segment},
                                        "message": "record deleted", "status": "success"}]})

    def search(
        self, module_name: str, query: Mapping[str, str], index_lag_seconds: float = 0
    ) -> Response:
        module = find_module(module_name)
        if module is None:
            return invalid_module()
        try:
            predicate = _search_predicate(module, query)
            page = _positive_int(query.get("page"), "page", 1)
            per_page = min(
                _positive_int(query.get("per_page"), "per_page", MAX_PER_PAGE), MAX_PER_PAGE
            )
        except search.SearchQueryError as exc:
            return request_error(400, "INVALID_QUERY", "invalid query formed", exc.details)
        except _Rejected as rejected:
            return rejected.response
        with self.store.lock:
            rows = [r.as_zoho() for r in self.store.records(module.api_name)
                    if self.store.indexed(r, index_lag_seconds)]
        matches = [row for row in rows if predicate(row)]
        start = (page - 1) * per_page
        chosen = matches[start : start + per_page]
        if not chosen:
            return Response(204)
        info = {
            "count": len(chosen),
            "more_records": start + per_page < len(matches),
            "page": page,
            "per_page": per_page,
        }
        return Response(200, {"data": chosen, "info": info})

    # --- writes ---------------------------------------------------------------------------

    def insert(self, module_name: str, body: Any) -> Response:
        module = find_module(module_name)
        if module is None:
            return invalid_module()
        try:
            items = _data_items(body)
            options = _write_options(body)
        except _Rejected as rejected:
            return rejected.response
        results = []
        with self.store.lock:
            for index, item in enumerate(items):
                results.append(self._insert_one(module, item, index, options))
        return Response(outcome_status(results, 201), {"data": results})

    def seed(self, module: ModuleSpec, item: Any, index: int) -> dict[str, Any]:
        """Insert for test set-up: types are checked, mandatory and read-only fields are not."""
        record_id = item.get("id") if isinstance(item, dict) else None
        with self.store.lock:
            if record_id is not None:
                record_id = str(record_id)
                if not RECORD_ID.match(record_id) or self._anywhere(record_id):
                    return field_error("INVALID_DATA", MSG_INVALID_ID, "id", index)
            return self._insert_one(module, item, index, WriteOptions(), "seed", record_id)

    def update_by_path(
        self, module_name: str, segment: str, body: Any, headers: Headers
    ) -> Response:
        """`PUT /crm/v8/{module}/{id}`, or `/{external value}` with an X-EXTERNAL header."""
        module = find_module(module_name)
        if module is None:
            return invalid_module()
        try:
            items = _data_items(body)
            options = _write_options(body)
            unmodified_since = _if_unmodified_since(headers)
        except _Rejected as rejected:
            return rejected.response
        if len(items) != 1:
            return invalid_body(
                "a PUT with a record id in the URL updates exactly one record",
                api_name="data",
                json_path="$.data",
            )
        external = headers.get("X-EXTERNAL")
        with self.store.lock:
            if external is not None:
                spec_or_error = _external_field(module, external)
                if isinstance(spec_or_error, dict):
                    return record_errors(400, spec_or_error)
                record = self.store.find_by_unique(module.api_name, spec_or_error.api_name, segment)
                if record is None:
                    return record_errors(400, _path_id_error(MSG_UNKNOWN_ID))
            else:
                if not RECORD_ID.match(segment):
                    return record_errors(400, _path_id_error(MSG_INVALID_ID))
                record = self.store.get(module.api_name, segment)
                if record is None:
                    return record_errors(400, _path_id_error(MSG_UNKNOWN_ID))
            result = self._update_one(record, items[0], 0, options, unmodified_since)
        if result["status"] == "success":
            return Response(200, {"data": [result]})
        return record_errors(412 if result["code"] == "ALREADY_MODIFIED" else 400, result)

    def update_many(self, module_name: str, body: Any, headers: Headers) -> Response:
        """`PUT /crm/v8/{module}`: each record names its `id` (or X-EXTERNAL field value)."""
        module = find_module(module_name)
        if module is None:
            return invalid_module()
        try:
            items = _data_items(body)
            options = _write_options(body)
            unmodified_since = _if_unmodified_since(headers)
        except _Rejected as rejected:
            return rejected.response
        external = headers.get("X-EXTERNAL")
        results = []
        with self.store.lock:
            locator = _external_field(module, external) if external is not None else None
            for index, item in enumerate(items):
                if isinstance(locator, dict):
                    results.append(locator)
                    continue
                found = self._locate_in_body(module, item, index, locator)
                if isinstance(found, dict):
                    results.append(found)
                    continue
                results.append(self._update_one(found, item, index, options, unmodified_since))
        status = outcome_status(results, 200)
        if status == 400 and all(item["code"] == "ALREADY_MODIFIED" for item in results):
            status = 412
        return Response(status, {"data": results})

    # --- one record -----------------------------------------------------------------------

    def _insert_one(
        self,
        module: ModuleSpec,
        item: Any,
        index: int,
        options: WriteOptions,
        mode: Mode = "create",
        record_id: str | None = None,
    ) -> dict[str, Any]:
        check = check_record(module, item, index, mode, self.store.lookup_name)
        problem = check.error or self._duplicate_error(module, check, index, None)
        if problem is not None:
            return problem
        record = self.store.create(
            module,
            check.values,
            options,
            check.layout,
            record_id,
            "seed" if mode == "seed" else "insert",
        )
        return _success(record, "record added")

    def _update_one(
        self,
        record: StoredRecord,
        item: Any,
        index: int,
        options: WriteOptions,
        unmodified_since: datetime | None,
    ) -> dict[str, Any]:
        if record.locked:
            return field_error(
                "RECORD_LOCKED", MSG_RECORD_LOCKED, "id", index, action="record_locking"
            )
        if unmodified_since is not None and record.modified_time > unmodified_since:
            return error_item("ALREADY_MODIFIED", MSG_ALREADY_MODIFIED, record.audit_details())
        check = check_record(record.module, item, index, "update", self.store.lookup_name)
        problem = check.error or self._duplicate_error(record.module, check, index, record.id)
        if problem is not None:
            return problem
        self.store.update(record, check.values, check.append_fields, options, check.layout)
        return _success(record, "record updated")

    def _duplicate_error(
        self, module: ModuleSpec, check: RecordCheck, index: int, own_id: str | None
    ) -> dict[str, Any] | None:
        clash = self.store.find_duplicate(module, check.values, own_id)
        if clash is None:
            return None
        api_name, other = clash
        owner = other.values.get("Owner") or {}
        return field_error(
            "DUPLICATE_DATA",
            MSG_DUPLICATE,
            api_name,
            index,
            duplicate_record={
                "id": other.id,
                "Owner": {"name": owner.get("name"), "id": owner.get("id")},
                "module": {"api_name": module.api_name, "id": module.id},
            },
            id=other.id,
            more_records=False,
        )

    def _locate_in_body(
        self, module: ModuleSpec, item: Any, index: int, external: FieldSpec | None
    ) -> StoredRecord | dict[str, Any]:
        key = "id" if external is None else external.api_name
        value = item.get(key) if isinstance(item, dict) else None
        if value is None or value == "":
            return field_error("MANDATORY_NOT_FOUND", MSG_MANDATORY, key, index)
        if external is not None:
            record = self.store.find_by_unique(module.api_name, key, value)
        else:
            record = self.store.get(module.api_name, str(value))
        if record is None:
            return field_error("INVALID_DATA", MSG_INVALID_ID, key, index)
        return record

    def _anywhere(self, record_id: str) -> bool:
        return any(self.store.get(name, record_id) for name in MODULES)


def _success(record: StoredRecord, message: str) -> dict[str, Any]:
    return {
        "code": "SUCCESS",
        "details": record.audit_details(),
        "message": message,
        "status": "success",
    }


def _path_id_error(message: str) -> dict[str, Any]:
    return error_item("INVALID_DATA", message, {"resource_path_index": 1})


def _external_field(module: ModuleSpec, header: str) -> FieldSpec | dict[str, Any]:
    module_part, _, field_part = header.strip().partition(".")
    spec = module.get_field(field_part)
    if module_part.lower() != module.api_name.lower() or spec is None or not spec.external:
        return error_item(
            "INVALID_DATA",
            "the external field given in X-EXTERNAL seems to be invalid",
            {"api_name": field_part or header, "header": "X-EXTERNAL"},
        )
    return spec


def _data_items(body: Any) -> list[Any]:
    if body is INVALID_JSON:
        raise _Rejected(invalid_body("the request body is not valid JSON"))
    if not isinstance(body, dict) or "data" not in body:
        raise _Rejected(
            request_error(
                400,
                "MANDATORY_NOT_FOUND",
                MSG_MANDATORY,
                {"api_name": "data", "json_path": "$.data"},
            )
        )
    items = body["data"]
    if not isinstance(items, list) or not items:
        raise _Rejected(
            invalid_body(
                "data must be a non-empty array of records",
                expected_data_type="jsonarray",
                api_name="data",
                json_path="$.data",
            )
        )
    if len(items) > MAX_RECORDS_PER_CALL:
        raise _Rejected(
            request_error(
                400,
                "LIMIT_EXCEEDED",
                "the number of records exceeds the limit of 100",
                {"limit": MAX_RECORDS_PER_CALL, "api_name": "data", "json_path": "$.data"},
            )
        )
    return items


def _names(value: Any, key: str, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    """`[{"name": ...}]` as a tuple of names; request-level INVALID_DATA when malformed."""
    if value is None:
        return ()
    ok = isinstance(value, list) and all(
        isinstance(entry, dict) and isinstance(entry.get("name"), str) for entry in value
    )
    names = tuple(entry["name"] for entry in value) if ok else ()
    if not ok or (allowed is not None and any(name not in allowed for name in names)):
        details: dict[str, Any] = {"api_name": key, "json_path": f"$.{key}"}
        if allowed is not None:
            details["supported_values"] = list(allowed)
        raise _Rejected(invalid_body(f"invalid value for {key}", **details))
    return names


def _write_options(body: dict[str, Any]) -> WriteOptions:
    trigger = body.get("trigger")
    if "trigger" in body and (
        not isinstance(trigger, list) or any(value not in TRIGGERS for value in trigger)
    ):
        raise _Rejected(
            invalid_body(
                "invalid value for trigger",
                api_name="trigger",
                json_path="$.trigger",
                supported_values=list(TRIGGERS),
            )
        )
    return WriteOptions(
        trigger_sent="trigger" in body,
        trigger=tuple(trigger or ()),
        skip_feature_execution=_names(
            body.get("skip_feature_execution"), "skip_feature_execution", SKIPPABLE_FEATURES
        ),
        apply_feature_execution=_names(
            body.get("apply_feature_execution"), "apply_feature_execution", None
        ),
    )


def _if_unmodified_since(headers: Headers) -> datetime | None:
    text = headers.get("If-Unmodified-Since")
    if text is None:
        return None
    moment = parse_http_datetime(text)
    if moment is None:
        raise _Rejected(
            invalid_body(
                "If-Unmodified-Since must be an ISO-8601 date-time with an offset",
                header="If-Unmodified-Since",
            )
        )
    return moment


def _positive_int(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise _Rejected(invalid_body(f"{name} must be a positive integer", param=name))
    return int(text)


def _search_predicate(module: ModuleSpec, query: Mapping[str, str]) -> search.Predicate:
    # Zoho honours one of these, in this order of priority.
    if query.get("criteria"):
        return search.parse_criteria(query["criteria"], module)
    if query.get("email"):
        return search.email_predicate(module, query["email"])
    if query.get("phone"):
        return search.phone_predicate(module, query["phone"])
    if query.get("word"):
        return search.word_predicate(module, query["word"])
    raise _Rejected(
        request_error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param": ["criteria", "email", "phone", "word"]},
        )
    )
