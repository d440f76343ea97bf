"""The ``search`` locator's id cache, in the per-record state table (I/O).

Table ``zwa-records`` (setting ``records_table``): partition key ``pk`` (S),
TTL attribute ``expires_at``. This module owns the items whose key starts with
``search#``: ``search#{connection}#{module}#{field}#{sha256 of value}`` holds
the Zoho record id that a search for that value found, so a repeated event
costs Zoho one call (the update), not two. The value itself is never stored,
only its SHA-256. An entry is read as absent once past ``expires_at`` (DynamoDB
deletes expired items lazily), and dropped when Zoho says its id is gone.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from chalicelib.stores.aws import aws_call, conditional_write
from chalicelib.values import frozen

KIND = "search"


@frozen
class SearchKey:
    """What a search looked for: the connection, module, field and value."""

    connection: str
    module: str
    field: str
    value: str

    @property
    def pk(self) -> str:
        """The item's key; the value only as its SHA-256."""
        digest = hashlib.sha256(self.value.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{KIND}#{self.connection}#{self.module}#{self.field}#{digest}"


class SearchCache(Protocol):
    """Remember, recall and forget the record id a search found."""

    def get(self, key: SearchKey, now: float) -> str | None: ...

    def put(self, key: SearchKey, record_id: str, *, now: float, expires_at: float) -> None: ...

    def drop(self, key: SearchKey, record_id: str) -> None: ...


class DynamoSearchCache:
    """``SearchCache`` over a boto3 DynamoDB client and the records table's name."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, key: SearchKey, now: float) -> str | None:
        with aws_call("reading the search cache"):
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": key.pk}},
                ProjectionExpression="record_id, expires_at",
            ).get("Item")
        if not item or float(item.get("expires_at", {}).get("N", "0")) <= now:
            return None
        return str(item["record_id"]["S"])

    def put(self, key: SearchKey, record_id: str, *, now: float, expires_at: float) -> None:
        with aws_call("writing the search cache"):
            self._client.put_item(TableName=self._table, Item={
                "pk": {"S": key.pk},
                "record_id": {"S": record_id},
                "cached_at": {"N": repr(now)},
                "expires_at": {"N": str(int(expires_at))},
            })

    def drop(self, key: SearchKey, record_id: str) -> None:
        """Forget the entry if it still names ``record_id`` (another worker may have
        cached a newer id meanwhile, which stays)."""
        with aws_call("dropping a search cache entry"):
            conditional_write(
                self._client.delete_item,
                TableName=self._table, Key={"pk": {"S": key.pk}},
                ConditionExpression="record_id = :id",
                ExpressionAttributeValues={":id": {"S": record_id}},
            )


class InMemorySearchCache:
    """``SearchCache`` in a dict, for unit and functional tests."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, key: SearchKey, now: float) -> str | None:
        item = self.items.get(key.pk)
        if item is None or item["expires_at"] <= now:
            return None
        return str(item["record_id"])

    def put(self, key: SearchKey, record_id: str, *, now: float, expires_at: float) -> None:
        self.items[key.pk] = {"record_id": record_id, "cached_at": now,
                              "expires_at": int(expires_at)}

    def drop(self, key: SearchKey, record_id: str) -> None:
        if self.items.get(key.pk, {}).get("record_id") == record_id:
            del self.items[key.pk]
