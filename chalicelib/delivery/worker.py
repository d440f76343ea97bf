"""Applying one queued delivery: map it, send each rule's update, record what happened.

``process_message`` is what the worker does with one SQS message; the decisions
(which rules, which body, success or retry or give up, how long to wait) are made
by the pure modules, and the adapters it is given do the I/O. A rule that
already succeeded for this delivery is never sent again, so a retry or a
redrive repeats only what did not happen. Each planned update goes through its
record's state (``record_update``): stale and unchanged ones are not sent.
Zoho's limits and a record busy elsewhere are waits, which never use up a
delivery's attempts. An error nothing foresaw (a bug, a
payload a JMESPath function cannot take) ends the delivery ``failed`` with
``INTERNAL_ERROR``, dead-lettered like a permanent failure, instead of bringing
the message back until the queue gives up on it.
"""

from __future__ import annotations

import json
import math
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any

from chalicelib.delivery.backoff import (
    is_wait,
    next_visibility_timeout,
    retries_exhausted,
    wait_visibility_timeout,
)
from chalicelib.delivery.locate import RECORD_NOT_FOUND
from chalicelib.delivery.message import (
    APPLIED,
    DEAD,
    DONE_RULE_OUTCOMES,
    FAILED,
    FINAL_STATUSES,
    IGNORED,
    QUEUED,
    RETRYING,
    STALE,
    UNCHANGED,
    QueuedDelivery,
)
from chalicelib.delivery.record_update import DeliveryEnd, send_planned_update
from chalicelib.errors import (
    DeliveryError,
    Failure,
    MappingError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    RetryLaterError,
    SearchMissError,
    UnavailableError,
    UnexpectedMappingError,
)
from chalicelib.mapping.document import QUEUE_MAX_RECEIVE_COUNT, MappingDocument, RetryPolicy, Rule
from chalicelib.mapping.engine import matching_rules, plan_update
from chalicelib.mapping.expressions import ExpressionEvaluationError
from chalicelib.observability import (
    DELIVERIES_APPLIED,
    DELIVERIES_DEAD,
    DELIVERIES_FAILED,
    DELIVERIES_IGNORED,
    DELIVERIES_RETRIED,
    DELIVERIES_STALE,
    DELIVERIES_UNCHANGED,
    count,
    logger,
)
from chalicelib.stores.ledger import Ledger
from chalicelib.stores.mappings import MappingCache
from chalicelib.stores.queues import Queue
from chalicelib.stores.records import InMemoryRecordStore, RecordStates
from chalicelib.stores.search_cache import InMemorySearchCache, SearchCache
from chalicelib.values import frozen
from chalicelib.zoho.client import CrmRecords

# The metric each final status of an attempt counts under (a retry is counted
# by the batch, for every message that stays on the queue).
OUTCOME_METRICS = {
    APPLIED: DELIVERIES_APPLIED,
    UNCHANGED: DELIVERIES_UNCHANGED,
    STALE: DELIVERIES_STALE,
    IGNORED: DELIVERIES_IGNORED,
    FAILED: DELIVERIES_FAILED,
    DEAD: DELIVERIES_DEAD,
}


@frozen
class Attempt:
    """Which try this is, from the SQS record (ApproximateReceiveCount, SentTimestamp)."""

    number: int
    first_sent_at: float
    receipt_handle: str


@dataclass
class WorkerServices:
    """What the worker needs from the outside world."""

    mappings: MappingCache
    ledger: Ledger
    queue: Queue
    dead_letters: Queue
    zoho: Callable[[str], CrmRecords]  # connection name -> its Zoho client
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 900.0
    draw: Callable[[], float] = field(default=random.random)
    # The longest one message may take (a token, a Zoho call, a margin): a
    # message is not started with less time left in the invocation. 0: no check.
    message_seconds: float = 0.0
    # The search locator's found ids (the records table when deployed).
    search_cache: SearchCache = field(default_factory=InMemorySearchCache)
    # What is known of each Zoho record (the ordering guard, the credit saver).
    # None: kept in this container's memory, which only tests should rely on.
    records: RecordStates = None  # type: ignore[assignment]
    clock: Callable[[], float] = field(default=time.time)
    sleep: Callable[[float], None] = field(default=time.sleep)
    # How long a claim on a record lasts at most: longer than a Zoho call with
    # one token refresh and a second call.
    record_lease_seconds: float = 45.0
    # How long a worker waits in place for a record another worker is updating.
    busy_wait_seconds: float = 2.0
    # After Zoho answered 429 on a connection, this container's deliveries of
    # that connection wait this long before calling again.
    pause_seconds: float = 30.0
    paused_until: dict[str, float] = field(default_factory=dict)
    # How many messages of one batch are handled at once (``batch``), each on its own thread.
    parallel_messages: int = 1

    def __post_init__(self) -> None:
        if self.records is None:
            self.records = InMemoryRecordStore(self.ledger)


