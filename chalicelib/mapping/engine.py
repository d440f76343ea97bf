"""The mapping engine: which rules a payload matches, and the Zoho update each one plans (pure).

``matching_rules`` evaluates the rules' ``when`` filters; ``plan_update`` turns
one rule and one payload into a ``PlannedUpdate``: the module, the record and
the exact JSON body of a single-record Update Records call. Only the fields the
rule names are ever sent, so a payload cannot choose the module or add fields.
With a ``search`` locator the plan holds the value to search for; the worker
finds the record id (``PlannedUpdate.located``) before anything is sent.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from chalicelib.errors import (
    MalformedPayloadError,
    MappingError,
    PayloadTooLargeError,
    UnexpectedMappingError,
)
from chalicelib.mapping.document import MISSING, FieldSpec, MappingDocument, Rule
from chalicelib.mapping.expressions import ExpressionEvaluationError, is_truthy
from chalicelib.mapping.transforms import ConversionError, convert, is_mapped, type_name
from chalicelib.values import frozen

_ID_DIGITS = frozenset("0123456789")


@frozen
class PlannedUpdate:
    """One single-record PUT, ready to send: ``PUT /crm/v8/{module}/{record}``."""

    rule: str
    module: str
    record: str
    body: dict[str, Any]
    external_field: str | None = None
    # With a search locator: the field searched; ``record`` is then the value
    # searched for, not yet a record id.
    search_field: str | None = None
    # The fields left out for want of a value (``null: omit``): names only.
    omitted: tuple[str, ...] = ()

    @property
    def external_header(self) -> str | None:
        """The ``X-EXTERNAL`` header value when the record is found by an External ID."""
        return f"{self.module}.{self.external_field}" if self.external_field else None

    def located(self, record_id: str) -> PlannedUpdate:
        """The same update, addressed to the record id a search found."""
        return replace(self, record=record_id, search_field=None)


# Deliveries in one request with ``each``: HubSpot sends at most 100 events at once.
MAX_EACH_ITEMS = 100
# The ledger's sort key; DynamoDB takes up to 1,024 bytes, and ids are kept well under.
MAX_DELIVERY_ID_BYTES = 512
# Between the parts of a delivery id given as a list of fields.
ID_SEPARATOR = "|"


def batch_items(document: MappingDocument, body: Any, headers: Mapping[str, str]) -> list[Any]:
    """The deliveries in a body, by the document's ``each`` (a 400 or 413 when it has none)."""
    assert document.each is not None
    expression = document.each.text
    try:
        items = document.each.evaluate(body, headers)
    except ExpressionEvaluationError as exc:
        raise MalformedPayloadError(
            f"each ({expression}) cannot be evaluated on this payload: {exc.reason}") from exc
    if not isinstance(items, list):
        raise MalformedPayloadError(f"each ({expression}) gives no list for this payload")
    if len(items) > MAX_EACH_ITEMS:
        raise PayloadTooLargeError(
            f"each ({expression}) gives {len(items)} items; at most {MAX_EACH_ITEMS} are "
            "accepted in one request")
    return items


def delivery_id_of(
    document: MappingDocument, body: Any, headers: Mapping[str, str], raw: bytes
) -> str:
    """The delivery's id by the document's ``delivery_id`` (a 400 when it cannot be read)."""
    if document.delivery_id is None:
        return hashlib.sha256(raw).hexdigest()
    expression = document.delivery_id.text
    try:
        value = document.delivery_id.evaluate(body, headers)
    except ExpressionEvaluationError as exc:
        raise MalformedPayloadError(
            f"the delivery id ({expression}) cannot be read from this payload: {exc.reason}"
        ) from exc
    # A list of fields (``[portalId, subscriptionId, eventId]``) is one id: each part
    # must be there, so that a missing field never yields an id such as 'null'.
    parts = value if isinstance(value, list) and value else [value]
    if any(isinstance(part, bool) or not isinstance(part, (str, int)) or str(part).strip() == ""
           for part in parts):
        raise MalformedPayloadError(
            f"the delivery id ({expression}) is missing from the request"
        )
    text = ID_SEPARATOR.join(str(part).strip() for part in parts)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise MalformedPayloadError(f"the delivery id ({expression}) is not valid text") from exc
    if size > MAX_DELIVERY_ID_BYTES:
        raise MalformedPayloadError(
            f"the delivery id ({expression}) is {size} bytes in UTF-8; "
            f"at most {MAX_DELIVERY_ID_BYTES} bytes are accepted"
        )
    return text


def matching_rules(
    document: MappingDocument, body: Any, headers: Mapping[str, str] | None = None
) -> list[Rule]:
    """The rules whose ``when`` is true for this payload (a rule without ``when`` always is)."""
    return [
        rule for rule in document.rules
        if rule.when is None or is_truthy(rule.when.evaluate(body, headers))
    ]


