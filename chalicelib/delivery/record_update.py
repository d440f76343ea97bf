"""Sending one planned update under its record's state: claim, decide, send, commit (I/O).

The worker maps a rule into a ``PlannedUpdate``; this module applies it the way
the ordering guard and the credit saver want:

1. Claim the record (``stores.records``). The claim is refused when an event
   newer than this one was already applied (``stale``, nothing sent), and waits
   a moment when another worker is updating the same record (then the delivery
   waits on the queue as ``RECORD_BUSY``).
2. With the record claimed, a body equal to the last one applied is not sent
   (``unchanged``); otherwise it is sent, with ``If-Unmodified-Since`` when the
   rule asks, and Zoho's 412 ends ``stale``.
3. The rule's outcome and the record's new state are written in one
   transaction, which also ends the claim; for a delivery's last rule, the same
   ledger write ends the delivery (``DeliveryEnd``). If that write fails after
   Zoho took the update, the state is saved on its own, so that the retry finds
   the body applied and ends ``unchanged`` instead of sending it again.

The decisions are the pure functions of ``delivery.guard``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.delivery.audit import audit_entry
from chalicelib.delivery.backoff import is_zoho_limit
from chalicelib.delivery.guard import (
    EVENT_TIME_UNREADABLE,
    body_digest,
    if_unmodified_since,
    is_unchanged,
    newer_time,
    read_event_time,
    record_state_key,
)
from chalicelib.delivery.locate import send_update
from chalicelib.delivery.message import APPLIED, STALE, UNCHANGED, QueuedDelivery
from chalicelib.errors import (
    DeliveryError,
    Failure,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnavailableError,
)
from chalicelib.mapping.document import Rule
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.mapping.expressions import ExpressionEvaluationError
from chalicelib.observability import logger
from chalicelib.stores import records as states
from chalicelib.stores.audit import AuditEntry
from chalicelib.stores.ledger import RuleOutcomeWrite
from chalicelib.zoho import responses

if TYPE_CHECKING:
    from chalicelib.delivery.worker import WorkerServices

# How often a worker looks again at a record another worker is updating.
BUSY_POLL_SECONDS = 0.1


class DeliveryEnd:
    """A delivery's end, written with its last rule's outcome: one ledger write, not two.

    ``fields(outcome)`` is what the end sets (status, attempts...) once the last
    rule's outcome is known; nothing for a rule that is not the last. ``written``
    says whether a write carried it; when none did (the rule was finished by
    another receive, or not recorded), the worker writes the end on its own.
    """

    def __init__(self, fields: Callable[[str], dict[str, Any]] = lambda outcome: {}) -> None:
        self.fields = fields
        self.written = False


def send_planned_update(
    plan: PlannedUpdate, rule: Rule, delivery: QueuedDelivery, connection: str,
    services: WorkerServices, *, missed_before: bool = False,
    mapping_version: int | None = None, end: DeliveryEnd | None = None,
) -> str:
    """Apply ``plan`` unless it is stale or unchanged; record the outcome; return it.

    A ``search`` locator's record is found (or its cached id used) only once the
    update is to be sent (``delivery.locate``): a stale or unchanged event costs
    no search either. ``missed_before``: this rule's search found nothing on an
    earlier attempt, so a miss now is final. ``end``: this is the delivery's last
    rule, and the write of its outcome ends the delivery too.
    """
    end = end if end is not None else DeliveryEnd()
    event_time, warning = _event_time(rule, delivery)
    _check_pause(services, connection)
    key = record_state_key(connection, plan)
    owner = uuid.uuid4().hex
    claim = _claim(services, key, owner, event_time)
    outcome: dict[str, Any] = {"module": plan.module, "at": services.clock(), **warning}
    if plan.omitted:  # the fields left out for want of a value: names only
        outcome["omitted"] = list(plan.omitted)
    def audit(kind: str, record_id: str | None) -> AuditEntry | None:
        return audit_entry(plan, delivery, connection=connection, record_id=record_id,
                           outcome=kind, at=services.clock(), mapping_version=mapping_version)

    if claim.result == states.STALE:
        outcome.update(outcome=STALE, reason="a newer event was already applied to the record")
        services.ledger.update(delivery.source, delivery.delivery_id, end.fields(STALE),
                               rule_outcomes={rule.name: outcome})
        end.written = True
        _audit_alone(services, audit(STALE, claim.state.zoho_id))
        logger.info("stale event not sent", extra={"rule": rule.name})
        return STALE
    if claim.result == states.BUSY:
        raise RetryableDeliveryError(Failure(
            code="RECORD_BUSY",
            message="another worker is updating the same Zoho record; the delivery waits"))
    state = claim.state
    digest = body_digest(plan)
    this_rule = (delivery.source, delivery.delivery_id, rule.name)
    applied_by_this = state.applied_by == this_rule
    if is_unchanged(skip_unchanged=rule.skip_unchanged, applied_digest=state.body_hash,
                    digest=digest, applied_by_this=applied_by_this):
        outcome.update(outcome=UNCHANGED, record_id=state.zoho_id, reason=(
            "this delivery's update was applied; its outcome could not be recorded then"
            if applied_by_this and state.body_hash == digest
            else "the same body as the last one applied to the record"))
        change = states.StateChange(event_time=newer_time(state.event_time, event_time))
        return _commit(services, key, owner, change, delivery, rule.name, outcome,
                       audit(UNCHANGED, state.zoho_id), end)
    header = (if_unmodified_since(event_time)
              if rule.if_unmodified_since and event_time is not None else None)
    try:
        answer = send_update(plan, services.zoho(connection), services.search_cache, connection,
                             services.clock(), missed_before=missed_before,
                             if_unmodified_since=header)
    except BaseException as exc:
        _release(services, key, owner)
        if isinstance(exc, DeliveryError) and is_zoho_limit(exc.failure):
            services.paused_until[connection] = services.clock() + services.pause_seconds
        raise
    if answer.kind == responses.STALE:
        outcome.update(outcome=STALE, reason="Zoho: the record changed after the event's time",
                       code="ALREADY_MODIFIED")
        return _commit(services, key, owner, states.StateChange(), delivery, rule.name, outcome,
                       audit(STALE, answer.record_id or state.zoho_id), end)
    outcome.update(outcome=APPLIED, record_id=answer.record_id)
    change = states.StateChange(
        event_time=newer_time(state.event_time, event_time), body_hash=digest,
        applied_by=this_rule, zoho_id=answer.record_id)
    return _commit(services, key, owner, change, delivery, rule.name, outcome,
                   audit(APPLIED, answer.record_id), end)


def _event_time(rule: Rule, delivery: QueuedDelivery) -> tuple[float | None, dict[str, Any]]:
    """The event's time for the ordering guard, or None and the warning saying why not."""
    if rule.event_time is None:
        return None, {}
    try:
        value = rule.event_time.evaluate(delivery.body, delivery.headers)
    except ExpressionEvaluationError as exc:
        raise PermanentDeliveryError(Failure(
            code="MAPPING_ERROR", message=f"event_time: {exc}", path=exc.expression)) from exc
    moment = read_event_time(value)
    if moment is not None:
        return moment, {}
    logger.warning("event time unreadable; applied without the ordering guard",
                   extra={"rule": rule.name, "path": rule.event_time.text})
    return None, {"warning": {
        "code": EVENT_TIME_UNREADABLE,
        "message": f"event_time ({rule.event_time.text}) gave no readable time; "
                   "applied without the ordering guard"}}


