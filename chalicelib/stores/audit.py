"""The field-level audit: which update set which fields on which Zoho record (I/O).

Table ``zwa-audit`` (setting ``audit_table``): partition key ``record`` (S),
``{connection}#{module}#{Zoho record id}``, the id Zoho answered with (the
record may have been found by id, External ID or search); sort key ``at_key``
(S), the time zero-padded then the delivery and rule, so that one record's
history is one Query, newest first. TTL ``expires_at``: kept as long as the
ledger (the store sets it from the entry's time and ``ttl_days``). An entry
holds field API names, ids, the outcome and times: never a value. An
``applied`` entry is written in the transaction that records the rule's
outcome (``stores.records``); ``unchanged`` and ``stale`` ones too, marked so.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, replace
from typing import Any, Protocol

from chalicelib.stores.aws import aws_call
from chalicelib.stores.ledger import deserialize_item, serialize_item
from chalicelib.values import frozen

DAY = 86400


@frozen
class AuditEntry:
    """One rule's outcome on one Zoho record: the field names it set (or would have)."""

    connection: str
    module: str
    record_id: str
    at: float
    source: str
    delivery_id: str
    rule: str
    outcome: str  # applied | unchanged | stale
    fields: tuple[str, ...]
    mapping_version: int | None = None
    expires_at: int = 0  # set by the store that writes the entry

    def kept(self, ttl_days: int) -> AuditEntry:
        """The entry as written: it expires ``ttl_days`` after its time."""
        return replace(self, expires_at=int(self.at) + ttl_days * DAY)

    @property
    def record(self) -> str:
        """The partition key: one per Zoho record of a connection."""
        return record_key(self.connection, self.module, self.record_id)

    @property
    def at_key(self) -> str:
        """The sort key: time first (zero-padded, so text order is time order)."""
        return f"{self.at:020.6f}#{self.source}#{self.delivery_id}#{self.rule}"

    def to_item(self) -> dict[str, Any]:
        item = {**asdict(self), "fields": list(self.fields), "record": self.record,
                "at_key": self.at_key}
        if self.mapping_version is None:
            del item["mapping_version"]
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AuditEntry:
        version = item.get("mapping_version")
        return cls(connection=str(item["connection"]), module=str(item["module"]),
                   record_id=str(item["record_id"]), at=float(item["at"]),
                   source=str(item["source"]), delivery_id=str(item["delivery_id"]),
                   rule=str(item["rule"]), outcome=str(item["outcome"]),
                   fields=tuple(str(name) for name in item.get("fields") or ()),
                   mapping_version=int(version) if version is not None else None,
                   expires_at=int(item.get("expires_at") or 0))

    def to_dict(self) -> dict[str, Any]:
        """What ``--json`` prints."""
        return {**asdict(self), "fields": list(self.fields)}


def record_key(connection: str, module: str, record_id: str) -> str:
    return f"{connection}#{module}#{record_id}"


class RecordAudit(Protocol):
    """Add entries and read one record's history."""

    def add(self, entry: AuditEntry) -> None: ...

    def history(self, connection: str, module: str, record_id: str,
                limit: int = 200) -> list[AuditEntry]: ...


class DynamoAudit:
    """``RecordAudit`` over a boto3 DynamoDB client and the audit table's name."""

    def __init__(self, client: Any, table: str, *, ttl_days: int = 14) -> None:
        self._client = client
        self.table = table
        self._ttl_days = ttl_days

    def put_request(self, entry: AuditEntry) -> dict[str, Any]:
        """The entry as the ``Put`` of a ``TransactWriteItems``."""
        return {"TableName": self.table,
                "Item": serialize_item(entry.kept(self._ttl_days).to_item())}

    def add(self, entry: AuditEntry) -> None:
        with aws_call("writing the audit"):
            self._client.put_item(**self.put_request(entry))

    def history(self, connection: str, module: str, record_id: str,
                limit: int = 200) -> list[AuditEntry]:
        """The record's entries, newest first."""
        with aws_call("reading the audit"):
            answer = self._client.query(
                TableName=self.table, KeyConditionExpression="#r = :r",
                ExpressionAttributeNames={"#r": "record"},
                ExpressionAttributeValues=serialize_item(
                    {":r": record_key(connection, module, record_id)}),
                ScanIndexForward=False, Limit=limit)
        return [AuditEntry.from_item(deserialize_item(item)) for item in answer.get("Items", [])]


class InMemoryAudit:
    """``RecordAudit`` in a list, for tests."""

    def __init__(self, *, ttl_days: int = 14) -> None:
        self.entries: list[AuditEntry] = []
        self._ttl_days = ttl_days
        self._lock = threading.Lock()

    def add(self, entry: AuditEntry) -> None:
        with self._lock:
            self.entries.append(entry.kept(self._ttl_days))

    def history(self, connection: str, module: str, record_id: str,
                limit: int = 200) -> list[AuditEntry]:
        key = record_key(connection, module, record_id)
        with self._lock:
            found = [entry for entry in self.entries if entry.record == key]
        return sorted(found, key=lambda entry: entry.at_key, reverse=True)[:limit]
