"""Retry arithmetic: exponential backoff with full jitter, and when to give up (pure).

The delay before attempt n+1 is a uniform draw in [0, min(cap, base * 2**(n-1))]
("full jitter"), so retries of many deliveries spread out instead of arriving
at Zoho together. The draw is a parameter, so the arithmetic is testable.
"""

from __future__ import annotations

from chalicelib.mapping.document import RetryPolicy

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
    """Whether a delivery that just failed attempt ``attempt`` may not be tried again."""
    return attempt >= policy.max_attempts or age_seconds >= policy.max_age_seconds
