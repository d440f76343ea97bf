"""The payload archive: each accepted delivery's parsed body and forwarded headers (I/O).

Table ``zwa-archive`` (setting ``archive_table``): partition key ``source``
(S), sort key ``delivery_id`` (S), TTL attribute ``expires_at``. Kept apart from
the ledger, which never holds a payload value, so that the ledger can be read
by anyone who operates the pipeline while payloads stay in one table with its
own retention (the source's ``archive.days``). DynamoDB encrypts every table at
rest; ``infra/resources.json`` names the key (``SSESpecification``). The body
and headers are stored as one JSON string, so that any JSON (floats, nesting)
round-trips unchanged. An item past ``expires_at`` is read as absent: DynamoDB
deletes expired items lazily, and an expired archive is never replayed.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.stores.aws import aws_call
from chalicelib.stores.ledger import deserialize_item, serialize_item
from chalicelib.values import frozen

# DynamoDB items hold at most 400 KB; a payload larger than this is not archived
# (the source's max_body_bytes, 256 KiB by default, keeps payloads below it).
MAX_ARCHIVED_BYTES = 350_000


@frozen
class ArchivedDelivery:
    """One archived delivery: what the worker needs to run it again."""

    source: str
    delivery_id: str
    received_at: float
    expires_at: float
    headers: Mapping[str, str]
    body: Any

    def to_item(self) -> dict[str, Any]:
        """The table's item: the payload as one JSON string."""
        return {"source": self.source, "delivery_id": self.delivery_id,
                "received_at": self.received_at, "expires_at": int(self.expires_at),
                "payload": payload_text(self.headers, self.body)}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ArchivedDelivery:
        payload = json.loads(str(item["payload"]))
        return cls(source=str(item["source"]), delivery_id=str(item["delivery_id"]),
                   received_at=float(item["received_at"]), expires_at=float(item["expires_at"]),
                   headers=dict(payload.get("headers") or {}), body=payload.get("body"))


def payload_text(headers: Mapping[str, str], body: Any) -> str:
    """The archived JSON text of a delivery's headers and body."""
    return json.dumps({"headers": dict(headers), "body": body}, separators=(",", ":"),
                      sort_keys=True)


def fits_archive(delivery: ArchivedDelivery) -> bool:
    """Whether the delivery's payload is small enough for one archive item."""
    return len(payload_text(delivery.headers, delivery.body).encode("utf-8")) <= MAX_ARCHIVED_BYTES


class DeliveryArchive(Protocol):
    """Keep, read and list archived deliveries."""

    def put(self, delivery: ArchivedDelivery) -> None: ...

    def get(self, source: str, delivery_id: str, now: float) -> ArchivedDelivery | None: ...

    def between(self, source: str, since: float | None, until: float | None,
                now: float) -> list[ArchivedDelivery]: ...


class DynamoArchive:
    """``DeliveryArchive`` over a boto3 DynamoDB client and the archive table's name."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, delivery: ArchivedDelivery) -> None:
        with aws_call("archiving the delivery"):
            self._client.put_item(TableName=self._table, Item=serialize_item(delivery.to_item()))

    def get(self, source: str, delivery_id: str, now: float) -> ArchivedDelivery | None:
        with aws_call("reading the archive"):
            item = self._client.get_item(
                TableName=self._table,
                Key=serialize_item({"source": source, "delivery_id": delivery_id}),
            ).get("Item")
        return _live(deserialize_item(item), now) if item else None

    def between(self, source: str, since: float | None, until: float | None,
                now: float) -> list[ArchivedDelivery]:
        """The source's live archived deliveries received in [since, until], oldest first."""
        with aws_call("listing the archive"):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table, KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "source"},
                ExpressionAttributeValues=serialize_item({":s": source}))
            items = [deserialize_item(item) for page in pages for item in page.get("Items", [])]
        return _window(items, since, until, now)


class InMemoryArchive:
    """``DeliveryArchive`` in a dict, for tests."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put(self, delivery: ArchivedDelivery) -> None:
        with self._lock:
            self.items[(delivery.source, delivery.delivery_id)] = delivery.to_item()

    def get(self, source: str, delivery_id: str, now: float) -> ArchivedDelivery | None:
        with self._lock:
            item = copy.deepcopy(self.items.get((source, delivery_id)))
        return _live(item, now) if item else None

    def between(self, source: str, since: float | None, until: float | None,
                now: float) -> list[ArchivedDelivery]:
        with self._lock:
            items = [copy.deepcopy(item) for key, item in self.items.items() if key[0] == source]
        return _window(items, since, until, now)


def _live(item: Mapping[str, Any], now: float) -> ArchivedDelivery | None:
    delivery = ArchivedDelivery.from_item(item)
    return delivery if delivery.expires_at > now else None


def _window(items: list[dict[str, Any]], since: float | None, until: float | None,
            now: float) -> list[ArchivedDelivery]:
    found = [delivery for delivery in (_live(item, now) for item in items)
             if delivery is not None
             and (since is None or delivery.received_at >= since)
             and (until is None or delivery.received_at <= until)]
    return sorted(found, key=lambda delivery: (delivery.received_at, delivery.delivery_id))
