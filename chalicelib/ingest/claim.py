"""Recording a delivery so that it is queued once, even by racing requests (I/O: ledger).

The first request for a delivery id creates its ledger item, ``received`` and
claimed by that request; only the claimant queues it. A request that finds the
item already there:

- finished or queued: it is a duplicate;
- ``received`` with a live claim: another request is queueing it right now
  (two identical requests at the same moment); it waits, polling, for that
  request's outcome: ``queued`` makes it a duplicate, a released claim (the other
  request's enqueue failed and it answered 503) lets it claim the item and queue
  it itself. If the other request neither finishes nor releases in time, the
  answer is 503, never ``duplicate``, since nothing may yet be queued;
- ``received`` with no live claim (released, or older than the lease: its
  request died): it claims the item with a conditional write and queues it.

A claim is a random token; DynamoDB's condition makes only one claim win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.delivery.message import RECEIVED
from chalicelib.errors import UnavailableError
from chalicelib.stores.ledger import Ledger

# Longer than a request may run (API Gateway gives up after 29 s), so a claim this
# old belongs to a request that died between recording and queueing.
CLAIM_LEASE_SECONDS = 60.0
# How long a request waits for a racing twin to finish, and how often it looks.
CLAIM_WAIT_SECONDS = 3.0
CLAIM_POLL_SECONDS = 0.05
# What a request that takes over a 'received' item copies from its own outcome,
# when the mapping changed since and the delivery is now ignored or failed.
_OUTCOME_KEYS = ("status", "updated_at", "mapping_version", "matched_rules", "last_error")


def record_delivery(
    ledger: Ledger,
    item: dict[str, Any],
    token: str,
    now: float,
    sleep: Callable[[float], None],
) -> bool:
    """Record ``item``; True when this request now holds the delivery, False when it is known.

    Raises ``UnavailableError`` when another request holds it and neither queued nor
    released it within ``CLAIM_WAIT_SECONDS``.
    """
    source, delivery_id = item["source"], item["delivery_id"]
    if item["status"] == RECEIVED:
        item = {**item, "claimed_by": token, "claimed_at": now}
    waited = 0.0
    while True:
        if ledger.create(item):
            return True
        known = ledger.get(source, delivery_id)
        if known is not None:
            if known.get("status") != RECEIVED:
                return False
            if ledger.claim(source, delivery_id, token, now, now - CLAIM_LEASE_SECONDS):
                if item["status"] != RECEIVED:  # the mapping changed: no longer to be queued
                    ledger.update(source, delivery_id,
                                  {key: item[key] for key in _OUTCOME_KEYS if key in item})
                return True
        if waited >= CLAIM_WAIT_SECONDS:
            raise UnavailableError(
                f"the delivery {delivery_id[:64]!r} is being recorded by another request")
        sleep(CLAIM_POLL_SECONDS)
        waited += CLAIM_POLL_SECONDS


def release_delivery(ledger: Ledger, item: dict[str, Any], token: str) -> None:
    """Give up this request's claim (its enqueue failed), so that the provider's retry takes it."""
    try:
        ledger.release(item["source"], item["delivery_id"], token)
    except UnavailableError:
        pass  # the claim then lapses after CLAIM_LEASE_SECONDS