def plan_update(rule: Rule, body: Any, headers: Mapping[str, str] | None = None) -> PlannedUpdate:
    """The update ``rule`` makes from ``body``; raises ``MappingError`` naming the field."""
    record: dict[str, Any] = {}
    appended: dict[str, bool] = {}
    omitted: list[str] = []
    for spec in rule.fields:
        with _located(rule.name, spec.api_name):
            value = _field_value(rule.name, spec, body, headers)
        if value is MISSING:
            omitted.append(spec.api_name)
            continue
        record[spec.api_name] = value
        if spec.append:
            appended[spec.api_name] = True
    if appended:
        record["$append_values"] = appended
    if rule.layout_id:
        record["Layout"] = {"id": rule.layout_id}
    request: dict[str, Any] = {"data": [record]}
    if rule.trigger is not None:
        request["trigger"] = list(rule.trigger)
    if rule.skip_cadences:
        request["skip_feature_execution"] = [{"name": "cadences"}]
    with _located(rule.name, f"record.{rule.record.kind}"):
        record_key = _record_key(rule, body, headers)
    return PlannedUpdate(
        rule=rule.name,
        module=rule.module,
        record=record_key,
        body=request,
        external_field=rule.record.field if rule.record.kind == "external" else None,
        search_field=rule.record.field if rule.record.kind == "search" else None,
        omitted=tuple(omitted),
    )


@contextmanager
def _located(rule: str, field: str) -> Iterator[None]:
    """Name the rule and field of an error the mapping language does not foresee.

    A JMESPath function given the wrong type, or a payload nested deeper than
    the interpreter's stack, fails while one field is mapped: the error says
    which, by its type only (its message may quote a value).
    """
    try:
        yield
    except MappingError:
        raise
    except ExpressionEvaluationError as exc:
        # A mapping problem, not ours: the expression does not fit this payload.
        raise MappingError(
            f"rule {rule!r}: field {field}: {exc}", rule=rule, field=field, path=exc.expression,
        ) from exc
    except Exception as exc:  # noqa: BLE001 - re-raised with where it happened
        raise UnexpectedMappingError(type(exc).__name__, rule=rule, field=field) from exc


def _record_key(rule: Rule, body: Any, headers: Mapping[str, str] | None) -> str:
    locator = rule.record
    value = locator.value.evaluate(body, headers)
    where = f"record.{locator.kind}"
    if value is None or isinstance(value, (bool, dict, list, float)):
        raise MappingError(
            f"rule {rule.name!r}: {where} ({locator.value.text}) gives no usable record key",
            rule=rule.name, field=where, path=locator.value.text, value_type=type_name(value),
        )
    key = str(value).strip()
    if locator.kind == "search":
        # Searched for in a query, never put in the URL's path.
        if not key:
            raise MappingError(
                f"rule {rule.name!r}: {where} ({locator.value.text}) gives an empty value to "
                "search for", rule=rule.name, field=where, path=locator.value.text,
                value_type=type_name(value))
        return key
    problem = record_key_problem(key)
    if problem is not None:
        raise MappingError(
            f"rule {rule.name!r}: {where} ({locator.value.text}) {problem}: "
            "a record key must address exactly one record",
            rule=rule.name, field=where, path=locator.value.text, value_type=type_name(value),
        )
    if locator.kind == "id" and (len(key) > 19 or not set(key) <= _ID_DIGITS):
        raise MappingError(
            f"rule {rule.name!r}: {where} ({locator.value.text}) is not a Zoho record id",
            rule=rule.name, field=where, path=locator.value.text, value_type=type_name(value),
        )
    return key


def record_key_problem(key: str) -> str | None:
    """Why ``key``, as the last segment of a URL path, could address more than one record.

    The key stands in the path ``/crm/v8/{module}/{key}``. HTTP clients resolve
    ``.`` and ``..`` segments (``..`` would reach ``/crm/v8/``, ``.`` the bulk
    ``PUT /crm/v8/{module}``), an empty key is the bulk endpoint itself, and
    some servers read ``\\`` as ``/`` or cut at a control character. None when
    the key is safe; the answer names the rule broken, never the key.
    """
    if not key.strip():
        return "is empty"
    if key in (".", ".."):
        return "must not be '.' or '..'"
    if "/" in key or "\\" in key:
        return "must not contain '/' or '\\'"
    if any(unicodedata.category(char) == "Cc" for char in key):
        return "must not contain a control character"
    return None


def _field_value(
    rule: str, spec: FieldSpec, body: Any, headers: Mapping[str, str] | None
) -> Any:
    """The converted value for one field, ``None`` to clear it, or ``MISSING`` to omit it."""
    value = _raw_value(spec, body, headers)
    options = spec.options
    if value is not None and spec.default is not MISSING and options.map is not None:
        if options.type != "multiselect" and not is_mapped(value, options.map):
            value = None  # an unmapped value falls back to the default
    if value is None or value == "" and options.type not in ("string", "textarea"):
        if spec.default is not MISSING:
            value = spec.default
        elif spec.required:
            raise MappingError(
                f"rule {rule!r}: field {spec.api_name} is required but {spec.source_text} "
                "gives no value",
                rule=rule, field=spec.api_name, path=spec.source_text, value_type="null",
            )
        elif spec.null == "clear":
            return None
        else:
            return MISSING
    try:
        return convert(value, options)
    except ConversionError as exc:
        raise MappingError(
            f"rule {rule!r}: field {spec.api_name} ({spec.source_text}) as {options.type}: {exc}",
            rule=rule, field=spec.api_name, path=spec.source_text, value_type=type_name(value),
        ) from exc


def _raw_value(spec: FieldSpec, body: Any, headers: Mapping[str, str] | None) -> Any:
    if spec.expression is not None:
        return spec.expression.evaluate(body, headers)
    if spec.template is not None:
        text = spec.template
        found = False
        for slot, expression in spec.template_slots:
            part = expression.evaluate(body, headers)
            found = found or part is not None
            if isinstance(part, (dict, list)):
                part = None
            text = text.replace("{" + slot + "}", "" if part is None else str(part))
        return text if found else None
    return None if spec.constant is MISSING else spec.constant
