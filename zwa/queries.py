"""Questions an operator asks of the ledger, answered once for every face (no I/O of its own).

The CLI (``zwa deliveries list``) and the console call these functions with the
stores they built; the stores do the reading. Time is a parameter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.stores.ledger import Ledger
from chalicelib.stores.mappings import MappingStore

# How many of a source's newest items a filtered listing looks through.
FILTER_WINDOW = 1000
# How many of a source's newest items the counts by status look through.
COUNT_WINDOW = 10_000
DAY_SECONDS = 86_400
# Every status a ledger item can have, in the order a delivery goes through them.
STATUSES = ("received", "queued", "applied", "unchanged", "ignored", "stale", "failed", "dead")


@dataclass(frozen=True)
class DeliveryPage:
    """One page of ledger items, newest first, and whether older ones follow."""

    items: list[dict[str, Any]]
    more: bool


@dataclass(frozen=True)
class SourceSummary:
    """A source's current mapping and its deliveries counted by status since ``since``."""

    source: str
    version: int
    enabled: bool
    saved_at: float
    since: float
    counts: dict[str, int] = field(default_factory=dict)
    # True when the source had more items than COUNT_WINDOW: the counts are a floor.
    capped: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def list_deliveries(
    mappings: MappingStore,
    ledger: Ledger,
    *,
    source: str | None = None,
    status: str | None = None,
    since: float | None = None,
    limit: int = 20,
    offset: int = 0,
) -> DeliveryPage:
    """Ledger items newest first, of one source or of every source that has a mapping.

    ``status`` and ``since`` (epoch seconds, compared with ``received_at``) filter;
    ``offset`` skips the newest ones, for paging.
    """
    sources = [source] if source else [stored.source for stored in mappings.sources()]
    filtered = status is not None or since is not None
    wanted = offset + limit + 1
    window = max(FILTER_WINDOW, wanted) if filtered else wanted
    items = [item for name in sources for item in ledger.recent(name, limit=window)]
    items = [item for item in items
             if (status is None or item.get("status") == status)
             and (since is None or float(item.get("received_at", 0)) >= since)]
    items.sort(key=lambda item: item.get("received_at", 0), reverse=True)
    return DeliveryPage(items=items[offset:offset + limit], more=len(items) > offset + limit)


def source_summaries(
    mappings: MappingStore, ledger: Ledger, *, now: float, window: float = DAY_SECONDS
) -> list[SourceSummary]:
    """Every source with a mapping, with its deliveries received in the last ``window``
    seconds counted by status."""
    since = now - window
    summaries = []
    for stored in mappings.sources():
        items = ledger.recent(stored.source, limit=COUNT_WINDOW)
        counts = Counter(str(item.get("status", "unknown")) for item in items
                         if float(item.get("received_at", 0)) >= since)
        summaries.append(SourceSummary(
            source=stored.source, version=stored.version, enabled=stored.enabled,
            saved_at=stored.saved_at, since=since, counts=dict(counts),
            capped=len(items) >= COUNT_WINDOW))
    return summaries
