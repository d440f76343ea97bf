"""``zwa mapping preview SOURCE PAYLOAD_FILE``: what a payload would do, sending nothing (I/O).

SOURCE is a mapping file, or the name of a stored source (its current version,
or ``--version N``). The payload is read as the api reads a body (its
``Content-Type`` from ``--header``, JSON when none is given). Zoho's field
metadata comes through the mapping's connection, as for ``mapping validate``,
unless ``--offline``. The work is ``chalicelib.mapping.preview``; this module
finds the inputs and renders the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.errors import DeliveryError, UnavailableError
from chalicelib.mapping.document import MappingDocument, parse_mapping
from chalicelib.mapping.preview import Preview, preview_payload
from chalicelib.stores.mappings import DynamoMappingStore, read_mapping
from zwa.mapping_check import connection_of, fields_and_domain, metadata_unavailable
from zwa.stage import Stage


def header_of(text: str) -> tuple[str, str] | None:
    """``Name: Value`` as the name and the value, stripped; None without a colon or a name."""
    name, colon, value = text.partition(":")
    return (name.strip(), value.strip()) if colon and name.strip() else None


def parse_headers(given: Sequence[str]) -> dict[str, str]:
    """``--header K:V`` options as a dict; ``ValueError`` for one without a colon."""
    headers: dict[str, str] = {}
    for text in given:
        header = header_of(text)
        if header is None:
            raise ValueError(f"--header takes Name:Value, not {text!r}")
        headers[header[0]] = header[1]
    return headers


def load_mapping(stage: Stage, source: str, version: int | None) -> MappingDocument:
    """The mapping in the file ``source``, or the stored mapping of the source ``source``."""
    path = Path(source)
    if path.is_file():
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
        return parse_mapping(raw, version=version)
    store = DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table)
    document = read_mapping(store, source, version)
    if document is None:
        where = f" at version {version}" if version else ""
        raise ValueError(f"no mapping file {source} and no stored mapping for {source}{where}")
    return document


def run_preview(stage: Stage, source: str, payload_file: Path, header_options: Sequence[str],
                *, version: int | None, offline: bool) -> Preview:
    """Preview ``payload_file`` through ``source``'s mapping on ``stage``."""
    document = load_mapping(stage, source, version)
    payload = payload_file.read_bytes()
    headers = parse_headers(header_options)
    if offline:
        return preview_payload(document, payload, headers, None)
    connection = connection_of({"connection": document.connection})
    try:
        fields, api_domain = fields_and_domain(stage, connection)
        return preview_payload(document, payload, headers, fields, api_domain=api_domain)
    except (DeliveryError, UnavailableError) as exc:
        raise metadata_unavailable(stage, connection, exc) from exc


def render(preview: Preview) -> list[str]:
    """The preview for a person: each rule's requests (bodies as JSON) or its errors."""
    where = "file" if preview.version is None else f"version {preview.version}"
    if preview.items:
        lines = [f"source {preview.source} ({where}): {len(preview.items)} deliveries (each)"]
        for item in preview.items:
            lines += [f"delivery id {item.delivery_id or '-'}", *_delivery_lines(item)]
    else:
        lines = [f"source {preview.source} ({where}), delivery id {preview.delivery_id or '-'}",
                 *_delivery_lines(preview)]
    checked = ("checked against Zoho's field metadata" if preview.checked_fields
               else "not checked against Zoho's field metadata (--offline)")
    verdict = "ok" if preview.ok else "would not be applied as it is"
    lines.append(f"{verdict}; {checked}; nothing was sent or written")
    return lines


def _delivery_lines(preview: Preview) -> list[str]:
    lines = [f"error: {_error_text(error)}" for error in preview.errors]
    if not preview.rules and not preview.errors:
        lines.append("no rule matches this payload: it would be ignored")
    for rule in preview.rules:
        lines.append(f"rule {rule.rule}: {rule.module}, record by {rule.locator}")
        for request in rule.requests:
            lines.append(f"  {request.method} {request.url}")
            lines += [f"  {name}: {value}" for name, value in request.headers.items()]
            if request.body is not None:
                lines += ["  " + line for line in json.dumps(
                    request.body, indent=2, ensure_ascii=False).splitlines()]
        if rule.omitted:
            lines.append(f"  left out for want of a value: {', '.join(rule.omitted)}")
        lines += [f"  error: {_error_text(error)}" for error in rule.errors]
    return lines


def _error_text(error: Any) -> str:
    parts = [error.message]
    details = [f"{key} {value}" for key, value in (
        ("field", error.field), ("path", error.path), ("value type", error.value_type)) if value]
    if details:
        parts.append(f"[{', '.join(details)}]")
    return " ".join(parts)
