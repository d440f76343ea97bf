"""Dead letters: list them, and send chosen ones back through the current mapping.

The one implementation of a redrive, as functions over the store adapters (a
``QueueReader`` for the dead-letter queue, a ``Queue`` for the deliveries
queue, the ``Ledger``), so that the CLI (``zwa dlq``), a web console and the
tests call the same code. No I/O of its own beyond those adapters.

A redrive, for each chosen message:

1. reopens the delivery in the ledger (``failed``/``dead`` -> ``queued``): the
   worker leaves finished deliveries alone, so without this the message would
   be deleted with no Zoho call. A delivery that ended otherwise (``applied``,
   ``unchanged``, ...) is not sent back and its message stays.
2. sends the delivery to the deliveries queue as a new message (the worker then
   uses the current mapping; rules that already succeeded are not sent again);
3. and only then deletes it from the dead-letter queue. If anything fails
   first, the message stays in the dead-letter queue.

``wait_for_outcomes`` then follows each delivery in the ledger until it ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib.delivery.message import FINAL_STATUSES, QueuedDelivery
from chalicelib.errors import UnavailableError
from chalicelib.stores.ledger import Ledger
from chalicelib.stores.queues import Queue, QueueReader, ReceivedMessage

# How long messages taken from the dead-letter queue stay hidden from others
# while a list or a redrive works on them (those not redriven are shown again).
HIDE_SECONDS = 120
QUEUED = "queued"
NOT_REDRIVEN = "not redriven"
# A message the queue's own redrive moved (no reason attributes): what is known.
MOVED_BY_THE_QUEUE = "RECEIVE_LIMIT"


@dataclass(frozen=True)
class DeadLetter:
    """One message of the dead-letter queue, as an operator sees it."""

    message_id: str
    receipt_handle: str
    source: str | None
    delivery_id: str | None
    reason: str  # the failure code, or RECEIVE_LIMIT, or MALFORMED_MESSAGE
    status: str | None  # failed | dead, as the worker recorded it
    dead_since: float  # when it reached the dead-letter queue (epoch seconds)
    body: str
    api_name: str | None = None

    def to_dict(self, now: float) -> dict[str, Any]:
        """What ``--json`` prints: no body, no receipt handle."""
        return {"source": self.source, "delivery_id": self.delivery_id, "reason": self.reason,
                "api_name": self.api_name, "status": self.status,
                "dead_since": self.dead_since, "age_seconds": round(now - self.dead_since)}


@dataclass(frozen=True)
class Selection:
    """Which dead letters to redrive: one source, some delivery ids, or all of them."""

    source: str | None = None
    delivery_ids: frozenset[str] = frozenset()
    everything: bool = False

    def __post_init__(self) -> None:
        if not (self.source or self.delivery_ids or self.everything):
            raise ValueError("say which dead letters: --source S, --delivery ID or --all")

    def matches(self, letter: DeadLetter) -> bool:
        if self.everything:
            return True
        if self.source is not None and letter.source != self.source:
            return False
        return not self.delivery_ids or letter.delivery_id in self.delivery_ids


@dataclass
class Redriven:
    """What became of one chosen dead letter: sent back (and how it ended) or not, and why."""

    letter: DeadLetter
    outcome: str  # queued | not redriven
    detail: str = ""
    status: str | None = None  # the delivery's ledger status, once final
    last_error: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return str(self.letter.source), str(self.letter.delivery_id)

    def to_dict(self, now: float) -> dict[str, Any]:
        return {**self.letter.to_dict(now), "outcome": self.outcome, "detail": self.detail,
                "new_status": self.status, "last_error": self.last_error or None}


def read_dead_letter(message: ReceivedMessage) -> DeadLetter:
    """A dead-letter queue message as a ``DeadLetter`` (whatever its body holds)."""
    attributes = message.attributes
    source, delivery_id = attributes.get("source"), attributes.get("delivery_id")
    reason = attributes.get("failure_code") or ""
    api_name = None
    try:
        failure = json.loads(attributes.get("failure") or "{}")
        api_name = failure.get("api_name") if isinstance(failure, dict) else None
    except ValueError:
        pass
    try:
        delivery = QueuedDelivery.from_message(message.body)
        source, delivery_id = delivery.source, delivery.delivery_id
    except ValueError:
        reason = reason or "MALFORMED_MESSAGE"
    return DeadLetter(
        message_id=message.message_id, receipt_handle=message.receipt_handle, source=source,
        delivery_id=delivery_id, reason=reason or MOVED_BY_THE_QUEUE,
        status=attributes.get("status"), dead_since=message.sent_at, body=message.body,
        api_name=api_name)


def list_dead_letters(dlq: QueueReader, *, hide_seconds: int = HIDE_SECONDS) -> list[DeadLetter]:
    """Every message of the dead-letter queue, oldest first; all left in the queue."""
    messages = _take_all(dlq, hide_seconds)
    _show_again(dlq, messages)
    return sorted((read_dead_letter(m) for m in messages), key=lambda letter: letter.dead_since)


def redrive(
    dlq: QueueReader, queue: Queue, ledger: Ledger, selection: Selection, now: float, *,
    progress: Callable[[int, int], None] = lambda done, total: None,
    hide_seconds: int = HIDE_SECONDS,
) -> list[Redriven]:
    """Send the chosen dead letters back to the deliveries queue; returns what became of each."""
    messages = _take_all(dlq, hide_seconds)
    chosen = [m for m in messages if selection.matches(read_dead_letter(m))]
    _show_again(dlq, [m for m in messages if m not in chosen])
    results: list[Redriven] = []
    sent: set[tuple[str, str]] = set()
    for index, message in enumerate(chosen, start=1):
        results.append(_redrive_one(dlq, queue, ledger, message, now, sent))
        progress(index, len(chosen))
    return results


class SentBack(Protocol):
    """A delivery a redrive or a replay chose: whether it was queued, and how it ended."""

    outcome: str
    status: str | None
    last_error: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]: ...


def wait_for_outcomes(
    ledger: Ledger, results: Sequence[SentBack], *, timeout: float,
    clock: Callable[[], float], sleep: Callable[[float], None],
    progress: Callable[[int, int], None] = lambda d, t: None, every: float = 0.5,
) -> None:
    """Follow each delivery sent back until its ledger status is final, or ``timeout``."""
    sent = [r for r in results if r.outcome == QUEUED]
    keys = [r.key for r in sent]
    items = follow_deliveries(ledger, keys, timeout=timeout, clock=clock, sleep=sleep,
                              progress=progress, every=every)
    for result, key in zip(sent, keys, strict=True):
        result.status, result.last_error = final_status(items.get(key) or {})


def final_status(item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A ledger item's status once final (else None), and the error a person should see."""
    status = item.get("status")
    error = dict(item.get("last_error") or {})
    if status in FINAL_STATUSES:
        return str(status), error if status in ("failed", "dead") else {}
    return None, error


