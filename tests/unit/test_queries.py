"""The ledger questions both faces ask: listings newest first, paged, and 24-hour counts."""

from typing import Any

import pytest

from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.mappings import InMemoryMappingStore
from zwa.mapping_versions import restore_version
from zwa.queries import list_deliveries, source_summaries

NOW = 1_800_000_000.0


def mapping(source: str) -> dict[str, Any]:
    return {"source": source, "verify": {"scheme": "none"}, "rules": [
        {"name": "r", "module": "Contacts", "record": {"id": "id"}, "fields": {"Email": "e"}}]}


@pytest.fixture
def stores() -> tuple[InMemoryMappingStore, InMemoryLedger]:
    mappings, ledger = InMemoryMappingStore(), InMemoryLedger()
    for source in ("alpha", "beta"):
        mappings.save(mapping(source), now=NOW - 86400 * 3)
    return mappings, ledger


def add(ledger: InMemoryLedger, source: str, delivery_id: str, status: str, age: float) -> None:
    ledger.create({"source": source, "delivery_id": delivery_id, "status": status,
                   "received_at": NOW - age})


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["delivery_id"] for item in items]


def test_every_source_is_listed_together_newest_first(stores):
    mappings, ledger = stores
    add(ledger, "alpha", "a1", "applied", 30)
    add(ledger, "beta", "b1", "failed", 10)
    add(ledger, "alpha", "a2", "applied", 20)
    add(ledger, "unmapped", "x", "applied", 5)  # no mapping: not a source any more
    page = list_deliveries(mappings, ledger)
    assert ids(page.items) == ["b1", "a2", "a1"]
    assert not page.more


def test_status_and_since_filter_and_the_limit_counts_after_filtering(stores):
    mappings, ledger = stores
    for n in range(30):
        add(ledger, "alpha", f"f{n}", "failed" if n % 2 else "applied", age=n * 60)
    page = list_deliveries(mappings, ledger, source="alpha", status="failed",
                           since=NOW - 10 * 60, limit=3)
    assert ids(page.items) == ["f1", "f3", "f5"]
    assert page.more
    rest = list_deliveries(mappings, ledger, source="alpha", status="failed",
                           since=NOW - 10 * 60, limit=3, offset=3)
    assert ids(rest.items) == ["f7", "f9"]
    assert not rest.more


def test_pages_without_filters_follow_on_across_sources(stores):
    mappings, ledger = stores
    for n in range(5):
        add(ledger, "alpha", f"a{n}", "applied", age=2 * n)
        add(ledger, "beta", f"b{n}", "applied", age=2 * n + 1)
    pages = [list_deliveries(mappings, ledger, limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [ids(page.items) for page in pages] == [
        ["a0", "b0", "a1", "b1"], ["a2", "b2", "a3", "b3"], ["a4", "b4"]]
    assert [page.more for page in pages] == [True, True, False]


def test_counts_are_by_status_over_the_last_24_hours_only(stores):
    mappings, ledger = stores
    add(ledger, "alpha", "1", "applied", 60)
    add(ledger, "alpha", "2", "applied", 3600)
    add(ledger, "alpha", "3", "failed", 86000)
    add(ledger, "alpha", "4", "failed", 90000)  # older than a day
    summaries = {s.source: s for s in source_summaries(mappings, ledger, now=NOW)}
    assert summaries["alpha"].counts == {"applied": 2, "failed": 1}
    assert summaries["alpha"].total == 3
    assert summaries["beta"].counts == {}
    assert (summaries["alpha"].version, summaries["alpha"].enabled) == (1, True)


def test_restoring_a_version_saves_its_document_as_the_newest(stores):
    mappings, _ = stores
    changed = mapping("alpha")
    changed["rules"][0]["fields"] = {"Email": "data.email"}
    mappings.save(changed, now=NOW)
    restored = restore_version(mappings, "alpha", 1, now=NOW + 1)
    assert restored is not None
    assert (restored.version, restored.document) == (3, mapping("alpha"))
    assert [v.version for v in mappings.history("alpha")] == [1, 2, 3]
    assert restore_version(mappings, "alpha", 7, now=NOW) is None
    assert len(mappings.history("alpha")) == 3