def process_message(text: str, attempt: Attempt, services: WorkerServices, now: float) -> str:
    """Handle one message; returns the delivery's status or raises ``RetryLaterError``."""
    logger.thread_safe_remove_keys(["source", "delivery_id", "correlation_id"])
    try:
        delivery = QueuedDelivery.from_message(text)
    except ValueError:
        return _dead_letter_malformed(text, services)
    logger.thread_safe_append_keys(source=delivery.source, delivery_id=delivery.delivery_id)
    logger.thread_safe_append_keys(correlation_id=delivery.delivery_id)
    known = _ledger_item(services, delivery)
    if known.get("status") in FINAL_STATUSES:
        logger.info("delivery already finished", extra={"status": known.get("status")})
        return str(known["status"])
    # A message sent again after long waits carries the attempts made before.
    received = attempt.number
    attempt = replace(attempt, number=attempt.number + delivery.prior_attempts,
                      first_sent_at=delivery.first_sent_at or attempt.first_sent_at)
    document: MappingDocument | None = None
    try:
        document = services.mappings.get(delivery.source)
        status, ended = _apply(delivery, document, known, services, now,
                               lambda status: _end_fields(status, attempt, now, document))
    except PermanentDeliveryError as exc:
        return _dead_letter(delivery, exc.failure, FAILED, attempt, services, now, document)
    except (RetryableDeliveryError, UnavailableError) as exc:
        failure = exc.failure if isinstance(exc, DeliveryError) else Failure(
            code="AWS_UNAVAILABLE", message=str(exc))
        waits = int(known.get("waits") or 0)
        if is_wait(failure):
            return _wait(delivery, failure, attempt, received, waits + 1, services, now, document)
        policy = document.retry if document is not None else RetryPolicy()
        failed = attempt.number - waits
        if retries_exhausted(failed, now - attempt.first_sent_at, policy):
            return _dead_letter(delivery, failure, DEAD, attempt, services, now, document)
        # A search that found nothing waits for Zoho's index at least the base delay.
        at_least = services.retry_base_seconds if isinstance(exc, SearchMissError) else 0
        return _retry_later(delivery, failure, replace(attempt, number=failed), services, now,
                            document, total_attempts=attempt.number, at_least=at_least)
    except Exception as exc:  # noqa: BLE001 - a bug must end the delivery, not loop unseen
        return _dead_letter(
            delivery, _internal_failure(exc), FAILED, attempt, services, now, document)
    return _finish(delivery, status, attempt, services, now, document, written=ended)


def _internal_failure(exc: Exception, rule: str | None = None) -> Failure:
    """``INTERNAL_ERROR``: the error's type, the rule and field when known, never its message.

    An exception's message may quote a payload value (a ``KeyError`` does), so
    only its type travels, with the place in the code where it was raised.
    """
    error_type, field = type(exc).__name__, None
    if isinstance(exc, UnexpectedMappingError):
        error_type, field, rule = exc.error_type, exc.field, exc.rule
    where = f" mapping {field}" if field else ""
    return Failure(
        code="INTERNAL_ERROR",
        message=f"unexpected {error_type}{where}; the delivery was not applied",
        api_name=field, rule=rule,
        details={"error_type": error_type, "at": _origin(exc)},
    )


