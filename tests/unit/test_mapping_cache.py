"""The per-container mapping cache: a saved mapping reaches warm containers after the TTL."""

from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache


def document(enabled: bool) -> dict:
    return {"source": "shop", "enabled": enabled, "rules": [
        {"name": "r", "module": "Contacts", "record": {"id": "id"}, "fields": {"Email": "e"}}]}


def test_a_new_version_is_seen_once_the_cached_one_is_older_than_the_ttl():
    store = InMemoryMappingStore()
    store.save(document(enabled=True), now=0)
    now = [100.0]
    cache = MappingCache(store, ttl=60, clock=lambda: now[0])
    assert cache.get("shop").version == 1
    store.save(document(enabled=False), now=0)
    now[0] += 59
    assert (cache.get("shop").version, cache.get("shop").enabled) == (1, True)
    now[0] += 2
    assert (cache.get("shop").version, cache.get("shop").enabled) == (2, False)


def test_an_unknown_source_is_cached_as_unknown_for_the_ttl_too():
    store = InMemoryMappingStore()
    now = [0.0]
    cache = MappingCache(store, ttl=60, clock=lambda: now[0])
    assert cache.get("shop") is None
    store.save(document(enabled=True), now=0)
    assert cache.get("shop") is None
    now[0] += 61
    assert cache.get("shop").version == 1
