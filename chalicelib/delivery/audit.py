"""What the field-level audit records of one rule's outcome on one Zoho record (pure).

Only field API names travel: the values stay in the request that was sent.
"""

from __future__ import annotations

from chalicelib.delivery.message import QueuedDelivery
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.stores.audit import AuditEntry


def fields_set(plan: PlannedUpdate) -> tuple[str, ...]:
    """The field API names the update sets, sorted (no ``$`` keys)."""
    records = plan.body.get("data") or [{}]
    return tuple(sorted(str(name) for name in records[0] if not str(name).startswith("$")))


def audit_entry(
    plan: PlannedUpdate, delivery: QueuedDelivery, *, connection: str, record_id: str | None,
    outcome: str, at: float, mapping_version: int | None,
) -> AuditEntry | None:
    """The entry for this outcome, or None when the Zoho record id is not known."""
    if not record_id:
        return None
    return AuditEntry(
        connection=connection, module=plan.module, record_id=record_id, at=at,
        source=delivery.source, delivery_id=delivery.delivery_id, rule=plan.rule,
        outcome=outcome, fields=fields_set(plan), mapping_version=mapping_version)
