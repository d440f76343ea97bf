"""The search locator: the document, the plan, the criteria, the exact re-check, the id cache."""

import pytest

from chalicelib.delivery.locate import SEARCH_CACHE_SECONDS, send_update
from chalicelib.errors import (
    Failure,
    MappingDocumentError,
    MappingError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    SearchMissError,
    UnavailableError,
)
from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.engine import plan_update
from chalicelib.stores.search_cache import InMemorySearchCache, SearchKey
from chalicelib.zoho.responses import APPLIED
from chalicelib.zoho.search import exact_matches, record_is_gone, search_criteria
from tests.fakes import FakeZohoCrm

NOW = 1_764_331_200.0
ADA = "5725767000000524157"


def search_rule(field="Email", value="data.email", **fields):
    return parse_mapping({
        "source": "s",
        "rules": [{"name": "by-email", "module": "Contacts",
                   "record": {"search": {"field": field, "value": value}},
                   "fields": fields or {"First_Name": "data.first_name"}}],
    }).rules[0]


def plan(email="ada@example.com", **data):
    return plan_update(search_rule(), {"data": {"email": email, "first_name": "Ada", **data}})


@pytest.fixture
def crm():
    fake = FakeZohoCrm()
    fake.records[("Contacts", ADA)] = {"Email": "ada@example.com", "Last_Name": "Lovelace"}
    fake.records[("Contacts", "5725767000000524999")] = {"Email": "xada@example.com.au"}
    return fake


def test_a_search_locator_compiles_and_plans_the_value_to_search_for():
    planned = plan()
    assert (planned.search_field, planned.record) == ("Email", "ada@example.com")
    assert planned.located(ADA).record == ADA
    assert planned.located(ADA).search_field is None


def test_a_search_locator_without_a_field_or_with_a_typo_is_refused_with_a_hint():
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping({"source": "s", "rules": [
            {"name": "a", "module": "Contacts", "record": {"search": {"value": "x"}},
             "fields": {"Email": "e"}},
            {"name": "b", "module": "Contacts", "record": {"serach": {"field": "Email"}},
             "fields": {"Email": "e"}}]})
    assert caught.value.problems == [
        'rules[0].record.search: must be {"field": F, "value": EXPR}',
        "rules[1].record: unknown locator 'serach'; did you mean 'search'?; "
        "use id, external or search",
    ]


def test_a_search_value_that_is_empty_or_not_text_is_a_mapping_error_naming_the_locator():
    for value in ("  ", {"a": 1}, None):
        with pytest.raises(MappingError) as caught:
            plan_update(search_rule(), {"data": {"email": value}})
        assert caught.value.field == "record.search"
        assert caught.value.path == "data.email"


def test_the_criteria_escapes_parentheses_commas_and_backslashes():
    assert search_criteria("Last_Name", r"Burns, B (Jr) \ x") == \
        r"(Last_Name:equals:Burns\, B \(Jr\) \\ x)"


def test_only_records_holding_the_whole_value_match_ignoring_case_and_spaces():
    rows = [{"id": "1", "Email": "ada@example.com.au"}, {"id": "2", "Email": " ADA@example.com"},
            {"id": "3", "Email": "sales_team@x.io"}, {"id": "4", "Seats": 12},
            {"id": "5", "Account_Name": {"id": "77", "name": "Acme"}}, {"id": "6"}]
    assert exact_matches(rows, "Email", "ada@example.com") == ["2"]
    assert exact_matches(rows, "Email", "sales-team@x.io") == []
    assert exact_matches(rows, "Seats", "12") == ["4"]
    assert exact_matches(rows, "Seats", "12x") == []
    assert exact_matches(rows, "Account_Name", "77") == ["5"]


def test_only_an_invalid_id_in_the_url_means_the_record_is_gone():
    gone = Failure(code="INVALID_DATA", message="m", details={"resource_path_index": 1})
    bad_field = Failure(code="INVALID_DATA", message="m", api_name="Email",
                        details={"json_path": "$.data[0].Email"})
    assert record_is_gone(gone)
    assert not record_is_gone(bad_field)
    assert not record_is_gone(Failure(code="NO_PERMISSION", message="m"))


