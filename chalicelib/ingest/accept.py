"""Accepting one webhook: check, verify, parse, dedupe, record and queue it.

The order of the checks is the order of the status table (SPEC section 2), and
the rule behind every answer: 2xx only once the delivery is durable (queued, or
already known), 5xx when it could not be made durable, 4xx only when retrying
the same request can never help. A payload that the mapping's ``when`` cannot
be evaluated on is recorded as ``failed`` and answered 200: retrying it cannot
help either, and the ledger says why. I/O goes through the injected adapters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.delivery.message import FAILED, IGNORED, QUEUED, RECEIVED, QueuedDelivery
from chalicelib.errors import (
    Failure,
    MalformedPayloadError,
    PayloadTooLargeError,
    UnavailableError,
    UnknownSourceError,
)
from chalicelib.ingest.body import check_media_type, parse_body
from chalicelib.ingest.signatures import SignatureMismatchError, signing_keys, verify_signature
from chalicelib.mapping.document import MappingDocument, Rule, is_source_name
from chalicelib.mapping.engine import matching_rules
from chalicelib.mapping.expressions import ExpressionEvaluationError
from chalicelib.stores.ledger import Ledger
from chalicelib.stores.mappings import MappingCache
from chalicelib.stores.queues import MessageTooLargeError, Queue
from chalicelib.stores.secrets import SecretStore

DUPLICATE = "duplicate"
DAY = 86400
# The ledger's sort key; DynamoDB takes up to 1,024 bytes, and ids are kept well under.
MAX_DELIVERY_ID_BYTES = 512
# A signature that fails with the cached keys is checked once more with keys read
# afresh, so that a rotated secret takes effect at once; at most once per secret
# in this interval, so that forged signatures cannot become Secrets Manager calls.
FRESH_KEYS_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as it arrived: the source from the URL, headers, the raw body bytes."""

    source: str
    headers: Mapping[str, str]
    raw_body: bytes

    @property
    def lower_headers(self) -> dict[str, str]:
        """Headers by lower-cased name."""
        return {name.lower(): value for name, value in self.headers.items()}


@dataclass(frozen=True)
class Accepted:
    """The answer to a webhook that was not refused."""

    delivery_id: str
    status: str  # queued | duplicate | ignored | failed

    @property
    def http_status(self) -> int:
        """202 for a newly queued delivery, 200 for one already known, ignored or failed."""
        return 202 if self.status == QUEUED else 200


@dataclass(frozen=True)
class IngestServices:
    """What accepting a webhook needs from the outside world."""

    mappings: MappingCache
    secrets: SecretStore
    ledger: Ledger
    queue: Queue
    ledger_ttl_days: int = 14
    # When each signing secret was last read afresh in this container.
    fresh_key_reads: dict[str, float] = field(default_factory=dict)


def accept_webhook(request: WebhookRequest, services: IngestServices, now: float) -> Accepted:
    """Accept ``request`` or raise an ``IngestError`` (4xx) or ``UnavailableError`` (503)."""
    document = _enabled_mapping(request.source, services.mappings)
    if len(request.raw_body) > document.max_body_bytes:
        raise PayloadTooLargeError(
            f"the body is {len(request.raw_body)} bytes; this source takes at most "
            f"{document.max_body_bytes}"
        )
    headers = request.lower_headers
    check_media_type(headers.get("content-type"))
    _verify(document, services, headers, request.raw_body, now)
    body = parse_body(request.raw_body, headers.get("content-type"))
    delivery_id = _delivery_id(document, body, headers, request.raw_body)
    rules, failure = _matching_rules(document, body, headers)
    status = FAILED if failure else RECEIVED if rules else IGNORED
    item: dict[str, Any] = {
        "source": document.source,
        "delivery_id": delivery_id,
        "status": status,
        "received_at": now,
        "updated_at": now,
        "expires_at": int(now) + services.ledger_ttl_days * DAY,
        "attempts": 0,
        "mapping_version": document.version,
        "matched_rules": [rule.name for rule in rules],
        "rules": {},
    }
    if failure is not None:
        item["last_error"] = failure.to_dict()
    if not _record(services.ledger, item):
        return Accepted(delivery_id, DUPLICATE)
    if status != RECEIVED:
        return Accepted(delivery_id, status)
    delivery = QueuedDelivery(
        document.source, delivery_id, now, _forwarded_headers(document, headers), body
    )
    try:
        services.queue.send(delivery.to_message())
    except MessageTooLargeError as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    try:
        # Only from 'received': a worker may already have finished the delivery.
        services.ledger.update_if_status(
            document.source, delivery_id, RECEIVED, {"status": QUEUED, "updated_at": now}
        )
    except UnavailableError:
        # The message is on the queue, so the delivery is durable: answer 202.
        # The worker moves the item on from 'received' when it applies it.
        pass
    return Accepted(delivery_id, QUEUED)


