"""Restoring an earlier version of a source's mapping, for every face (I/O through the store).

A restore is a save: the old document becomes the newest version, checked
again as any save is, and the versions in between stay.
"""

from __future__ import annotations

from chalicelib.stores.mappings import MappingStore, StoredMapping


def restore_version(
    store: MappingStore, source: str, version: int, *, now: float
) -> StoredMapping | None:
    """Save version ``version`` of ``source`` as its newest; None when there is no such version."""
    old = store.version(source, version)
    if old is None:
        return None
    return store.save(old.document, now=now)
