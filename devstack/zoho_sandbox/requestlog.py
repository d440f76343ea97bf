"""What the sandbox received and answered: a bounded request log and per-endpoint counters.

No I/O. Secrets never enter the log: the `Authorization` token is masked
(`Zoho-oauthtoken ****`), and so are OAuth parameters (client secret, refresh token, token)
wherever they came from (query string or form body).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MASK = "****"
SECRET_PARAMS = frozenset({"client_secret", "refresh_token", "token", "code", "access_token"})
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    masked = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} {MASK}" if rest else MASK
        masked[name] = value
    return masked


def mask_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (MASK if k in SECRET_PARAMS else v) for k, v in params.items()}


@dataclass(frozen=True)
class LoggedRequest:
    """One API call as the request log keeps it (secrets already masked)."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any
    endpoint: str


class RequestLog:
    """The last `capacity` API calls, numbered from 1, plus counters for `/__sandbox/stats`."""

    def __init__(self, capacity: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._seq = 0
        self._by_endpoint: dict[str, Counter[str]] = {}
        self._counters: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_endpoint = {}
            self._counters = Counter()

    def record(
        self, request: LoggedRequest, status: int, started: float, fault: str | None
    ) -> None:
        outcome = fault if fault in ("drop", "hang") else str(status)
        with self._lock:
            self._seq += 1
            self._entries.append(
                {
                    "seq": self._seq,
                    "time": time.time(),
                    "method": request.method,
                    "path": request.path,
                    "endpoint": request.endpoint,
                    "query": request.query,
                    "headers": request.headers,
                    "body": request.body,
                    "status": status if fault not in ("drop", "hang") else None,
                    "fault": fault,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )
            self._by_endpoint.setdefault(request.endpoint, Counter())[outcome] += 1
            self._counters["requests"] += 1
            if fault:
                self._counters[f"fault:{fault}"] += 1

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] += amount

    def entries(self, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            chosen = [entry for entry in self._entries if entry["seq"] > since]
        return chosen[:limit] if limit else chosen

    @property
    def last_seq(self) -> int:
        return self._seq

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = dict(self._counters)
            by_endpoint = {name: dict(counts) for name, counts in self._by_endpoint.items()}
        faults = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("fault:")}
        return {
            "requests_total": counters.get("requests", 0),
            "by_endpoint": by_endpoint,
            "token_grants": counters.get("token:granted", 0),
            "token_errors": {
                k.split(":", 1)[1]: v
                for k, v in counters.items()
                if k.startswith("token:") and k != "token:granted"
            },
            "throttled": counters.get("token:throttled", 0),
            "token_expiries": counters.get("token_expiries", 0),
            "concurrency_rejections": counters.get("concurrency_rejections", 0),
            "credit_rejections": counters.get("credit_rejections", 0),
            "auth_failures": counters.get("auth_failures", 0),
            "faults_injected": faults,
            "sandbox_errors": counters.get("sandbox_errors", 0),
        }