def _enabled_mapping(source: str, mappings: MappingCache) -> MappingDocument:
    # A name no mapping can have is not looked up: DynamoDB would refuse a key
    # that long as a 400 of its own, and that is no reason for a 503.
    document = mappings.get(source) if is_source_name(source) else None
    if document is None or not document.enabled:
        raise UnknownSourceError(f"no enabled mapping for the source {source[:64]!r}")
    return document


def _verify(
    document: MappingDocument,
    services: IngestServices,
    headers: Mapping[str, str],
    raw: bytes,
    now: float,
) -> None:
    config = document.verify
    if config.scheme == "none":
        return
    if not config.secret_id:
        raise UnavailableError(f"the mapping of {document.source} names no signing secret")
    try:
        verify_signature(config, _keys(config.secret_id, services), headers, raw, now)
    except SignatureMismatchError:
        # Only a well-formed, fresh signature that no cached key computes may
        # mean a rotation; once per request, and once per secret per interval.
        last = services.fresh_key_reads.get(config.secret_id)
        if last is not None and now - last < FRESH_KEYS_INTERVAL_SECONDS:
            raise
        services.fresh_key_reads[config.secret_id] = now
        keys = _keys(config.secret_id, services, fresh=True)
        verify_signature(config, keys, headers, raw, now)


def _keys(secret_id: str, services: IngestServices, fresh: bool = False) -> list[bytes]:
    secret = services.secrets.get(secret_id, force=fresh)
    try:
        return signing_keys(secret)
    except ValueError as exc:
        # An empty or malformed secret is an operator's mistake, like a missing one.
        raise UnavailableError(
            f"the signing secret {secret_id} is empty or not in a known form"
        ) from exc


def _delivery_id(
    document: MappingDocument, body: Any, headers: Mapping[str, str], raw: bytes
) -> str:
    if document.delivery_id is None:
        return hashlib.sha256(raw).hexdigest()
    expression = document.delivery_id.text
    try:
        value = document.delivery_id.evaluate(body, headers)
    except ExpressionEvaluationError as exc:
        raise MalformedPayloadError(
            f"the delivery id ({expression}) cannot be read from this payload: {exc.reason}"
        ) from exc
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise MalformedPayloadError(
            f"the delivery id ({expression}) is missing from the request"
        )
    text = str(value).strip()
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise MalformedPayloadError(f"the delivery id ({expression}) is not valid text") from exc
    if size > MAX_DELIVERY_ID_BYTES:
        raise MalformedPayloadError(
            f"the delivery id ({expression}) is {size} bytes in UTF-8; "
            f"at most {MAX_DELIVERY_ID_BYTES} bytes are accepted"
        )
    return text


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


def _record(ledger: Ledger, item: dict[str, Any]) -> bool:
    """Write the ledger item; False when the delivery id is already known."""
    if ledger.create(item):
        return True
    known = ledger.get(item["source"], item["delivery_id"])
    # A 'received' item whose enqueue was never confirmed (the last try ended in
    # a 503) is taken up again; the worker applies a delivery once either way.
    if known is None or known.get("status") != RECEIVED:
        return False
    if item["status"] != RECEIVED:  # the mapping changed since: no longer left 'received'
        outcome = ("status", "updated_at", "mapping_version", "matched_rules", "last_error")
        changes: dict[str, Any] = {key: item[key] for key in outcome if key in item}
        ledger.update(item["source"], item["delivery_id"], changes)
    return True


def _forwarded_headers(document: MappingDocument, headers: Mapping[str, str]) -> dict[str, str]:
    """Only the headers the mapping reads travel on (the queue and dead letters keep them)."""
    return {name: headers[name] for name in document.header_names if name in headers}
