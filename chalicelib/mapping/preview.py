"""What a payload would do, shown before it happens: ``zwa mapping preview`` (pure but the source).

``preview_payload`` takes a mapping (as stored, or compiled), the payload's raw
bytes and headers (parsed as the api parses them) and a field-metadata source;
for each matching rule it returns the exact requests the worker would send
(method, URL with the record id or External ID value, headers with the token
masked, the JSON body; a ``search`` locator as the search it would make first)
or the errors, each naming the rule, the field and the path. It sends nothing
and writes nothing: the only I/O is the metadata source's, when one is given.
Values Zoho would refuse for their form (an unknown field, a read-only one, a
picklist value it does not allow, text too long, a wrong type) are errors too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.errors import MalformedPayloadError, MappingError, UnexpectedMappingError
from chalicelib.ingest.body import check_body_size, check_media_type, parse_body
from chalicelib.mapping.document import MappingDocument, Rule, parse_mapping
from chalicelib.mapping.engine import (
    PlannedUpdate,
    batch_items,
    delivery_id_of,
    matching_rules,
    plan_update,
)
from chalicelib.mapping.expressions import ExpressionEvaluationError
from chalicelib.mapping.transforms import type_name
from chalicelib.mapping.validation import ModuleFields, planned_value_problem
from chalicelib.values import frozen
from chalicelib.zoho.fields import FieldMetadataSource, fields_of
from chalicelib.zoho.search import search_criteria

MASKED_AUTHORIZATION = "Zoho-oauthtoken ****"
UNKNOWN_API_DOMAIN = "{api_domain}"
_BODY_KEYS_NOT_FIELDS = frozenset({"$append_values", "Layout"})


@frozen
class PreviewRequest:
    """One HTTP request the worker would make."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any = None


@frozen
class PreviewError:
    """Why a rule would not be applied: the rule, the field, the path, the value's type."""

    message: str
    rule: str | None = None
    field: str | None = None
    path: str | None = None
    value_type: str | None = None


@frozen
class RulePreview:
    """One matching rule: its requests, or its errors (or both, when Zoho would refuse)."""

    rule: str
    module: str
    locator: str
    requests: tuple[PreviewRequest, ...] = ()
    errors: tuple[PreviewError, ...] = ()
    omitted: tuple[str, ...] = ()  # fields left out for want of a value


@frozen
class Preview:
    """What a payload would do with a mapping."""

    source: str
    version: int | None
    delivery_id: str | None
    rules: tuple[RulePreview, ...] = ()
    errors: tuple[PreviewError, ...] = ()  # before any rule: the delivery id, a when
    checked_fields: bool = False  # whether Zoho's field metadata was consulted
    # With ``each``: one preview per delivery in the body (``rules`` and ``errors``
    # then hold all of theirs, in order).
    items: tuple[Preview, ...] = ()

    @property
    def ok(self) -> bool:
        """No error anywhere: every matching rule would be sent as shown."""
        return not self.errors and all(not rule.errors for rule in self.rules)

    @property
    def updates(self) -> list[PreviewRequest]:
        """The PUTs, in rule order."""
        return [r for rule in self.rules for r in rule.requests if r.method == "PUT"]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def preview_payload(
    mapping: Mapping[str, Any] | MappingDocument,
    payload: bytes,
    headers: Mapping[str, str] | None = None,
    fields: FieldMetadataSource | None = None,
    *,
    api_domain: str = UNKNOWN_API_DOMAIN,
) -> Preview:
    """Preview ``payload`` (raw bytes, parsed by its ``Content-Type``) through ``mapping``.

    ``mapping`` is a stored document (checked as a save would, shape only) or a
    compiled one; ``fields`` None previews without Zoho's field metadata.
    Raises ``MappingDocumentError`` for a document that does not compile and an
    ``IngestError`` for a body the api would refuse.
    """
    document = mapping if isinstance(mapping, MappingDocument) else parse_mapping(
        dict(mapping), version=_version(mapping))
    lower = {name.lower(): value for name, value in (headers or {}).items()}
    check_body_size(payload, document.max_body_bytes)
    check_media_type(lower.get("content-type"))
    body = parse_body(payload, lower.get("content-type"))
    metadata = None
    if fields is not None:
        metadata = fields_of(fields, [rule.module for rule in document.rules])
    if document.each is None:
        return preview_delivery(document, body, lower, metadata, api_domain=api_domain,
                                raw=payload)
    items = tuple(preview_delivery(document, item, lower, metadata, api_domain=api_domain,
                                   raw=payload)
                  for item in batch_items(document, body, lower))
    return Preview(document.source, document.version, None,
                   tuple(rule for item in items for rule in item.rules),
                   tuple(error for item in items for error in item.errors),
                   checked_fields=metadata is not None, items=items)


