"""Zoho's field metadata, where mappings are checked: from Zoho, from a fixed set, or cached.

A source answers ``fields(module)``: the module's fields as
``GET /crm/v8/settings/fields?module=`` lists them, or None when Zoho has no
such module. ``ZohoFieldMetadata`` asks Zoho (I/O through its client);
``StaticFieldMetadata`` answers from a dict (tests, the sandbox's schema);
``CachedFieldMetadata`` keeps answers ``ttl`` seconds in a ``FieldCacheStore``
(in memory here; the CLI keeps them in files between runs). ``fresh=True``
skips the cache: a problem found with cached metadata is checked again afresh
before it is reported, so a field added in Zoho a minute ago is never refused.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

Fields = list[dict[str, Any]]


class FieldMetadataSource(Protocol):
    """Answers a module's field metadata (None: Zoho has no such module)."""

    def fields(self, module: str, *, fresh: bool = False) -> Fields | None: ...


class FieldMetadataReader(Protocol):
    """The Zoho client's metadata call."""

    def field_metadata(self, module: str) -> Fields | None: ...


class ZohoFieldMetadata:
    """Field metadata read from Zoho through a connection's client (one call per module)."""

    def __init__(self, client: FieldMetadataReader) -> None:
        self._client = client

    def fields(self, module: str, *, fresh: bool = False) -> Fields | None:
        return self._client.field_metadata(module)


class StaticFieldMetadata:
    """Field metadata from a dict of module API name to fields."""

    def __init__(self, modules: Mapping[str, Fields]) -> None:
        self._modules = {name: list(fields) for name, fields in modules.items()}

    def fields(self, module: str, *, fresh: bool = False) -> Fields | None:
        found = self._modules.get(module)
        return copy.deepcopy(found) if found is not None else None


class FieldCacheStore(Protocol):
    """Where cached metadata is kept: ``(fetched_at, fields)`` by key."""

    def read(self, key: str) -> tuple[float, Fields | None] | None: ...

    def write(self, key: str, fetched_at: float, fields: Fields | None) -> None: ...


class InMemoryFieldCacheStore:
    """``FieldCacheStore`` in a dict (a long-lived process, tests)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Fields | None]] = {}

    def read(self, key: str) -> tuple[float, Fields | None] | None:
        return self.entries.get(key)

    def write(self, key: str, fetched_at: float, fields: Fields | None) -> None:
        self.entries[key] = (fetched_at, fields)


class CachedFieldMetadata:
    """Another source's answers, kept ``ttl`` seconds under ``namespace`` (stage, connection)."""

    def __init__(
        self, source: FieldMetadataSource, store: FieldCacheStore, *, namespace: str,
        ttl: float = 600.0, clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._store = store
        self._namespace = namespace
        self._ttl = ttl
        self._clock = clock
        self.served_from_cache = False  # whether any answer so far came from the cache

    def fields(self, module: str, *, fresh: bool = False) -> Fields | None:
        key = f"{self._namespace}/{module}"
        now = self._clock()
        kept = None if fresh else self._store.read(key)
        if kept is not None and 0 <= now - kept[0] < self._ttl:
            self.served_from_cache = True
            return kept[1]
        fields = self._source.fields(module, fresh=True)
        self._store.write(key, now, fields)
        return fields


def fields_of(
    source: FieldMetadataSource, modules: Iterable[str], *, fresh: bool = False
) -> dict[str, Fields | None]:
    """The metadata of each module, asked once each."""
    return {module: source.fields(module, fresh=fresh) for module in dict.fromkeys(modules)}