def follow_deliveries(
    ledger: Ledger, keys: list[tuple[str, str]], *, timeout: float, clock: Callable[[], float],
    sleep: Callable[[float], None], progress: Callable[[int, int], None] = lambda d, t: None,
    every: float = 0.5,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Read each (source, delivery id) until its status is final, or ``timeout``: the last items.

    Used for every delivery sent back through the queue (a redrive, a replay).
    """
    pending, items = list(keys), {}
    total, deadline = len(pending), clock() + timeout
    while True:
        for key in list(pending):
            items[key] = ledger.get(*key) or {}
            if items[key].get("status") in FINAL_STATUSES:
                pending.remove(key)
        progress(total - len(pending), total)
        if not pending or clock() >= deadline:
            return items
        sleep(every)


def send_back(queue: Queue, delivery: QueuedDelivery) -> None:
    """Queue ``delivery`` again as a new message: its receives, attempts and age start again."""
    queue.send(replace(delivery, prior_attempts=0, first_sent_at=None).to_message())


def _redrive_one(
    dlq: QueueReader, queue: Queue, ledger: Ledger, message: ReceivedMessage, now: float,
    sent: set[tuple[str, str]],
) -> Redriven:
    letter = read_dead_letter(message)
    try:
        delivery = QueuedDelivery.from_message(message.body)
    except ValueError:
        _show_again(dlq, [message])
        return Redriven(letter, NOT_REDRIVEN, "the message is not a delivery")
    key = (delivery.source, delivery.delivery_id)
    try:
        if key in sent:
            # A second copy of a delivery this redrive already sent back.
            dlq.delete(message.receipt_handle)
            return Redriven(letter, NOT_REDRIVEN, "another copy of it was sent back")
        if not ledger.reopen(delivery.source, delivery.delivery_id, now):
            status = (ledger.get(delivery.source, delivery.delivery_id) or {}).get("status")
            _show_again(dlq, [message])
            return Redriven(letter, NOT_REDRIVEN, f"the delivery is already {status}")
        send_back(queue, delivery)
        sent.add(key)
        dlq.delete(message.receipt_handle)
    except UnavailableError as exc:
        _show_again(dlq, [message])
        return Redriven(letter, NOT_REDRIVEN, f"left in the dead-letter queue: {exc}")
    return Redriven(letter, QUEUED)


def _take_all(dlq: QueueReader, hide_seconds: int) -> list[ReceivedMessage]:
    """Receive until the queue has nothing visible left; each is hidden meanwhile."""
    taken: list[ReceivedMessage] = []
    seen: set[str] = set()
    while True:
        batch = [m for m in dlq.receive(10, hide_seconds) if m.message_id not in seen]
        if not batch:
            return taken
        seen.update(m.message_id for m in batch)
        taken.extend(batch)


def _show_again(dlq: QueueReader, messages: list[ReceivedMessage]) -> None:
    for message in messages:
        try:
            dlq.delay(message.receipt_handle, 0)
        except UnavailableError:
            pass  # it shows again once its hiding ends
