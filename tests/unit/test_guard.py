"""The ordering guard's and the credit saver's decisions (pure)."""

import hashlib

import pytest

from chalicelib.delivery.guard import (
    body_digest,
    if_unmodified_since,
    is_stale,
    is_unchanged,
    newer_time,
    read_event_time,
    record_state_key,
)
from chalicelib.mapping.engine import PlannedUpdate

CREATED = 1_764_331_200  # 2025-11-28T12:00:00Z


def plan(body=None, record="5725767000000524157", external_field=None):
    return PlannedUpdate(rule="r", module="Contacts", record=record,
                         body=body or {"data": [{"Email": "ada@example.com"}], "trigger": []},
                         external_field=external_field)


@pytest.mark.parametrize("value", [
    CREATED, float(CREATED), CREATED * 1000, str(CREATED), f"{CREATED}.0",
    "2025-11-28T12:00:00Z", "2025-11-28T12:00:00+00:00", "2025-11-28T13:00:00+01:00",
    "2025-11-28T12:00:00", "Fri, 28 Nov 2025 12:00:00 GMT",
])
def test_event_times_are_read_from_epochs_iso_8601_and_http_dates(value):
    assert read_event_time(value) == CREATED


@pytest.mark.parametrize("value", [
    None, True, "", "yesterday", "2025-13-45T00:00:00Z", {"t": 1}, [CREATED], -5,
    float("nan"), float("inf"), 10**30,
])
def test_a_value_that_is_no_time_reads_as_none(value):
    assert read_event_time(value) is None


def test_fractions_of_a_second_are_kept_for_ordering():
    assert read_event_time("2025-11-28T12:00:00.250Z") == CREATED + 0.25
    assert read_event_time(CREATED * 1000 + 250) == CREATED + 0.25


def test_if_unmodified_since_is_the_events_second_in_zohos_format():
    assert if_unmodified_since(CREATED + 0.9) == "2025-11-28T12:00:00+00:00"


def test_an_older_event_is_stale_an_equal_or_newer_one_is_not():
    assert is_stale(CREATED, CREATED - 1)
    assert not is_stale(CREATED, CREATED)
    assert not is_stale(CREATED, CREATED + 1)
    assert not is_stale(None, CREATED)
    assert not is_stale(CREATED, None)  # no readable time: no guard


def test_only_a_newer_time_is_stored():
    assert newer_time(None, CREATED) == CREATED
    assert newer_time(CREATED, CREATED + 5) == CREATED + 5
    assert newer_time(CREATED, CREATED) is None
    assert newer_time(CREATED, None) is None


def test_the_digest_is_of_the_body_whatever_the_order_of_its_keys():
    one = plan({"data": [{"Email": "a@example.com", "Seats": 3}], "trigger": []})
    two = plan({"trigger": [], "data": [{"Seats": 3, "Email": "a@example.com"}]})
    other = plan({"data": [{"Email": "a@example.com", "Seats": 4}], "trigger": []})
    assert body_digest(one) == body_digest(two)
    assert body_digest(one) != body_digest(other)
    assert len(body_digest(one)) == 64 and "a@example.com" not in body_digest(one)


def test_a_body_with_text_no_utf_8_can_hold_still_has_a_digest():
    assert len(body_digest(plan({"data": [{"Notes_Field": "\ud800"}]}))) == 64


def test_the_state_key_names_connection_module_and_record_or_a_hash_of_the_external_id():
    assert record_state_key("default", plan()) == (
        "record#default#Contacts#5725767000000524157")
    key = record_state_key("eu", plan(record="cus_1", external_field="Stripe_Customer_Id"))
    assert key == "record#eu#Contacts#Stripe_Customer_Id=" + hashlib.sha256(b"cus_1").hexdigest()


def test_an_equal_body_is_unchanged_unless_the_rule_sends_every_body():
    assert is_unchanged(skip_unchanged=True, applied_digest="h", digest="h",
                        applied_by_this=False)
    assert not is_unchanged(skip_unchanged=True, applied_digest="g", digest="h",
                            applied_by_this=False)
    assert not is_unchanged(skip_unchanged=False, applied_digest="h", digest="h",
                            applied_by_this=False)
    assert not is_unchanged(skip_unchanged=True, applied_digest=None, digest="h",
                            applied_by_this=False)


def test_a_body_this_very_rule_applied_is_never_sent_twice():
    assert is_unchanged(skip_unchanged=False, applied_digest="h", digest="h",
                        applied_by_this=True)
