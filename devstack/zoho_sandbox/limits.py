"""Zoho's API limits: the cap on simultaneous CRM calls and the daily credit budget. No I/O.

Both answer HTTP 429 `TOO_MANY_REQUESTS` (zoho-api-facts section 3). Zoho's samples of that body
disagree and look synthetic, so the sandbox picks `details.limit_type` ("concurrency" or
"api_credits") and `details.limit`. Every CRM call costs one credit (a single-record PUT costs
one on Zoho too); the budget counts from start-up or the last reset and does not refill.
"""

from __future__ import annotations

import threading

from .responses import Response, request_error

CONCURRENCY_MESSAGE = "The number of concurrent requests has exceeded the allowed limit"
CREDITS_MESSAGE = "You have reached the maximum API credits allowed for the day"


def concurrency_exceeded(limit: int) -> Response:
    return request_error(
        429, "TOO_MANY_REQUESTS", CONCURRENCY_MESSAGE, {"limit_type": "concurrency", "limit": limit}
    )


class ConcurrencyGate:
    """Admits at most `limit` CRM calls at once; a call over the cap is refused, not queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def try_enter(self) -> Response | None:
        with self._lock:
            if self.in_flight >= self.limit:
                return concurrency_exceeded(self.limit)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return None

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def reset_peak(self) -> None:
        with self._lock:
            self.peak = self.in_flight


class CreditBudget:
    """Counts credits spent; refuses calls once `limit` (None: unlimited) is reached."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self.used = 0

    def try_spend(self, credits: int = 1) -> Response | None:
        with self._lock:
            if self.limit is not None and self.used + credits > self.limit:
                return request_error(
                    429,
                    "TOO_MANY_REQUESTS",
                    CREDITS_MESSAGE,
                    {"limit_type": "api_credits", "limit": self.limit},
                )
            self.used += credits
            return None

    def reset(self) -> None:
        with self._lock:
            self.used = 0

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)