def _origin(exc: BaseException) -> str:
    """``file.py:line in function`` where the first error of a chain was raised."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    last = frames[-1]
    return f"{PurePath(last.filename).name}:{last.lineno} in {last.name}"


def _attempt_fields(
    attempt: Attempt, now: float, document: MappingDocument | None
) -> dict[str, Any]:
    """What every ledger write that ends an attempt records."""
    fields: dict[str, Any] = {"attempts": attempt.number, "updated_at": now}
    if document is not None:
        fields["mapping_version"] = document.version
    return fields


def _end_fields(
    status: str, attempt: Attempt, now: float, document: MappingDocument | None
) -> dict[str, Any]:
    """What the ledger write that ends a delivery sets."""
    return {**_attempt_fields(attempt, now, document), "status": status,
            "next_attempt_at": None}


def _ledger_item(services: WorkerServices, delivery: QueuedDelivery) -> dict[str, Any]:
    try:
        return services.ledger.get(delivery.source, delivery.delivery_id) or {}
    except UnavailableError as exc:
        logger.warning("could not read the ledger; the message will be retried")
        raise RetryLaterError(str(exc)) from exc


def _apply(
    delivery: QueuedDelivery,
    document: MappingDocument | None,
    known: dict[str, Any],
    services: WorkerServices,
    now: float,
    end_fields: Callable[[str], dict[str, Any]],
) -> tuple[str, bool]:
    """The rules' updates; the delivery's status, and whether the last rule's write ended it."""
    if document is None or not document.enabled:
        raise PermanentDeliveryError(Failure(
            code="UNKNOWN_SOURCE",
            message=f"no enabled mapping for the source {delivery.source!r} any more"))
    try:
        rules = matching_rules(document, delivery.body, delivery.headers)
    except ExpressionEvaluationError as exc:
        raise PermanentDeliveryError(Failure(
            code="MAPPING_ERROR", message=str(exc), path=exc.expression)) from exc
    if not rules:
        return IGNORED, False
    done = {
        name for name, outcome in (known.get("rules") or {}).items()
        if isinstance(outcome, dict) and outcome.get("outcome") in DONE_RULE_OUTCOMES
    }
    outcomes = {
        name: str(outcome.get("outcome")) for name, outcome in (known.get("rules") or {}).items()
        if name in done and isinstance(outcome, dict)
    }
    pending = [rule for rule in rules if rule.name not in done]
    if not pending:
        return _status(rules, outcomes), False
    last = pending[-1].name  # its outcome decides the delivery's status: its write ends it
    end = DeliveryEnd(lambda outcome: end_fields(_status(rules, {**outcomes, last: outcome})))
    for rule in pending:
        try:
            outcomes[rule.name] = _apply_rule(
                rule, delivery, document, services, now,
                missed_before=_searched_in_vain(known, rule.name),
                end=end if rule.name == last else None)
        except UnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded against its rule
            error = _rule_error(exc, rule.name)
            kind = FAILED if isinstance(error, PermanentDeliveryError) else RETRYING
            _record_rule(services, delivery, rule.name, {
                "outcome": kind, "module": rule.module, "code": error.failure.code})
            raise error from exc
    return _status(rules, outcomes), end.written


def _status(rules: list[Rule], outcomes: dict[str, str]) -> str:
    """The delivery's status from its rules' outcomes."""
    return delivery_status([outcomes.get(rule.name, APPLIED) for rule in rules])


def delivery_status(rule_outcomes: list[str]) -> str:
    """A delivery's status from its rules': applied if any was, else unchanged, else stale."""
    for status in (APPLIED, UNCHANGED):
        if status in rule_outcomes:
            return status
    return STALE if rule_outcomes else APPLIED


def _apply_rule(
    rule: Rule, delivery: QueuedDelivery, document: MappingDocument, services: WorkerServices,
    now: float, *, missed_before: bool = False, end: DeliveryEnd | None = None,
) -> str:
    """Map one rule and send its update under its record's state; returns the rule's outcome."""
    plan = plan_update(rule, delivery.body, delivery.headers)
    return send_planned_update(plan, rule, delivery, document.connection, services,
                               missed_before=missed_before, mapping_version=document.version,
                               end=end)


def _searched_in_vain(known: dict[str, Any], rule: str) -> bool:
    """Whether this rule's search already found nothing on an earlier attempt."""
    outcome = (known.get("rules") or {}).get(rule)
    return isinstance(outcome, dict) and outcome.get("code") == RECORD_NOT_FOUND


def _rule_error(exc: Exception, rule: str) -> DeliveryError:
    """What a rule's failure means for the delivery, naming the rule."""
    if isinstance(exc, DeliveryError):
        return type(exc)(replace(exc.failure, rule=rule))
    if isinstance(exc, MappingError):
        return PermanentDeliveryError(Failure(
            code="MAPPING_ERROR", message=exc.message, api_name=exc.field or None,
            rule=rule, path=exc.path or None,
            details={"value_type": exc.value_type} if exc.value_type else {}))
    return PermanentDeliveryError(_internal_failure(exc, rule))


def _record_rule(
    services: WorkerServices, delivery: QueuedDelivery, rule: str, outcome: dict[str, Any]
) -> None:
    # A second receive of the same message never undoes a rule the first finished.
    services.ledger.update_unless_final(
        delivery.source, delivery.delivery_id, {}, rule_outcomes={rule: outcome})


def _finish(
    delivery: QueuedDelivery, status: str, attempt: Attempt, services: WorkerServices,
    now: float, document: MappingDocument | None, *, written: bool = False,
) -> str:
    """Count and log the delivery's end, and write it unless the last rule's write did."""
    try:
        if not written:
            services.ledger.update(delivery.source, delivery.delivery_id,
                                   _end_fields(status, attempt, now, document))
    except UnavailableError as exc:
        # The rules' outcomes are recorded: the next receive sends nothing again.
        logger.warning("could not record the delivery's end; the message will be retried")
        raise RetryLaterError(str(exc)) from exc
    count(OUTCOME_METRICS[status])
    logger.info("delivery finished", extra={"status": status, "attempt": attempt.number})
    return status