def _check_pause(services: WorkerServices, connection: str) -> None:
    """After Zoho said "slow down" to this container, its deliveries wait without a call."""
    if services.clock() < services.paused_until.get(connection, 0.0):
        raise RetryableDeliveryError(Failure(
            code="CONNECTION_PAUSED",
            message=f"Zoho asked the connection {connection!r} to slow down a moment ago; "
                    "the delivery waits"))


def _claim(
    services: WorkerServices, key: str, owner: str, event_time: float | None
) -> states.Claim:
    """Claim the record, waiting up to ``busy_wait_seconds`` while another worker has it."""
    waited = 0.0
    while True:
        claim = services.records.claim(key, owner, event_time=event_time, now=services.clock(),
                                       lease_seconds=services.record_lease_seconds)
        if claim.result != states.BUSY or waited >= services.busy_wait_seconds:
            return claim
        services.sleep(BUSY_POLL_SECONDS)
        waited += BUSY_POLL_SECONDS


def _commit(
    services: WorkerServices, key: str, owner: str, change: states.StateChange,
    delivery: QueuedDelivery, rule: str, outcome: dict[str, Any], audit: AuditEntry | None,
    end: DeliveryEnd,
) -> str:
    ending = end.fields(str(outcome["outcome"]))
    write = RuleOutcomeWrite(delivery.source, delivery.delivery_id, rule, outcome, ending)
    now = services.clock()
    try:
        result = services.records.commit(key, owner, change, write, now, audit=audit)
    except UnavailableError:
        if change.body_hash is not None:
            _save_alone(services, key, owner, change, now)
        else:
            _release(services, key, owner)
        raise
    if result == states.COMMITTED:
        end.written = True
    if result == states.DONE_BEFORE:
        # Another receive of the same message finished this rule first.
        item = services.ledger.get(delivery.source, delivery.delivery_id) or {}
        return str(((item.get("rules") or {}).get(rule) or {}).get("outcome", outcome["outcome"]))
    if result == states.CLAIM_LOST:
        logger.warning("the record's claim ran out during the update; its state is left to "
                       "the worker that took it", extra={"rule": rule})
        services.ledger.update(delivery.source, delivery.delivery_id, ending,
                               rule_outcomes={rule: outcome})
        end.written = True
        _audit_alone(services, audit)
    return str(outcome["outcome"])


def _audit_alone(services: WorkerServices, entry: AuditEntry | None) -> None:
    """An audit entry written outside a commit; the outcome is recorded even if it fails."""
    if entry is None:
        return
    try:
        services.records.add_audit(entry)
    except UnavailableError:
        logger.warning("could not write the audit entry of a rule's outcome")


def _save_alone(
    services: WorkerServices, key: str, owner: str, change: states.StateChange, now: float
) -> None:
    """Zoho took the update but the ledger did not: keep the state, so no second PUT."""
    try:
        services.records.save(key, owner, change, now)
        logger.warning("the rule's outcome could not be recorded; the record's state was, "
                       "so the retry sends nothing again")
    except UnavailableError:
        logger.warning("neither the rule's outcome nor the record's state could be recorded; "
                       "the retry will send the update again")


def _release(services: WorkerServices, key: str, owner: str) -> None:
    try:
        services.records.release(key, owner)
    except UnavailableError:
        logger.warning("could not release a record's claim; it ends on its own")
