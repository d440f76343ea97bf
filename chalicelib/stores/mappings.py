"""Mapping documents in DynamoDB, versioned, with a short per-container cache (I/O).

Table layout: partition key ``source`` (S), sort key ``version`` (N). Every save
writes a new item ``version = n + 1`` holding the document, and moves the head
item (``version = 0``) to it, in one transaction, so the current document is one
``GetItem`` away and every earlier version stays and can be restored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.errors import MappingDocumentError, UnavailableError
from chalicelib.mapping.document import MappingDocument, parse_mapping
from chalicelib.stores.aws import aws_call, error_code
from chalicelib.values import frozen

HEAD = 0


@frozen
class StoredMapping:
    """One version of a source's mapping document, as stored."""

    source: str
    version: int
    document: dict[str, Any]
    saved_at: float
    enabled: bool = True


class VersionConflictError(UnavailableError):
    """Another save of the same source won the race; saving again is safe."""


class MappingStore(Protocol):
    """Save and read mapping documents by source."""

    def current(self, source: str) -> StoredMapping | None: ...

    def save(self, document: dict[str, Any], *, now: float) -> StoredMapping: ...

    def version(self, source: str, version: int) -> StoredMapping | None: ...

    def history(self, source: str) -> list[StoredMapping]: ...

    def sources(self) -> list[StoredMapping]: ...


class DynamoMappingStore:
    """``MappingStore`` over a boto3 DynamoDB client and a table name."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def current(self, source: str) -> StoredMapping | None:
        with aws_call("reading the mapping"):
            item = self._client.get_item(
                TableName=self._table,
                Key={"source": {"S": source}, "version": {"N": str(HEAD)}},
                ConsistentRead=True,
            ).get("Item")
        return _from_item(item, version_key="current") if item else None

    def version(self, source: str, version: int) -> StoredMapping | None:
        with aws_call("reading the mapping version"):
            item = self._client.get_item(
                TableName=self._table,
                Key={"source": {"S": source}, "version": {"N": str(version)}},
            ).get("Item")
        return _from_item(item, version_key="version") if item else None

    def history(self, source: str) -> list[StoredMapping]:
        with aws_call("listing the mapping versions"):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="#s = :s AND #v > :head",
                ExpressionAttributeNames={"#s": "source", "#v": "version"},
                ExpressionAttributeValues={":s": {"S": source}, ":head": {"N": str(HEAD)}},
            )
            items = [item for page in pages for item in page.get("Items", [])]
        return [_from_item(item, version_key="version") for item in items]

    def sources(self) -> list[StoredMapping]:
        with aws_call("listing the mappings"):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._table,
                FilterExpression="#v = :head",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":head": {"N": str(HEAD)}},
            )
            items = [item for page in pages for item in page.get("Items", [])]
        return sorted((_from_item(i, version_key="current") for i in items), key=lambda m: m.source)

    def save(self, document: dict[str, Any], *, now: float) -> StoredMapping:
        parsed = parse_mapping(document)
        head = self.current(parsed.source)
        version = (head.version if head else 0) + 1
        body = json.dumps(document, sort_keys=True, separators=(",", ":"))
        common = {
            "source": {"S": parsed.source},
            "document": {"S": body},
            "saved_at": {"N": repr(now)},
            "enabled": {"BOOL": parsed.enabled},
        }
        # The head moves only from the version read above: two racing saves cannot
        # both win, and the loser is told to save again.
        head_put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**common, "version": {"N": str(HEAD)}, "current": {"N": str(version)}},
            "ConditionExpression": "attribute_not_exists(#s)",
            "ExpressionAttributeNames": {"#s": "source"},
        }
        if head:
            head_put["ConditionExpression"] = "#c = :previous"
            head_put["ExpressionAttributeNames"] = {"#c": "current"}
            head_put["ExpressionAttributeValues"] = {":previous": {"N": str(head.version)}}
        with aws_call("saving the mapping"):
            try:
                self._client.transact_write_items(TransactItems=[
                    {"Put": {
                        "TableName": self._table,
                        "Item": {**common, "version": {"N": str(version)}},
                        "ConditionExpression": "attribute_not_exists(#s)",
                        "ExpressionAttributeNames": {"#s": "source"},
                    }},
                    {"Put": head_put},
                ])
            except ClientError as exc:
                if error_code(exc) == "TransactionCanceledException":
                    raise VersionConflictError(
                        f"another save of {parsed.source} happened at the same time; save again"
                    ) from exc
                raise
        return StoredMapping(parsed.source, version, document, now, parsed.enabled)


class InMemoryMappingStore:
    """``MappingStore`` in a dict, for unit and functional tests."""

    def __init__(self) -> None:
        self._versions: dict[str, list[StoredMapping]] = {}

    def current(self, source: str) -> StoredMapping | None:
        versions = self._versions.get(source)
        return versions[-1] if versions else None

    def version(self, source: str, version: int) -> StoredMapping | None:
        for stored in self._versions.get(source, []):
            if stored.version == version:
                return stored
        return None

    def history(self, source: str) -> list[StoredMapping]:
        return list(self._versions.get(source, []))

    def sources(self) -> list[StoredMapping]:
        return [versions[-1] for _, versions in sorted(self._versions.items())]

    def save(self, document: dict[str, Any], *, now: float) -> StoredMapping:
        parsed = parse_mapping(document)
        versions = self._versions.setdefault(parsed.source, [])
        stored = StoredMapping(parsed.source, len(versions) + 1, document, now, parsed.enabled)
        versions.append(stored)
        return stored


def read_mapping(
    store: MappingStore, source: str, version: int | None = None
) -> MappingDocument | None:
    """The source's mapping at ``version`` (the current one when None), parsed; None if absent.

    ``MappingDocumentError`` when the stored document is not a valid mapping.
    """
    stored = store.version(source, version) if version else store.current(source)
    return parse_mapping(stored.document, version=stored.version) if stored else None


class MappingCache:
    """The compiled current mapping per source, kept ``ttl`` seconds in the container.

    A mapping saved with ``zwa mapping put`` reaches every warm container within
    ``ttl`` seconds, with no restart; a bad stored document is reported, not cached.
    """

    def __init__(
        self, store: MappingStore, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, MappingDocument | None]] = {}

    def get(self, source: str) -> MappingDocument | None:
        """The enabled or disabled compiled mapping for ``source``, or None if there is none."""
        now = self._clock()
        cached = self._entries.get(source)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        stored = self._store.current(source)
        compiled = None
        if stored is not None:
            try:
                compiled = parse_mapping(stored.document, version=stored.version)
            except MappingDocumentError as exc:
                raise UnavailableError(
                    f"the stored mapping for {source} (version {stored.version}) is invalid"
                ) from exc
        self._entries[source] = (now, compiled)
        return compiled


def _from_item(item: dict[str, Any], *, version_key: str) -> StoredMapping:
    return StoredMapping(
        source=item["source"]["S"],
        version=int(item[version_key]["N"]),
        document=json.loads(item["document"]["S"]),
        saved_at=float(item.get("saved_at", {}).get("N", "0")),
        enabled=bool(item.get("enabled", {}).get("BOOL", True)),
    )
