"""How long a delivery stays hidden after a wait or an error, at the edges of each limit."""

import pytest

from chalicelib.delivery.backoff import next_visibility_timeout, wait_visibility_timeout


@pytest.mark.parametrize("waits, base, cap, draw, at_least, seconds", [
    (1, 10, 100, 0.0, 0, 20),        # ceiling 4 * 10: from half of it
    (1, 10, 100, 0.5, 0, 30),
    (1, 10, 100, 0.999, 0, 39),
    (2, 10, 100, 0.0, 0, 40),        # doubles with each wait
    (3, 10, 100, 0.0, 0, 80),
    (4, 10, 100, 0.0, 0, 160),
    (5, 10, 100, 0.0, 0, 200),       # up to four times the cap
    (0, 10, 100, 0.0, 0, 20),        # a wait numbered 0 is the first
    (-3, 10, 100, 0.0, 0, 20),
    (1, 0.1, 100, 0.0, 0, 1),        # never under a second
    (1, 0, 100, 0.0, 0, 1),
    (1, 10, 100, 0.0, 25.5, 25),     # at least what the failure asks
    (1, 10, 100, 0.0, 19, 20),
    (40, 10, 1e9, 0.0, 0, 21600),    # SQS's twelve hours, halved at the lowest draw
    (40, 10, 1e9, 0.999, 0, 43178),
    (1, 10, 100, 0.0, 99999, 43200),
])
def test_a_waits_hiding_time(waits, base, cap, draw, at_least, seconds):
    assert wait_visibility_timeout(waits, base, cap, draw, at_least) == seconds


def test_a_wait_without_a_floor_is_drawn_from_half_the_ceiling():
    assert wait_visibility_timeout(2, 15, 900, 0.25) == 75
    assert isinstance(wait_visibility_timeout(2, 15, 900, 0.25), int)


@pytest.mark.parametrize("attempt, base, cap, draw, seconds", [
    (1, 30, 900, 0.5, 15),
    (2, 30, 900, 0.5, 30),
    (6, 30, 900, 0.5, 450),
    (7, 30, 900, 0.99, 891),
    (60, 30, 1e12, 0.9999, 43195),
    (1, 30, 900, 0.0, 0),
])
def test_an_errors_hiding_time(attempt, base, cap, draw, seconds):
    assert next_visibility_timeout(attempt, base, cap, draw) == seconds
