"""Replay: archived deliveries run again through the current mapping (SPEC 9).

The one implementation of a replay, over the store adapters (the archive, the
ledger, the deliveries queue), so that the CLI (``zwa replay``), the console
and the tests call the same code. No I/O of its own beyond those adapters.

A replay is a new attempt of the same delivery, whatever its status:

1. the delivery's ledger item keeps what it ended as (status, each rule's
   outcome, the error) in ``replay_history``, counts ``replays``, and is set
   back to ``queued`` with no rule done, on the condition that its status is
   still the one read (a delivery still on its way is not replayed, and two
   replays at once reopen it once);
2. the archived payload and headers are sent to the deliveries queue as a new
   message, the way a redrive sends a dead letter back (``zwa.dlq.send_back``);
3. the worker runs it with the current mapping. The ordering guard and the
   credit saver apply as to any delivery: a rule whose body equals the last one
   applied to its record sends no PUT and ends ``unchanged``.

``zwa.dlq.wait_for_outcomes`` follows them in the ledger, as it does a redrive.

A delivery whose archive expired (or was never kept) is reported so, never
guessed. ``dry_run`` previews instead: the requests the current mapping makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.delivery.message import FINAL_STATUSES, QUEUED, QueuedDelivery
from chalicelib.errors import UnavailableError
from chalicelib.mapping.document import MappingDocument
from chalicelib.mapping.preview import Preview, preview_delivery
from chalicelib.stores.archive import ArchivedDelivery, DeliveryArchive
from chalicelib.stores.ledger import Ledger
from chalicelib.stores.queues import Queue
from zwa.dlq import send_back

NOT_REPLAYED = "not replayed"
# The ledger keeps at most this many earlier outcomes of one delivery.
MAX_HISTORY = 20


@dataclass(frozen=True)
class ReplaySelection:
    """Which archived deliveries of one source: these ids, or those received in a window."""

    source: str
    delivery_ids: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    status: str | None = None  # only deliveries whose ledger status is this


@dataclass
class Replayed:
    """What became of one chosen delivery: sent again (and how it ended) or not, and why."""

    source: str
    delivery_id: str
    outcome: str  # queued | not replayed
    detail: str = ""
    previous: str | None = None  # the status it had before the replay
    status: str | None = None  # its status once the replay ended
    last_error: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.delivery_id

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "delivery_id": self.delivery_id, "outcome": self.outcome,
                "detail": self.detail, "previous_status": self.previous,
                "new_status": self.status, "last_error": self.last_error or None}


def choose(
    archive: DeliveryArchive, ledger: Ledger, selection: ReplaySelection, now: float
) -> tuple[list[ArchivedDelivery], list[Replayed]]:
    """The archived deliveries to replay, and the chosen ones that cannot be (with why).

    The ledger is read once for each chosen id, or once for the whole window.
    """
    source = selection.source
    found: list[ArchivedDelivery] = []
    missing: list[Replayed] = []
    items: dict[str, dict[str, Any] | None] = {}  # the ledger items read
    if selection.delivery_ids:
        for delivery_id in dict.fromkeys(selection.delivery_ids):
            archived = archive.get(source, delivery_id, now)
            if archived is None:
                items[delivery_id] = ledger.get(source, delivery_id)
                missing.append(Replayed(source, delivery_id, NOT_REPLAYED,
                                        why_not_archived(items[delivery_id], now)))
            else:
                found.append(archived)
    else:
        found = archive.between(source, selection.since, selection.until, now)
        recent = ledger.recent(source, limit=10_000)
        items.update((str(item["delivery_id"]), item) for item in recent)
        missing = _expired_in_window(recent, selection, now, {d.delivery_id for d in found})
    if selection.status is None:
        return found, missing

    def status(delivery_id: str) -> Any:
        if delivery_id not in items:
            items[delivery_id] = ledger.get(source, delivery_id)
        return (items[delivery_id] or {}).get("status")

    return [d for d in found if status(d.delivery_id) == selection.status], missing


def why_not_archived(item: Mapping[str, Any] | None, now: float) -> str:
    """Why a delivery has no archived payload, from what its ledger item says."""
    if item is None:
        return "no such delivery in the ledger"
    until = item.get("archived_until")
    if until is None:
        return "its payload was not archived (the source's archive is off, or it was not queued)"
    if float(until) <= now:
        return "its archived payload has expired"
    return "its archived payload is missing"


def replay(
    archive: DeliveryArchive, queue: Queue, ledger: Ledger, selection: ReplaySelection,
    now: float, *, progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[Replayed]:
    """Send the chosen archived deliveries through the queue again; what became of each."""
    chosen, results = choose(archive, ledger, selection, now)
    for index, archived in enumerate(chosen, start=1):
        results.append(_replay_one(queue, ledger, archived, now))
        progress(index, len(chosen))
    return results


def dry_run(
    archive: DeliveryArchive, ledger: Ledger, document: MappingDocument,
    selection: ReplaySelection, now: float,
) -> tuple[list[Preview], list[Replayed]]:
    """What the current mapping would send for each chosen delivery; nothing is written."""
    chosen, missing = choose(archive, ledger, selection, now)
    previews = [preview_delivery(document, d.body, {k.lower(): v for k, v in d.headers.items()},
                                 None) for d in chosen]
    return previews, missing


def summary(results: list[Replayed]) -> dict[str, int]:
    """How many ended each way: the final status, or 'not replayed', or 'not finished'."""
    counts: dict[str, int] = {}
    for result in results:
        key = result.status or (NOT_REPLAYED if result.outcome != QUEUED else "not finished")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _replay_one(queue: Queue, ledger: Ledger, archived: ArchivedDelivery,
                now: float) -> Replayed:
    source, delivery_id = archived.source, archived.delivery_id
    result = Replayed(source, delivery_id, NOT_REPLAYED)
    try:
        # Read again here, not when chosen: the reopening keeps what the delivery ended as.
        item = ledger.get(source, delivery_id)
        if item is None:
            result.detail = "no such delivery in the ledger any more"
            return result
        result.previous = previous = str(item.get("status"))
        if previous not in FINAL_STATUSES:
            result.detail = f"the delivery is still {previous}; replay it once it has ended"
            return result
        reopened = reopened_for_replay(item, now)
        if not ledger.update_if_status(source, delivery_id, previous, reopened):
            result.detail = "the delivery changed meanwhile (another replay?); not replayed"
            return result
    except UnavailableError as exc:
        result.detail = f"not sent: {exc}"
        return result
    try:
        send_back(queue, QueuedDelivery(source, delivery_id, archived.received_at,
                                        archived.headers, archived.body))
    except UnavailableError as exc:
        # Undo the reopening: every change it made, back to what the item held.
        restored = {key: item.get(key) for key in reopened} | {"updated_at": now}
        ledger.update_if_status(source, delivery_id, QUEUED, restored)
        result.detail = f"not sent: {exc}"
        return result
    result.outcome = QUEUED
    return result


def reopened_for_replay(item: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The ledger changes that make a finished delivery a new attempt (history kept)."""
    ended = {"status": item.get("status"), "at": item.get("updated_at"),
             "mapping_version": item.get("mapping_version"),
             "rules": {name: {k: v for k, v in outcome.items()
                              if k in ("outcome", "code", "record_id", "module")}
                       for name, outcome in (item.get("rules") or {}).items()
                       if isinstance(outcome, dict)}}
    error = item.get("last_error")
    if isinstance(error, dict) and error.get("code"):
        ended["error"] = {k: error[k] for k in ("code", "api_name", "expected_data_type")
                          if error.get(k)}
    history = [*list(item.get("replay_history") or []), ended][-MAX_HISTORY:]
    return {"status": QUEUED, "rules": {}, "replays": int(item.get("replays") or 0) + 1,
            "replay_history": history, "replayed_at": now, "updated_at": now,
            "last_error": None, "waits": 0, "next_attempt_at": None}


def _expired_in_window(items: Iterable[Mapping[str, Any]], selection: ReplaySelection,
                       now: float, found: set[str]) -> list[Replayed]:
    """Ledger items received in the window whose archived payload has expired."""
    expired = []
    for item in items:
        received = float(item.get("received_at") or 0)
        until = item.get("archived_until")
        if (until is None or float(until) > now or item.get("delivery_id") in found
                or (selection.since is not None and received < selection.since)
                or (selection.until is not None and received > selection.until)
                or (selection.status is not None and item.get("status") != selection.status)):
            continue
        expired.append(Replayed(selection.source, str(item["delivery_id"]), NOT_REPLAYED,
                                why_not_archived(item, now)))
    return expired