def _retry_later(
    delivery: QueuedDelivery, failure: Failure, attempt: Attempt, services: WorkerServices,
    now: float, document: MappingDocument | None, *, total_attempts: int, at_least: float = 0,
) -> str:
    """Back off after failed attempt ``attempt.number`` (waits not counted), ``at_least`` s."""
    seconds = max(math.ceil(at_least), next_visibility_timeout(
        attempt.number, services.retry_base_seconds, services.retry_cap_seconds, services.draw()
    ))
    try:
        services.queue.delay(attempt.receipt_handle, seconds)
        services.ledger.update_unless_final(delivery.source, delivery.delivery_id, {
            **_attempt_fields(replace(attempt, number=total_attempts), now, document),
            "status": QUEUED, "last_error": failure.to_dict(), "next_attempt_at": now + seconds,
        })
    except UnavailableError:
        logger.warning("could not record the retry; the queue's own timeout applies")
    logger.warning("delivery will be retried", extra={
        "code": failure.code, "attempt": attempt.number, "delay_seconds": seconds})
    raise RetryLaterError(f"{failure.code}: retry in {seconds}s")


def _wait(
    delivery: QueuedDelivery, failure: Failure, attempt: Attempt, received: int, waits: int,
    services: WorkerServices, now: float, document: MappingDocument | None,
) -> str:
    """Wait out a limit: a longer delay, and no attempt used up.

    A message received almost as often as the queue's redrive allows would
    go to the dead-letter queue on its next receive, without the ledger
    knowing; it is sent again as a new message instead (the old one is deleted
    once this returns), carrying the attempts made so far.
    """
    at_least = float(failure.details.get("retry_after_seconds") or 0)
    seconds = wait_visibility_timeout(
        waits, services.retry_base_seconds, services.retry_cap_seconds, services.draw(), at_least)
    fields = {**_attempt_fields(attempt, now, document), "status": QUEUED, "waits": waits,
              "last_error": failure.to_dict(), "next_attempt_at": now + seconds}
    logger.warning("delivery waits", extra={
        "code": failure.code, "attempt": attempt.number, "delay_seconds": seconds})
    if received >= QUEUE_MAX_RECEIVE_COUNT - 1:
        again = replace(delivery, prior_attempts=attempt.number,
                        first_sent_at=attempt.first_sent_at)
        try:
            services.queue.send(again.to_message(), delay_seconds=seconds)
        except UnavailableError as exc:
            raise RetryLaterError(str(exc)) from exc
        try:
            services.ledger.update_unless_final(delivery.source, delivery.delivery_id, fields)
        except UnavailableError:
            logger.warning("could not record the wait; the new message carries the delivery")
        count(DELIVERIES_RETRIED)
        return QUEUED
    try:
        services.queue.delay(attempt.receipt_handle, seconds)
        services.ledger.update_unless_final(delivery.source, delivery.delivery_id, fields)
    except UnavailableError:
        logger.warning("could not record the wait; the queue's own timeout applies")
    raise RetryLaterError(f"{failure.code}: wait {seconds}s")


def _dead_letter(
    delivery: QueuedDelivery, failure: Failure, status: str, attempt: Attempt,
    services: WorkerServices, now: float, document: MappingDocument | None,
) -> str:
    try:
        services.dead_letters.send(delivery.to_message(), {
            "source": delivery.source, "delivery_id": delivery.delivery_id,
            "failure_code": failure.code, "failure": _json(failure), "status": status,
        })
        # Unless another receive of the same message finished it meanwhile.
        services.ledger.update_unless_final(delivery.source, delivery.delivery_id, {
            **_attempt_fields(attempt, now, document), "status": status,
            "last_error": failure.to_dict(), "next_attempt_at": None,
        })
    except UnavailableError as exc:
        # Not yet safe to drop the message: it comes back and ends here again.
        raise RetryLaterError(str(exc)) from exc
    count(OUTCOME_METRICS[status])
    logger.error("delivery dead-lettered", extra={
        "status": status, "code": failure.code, "api_name": failure.api_name,
        "rule": failure.rule, "details": failure.details, "attempt": attempt.number})
    return status


def _dead_letter_malformed(text: str, services: WorkerServices) -> str:
    failure = Failure(code="MALFORMED_MESSAGE", message="the queue message is not a delivery")
    try:
        services.dead_letters.send(
            {"raw": text[:1024]}, {"failure_code": failure.code, "failure": _json(failure)})
    except UnavailableError as exc:
        raise RetryLaterError(str(exc)) from exc
    count(DELIVERIES_FAILED)
    logger.error("dead-lettered a malformed queue message", extra={"code": failure.code})
    return FAILED


def _json(failure: Failure) -> str:
    return json.dumps(failure.to_dict(), separators=(",", ":"))
