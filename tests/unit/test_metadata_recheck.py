"""A mapping judged by cached metadata: a problem is checked again afresh, a pass is not."""

from chalicelib.mapping.check import check_mapping
from chalicelib.zoho.fields import CachedFieldMetadata, InMemoryFieldCacheStore, StaticFieldMetadata
from tests.fakes import RecordingFieldMetadata

MAPPING = {"source": "s", "rules": [{"name": "r", "module": "Contacts",
                                     "record": {"id": "zid"}, "fields": {"Email": "e"}}]}


def cached_from(first, now_source):
    store = InMemoryFieldCacheStore()
    CachedFieldMetadata(StaticFieldMetadata({"Contacts": first}), store, namespace="n",
                        clock=lambda: 0.0).fields("Contacts")
    return CachedFieldMetadata(now_source, store, namespace="n", clock=lambda: 60.0)


def test_a_pass_on_cached_metadata_is_not_asked_again():
    source = RecordingFieldMetadata({"Contacts": []})
    cached = cached_from([{"api_name": "Email", "data_type": "email"}], source)
    checked = check_mapping(MAPPING, cached)
    assert checked.ok and checked.modules == ["Contacts"]
    assert source.asked == []


def test_a_problem_zoho_still_has_afresh_is_reported_once():
    source = RecordingFieldMetadata({"Contacts": [{"api_name": "Phone", "data_type": "phone"}]})
    cached = cached_from([], source)
    checked = check_mapping(MAPPING, cached)
    assert checked.document is None
    assert checked.problems == [
        "rules[0].fields.Email: Contacts has no field 'Email' (rule r); check the API name in "
        "Zoho's field settings"]
    assert source.asked == [("Contacts", True)]


def test_a_problem_with_metadata_that_is_not_cached_is_not_asked_again():
    source = RecordingFieldMetadata({"Contacts": []})
    checked = check_mapping(MAPPING, source)
    assert len(checked.problems) == 1
    assert source.asked == [("Contacts", False)]
