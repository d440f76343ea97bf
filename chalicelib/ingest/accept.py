"""Accepting one webhook: check, verify, parse, dedupe, record and queue it.

The order of the checks is the order of the status table (SPEC section 2), and
the rule behind every answer: 2xx only once the delivery is durable (queued, or
already known), 5xx when it could not be made durable, 4xx only when retrying
the same request can never help. A payload that the mapping's ``when`` cannot
be evaluated on is recorded as ``failed`` and answered 200: retrying it cannot
help either, and the ledger says why.

With ``each``, one request holds several deliveries (HubSpot's batches): every
item is checked first (its delivery id, its size on the queue), so that a 4xx
records nothing; then each is deduped, recorded and queued on its own, with
rules evaluated on the item. A failure to queue one item answers 503 after the
others were queued: the provider's retry finds those known (``duplicate``) and
queues only what is missing. I/O goes through the injected adapters.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from chalicelib.delivery.message import FAILED, IGNORED, QUEUED, RECEIVED, QueuedDelivery
from chalicelib.errors import (
    Failure,
    PayloadTooLargeError,
    UnavailableError,
    UnknownSourceError,
)
from chalicelib.ingest.authenticate import FRESH_KEYS_INTERVAL_SECONDS, authenticate
from chalicelib.ingest.body import check_body_size, check_media_type, parse_body
from chalicelib.ingest.claim import record_delivery, release_delivery
from chalicelib.ingest.request import WebhookRequest
from chalicelib.mapping.document import MappingDocument, Rule, is_source_name
from chalicelib.mapping.engine import (
    MAX_DELIVERY_ID_BYTES,
    MAX_EACH_ITEMS,
    batch_items,
    delivery_id_of,
    matching_rules,
)
from chalicelib.mapping.expressions import ExpressionEvaluationError
from chalicelib.observability import logger
from chalicelib.stores.archive import ArchivedDelivery, DeliveryArchive, fits_archive
from chalicelib.stores.ledger import Ledger
from chalicelib.stores.mappings import MappingCache
from chalicelib.stores.queues import MessageTooLargeError, Queue, encode_message
from chalicelib.stores.secrets import SecretStore
from chalicelib.values import frozen

__all__ = [
    "DUPLICATE",
    "FRESH_KEYS_INTERVAL_SECONDS",
    "MAX_DELIVERY_ID_BYTES",
    "MAX_EACH_ITEMS",
    "Accepted",
    "AcceptedBatch",
    "IngestServices",
    "WebhookRequest",
    "accept_webhook",
]

DUPLICATE = "duplicate"
DAY = 86400
# A batch's answer names its status by the first of these that any item has.
_BATCH_STATUS_ORDER = (QUEUED, FAILED, IGNORED, DUPLICATE)


@frozen
class Accepted:
    """The answer to a webhook (or one item of a batch) that was not refused."""

    delivery_id: str
    status: str  # queued | duplicate | ignored | failed

    @property
    def http_status(self) -> int:
        """202 for a newly queued delivery, 200 for one already known, ignored or failed."""
        return 202 if self.status == QUEUED else 200

    @property
    def statuses(self) -> tuple[str, ...]:
        """Each delivery's status (one here)."""
        return (self.status,)

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        return {"delivery_id": self.delivery_id, "status": self.status}


@frozen
class AcceptedBatch:
    """The answer to a webhook whose body held several deliveries (``each``)."""

    deliveries: tuple[Accepted, ...]

    @property
    def status(self) -> str:
        """``queued`` when any item was, else the first of failed, ignored, duplicate."""
        present = set(self.statuses)
        return next((status for status in _BATCH_STATUS_ORDER if status in present), IGNORED)

    @property
    def http_status(self) -> int:
        """202 when any item was queued, else 200."""
        return 202 if self.status == QUEUED else 200

    @property
    def statuses(self) -> tuple[str, ...]:
        """Each delivery's status, in the order of the body."""
        return tuple(item.status for item in self.deliveries)

    def body(self) -> dict[str, Any]:
        """The JSON answer: the overall status and each item's id and status."""
        return {"status": self.status, "deliveries": [item.body() for item in self.deliveries]}


@frozen
class IngestServices:
    """What accepting a webhook needs from the outside world."""

    mappings: MappingCache
    secrets: SecretStore
    ledger: Ledger
    queue: Queue
    ledger_ttl_days: int = 14
    # When each signing secret was last read afresh in this container.
    fresh_key_reads: dict[str, float] = field(default_factory=dict)
    # Waiting for a racing request with the same delivery id (see ingest.claim).
    sleep: Callable[[float], None] = time.sleep
    new_token: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    # Where accepted payloads are kept for replay (SPEC 9); None: nowhere.
    archive: DeliveryArchive | None = None


@frozen
class _Planned:
    """One delivery checked and ready to record: its ledger item and queue message."""

    item: dict[str, Any]
    message: dict[str, Any] | None  # None: nothing to queue (ignored or failed)
    archived: ArchivedDelivery | None = None  # what the archive keeps, if anything


