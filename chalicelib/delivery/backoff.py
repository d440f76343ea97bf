"""Retry arithmetic: exponential backoff with full jitter, and when to give up (pure).

The delay before attempt n+1 is a uniform draw in [0, min(cap, base * 2**(n-1))]
("full jitter"), so retries of many deliveries spread out instead of arriving
at Zoho together. The draw is a parameter, so the arithmetic is testable.

Some failures are waits, not errors: Zoho's limits (HTTP 429, for the API
credits or the concurrency cap), the token endpoint's throttle, and a record
another worker is updating. Those slow the delivery down, longer than an
error's backoff and never close to zero, and never count towards
``retry.max_attempts`` or ``retry.max_age_seconds``: a limit never fails a
delivery.
"""

from __future__ import annotations

from chalicelib.errors import Failure
from chalicelib.mapping.document import RetryPolicy

# A wait's delay is drawn in [ceiling / 2, ceiling], with a ceiling this many
# times an error's.
WAIT_FACTOR = 4
# Zoho CRM's codes for its limits (HTTP 429).
ZOHO_LIMIT_CODES = frozenset({"TOO_MANY_REQUESTS", "RATE_LIMIT_EXCEEDED"})
# Failure codes that mean "not now" rather than "this failed".
WAIT_CODES = ZOHO_LIMIT_CODES | {"TOKEN_THROTTLED", "CONNECTION_PAUSED", "RECORD_BUSY",
                                 "TOKEN_BUSY"}

# SQS caps a message's visibility timeout at 12 hours.
MAX_VISIBILITY_SECONDS = 43200


def next_visibility_timeout(attempt: int, base: float, cap: float, draw: float) -> int:
    """Seconds to keep a message hidden after failed attempt ``attempt`` (1-based).

    ``draw`` is a uniform random number in [0, 1).
    """
    exponent = min(max(attempt - 1, 0), 32)
    ceiling = min(cap, base * (2 ** exponent), MAX_VISIBILITY_SECONDS)
    return max(0, min(int(draw * ceiling), MAX_VISIBILITY_SECONDS))


def retries_exhausted(attempt: int, age_seconds: float, policy: RetryPolicy) -> bool:
    """Whether a delivery that just failed attempt ``attempt`` may not be tried again.

    ``attempt`` counts the failed attempts only, not the waits (see ``is_wait``).
    """
    return attempt >= policy.max_attempts or age_seconds >= policy.max_age_seconds


def is_zoho_limit(failure: Failure) -> bool:
    """Whether Zoho CRM refused a call for its credits or its concurrency cap (429)."""
    return failure.http_status == 429 or failure.code in ZOHO_LIMIT_CODES


def is_wait(failure: Failure) -> bool:
    """Whether a failure is one of Zoho's limits or a wait for another worker."""
    return failure.http_status == 429 or failure.code in WAIT_CODES


def wait_visibility_timeout(
    waits: int, base: float, cap: float, draw: float, at_least: float = 0
) -> int:
    """Seconds to keep a message hidden after its ``waits``-th wait (1-based).

    Uniform in [c / 2, c] with c = min(4 * cap, 4 * base * 2**(waits-1)), and at
    least ``at_least`` (what the failure itself asks, e.g. the token throttle's
    remaining minutes).
    """
    exponent = min(max(waits - 1, 0), 32)
    ceiling = min(WAIT_FACTOR * cap, WAIT_FACTOR * base * (2 ** exponent), MAX_VISIBILITY_SECONDS)
    seconds = ceiling / 2 + draw * ceiling / 2
    return int(min(max(seconds, at_least, 1), MAX_VISIBILITY_SECONDS))
