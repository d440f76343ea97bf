"""What the adapter knows about each Zoho record, and short leases, in DynamoDB (I/O).

One table (setting ``records_table``, default ``zwa-records``): partition key
``pk`` (S), TTL attribute ``expires_at``. Item kinds, by ``pk`` prefix:

- ``record#{connection}#{module}#{record}``, this module's ``RecordStates``: the
  time of the newest event applied to the record (``event_time``), a hash of the
  last body this adapter applied (``body_hash``) and which delivery and rule
  applied it; while a worker updates the record, its claim (``claim_owner``,
  ``claim_until``). Kept ``ttl_days`` after the last change.
- ``search#...``: the search locator's id cache (``stores.search_cache``).
- ``lease#{name}``, this module's ``Leases``: a short lease with its ``owner``,
  ending at ``expires_at`` (e.g. one worker refreshing a connection's token).

Why a claim: two workers handling events for one record at the same moment
must not both send, or Zoho could end with the older values. A worker claims
the record with one conditional update that also requires its event to be no
older than the newest applied, so "is it stale?" and "it is mine now" are one
atomic step rather than a read-then-write race; the claim ends with ``commit``,
which writes the new state and the rule's outcome in the ledger in one
transaction. A claim lasts ``lease_seconds`` at most, so a worker that died
holding one delays the record, never blocks it.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.errors import UnavailableError
from chalicelib.stores.audit import AuditEntry, DynamoAudit, InMemoryAudit
from chalicelib.stores.aws import aws_call, conditional_write, error_code
from chalicelib.stores.ledger import (
    Ledger,
    RuleOutcomeWrite,
    deserialize_item,
    rule_is_done,
    rule_outcome_update,
    serialize_item,
)
from chalicelib.values import frozen

CLAIMED = "claimed"
STALE = "stale"
BUSY = "busy"
# What a commit did.
COMMITTED = "committed"
DONE_BEFORE = "done_before"  # the ledger already had the rule done: nothing written
CLAIM_LOST = "claim_lost"  # the claim ran out and another worker took the record
_DAY = 86400


@frozen
class RecordState:
    """What is known of one Zoho record: the newest event applied, the last body applied."""

    event_time: float | None = None
    body_hash: str | None = None
    applied_by: tuple[str, str, str] | None = None  # (source, delivery id, rule)
    zoho_id: str | None = None
    claim_owner: str | None = None
    claim_until: float | None = None


@frozen
class Claim:
    """The answer to a claim: ``claimed`` (the record is ours), ``stale`` or ``busy``."""

    result: str
    state: RecordState


@frozen
class StateChange:
    """What a commit writes: a newer event time; for a body Zoho accepted, its hash and source."""

    event_time: float | None = None
    body_hash: str | None = None
    applied_by: tuple[str, str, str] | None = None
    zoho_id: str | None = None


class RecordStates(Protocol):
    """Claim a record, then commit its new state with the rule's outcome, or release it."""

    def claim(self, key: str, owner: str, *, event_time: float | None, now: float,
              lease_seconds: float) -> Claim: ...

    def release(self, key: str, owner: str) -> None: ...

    def commit(self, key: str, owner: str, change: StateChange, outcome: RuleOutcomeWrite,
               now: float, *, audit: AuditEntry | None = None) -> str: ...

    def add_audit(self, entry: AuditEntry) -> None: ...

    def save(self, key: str, owner: str, change: StateChange, now: float) -> bool: ...

    def get(self, key: str) -> RecordState | None: ...


class Leases(Protocol):
    """Short named leases: one holder at a time, each ending on its own."""

    def take_lease(self, name: str, owner: str, *, until: float, now: float) -> bool: ...

    def release_lease(self, name: str, owner: str) -> None: ...

    def lease_until(self, name: str, now: float) -> float | None: ...

    def hold_lease(self, name: str, owner: str, *, until: float) -> None: ...


