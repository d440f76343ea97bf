"""Where a mapping's field metadata comes from: a fixed set, or a cache with a time limit."""

import time

from chalicelib.zoho.fields import (
    CachedFieldMetadata,
    InMemoryFieldCacheStore,
    StaticFieldMetadata,
    ZohoFieldMetadata,
    fields_of,
)
from tests.fakes import RecordingFieldMetadata

EMAIL = {"api_name": "Email", "data_type": "email"}


def test_fixed_metadata_answers_a_copy_and_none_for_an_unknown_module():
    source = StaticFieldMetadata({"Contacts": [EMAIL]})
    answer = source.fields("Contacts")
    assert answer == [EMAIL]
    answer[0]["data_type"] = "text"
    answer.append({"api_name": "More"})
    assert source.fields("Contacts", fresh=True) == [EMAIL]
    assert source.fields("Deals") is None


def test_a_cache_keeps_each_answer_by_namespace_and_module_with_the_time_it_was_read():
    store = InMemoryFieldCacheStore()
    source = RecordingFieldMetadata({"Contacts": [EMAIL]})
    cached = CachedFieldMetadata(source, store, namespace="dev/eu", clock=lambda: 50.0)
    assert cached.fields("Contacts") == [EMAIL]
    assert cached.fields("Deals") is None
    assert store.entries == {"dev/eu/Contacts": (50.0, [EMAIL]), "dev/eu/Deals": (50.0, None)}
    assert source.asked == [("Contacts", True), ("Deals", True)]
    assert not cached.served_from_cache


def test_a_cache_serves_for_ten_minutes_by_default_then_asks_again():
    now = [1000.0]
    store = InMemoryFieldCacheStore()
    source = RecordingFieldMetadata({"Contacts": [EMAIL]})
    cached = CachedFieldMetadata(source, store, namespace="n", clock=lambda: now[0])
    cached.fields("Contacts")
    now[0] = 1599.5
    assert cached.fields("Contacts") == [EMAIL] and cached.served_from_cache
    assert cached.fields("Deals") is None  # not cached yet: asked
    now[0] = 1600.0
    cached.fields("Contacts")
    assert source.asked == [("Contacts", True), ("Deals", True), ("Contacts", True)]
    assert store.entries["n/Contacts"] == (1600.0, [EMAIL])


def test_a_cached_unknown_module_is_served_as_unknown():
    store = InMemoryFieldCacheStore()
    store.write("n/Deals", 10.0, None)
    source = RecordingFieldMetadata({"Deals": [EMAIL]})
    cached = CachedFieldMetadata(source, store, namespace="n", clock=lambda: 20.0)
    assert cached.fields("Deals") is None
    assert source.asked == [] and cached.served_from_cache


def test_an_entry_from_the_future_or_asked_fresh_is_read_again():
    store = InMemoryFieldCacheStore()
    store.write("n/Contacts", 500.0, [])
    source = RecordingFieldMetadata({"Contacts": [EMAIL]})
    cached = CachedFieldMetadata(source, store, namespace="n", ttl=60, clock=lambda: 499.0)
    assert cached.fields("Contacts") == [EMAIL]
    store.write("n/Contacts", 499.0, [])
    assert cached.fields("Contacts") == []
    assert cached.fields("Contacts", fresh=True) == [EMAIL]
    assert source.asked == [("Contacts", True), ("Contacts", True)]
    assert store.entries["n/Contacts"] == (499.0, [EMAIL])


def test_the_cache_uses_the_wall_clock_when_given_none():
    store = InMemoryFieldCacheStore()
    before = time.time()
    CachedFieldMetadata(StaticFieldMetadata({}), store, namespace="n").fields("Contacts")
    (read_at, fields) = store.entries["n/Contacts"]
    assert before <= read_at <= time.time() and fields is None


def test_each_module_is_asked_once_in_order():
    source = RecordingFieldMetadata({"Contacts": [EMAIL]})
    assert fields_of(source, ["Contacts", "Deals", "Contacts"], fresh=True) == {
        "Contacts": [EMAIL], "Deals": None}
    assert source.asked == [("Contacts", True), ("Deals", True)]


class FakeReader:
    """The Zoho client's metadata call, answering from a dict."""

    def __init__(self, modules):
        self.modules = modules
        self.asked = []

    def field_metadata(self, module):
        self.asked.append(module)
        return self.modules.get(module)


def test_metadata_from_zoho_is_one_call_per_question():
    reader = FakeReader({"Contacts": [EMAIL]})
    source = ZohoFieldMetadata(reader)
    assert source.fields("Contacts") == [EMAIL]
    assert source.fields("Deals", fresh=True) is None
    assert reader.asked == ["Contacts", "Deals"]