def accept_webhook(
    request: WebhookRequest, services: IngestServices, now: float
) -> Accepted | AcceptedBatch:
    """Accept ``request`` or raise an ``IngestError`` (4xx) or ``UnavailableError`` (503)."""
    document = _enabled_mapping(request.source, services.mappings)
    check_body_size(request.raw_body, document.max_body_bytes)
    headers = request.lower_headers
    check_media_type(headers.get("content-type"))
    authenticate(document, request, services.secrets, services.fresh_key_reads, now)
    body = parse_body(request.raw_body, headers.get("content-type"))
    if document.each is None:
        planned = _plan(document, body, headers, now, services.ledger_ttl_days,
                        delivery_id_of(document, body, headers, request.raw_body))
        return _deliver(planned, services, now)
    plans = [
        _plan(document, item, headers, now, services.ledger_ttl_days,
              delivery_id_of(document, item, headers, request.raw_body))
        for item in batch_items(document, body, headers)
    ]
    return AcceptedBatch(tuple(_deliver(planned, services, now) for planned in plans))


def _enabled_mapping(source: str, mappings: MappingCache) -> MappingDocument:
    # A name no mapping can have is not looked up: DynamoDB would refuse a key
    # that long as a 400 of its own, and that is no reason for a 503.
    document = mappings.get(source) if is_source_name(source) else None
    if document is None or not document.enabled:
        raise UnknownSourceError(f"no enabled mapping for the source {source[:64]!r}")
    return document


def _plan(
    document: MappingDocument,
    body: Any,
    headers: Mapping[str, str],
    now: float,
    ttl_days: int,
    delivery_id: str,
) -> _Planned:
    rules, failure = _matching_rules(document, body, headers)
    status = FAILED if failure else RECEIVED if rules else IGNORED
    item: dict[str, Any] = {
        "source": document.source,
        "delivery_id": delivery_id,
        "status": status,
        "received_at": now,
        "updated_at": now,
        "expires_at": int(now) + ttl_days * DAY,
        "attempts": 0,
        "mapping_version": document.version,
        "matched_rules": [rule.name for rule in rules],
        "rules": {},
    }
    if failure is not None:
        item["last_error"] = failure.to_dict()
    if status != RECEIVED:
        return _Planned(item, None)
    forwarded = _forwarded_headers(document, headers)
    message = QueuedDelivery(document.source, delivery_id, now, forwarded, body).to_message()
    try:
        encode_message(message)  # before anything is written: a 413 leaves no trace
    except MessageTooLargeError as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    archived = None
    if document.archive_days:
        archived = ArchivedDelivery(document.source, delivery_id, now,
                                    now + document.archive_days * DAY, forwarded, body)
        if fits_archive(archived):
            item["archived_until"] = int(archived.expires_at)
        else:
            logger.warning("payload too large for the archive; not kept for replay")
            archived = None
    return _Planned(item, message, archived)


def _deliver(planned: _Planned, services: IngestServices, now: float) -> Accepted:
    item = planned.item
    delivery_id = item["delivery_id"]
    token = services.new_token()
    if not record_delivery(services.ledger, item, token, now, services.sleep):
        return Accepted(delivery_id, DUPLICATE)
    if planned.message is None:
        return Accepted(delivery_id, item["status"])
    try:
        _archive(planned.archived, services)
        services.queue.send(planned.message)
    except MessageTooLargeError as exc:  # the check above makes this a queue of other limits
        release_delivery(services.ledger, item, token)
        raise PayloadTooLargeError(str(exc)) from exc
    except UnavailableError:
        # Nothing was queued: the provider's retry may take the delivery at once.
        release_delivery(services.ledger, item, token)
        raise
    try:
        # Conditional: the worker may have applied the delivery already, and its
        # outcome must not be set back to 'queued'.
        services.ledger.mark_queued(item["source"], delivery_id, now)
    except UnavailableError:
        # The message is on the queue, so the delivery is durable: answer 202.
        # The worker moves the item on from 'received' when it applies it.
        pass
    return Accepted(delivery_id, QUEUED)


def _archive(archived: ArchivedDelivery | None, services: IngestServices) -> None:
    """Keep the payload for replay before it is queued: a 503 then loses nothing."""
    if archived is not None and services.archive is not None:
        services.archive.put(archived)


def _matching_rules(
    document: MappingDocument, body: Any, headers: Mapping[str, str]
) -> tuple[list[Rule], Failure | None]:
    """The matching rules, or the failure of a ``when`` that cannot be evaluated."""
    try:
        return matching_rules(document, body, headers), None
    except ExpressionEvaluationError as exc:
        rule = next(
            (r.name for r in document.rules if r.when and r.when.text == exc.expression), None
        )
        return [], Failure(
            code="MAPPING_ERROR",
            message=f"rule {rule!r}: when ({exc.expression}) cannot be evaluated on this "
            f"payload: {exc.reason}",
            rule=rule,
            path=exc.expression,
        )


def _forwarded_headers(document: MappingDocument, headers: Mapping[str, str]) -> dict[str, str]:
    """Only the headers the mapping reads travel on (the queue and dead letters keep them)."""
    return {name: headers[name] for name in document.header_names if name in headers}
