"""Zoho's date-time format and the sandbox's record clock. Pure apart from reading the wall clock.

Zoho writes `Modified_Time` at second precision with an offset (`2026-11-28T13:17:12+00:00`) and
compares `If-Unmodified-Since` against it. A clock with sub-second precision would make a record
written at 13:17:12.4 look "modified after" a client's `If-Unmodified-Since: 13:17:12` taken from
that very write. So the sandbox keeps every timestamp at whole seconds, and a record's next
`Modified_Time` is at least one second after its previous one: two writes in the same second still
get strictly increasing, exactly comparable times (the second one is stamped one second ahead).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

ZOHO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
ZOHO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ONE_SECOND = timedelta(seconds=1)


def format_zoho_datetime(moment: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ss+HH:MM`, Zoho's datetime format (no fraction, explicit offset)."""
    return moment.replace(microsecond=0).isoformat()


def parse_zoho_datetime(text: str) -> datetime | None:
    """A Zoho datetime string as an aware datetime, or None when it is not one."""
    if not isinstance(text, str) or not ZOHO_DATETIME.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_http_datetime(text: str) -> datetime | None:
    """An `If-Unmodified-Since` value: ISO-8601 with an offset (or `Z`), fraction tolerated."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def is_zoho_date(text: str) -> bool:
    if not isinstance(text, str) or not ZOHO_DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class RecordClock:
    """Hands out second-precision UTC timestamps; `next_after` keeps a record's times increasing."""

    def __init__(self, wall_clock: Callable[[], datetime] | None = None) -> None:
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._wall_clock().astimezone(UTC).replace(microsecond=0)

    def next_after(self, previous: datetime | None) -> datetime:
        current = self.now()
        if previous is not None and current <= previous:
            return previous + ONE_SECOND
        return current
