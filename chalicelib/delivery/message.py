"""The queued delivery and its ledger statuses: the contract of the api and the worker (pure).

A delivery's status moves ``received`` (recorded, enqueue not yet confirmed) ->
``queued`` -> one of the final statuses; each rule's outcome is recorded too. A
redrive puts a dead-lettered delivery back to ``queued``.

A delivery that waited on Zoho's limits for so long that SQS would move its
message to the dead-letter queue is sent again as a new message, which carries
the attempts made so far (``prior_attempts``) and when it was first sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.values import frozen

RECEIVED = "received"
QUEUED = "queued"
APPLIED = "applied"
UNCHANGED = "unchanged"
IGNORED = "ignored"
STALE = "stale"
FAILED = "failed"
DEAD = "dead"
RETRYING = "retrying"  # a rule's outcome while its delivery waits for the next attempt
FINAL_STATUSES = frozenset({APPLIED, UNCHANGED, IGNORED, STALE, FAILED, DEAD})
# Rule outcomes that are never sent again for the same delivery.
DONE_RULE_OUTCOMES = frozenset({APPLIED, UNCHANGED, STALE})


@frozen
class QueuedDelivery:
    """One accepted webhook: where from, its id, when, the headers kept, the parsed body."""

    source: str
    delivery_id: str
    received_at: float
    headers: Mapping[str, str]
    body: Any
    prior_attempts: int = 0
    first_sent_at: float | None = None

    def to_message(self) -> dict[str, Any]:
        """The JSON object sent on the queue."""
        message = {
            "source": self.source,
            "delivery_id": self.delivery_id,
            "received_at": self.received_at,
            "headers": dict(self.headers),
            "body": self.body,
        }
        if self.prior_attempts:
            message["prior_attempts"] = self.prior_attempts
        if self.first_sent_at is not None:
            message["first_sent_at"] = self.first_sent_at
        return message

    @classmethod
    def from_message(cls, text: str) -> QueuedDelivery:
        """Read a queue message body; ``ValueError`` when it is not a delivery."""
        try:
            message = json.loads(text)
            return cls(
                source=str(message["source"]),
                delivery_id=str(message["delivery_id"]),
                received_at=float(message.get("received_at", 0)),
                headers=dict(message.get("headers") or {}),
                body=message.get("body"),
                prior_attempts=int(message.get("prior_attempts") or 0),
                first_sent_at=(float(message["first_sent_at"])
                               if message.get("first_sent_at") is not None else None),
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise ValueError("the queue message is not a delivery") from exc
