"""The sandbox's settings: limits, lifetimes and delays, with Zoho's figures as defaults. Pure.

The command line sets them at start-up; `POST /__sandbox/config` changes them while running (tests
use that to shorten windows) and `POST /__sandbox/reset` puts the start-up values back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .oauth import TokenPolicy


@dataclass(frozen=True)
class SandboxConfig:
    """Everything configurable; the defaults are Zoho's (Standard edition concurrency)."""

    token_lifetime: float = 3600
    concurrency: int = 10
    daily_credits: int | None = None
    latency_ms: float = 0
    hang_seconds: float = 30
    token_grants_per_window: int = 10
    token_grant_window_seconds: float = 600
    max_live_tokens: int = 15
    request_log_size: int = 5000
    # Zoho's search index lags new records: a record created less than this many
    # seconds ago is not found by search (0: found at once).
    search_index_lag_seconds: float = 0
    # Every this many CRM calls, every access token expires (0: never); chaos runs use it.
    expire_tokens_every: int = 0

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None and spec.name == "daily_credits":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{spec.name} must be a non-negative number")
        if self.concurrency < 1 or self.max_live_tokens < 1 or self.request_log_size < 1:
            raise ValueError("concurrency, max_live_tokens and request_log_size must be >= 1")

    def updated(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """A copy with `changes` applied; ValueError names an unknown or bad setting."""
        known = {spec.name for spec in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        return replace(self, **changes)

    def token_policy(self) -> TokenPolicy:
        return TokenPolicy(
            token_lifetime=self.token_lifetime,
            grants_per_window=self.token_grants_per_window,
            grant_window_seconds=self.token_grant_window_seconds,
            max_live_tokens=self.max_live_tokens,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
