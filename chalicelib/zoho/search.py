"""Zoho's search as the ``search`` locator uses it: the criteria, the exact re-check (pure).

``GET /crm/v8/{module}/search?criteria=(Field:equals:value)`` finds the records
to update. Zoho's ``equals`` is not exact for every field type: on text it
matches like *contains* (``ABC`` finds ``ABC Inc.``) and special characters may
match loosely (zoho-api-facts section 7), so every answer is checked again here:
a record matches only when its field holds the whole value, ignoring case and
surrounding spaces (as Zoho compares unique values). Inside a criteria value
``(``, ``)``, ``,`` and ``\\`` are escaped with ``\\``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.errors import Failure

_ESCAPED = ("\\", "(", ")", ",")


def search_criteria(field: str, value: str) -> str:
    """``(field:equals:value)`` with the value escaped as Zoho requires (not yet URL-encoded)."""
    escaped = value
    for char in _ESCAPED:  # the backslash first, so that the added ones stay single
        escaped = escaped.replace(char, "\\" + char)
    return f"({field}:equals:{escaped})"


def exact_matches(records: Iterable[Mapping[str, Any]], field: str, value: str) -> list[str]:
    """The ids of the records whose ``field`` holds exactly ``value``, in Zoho's order."""
    found: list[str] = []
    for record in records:
        record_id = record.get("id")
        if record_id is None or not holds_exactly(record.get(field), value):
            continue
        if str(record_id) not in found:
            found.append(str(record_id))
    return found


def holds_exactly(stored: Any, wanted: str) -> bool:
    """Whether a record's field value is the searched value itself, not just close to it."""
    if stored is None or isinstance(stored, list):
        return False
    if isinstance(stored, dict):  # a lookup or owner: compared by id
        return str(stored.get("id", "")) == wanted.strip()
    if isinstance(stored, bool):
        return ("true" if stored else "false") == wanted.strip().lower()
    if isinstance(stored, (int, float)):
        try:
            number = float(wanted)
        except ValueError:
            return False
        return math.isfinite(number) and float(stored) == number
    return str(stored).strip().casefold() == wanted.strip().casefold()


def record_is_gone(failure: Failure) -> bool:
    """Whether Zoho refused an update because the record id in the URL names no record.

    Zoho answers a PUT to a deleted (or never existing) id with ``INVALID_DATA``
    whose details point at the URL's id segment (``resource_path_index``), not at
    a field of the body.
    """
    return (
        failure.code == "INVALID_DATA"
        and "resource_path_index" in failure.details
        and failure.api_name is None
    )
