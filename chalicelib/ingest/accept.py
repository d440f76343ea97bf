"""Accepting one webhook: check, verify, parse, dedupe, record and queue it.

The order of the checks is the order of the status table (SPEC section 2), and
the rule behind every answer: 2xx only once the delivery is durable (queued, or
already known), 5xx when it could not be made durable, 4xx only when retrying
the same request can never help. I/O goes through the injected adapters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.delivery.message import IGNORED, QUEUED, RECEIVED, QueuedDelivery
from chalicelib.errors import (
    MalformedPayloadError,
    PayloadTooLargeError,
    UnavailableError,
    UnknownSourceError,
)
from chalicelib.ingest.body import check_media_type, parse_body
from chalicelib.ingest.signatures import signing_keys, verify_signature
from chalicelib.mapping.document import MappingDocument
from chalicelib.mapping.engine import matching_rules
from chalicelib.stores.ledger import Ledger
from chalicelib.stores.mappings import MappingCache
from chalicelib.stores.queues import MessageTooLargeError, Queue
from chalicelib.stores.secrets import SecretStore

# Not carried to the worker: credentials, and what only the signature check needs.
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
DAY = 86400


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
    status: str  # queued | duplicate | ignored

    @property
    def http_status(self) -> int:
        """202 for a newly queued delivery, 200 for one already known or ignored."""
        return 202 if self.status == QUEUED else 200


@dataclass(frozen=True)
class IngestServices:
    """What accepting a webhook needs from the outside world."""

    mappings: MappingCache
    secrets: SecretStore
    ledger: Ledger
    queue: Queue
    ledger_ttl_days: int = 14


def accept_webhook(request: WebhookRequest, services: IngestServices, now: float) -> Accepted:
    """Accept ``request`` or raise an ``IngestError`` (4xx) or ``UnavailableError`` (503)."""
    document = services.mappings.get(request.source)
    if document is None or not document.enabled:
        raise UnknownSourceError(f"no enabled mapping for the source {request.source!r}")
    if len(request.raw_body) > document.max_body_bytes:
        raise PayloadTooLargeError(
            f"the body is {len(request.raw_body)} bytes; this source takes at most "
            f"{document.max_body_bytes}"
        )
    headers = request.lower_headers
    check_media_type(headers.get("content-type"))
    verify_signature(
        document.verify, _keys(document, services.secrets), headers, request.raw_body, now
    )
    body = parse_body(request.raw_body, headers.get("content-type"))
    delivery_id = _delivery_id(document, body, headers, request.raw_body)
    rules = matching_rules(document, body, headers)
    item = {
        "source": document.source,
        "delivery_id": delivery_id,
        "status": RECEIVED if rules else IGNORED,
        "received_at": now,
        "updated_at": now,
        "expires_at": int(now) + services.ledger_ttl_days * DAY,
        "attempts": 0,
        "mapping_version": document.version,
        "matched_rules": [rule.name for rule in rules],
        "rules": {},
    }
    if not services.ledger.create(item):
        known = services.ledger.get(document.source, delivery_id)
        # A 'received' item whose enqueue was never confirmed (the last try ended in
        # a 503) is queued again; the worker applies a delivery once either way.
        if known is None or known.get("status") != RECEIVED:
            return Accepted(delivery_id, "duplicate")
    if not rules:
        return Accepted(delivery_id, IGNORED)
    delivery = QueuedDelivery(
        document.source, delivery_id, now, _forwarded_headers(document, headers), body
    )
    try:
        services.queue.send(delivery.to_message())
    except MessageTooLargeError as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    try:
        services.ledger.update(
            document.source, delivery_id, {"status": QUEUED, "updated_at": now}
        )
    except UnavailableError:
        # The message is on the queue, so the delivery is durable: answer 202.
        # The worker moves the item on from 'received' when it applies it.
        pass
    return Accepted(delivery_id, QUEUED)


def _keys(document: MappingDocument, secrets: SecretStore) -> list[bytes]:
    if document.verify.scheme == "none" or not document.verify.secret_id:
        return []
    secret = secrets.get(document.verify.secret_id)
    try:
        return signing_keys(secret)
    except ValueError as exc:
        raise UnavailableError(
            f"the signing secret {document.verify.secret_id} is not in a known form"
        ) from exc


def _delivery_id(
    document: MappingDocument, body: Any, headers: Mapping[str, str], raw: bytes
) -> str:
    if document.delivery_id is None:
        return hashlib.sha256(raw).hexdigest()
    value = document.delivery_id.evaluate(body, headers)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise MalformedPayloadError(
            f"the delivery id ({document.delivery_id.text}) is missing from the request"
        )
    text = str(value).strip()
    if len(text) > 512:
        raise MalformedPayloadError("the delivery id is longer than 512 characters")
    return text


def _forwarded_headers(document: MappingDocument, headers: Mapping[str, str]) -> dict[str, str]:
    private = set(_PRIVATE_HEADERS)
    for name in (document.verify.header, document.verify.timestamp_header):
        if name:
            private.add(name.lower())
    return {
        name: value for name, value in headers.items()
        if name not in private and not name.startswith(("x-amz", "cloudfront-"))
    }