def lease_key(name: str) -> str:
    """The records table's key of the lease ``name``."""
    return f"lease#{name}"


class DynamoRecordStore:
    """``RecordStates`` and ``Leases`` over a boto3 DynamoDB client.

    ``ledger_table`` is the delivery ledger's table: a commit writes to both,
    and to the audit when one is given.
    """

    def __init__(self, client: Any, table: str, ledger_table: str, *, ttl_days: int = 14,
                 audit: DynamoAudit | None = None) -> None:
        self._client = client
        self._table = table
        self._ledger_table = ledger_table
        self._audit = audit
        self._ttl_seconds = ttl_days * _DAY

    # --- RecordStates -------------------------------------------------------------------

    def claim(self, key: str, owner: str, *, event_time: float | None, now: float,
              lease_seconds: float) -> Claim:
        """Take ``key`` for ``owner`` unless it is claimed, or holds a newer event."""
        names = {"#o": "claim_owner", "#u": "claim_until", "#x": "expires_at"}
        values: dict[str, Any] = {":me": owner, ":until": now + lease_seconds, ":now": now,
                                  ":ttl": int(now + self._ttl_seconds)}
        condition = "(attribute_not_exists(#u) OR #u < :now)"
        if event_time is not None:
            names["#t"] = "event_time"
            values[":t"] = event_time
            condition += " AND (attribute_not_exists(#t) OR #t <= :t)"
        for _ in range(3):
            with aws_call("claiming a record's state"):
                try:
                    answer = self._client.update_item(
                        TableName=self._table, Key=_pk(key),
                        UpdateExpression="SET #o = :me, #u = :until, #x = :ttl",
                        ConditionExpression=condition, ExpressionAttributeNames=names,
                        ExpressionAttributeValues=serialize_item(values), ReturnValues="ALL_NEW")
                    return Claim(CLAIMED, _state(deserialize_item(answer["Attributes"])))
                except ClientError as exc:
                    if error_code(exc) != "ConditionalCheckFailedException":
                        raise
            state = self.get(key) or RecordState()
            refused = _refusal(state, event_time, now)
            if refused is not None:
                return refused
            # Released between the two calls: try again.
        return Claim(BUSY, self.get(key) or RecordState())

    def release(self, key: str, owner: str) -> None:
        """End ``owner``'s claim on ``key`` without changing the state."""
        with aws_call("releasing a record's state"):
            conditional_write(  # a claim already ended or taken over stays as it is
                self._client.update_item,
                TableName=self._table, Key=_pk(key), UpdateExpression="REMOVE #o, #u",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "claim_owner", "#u": "claim_until"},
                ExpressionAttributeValues=serialize_item({":me": owner}))

    def commit(self, key: str, owner: str, change: StateChange, outcome: RuleOutcomeWrite,
               now: float, *, audit: AuditEntry | None = None) -> str:
        """Write ``change``, end the claim, the rule's outcome and its audit: one transaction."""
        items = [{"Update": self._state_update(key, owner, change, now)},
                 {"Update": rule_outcome_update(self._ledger_table, outcome)}]
        if audit is not None and self._audit is not None:
            items.append({"Put": self._audit.put_request(audit)})
        with aws_call("recording a rule's outcome with the record's state"):
            try:
                self._client.transact_write_items(TransactItems=items)
                return COMMITTED
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if len(reasons) >= 2 and reasons[1] == "ConditionalCheckFailed":
                    self.release(key, owner)
                    return DONE_BEFORE
                if len(reasons) >= 2 and reasons[0] == "ConditionalCheckFailed":
                    return CLAIM_LOST
                # Throttled, or in conflict with another write: say which, then retry.
                raise UnavailableError(
                    "recording a rule's outcome with the record's state failed "
                    f"({', '.join(str(r) for r in reasons) or 'TransactionCanceled'})") from exc

    def add_audit(self, entry: AuditEntry) -> None:
        """An audit entry on its own (an outcome written without a record's state)."""
        if self._audit is not None:
            self._audit.add(entry)

    def save(self, key: str, owner: str, change: StateChange, now: float) -> bool:
        """Write ``change`` and end the claim, without the ledger; False if the claim was lost."""
        update = self._state_update(key, owner, change, now)
        with aws_call("saving a record's state"):
            return conditional_write(self._client.update_item, **update)

    def get(self, key: str) -> RecordState | None:
        item = self._get(_pk(key))
        return _state(item) if item is not None else None

    def _state_update(self, key: str, owner: str, change: StateChange,
                      now: float) -> dict[str, Any]:
        names = {"#o": "claim_owner", "#u": "claim_until", "#x": "expires_at"}
        values: dict[str, Any] = {":me": owner, ":ttl": int(now + self._ttl_seconds)}
        sets = ["#x = :ttl"]
        for name, value in _change_attributes(change, now).items():
            names[f"#{name}"] = name
            values[f":{name}"] = value
            sets.append(f"#{name} = :{name}")
        return {
            "TableName": self._table, "Key": _pk(key),
            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE #o, #u",
            "ConditionExpression": "#o = :me",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize_item(values),
        }

    # --- Leases -------------------------------------------------------------------------

    def take_lease(self, name: str, owner: str, *, until: float, now: float) -> bool:
        """Take the lease ``name`` until ``until`` unless someone holds it now."""
        with aws_call("taking a lease"):
            return conditional_write(
                self._client.put_item,
                TableName=self._table,
                Item=serialize_item({"pk": lease_key(name), "owner": owner, "expires_at": until}),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues=serialize_item({":now": now}))

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up, if ``owner`` still holds it."""
        with aws_call("releasing a lease"):
            conditional_write(  # a lease that ended and was taken is the new holder's
                self._client.delete_item,
                TableName=self._table, Key=_pk(lease_key(name)),
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=serialize_item({":me": owner}))

    def lease_until(self, name: str, now: float) -> float | None:
        """When the lease ``name`` ends, or None when nobody holds it."""
        item = self._get(_pk(lease_key(name)))
        until = float(item["expires_at"]) if item and "expires_at" in item else None
        return until if until is not None and until > now else None

    def hold_lease(self, name: str, owner: str, *, until: float) -> None:
        """Hold ``name`` until ``until``, whoever held it (a marker every worker reads)."""
        with aws_call("writing a lease"):
            self._client.put_item(TableName=self._table, Item=serialize_item(
                {"pk": lease_key(name), "owner": owner, "expires_at": until}))

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with aws_call("reading the records table"):
            item = self._client.get_item(
                TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return deserialize_item(item) if item else None


class InMemoryRecordStore:
    """``RecordStates`` and ``Leases`` in dicts, with the ledger it commits to."""

    def __init__(self, ledger: Ledger, *, ttl_days: int = 14,
                 audit: InMemoryAudit | None = None) -> None:
        self.ledger = ledger
        self.audit = audit if audit is not None else InMemoryAudit(ttl_days=ttl_days)
        self.items: dict[str, dict[str, Any]] = {}
        self.leases: dict[str, tuple[str, float]] = {}
        self._ttl_seconds = ttl_days * _DAY
        self._lock = threading.Lock()

    def claim(self, key: str, owner: str, *, event_time: float | None, now: float,
              lease_seconds: float) -> Claim:
        with self._lock:
            state = _state(self.items.get(key, {}))
            refused = _refusal(state, event_time, now)
            if refused is not None:
                return refused
            item = self.items.setdefault(key, {})
            item.update(claim_owner=owner, claim_until=now + lease_seconds,
                        expires_at=int(now + self._ttl_seconds))
            return Claim(CLAIMED, _state(item))

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            item = self.items.get(key)
            if item is not None and item.get("claim_owner") == owner:
                item.pop("claim_owner", None)
                item.pop("claim_until", None)

    def commit(self, key: str, owner: str, change: StateChange, outcome: RuleOutcomeWrite,
               now: float, *, audit: AuditEntry | None = None) -> str:
        with self._lock:
            if self.items.get(key, {}).get("claim_owner") != owner:
                return CLAIM_LOST
            if rule_is_done(self.ledger.get(outcome.source, outcome.delivery_id), outcome.rule):
                self._end_claim(key)
                return DONE_BEFORE
            # The ledger first: when it fails, nothing is written, as in a transaction.
            self.ledger.update(outcome.source, outcome.delivery_id, outcome.changes,
                               rule_outcomes={outcome.rule: outcome.outcome})
            self._apply(key, change, now)
            if audit is not None:
                self.audit.add(audit)
            return COMMITTED

    def add_audit(self, entry: AuditEntry) -> None:
        self.audit.add(entry)

    def save(self, key: str, owner: str, change: StateChange, now: float) -> bool:
        with self._lock:
            if self.items.get(key, {}).get("claim_owner") != owner:
                return False
            self._apply(key, change, now)
            return True

    def get(self, key: str) -> RecordState | None:
        with self._lock:
            return _state(self.items[key]) if key in self.items else None

    def take_lease(self, name: str, owner: str, *, until: float, now: float) -> bool:
        with self._lock:
            held = self.leases.get(name)
            if held is not None and held[1] >= now:
                return False
            self.leases[name] = (owner, until)
            return True

    def release_lease(self, name: str, owner: str) -> None:
        with self._lock:
            if self.leases.get(name, ("", 0.0))[0] == owner:
                del self.leases[name]

    def lease_until(self, name: str, now: float) -> float | None:
        with self._lock:
            held = self.leases.get(name)
            return held[1] if held is not None and held[1] > now else None

    def hold_lease(self, name: str, owner: str, *, until: float) -> None:
        with self._lock:
            self.leases[name] = (owner, until)

    def _apply(self, key: str, change: StateChange, now: float) -> None:
        item = self.items.setdefault(key, {})
        item.update(_change_attributes(change, now), expires_at=int(now + self._ttl_seconds))
        self._end_claim(key)

    def _end_claim(self, key: str) -> None:
        item = self.items.get(key, {})
        item.pop("claim_owner", None)
        item.pop("claim_until", None)


def _refusal(state: RecordState, event_time: float | None, now: float) -> Claim | None:
    """Why a record cannot be claimed now (stale first: waiting would not help), or None."""
    if event_time is not None and state.event_time is not None and state.event_time > event_time:
        return Claim(STALE, state)
    if state.claim_until is not None and state.claim_until >= now:
        return Claim(BUSY, state)
    return None


def _change_attributes(change: StateChange, now: float) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if change.event_time is not None:
        attributes["event_time"] = change.event_time
    if change.body_hash is not None:
        attributes["body_hash"] = change.body_hash
        attributes["applied_at"] = now
    if change.applied_by is not None:
        source, delivery_id, rule = change.applied_by
        attributes.update(applied_source=source, applied_delivery=delivery_id,
                          applied_rule=rule)
    if change.zoho_id is not None:
        attributes["zoho_id"] = change.zoho_id
    return attributes


def _state(item: dict[str, Any]) -> RecordState:
    applied = None
    if all(isinstance(item.get(k), str)
           for k in ("applied_source", "applied_delivery", "applied_rule")):
        applied = (item["applied_source"], item["applied_delivery"], item["applied_rule"])
    return RecordState(
        event_time=_number(item.get("event_time")),
        body_hash=item.get("body_hash"),
        applied_by=applied,
        zoho_id=item.get("zoho_id"),
        claim_owner=item.get("claim_owner"),
        claim_until=_number(item.get("claim_until")),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _pk(key: str) -> dict[str, Any]:
    return {"pk": {"S": key}}