def test_a_search_finds_the_one_exact_record_and_the_update_goes_to_its_id(crm):
    cache = InMemorySearchCache()
    outcome = send_update(plan(), crm, cache, "default", NOW)
    assert outcome.kind == APPLIED and outcome.record_id == ADA
    assert crm.searches == [("Contacts", "(Email:equals:ada@example.com)")]
    assert [(call.record, call.search_field) for call in crm.calls] == [(ADA, None)]
    assert crm.records[("Contacts", ADA)]["First_Name"] == "Ada"
    key = SearchKey("default", "Contacts", "Email", "ada@example.com")
    assert cache.get(key, NOW) == ADA
    assert cache.get(key, NOW + SEARCH_CACHE_SECONDS) is None  # trusted for a day


def test_a_second_event_for_the_same_value_makes_no_second_search(crm):
    cache = InMemorySearchCache()
    send_update(plan(), crm, cache, "default", NOW)
    send_update(plan(first_name="Augusta"), crm, cache, "default", NOW + 60)
    assert len(crm.searches) == 1
    assert [call.record for call in crm.calls] == [ADA, ADA]


def test_the_cache_keeps_no_searched_value_only_its_hash(crm):
    cache = InMemorySearchCache()
    send_update(plan(), crm, cache, "default", NOW)
    (pk,) = cache.items
    assert pk.startswith("search#default#Contacts#Email#")
    assert "ada@example.com" not in repr(cache.items)


def test_a_cached_id_zoho_no_longer_knows_is_dropped_and_searched_again_once(crm):
    cache = InMemorySearchCache()
    send_update(plan(), crm, cache, "default", NOW)
    crm.gone.add(ADA)  # deleted in Zoho; another record now holds the email
    crm.records[("Contacts", "5725767000000600001")] = {"Email": "ada@example.com"}
    outcome = send_update(plan(), crm, cache, "default", NOW + 60)
    assert outcome.record_id == "5725767000000600001"
    assert len(crm.searches) == 2
    assert [call.record for call in crm.calls] == [ADA, ADA, "5725767000000600001"]
    key = SearchKey("default", "Contacts", "Email", "ada@example.com")
    assert cache.get(key, NOW + 60) == "5725767000000600001"


def test_a_first_miss_is_retried_and_a_second_one_is_record_not_found(crm):
    cache = InMemorySearchCache()
    with pytest.raises(SearchMissError) as first:
        send_update(plan("nobody@example.com"), crm, cache, "default", NOW)
    assert isinstance(first.value, RetryableDeliveryError)
    with pytest.raises(PermanentDeliveryError) as second:
        send_update(plan("nobody@example.com"), crm, cache, "default", NOW, missed_before=True)
    for failure in (first.value.failure, second.value.failure):
        assert (failure.code, failure.api_name, failure.rule) == (
            "RECORD_NOT_FOUND", "Email", "by-email")
        assert "nobody" not in failure.message
    assert crm.calls == [] and cache.items == {}


def test_two_exact_matches_are_ambiguous_and_nothing_is_sent(crm):
    crm.records[("Contacts", "5725767000000600002")] = {"Email": "Ada@Example.com"}
    with pytest.raises(PermanentDeliveryError) as caught:
        send_update(plan(), crm, InMemorySearchCache(), "default", NOW)
    failure = caught.value.failure
    assert (failure.code, failure.api_name, failure.details) == (
        "AMBIGUOUS_RECORD", "Email", {"count": 2})
    assert crm.calls == []


def test_a_cache_that_cannot_be_reached_costs_a_search_not_the_delivery(crm):
    class DownCache(InMemorySearchCache):
        def get(self, key, now):
            raise UnavailableError("reading the search cache failed (InternalServerError)")

        def put(self, key, record_id, *, now, expires_at):
            raise UnavailableError("writing the search cache failed (InternalServerError)")

    outcome = send_update(plan(), crm, DownCache(), "default", NOW)
    assert outcome.record_id == ADA


def test_id_and_external_locators_send_their_plan_unchanged(crm, example_mapping):
    document = parse_mapping(example_mapping)
    body = {"type": "contact.updated", "data": {"zoho_id": ADA, "last_name": "L"}}
    outcome = send_update(plan_update(document.rules[0], body), crm, InMemorySearchCache(),
                          "default", NOW)
    assert outcome.record_id == ADA
    assert crm.searches == []
