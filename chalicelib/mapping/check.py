"""Checking a mapping before it is saved: its shape, then Zoho's fields (I/O only via a source).

``check_mapping`` is what ``zwa mapping validate`` and ``zwa mapping put`` run:
every problem of the document in one pass, the shape's (``document``) and the
field metadata's (``validation``) together. Without a metadata source (offline)
only the shape is checked, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import MappingDocumentError
from chalicelib.mapping.document import MappingDocument, parse_mapping
from chalicelib.mapping.validation import check_against_fields, modules_named
from chalicelib.zoho.fields import CachedFieldMetadata, FieldMetadataSource, fields_of


@dataclass
class MappingCheck:
    """The outcome: the compiled document when there is no problem, notes either way."""

    document: MappingDocument | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)  # checked against Zoho's metadata
    offline: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> MappingDocument:
        """The document, or ``MappingDocumentError`` listing every problem."""
        if self.problems or self.document is None:
            raise MappingDocumentError(self.problems)
        return self.document


def check_mapping(raw: Any, fields: FieldMetadataSource | None) -> MappingCheck:
    """Check ``raw`` (the document as stored); ``fields`` None checks the shape alone."""
    document: MappingDocument | None = None
    problems: list[str] = []
    try:
        document = parse_mapping(raw)
    except MappingDocumentError as exc:
        problems = list(exc.problems)
    if fields is None:
        return MappingCheck(document, problems, offline=True)
    modules = modules_named(raw)
    report = check_against_fields(raw, fields_of(fields, modules))
    if report.problems and isinstance(fields, CachedFieldMetadata) and fields.served_from_cache:
        # Zoho may have changed since the metadata was cached: judge by what it says now.
        report = check_against_fields(raw, fields_of(fields, modules, fresh=True))
    problems += report.problems
    return MappingCheck(document if not problems else None, problems, report.notes, modules)
