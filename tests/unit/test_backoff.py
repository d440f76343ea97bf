import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.delivery.backoff import (
    MAX_VISIBILITY_SECONDS,
    is_wait,
    is_zoho_limit,
    next_visibility_timeout,
    retries_exhausted,
    wait_visibility_timeout,
)
from chalicelib.errors import Failure
from chalicelib.mapping.document import RetryPolicy


def test_the_ceiling_doubles_each_attempt_up_to_the_cap():
    almost_one = 0.999999
    ceilings = [next_visibility_timeout(n, 30, 900, almost_one) for n in range(1, 8)]
    assert ceilings == [29, 59, 119, 239, 479, 899, 899]


def test_full_jitter_can_be_zero():
    assert next_visibility_timeout(5, 30, 900, 0.0) == 0


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0, max_value=1e9),
       st.floats(min_value=0, max_value=1e9), st.floats(min_value=0, max_value=0.999999))
def test_the_delay_is_always_a_valid_sqs_visibility_timeout(attempt, base, cap, draw):
    assert 0 <= next_visibility_timeout(attempt, base, cap, draw) <= MAX_VISIBILITY_SECONDS


def test_exhausted_by_attempts_or_by_age():
    policy = RetryPolicy(max_attempts=3, max_age_seconds=600)
    assert not retries_exhausted(2, 10, policy)
    assert retries_exhausted(3, 10, policy)
    assert retries_exhausted(1, 600, policy)


def test_the_draw_scales_the_ceiling_of_the_attempt():
    assert [next_visibility_timeout(n, 30, 900, 0.5) for n in (1, 2, 3, 4, 5, 6)] == [
        15, 30, 60, 120, 240, 450]


def test_a_first_attempt_numbered_zero_waits_like_the_first():
    assert next_visibility_timeout(0, 30, 900, 0.5) == 15


def test_no_delay_exceeds_sqs_twelve_hours_whatever_the_cap():
    assert next_visibility_timeout(30, 3600, 10**9, 0.999999) == MAX_VISIBILITY_SECONDS - 1
    assert next_visibility_timeout(10_000, 30, 10**9, 0.5) == MAX_VISIBILITY_SECONDS // 2


def test_the_local_stage_backoff_stays_within_its_small_cap():
    assert [next_visibility_timeout(n, 1, 4, 0.999999) for n in (1, 2, 3, 4)] == [0, 1, 3, 3]


def test_exhausted_exactly_at_the_limits_and_not_before():
    policy = RetryPolicy(max_attempts=8, max_age_seconds=86400)
    assert not retries_exhausted(7, 86399.9, policy)
    assert retries_exhausted(8, 0, policy)
    assert retries_exhausted(1, 86400, policy)


def test_a_wait_is_longer_than_an_errors_backoff_and_never_near_zero():
    waits = [wait_visibility_timeout(n, 30, 900, 0.0) for n in range(1, 7)]
    assert waits == [60, 120, 240, 480, 960, 1800]
    assert wait_visibility_timeout(1, 30, 900, 0.999999) == 119
    assert wait_visibility_timeout(10, 30, 900, 0.999999) == 3599  # four times the cap


def test_a_wait_lasts_at_least_what_the_failure_asks():
    assert wait_visibility_timeout(1, 1, 4, 0.5, at_least=300) == 300


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0, max_value=1e9),
       st.floats(min_value=0, max_value=1e9), st.floats(min_value=0, max_value=0.999999),
       st.floats(min_value=0, max_value=1e9))
def test_a_wait_is_always_a_valid_sqs_visibility_timeout(waits, base, cap, draw, at_least):
    assert 1 <= wait_visibility_timeout(waits, base, cap, draw, at_least) <= MAX_VISIBILITY_SECONDS


@pytest.mark.parametrize("failure,wait,limit", [
    (Failure(code="TOO_MANY_REQUESTS", message="m", http_status=429), True, True),
    (Failure(code="HTTP_429", message="m", http_status=429), True, True),
    (Failure(code="RATE_LIMIT_EXCEEDED", message="m"), True, True),
    (Failure(code="TOKEN_THROTTLED", message="m", http_status=200), True, False),
    (Failure(code="RECORD_BUSY", message="m"), True, False),
    (Failure(code="INTERNAL_ERROR", message="m", http_status=500), False, False),
    (Failure(code="RECORD_LOCKED", message="m", http_status=400), False, False),
    (Failure(code="NETWORK_ERROR", message="m"), False, False),
])
def test_limits_and_busy_records_are_waits_errors_are_not(failure, wait, limit):
    assert (is_wait(failure), is_zoho_limit(failure)) == (wait, limit)
