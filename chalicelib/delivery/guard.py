"""The ordering guard and the credit saver: what a record's state means for one update (pure).

What the adapter knows about a Zoho record (``stores.records``) is the time of
the newest event applied to it and a hash of the last body it applied. With
those, a planned update is:

- ``stale`` when the rule has an ``event_time`` and an event newer than this one
  was already applied to the record: nothing is sent. (The check itself is a
  condition of the store's claim, so two workers cannot both pass it; this
  module only names the outcome.)
- ``unchanged`` when the body equals the last body applied to the record (and
  the rule keeps ``skip_unchanged``), or when the record's state says this very
  delivery and rule already applied it: nothing is sent, no Zoho credit spent.
- otherwise sent.

Event times are read from numbers (epoch seconds, or milliseconds above 10^11),
digit strings, ISO 8601 (``Z`` or an offset; UTC when none) and HTTP dates.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from chalicelib.mapping.engine import PlannedUpdate

# Above this an epoch number is taken as milliseconds (year 5138 in seconds).
_EPOCH_MILLIS_THRESHOLD = 100_000_000_000
# The warning a rule's outcome carries when its event time could not be read.
EVENT_TIME_UNREADABLE = "EVENT_TIME_UNREADABLE"


def record_state_key(connection: str, plan: PlannedUpdate) -> str:
    """The records table's key of the record ``plan`` updates, on ``connection``.

    ``record#{connection}#{module}#{record id}``; a record found by an External
    ID or by search is ``...#{field}={sha256 of the value}``: the value came from
    a payload and is kept out of the table (Zoho ids are digits, field names
    start with a letter, so the two never meet).
    """
    record = plan.record
    by_value = plan.external_field or plan.search_field
    if by_value:
        digest = hashlib.sha256(plan.record.encode("utf-8", "surrogatepass")).hexdigest()
        record = f"{by_value}={digest}"
    return f"record#{connection}#{plan.module}#{record}"


def body_digest(plan: PlannedUpdate) -> str:
    """A SHA-256 of the exact request body: equal digests, equal updates."""
    text = json.dumps(plan.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_event_time(value: Any) -> float | None:
    """Epoch seconds of an event time as a payload gives it; None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    return _from_text(text)


def if_unmodified_since(event_time: float) -> str:
    """The ``If-Unmodified-Since`` value for an event time: ISO 8601 with an offset.

    Zoho keeps ``Modified_Time`` to the second; the event's second is sent, so a
    change within that same second does not refuse the update.
    """
    moment = datetime.fromtimestamp(math.floor(event_time), tz=timezone.utc)
    return moment.isoformat()


def is_stale(newest_applied: float | None, event_time: float | None) -> bool:
    """Whether an event of ``event_time`` is older than the newest one applied."""
    return event_time is not None and newest_applied is not None and event_time < newest_applied


def newer_time(newest_applied: float | None, event_time: float | None) -> float | None:
    """The event time to store once this event is done, or None to keep the one stored."""
    if event_time is None:
        return None
    if newest_applied is not None and event_time <= newest_applied:
        return None
    return event_time


def is_unchanged(
    *, skip_unchanged: bool, applied_digest: str | None, digest: str, applied_by_this: bool,
) -> bool:
    """Whether sending the body would change nothing that this adapter knows of.

    ``applied_by_this``: the record's state says this delivery's rule applied a
    body (its answer or its ledger write was lost): the same body is not sent
    again, whatever ``skip_unchanged`` says.
    """
    if applied_digest != digest:
        return False
    return skip_unchanged or applied_by_this


def _epoch(seconds: float) -> float | None:
    if not math.isfinite(seconds) or seconds < 0:
        return None
    if seconds >= _EPOCH_MILLIS_THRESHOLD:
        seconds /= 1000
    return seconds if seconds < _EPOCH_MILLIS_THRESHOLD else None


def _from_text(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return _epoch(moment.timestamp())
    except (OverflowError, OSError, ValueError):
        return None
