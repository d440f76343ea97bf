"""The delivery ledger in DynamoDB: one item per (source, delivery id) (I/O).

Table layout: partition key ``source`` (S), sort key ``delivery_id`` (S), TTL
attribute ``expires_at``. The first write is conditional, which is what makes a
delivery id count once: a second request with the same id finds the item.
A ``received`` item is claimed (``claimed_by``, ``claimed_at``) by the request that
queues it; taking it over is conditional too, so that two racing requests never
both queue it (see ``chalicelib.ingest.claim``).
Items hold ids, statuses, counts, times and Zoho error codes, never payload values.

A rule's outcome after a Zoho call is written in one transaction with the
record's state (``stores.records``): ``rule_outcome_update`` is the ledger's
part of it. ``reopen`` puts a dead-lettered delivery back to ``queued`` for a
redrive, since the worker leaves finished deliveries alone.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import field
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.delivery.message import (
    DEAD,
    DONE_RULE_OUTCOMES,
    FAILED,
    FINAL_STATUSES,
    QUEUED,
    RECEIVED,
)
from chalicelib.stores.aws import aws_call, conditional_write
from chalicelib.values import frozen

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
# A rule that ended so is never sent again for the same delivery.
_DONE_OUTCOMES = tuple(sorted(DONE_RULE_OUTCOMES))
# Statuses a redrive may reopen: a dead letter's, and 'queued'/'received' for a
# message the queue's own redrive moved without the worker recording an end.
REOPENABLE_STATUSES = (FAILED, DEAD, QUEUED, RECEIVED)


@frozen
class RuleOutcomeWrite:
    """One rule's outcome for one delivery, written only if the rule is not done yet.

    ``changes`` are set on the delivery in the same write: its end (status,
    attempts), when this rule is its last, so that one write carries both.
    """

    source: str
    delivery_id: str
    rule: str
    outcome: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)


class Ledger(Protocol):
    """Create, read and update delivery ledger items."""

    def create(self, item: dict[str, Any]) -> bool: ...

    def get(self, source: str, delivery_id: str) -> dict[str, Any] | None: ...

    def update(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> None: ...

    def recent(self, source: str, limit: int = 50) -> list[dict[str, Any]]: ...

    def claim(
        self, source: str, delivery_id: str, token: str, now: float, stale_before: float
    ) -> bool: ...

    def release(self, source: str, delivery_id: str, token: str) -> None: ...

    def mark_queued(self, source: str, delivery_id: str, now: float) -> None: ...

    def reopen(self, source: str, delivery_id: str, now: float) -> bool: ...

    def update_if_status(
        self, source: str, delivery_id: str, status: str, changes: dict[str, Any]
    ) -> bool: ...

    def update_unless_final(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> bool: ...


# The condition of a claim: still 'received', and no live claim on it.
_CLAIMABLE = ("#s = :received AND (attribute_not_exists(#c) OR #c = :free OR "
              "attribute_not_exists(#ca) OR #ca < :stale)")


class DynamoLedger:
    """``Ledger`` over a boto3 DynamoDB client and a table name."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, item: dict[str, Any]) -> bool:
        """Write ``item`` unless its delivery id is known; False when it already was."""
        with aws_call("writing the delivery ledger"):
            return conditional_write(
                self._client.put_item,
                TableName=self._table,
                Item=_serialize(item),
                ConditionExpression="attribute_not_exists(delivery_id)",
            )

    def get(self, source: str, delivery_id: str) -> dict[str, Any] | None:
        with aws_call("reading the delivery ledger"):
            item = self._client.get_item(
                TableName=self._table, Key=_key(source, delivery_id), ConsistentRead=True
            ).get("Item")
        return _deserialize(item) if item else None

    def update(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        names, values, sets = _set_expression(changes, rule_outcomes)
        if not sets:
            return
        with aws_call("updating the delivery ledger"):
            self._client.update_item(
                TableName=self._table,
                Key=_key(source, delivery_id),
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def update_unless_final(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> bool:
        """``update``, unless the delivery has ended or one of the rules is done; False then.

        A retry or a dead letter recorded by a second receive of the same message
        (its visibility timeout ran out) must not undo what the first one finished.
        """
        names, values, sets = _set_expression(changes, rule_outcomes)
        if not sets:
            return True
        names["#status"] = "status"
        finals = sorted(FINAL_STATUSES)
        values.update({f":f{i}": _SERIALIZER.serialize(v) for i, v in enumerate(finals)})
        final_list = ", ".join(f":f{i}" for i in range(len(finals)))
        conditions = [f"(attribute_not_exists(#status) OR NOT (#status IN ({final_list})))",
                      *_rules_not_done(names, values, len(rule_outcomes or {}))]
        with aws_call("updating the delivery ledger"):
            return conditional_write(
                self._client.update_item,
                TableName=self._table, Key=_key(source, delivery_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def recent(self, source: str, limit: int = 50) -> list[dict[str, Any]]:
        """Up to ``limit`` items of ``source``, newest first."""
        with aws_call("listing the delivery ledger"):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "source"},
                ExpressionAttributeValues={":s": {"S": source}},
            )
            items = [_deserialize(item) for page in pages for item in page.get("Items", [])]
        items.sort(key=lambda item: item.get("received_at", 0), reverse=True)
        return items[:limit]

    def claim(
        self, source: str, delivery_id: str, token: str, now: float, stale_before: float
    ) -> bool:
        """Take a 'received' item whose claim is released or older than ``stale_before``."""
        with aws_call("claiming the delivery in the ledger"):
            return conditional_write(
                self._client.update_item,
                TableName=self._table,
                Key=_key(source, delivery_id),
                UpdateExpression="SET #c = :token, #ca = :now",
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeNames={"#s": "status", "#c": "claimed_by",
                                          "#ca": "claimed_at"},
                ExpressionAttributeValues={
                    ":received": {"S": "received"}, ":free": {"S": ""},
                    ":token": {"S": token}, ":now": _SERIALIZER.serialize(_decimals(now)),
                    ":stale": _SERIALIZER.serialize(_decimals(stale_before)),
                },
            )


    def update_if_status(
        self, source: str, delivery_id: str, status: str, changes: dict[str, Any]
    ) -> bool:
        """Apply ``changes`` only while the item's status is ``status``; False otherwise.

        The api marks a delivery ``queued`` after sending it, and a fast worker
        may have finished it in between: its final status must not be undone.
        """
        names, values, sets = _set_expression(changes, None)
        names["#status"] = "status"
        values[":expected"] = _SERIALIZER.serialize(status)
        with aws_call("updating the delivery ledger"):
            return conditional_write(
                self._client.update_item,
                TableName=self._table, Key=_key(source, delivery_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#status = :expected",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def reopen(self, source: str, delivery_id: str, now: float) -> bool:
        """Set a dead-lettered delivery back to ``queued``; False when it ended otherwise."""
        values = {":queued": QUEUED, ":now": now, ":empty": {}, ":one": 1,
                  **{f":s{i}": status for i, status in enumerate(REOPENABLE_STATUSES)}}
        reopenable = ", ".join(f":s{i}" for i in range(len(REOPENABLE_STATUSES)))
        with aws_call("reopening a delivery in the ledger"):
            return conditional_write(
                self._client.update_item,
                TableName=self._table,
                Key=_key(source, delivery_id),
                UpdateExpression="SET #status = :queued,"
                                 " #rules = if_not_exists(#rules, :empty),"
                                 " updated_at = :now, redriven_at = :now"
                                 " REMOVE next_attempt_at ADD redrives :one",
                ConditionExpression=f"attribute_not_exists(delivery_id) OR "
                                    f"#status IN ({reopenable})",
                ExpressionAttributeNames={"#status": "status", "#rules": "rules"},
                ExpressionAttributeValues=_serialize(values),
            )

    def release(self, source: str, delivery_id: str, token: str) -> None:
        """Give up a claim this token holds (nothing happens when it holds none)."""
        with aws_call("releasing the delivery in the ledger"):
            conditional_write(  # a claim no longer this token's is not ours to give back
                self._client.update_item,
                TableName=self._table,
                Key=_key(source, delivery_id),
                UpdateExpression="SET #c = :free",
                ConditionExpression="#c = :token",
                ExpressionAttributeNames={"#c": "claimed_by"},
                ExpressionAttributeValues={":free": {"S": ""}, ":token": {"S": token}},
            )

    def mark_queued(self, source: str, delivery_id: str, now: float) -> None:
        """'received' -> 'queued', unless the worker already moved the item on."""
        self.update_if_status(source, delivery_id, RECEIVED, {"status": QUEUED, "updated_at": now})


def _set_expression(
    changes: dict[str, Any], rule_outcomes: dict[str, dict[str, Any]] | None
) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """Names, values and ``SET`` clauses for changes and rule outcomes."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    for index, (key, value) in enumerate(changes.items()):
        names[f"#k{index}"] = key
        values[f":v{index}"] = _SERIALIZER.serialize(_decimals(value))
        sets.append(f"#k{index} = :v{index}")
    if rule_outcomes:
        names["#rules"] = "rules"
        for index, (rule, outcome) in enumerate(rule_outcomes.items()):
            names[f"#r{index}"] = rule
            values[f":r{index}"] = _SERIALIZER.serialize(_decimals(outcome))
            sets.append(f"#rules.#r{index} = :r{index}")
    return names, values, sets


def _rules_not_done(names: dict[str, str], values: dict[str, Any], count: int) -> list[str]:
    """A condition for each of the first ``count`` rules ``_set_expression`` named: not done."""
    if not count:
        return []
    names["#outcome"] = "outcome"
    values.update({f":d{i}": _SERIALIZER.serialize(v) for i, v in enumerate(_DONE_OUTCOMES)})
    done = ", ".join(f":d{i}" for i in range(len(_DONE_OUTCOMES)))
    return [f"(attribute_not_exists(#rules.#r{index}) OR "
            f"NOT (#rules.#r{index}.#outcome IN ({done})))" for index in range(count)]


def rule_outcome_update(table: str, write: RuleOutcomeWrite) -> dict[str, Any]:
    """The ledger's part of a ``TransactWriteItems``: set one rule's outcome, unless done.

    The condition makes a second worker that handled the same message (its
    visibility timeout ran out) fail the whole transaction instead of writing
    ``unchanged`` over the first one's ``applied``.
    """
    names, values, sets = _set_expression(write.changes, {write.rule: write.outcome})
    [not_done] = _rules_not_done(names, values, 1)
    return {
        "TableName": table,
        "Key": _key(write.source, write.delivery_id),
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": not_done,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def rule_is_done(item: dict[str, Any] | None, rule: str) -> bool:
    """Whether a ledger item records ``rule`` as done (applied, unchanged or stale)."""
    outcome = ((item or {}).get("rules") or {}).get(rule)
    return isinstance(outcome, dict) and outcome.get("outcome") in _DONE_OUTCOMES


class InMemoryLedger:
    """``Ledger`` in a dict, for unit and functional tests."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        # Conditional writes are atomic in DynamoDB; here too, for tests with threads.
        self._lock = threading.Lock()

    def create(self, item: dict[str, Any]) -> bool:
        key = (item["source"], item["delivery_id"])
        with self._lock:
            if key in self.items:
                return False
            self.items[key] = copy.deepcopy(item)
        return True

    def claim(
        self, source: str, delivery_id: str, token: str, now: float, stale_before: float
    ) -> bool:
        with self._lock:
            item = self.items.get((source, delivery_id))
            if item is None or item.get("status") != "received":
                return False
            if item.get("claimed_by") and item.get("claimed_at", 0) >= stale_before:
                return False
            item.update(claimed_by=token, claimed_at=now)
        return True

    def release(self, source: str, delivery_id: str, token: str) -> None:
        with self._lock:
            item = self.items.get((source, delivery_id))
            if item is not None and item.get("claimed_by") == token:
                item["claimed_by"] = ""

    def mark_queued(self, source: str, delivery_id: str, now: float) -> None:
        with self._lock:
            item = self.items.get((source, delivery_id))
            if item is not None and item.get("status") == "received":
                item.update(status="queued", updated_at=now)

    def get(self, source: str, delivery_id: str) -> dict[str, Any] | None:
        item = self.items.get((source, delivery_id))
        return copy.deepcopy(item) if item else None

    def update(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        with self._lock:
            item = self.items.setdefault(
                (source, delivery_id), {"source": source, "delivery_id": delivery_id, "rules": {}}
            )
            item.update(copy.deepcopy(changes))
            for rule, outcome in (rule_outcomes or {}).items():
                item.setdefault("rules", {})[rule] = copy.deepcopy(outcome)

    def recent(self, source: str, limit: int = 50) -> list[dict[str, Any]]:
        items = [copy.deepcopy(v) for (s, _), v in self.items.items() if s == source]
        items.sort(key=lambda item: item.get("received_at", 0), reverse=True)
        return items[:limit]

    def update_if_status(
        self, source: str, delivery_id: str, status: str, changes: dict[str, Any]
    ) -> bool:
        item = self.items.get((source, delivery_id))
        if item is None or item.get("status") != status:
            return False
        self.update(source, delivery_id, changes)
        return True

    def update_unless_final(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> bool:
        item = self.items.get((source, delivery_id)) or {}
        if item.get("status") in FINAL_STATUSES or any(
                rule_is_done(item, rule) for rule in (rule_outcomes or {})):
            return False
        self.update(source, delivery_id, changes, rule_outcomes=rule_outcomes)
        return True

    def reopen(self, source: str, delivery_id: str, now: float) -> bool:
        item = self.items.get((source, delivery_id))
        if item is not None and item.get("status") not in REOPENABLE_STATUSES:
            return False
        item = self.items.setdefault(
            (source, delivery_id), {"source": source, "delivery_id": delivery_id})
        item.setdefault("rules", {})
        item.pop("next_attempt_at", None)
        item.update({"status": QUEUED, "updated_at": now, "redriven_at": now,
                     "redrives": int(item.get("redrives", 0)) + 1})
        return True


def _key(source: str, delivery_id: str) -> dict[str, Any]:
    return {"source": {"S": source}, "delivery_id": {"S": delivery_id}}


def _decimals(value: Any) -> Any:
    """DynamoDB numbers must be Decimal, not float."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Decimals back to int or float, for JSON and for comparisons."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    """A dict of plain values as DynamoDB attribute values (floats become Decimals)."""
    return {key: _SERIALIZER.serialize(_decimals(value)) for key, value in item.items()}


def deserialize_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as plain values (Decimals become int or float)."""
    return {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}


_serialize, _deserialize = serialize_item, deserialize_item