def preview_delivery(
    document: MappingDocument,
    body: Any,
    headers: Mapping[str, str],
    metadata: Mapping[str, ModuleFields | None] | None,
    *,
    api_domain: str = UNKNOWN_API_DOMAIN,
    raw: bytes = b"",
) -> Preview:
    """Preview a parsed body (headers by lower-cased name) with the modules' metadata."""
    errors: list[PreviewError] = []
    delivery_id = _delivery_id(document, body, headers, raw, errors)
    try:
        rules = matching_rules(document, body, headers)
    except ExpressionEvaluationError as exc:
        rule = next((r.name for r in document.rules if r.when and r.when.text == exc.expression),
                    None)
        errors.append(PreviewError(str(exc), rule=rule, path=exc.expression))
        rules = []
    previews = tuple(_rule_preview(rule, body, headers, metadata, api_domain) for rule in rules)
    return Preview(document.source, document.version, delivery_id, previews, tuple(errors),
                   checked_fields=metadata is not None)


def _version(mapping: Mapping[str, Any]) -> int | None:
    version = mapping.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _delivery_id(document: MappingDocument, body: Any, headers: Mapping[str, str],
                 raw: bytes, errors: list[PreviewError]) -> str | None:
    try:
        return delivery_id_of(document, body, headers, raw)
    except MalformedPayloadError as exc:
        path = document.delivery_id.text if document.delivery_id is not None else None
        errors.append(PreviewError(f"{exc.message}; the api would answer 400", path=path))
        return None


def _rule_preview(rule: Rule, body: Any, headers: Mapping[str, str],
                  metadata: Mapping[str, ModuleFields | None] | None,
                  api_domain: str) -> RulePreview:
    try:
        plan = plan_update(rule, body, headers)
    except MappingError as exc:
        return RulePreview(rule.name, rule.module, rule.record.kind, errors=(PreviewError(
            exc.message, rule=rule.name, field=exc.field or None, path=exc.path or None,
            value_type=exc.value_type or None),))
    except UnexpectedMappingError as exc:
        return RulePreview(rule.name, rule.module, rule.record.kind, errors=(PreviewError(
            str(exc), rule=rule.name, field=exc.field),))
    errors = _metadata_errors(rule, plan, metadata) if metadata is not None else []
    return RulePreview(rule.name, rule.module, rule.record.kind,
                       requests=_requests(plan, api_domain), errors=tuple(errors),
                       omitted=plan.omitted)


def _requests(plan: PlannedUpdate, api_domain: str) -> tuple[PreviewRequest, ...]:
    base = f"{api_domain}/crm/v8/{quote(plan.module, safe='')}"
    auth = {"Authorization": MASKED_AUTHORIZATION}
    put_headers = {**auth, "Content-Type": "application/json"}
    if plan.search_field is not None:
        query = urlencode({"criteria": search_criteria(plan.search_field, plan.record)})
        search = PreviewRequest("GET", f"{base}/search?{query}", dict(auth))
        target = f"{{id of the one record whose {plan.search_field} is this value}}"
        return search, PreviewRequest("PUT", f"{base}/{target}", put_headers, plan.body)
    if plan.external_header:
        put_headers["X-EXTERNAL"] = plan.external_header
    return (PreviewRequest("PUT", f"{base}/{quote(plan.record, safe='')}", put_headers,
                           plan.body),)


def _metadata_errors(rule: Rule, plan: PlannedUpdate,
                     metadata: Mapping[str, ModuleFields | None]) -> list[PreviewError]:
    fields = metadata.get(rule.module)
    if fields is None:
        return [PreviewError(f"Zoho has no module {rule.module!r}", rule=rule.name)]
    by_name = {str(meta.get("api_name")): meta for meta in fields}
    specs = {spec.api_name: spec for spec in rule.fields}
    errors = []
    locator_field = plan.search_field or plan.external_field
    if locator_field is not None and locator_field not in by_name:
        errors.append(PreviewError(f"{rule.module} has no field {locator_field!r} to find the "
                                   "record by", rule=rule.name, field=locator_field,
                                   path=rule.record.value.text))
    for api_name, value in plan.body["data"][0].items():
        if api_name in _BODY_KEYS_NOT_FIELDS:
            continue
        spec = specs.get(api_name)
        path = spec.source_text if spec is not None else None
        meta = by_name.get(api_name)
        problem = (f"{rule.module} has no field {api_name!r}" if meta is None
                   else planned_value_problem(meta, value))
        if problem is not None:
            if meta is not None:
                problem = f"{rule.module}.{api_name} {problem}"
            errors.append(PreviewError(problem, rule=rule.name, field=api_name, path=path,
                                       value_type=type_name(value)))
    return errors
