"""Injected failures and delay for tests: fault rules (rates or exact sequences) and latency.

No I/O; the server carries out what `choose` decides (sleep, drop the connection). A rule applies
to CRM calls (`target` "crm", the default), the token endpoint ("oauth") or both ("all"), and may
be narrowed by `methods` and `path_prefix`. An outcome is an HTTP status (its body looks like
Zoho's), `"drop"` (close the connection without answering), `"hang"` (wait `hang_seconds`, then
drop), `"pass"` or 200 (answer normally; useful inside a sequence) or, for the token endpoint,
`"access_denied"` (HTTP 200 with the throttle body). A rule's `sequence` is used up first, one
outcome per matching call; then its `rates` apply (one roll per call; rates add up to at most 1).
Rules are tried in the order they were added; the first that fires wins.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .limits import concurrency_exceeded
from .oauth import THROTTLED
from .responses import Response, request_error

TARGETS = ("crm", "oauth", "all")
SPECIAL_OUTCOMES = ("drop", "hang", "pass", "access_denied")
GATEWAY_PAGE = (
    "<html><head><title>{status} {phrase}</title></head>"
    "<body><center><h1>{status} {phrase}</h1></center></body></html>"
)
PHRASES = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


class FaultSpecError(ValueError):
    """A fault rule that cannot be used; the message says which key is wrong."""


@dataclass(frozen=True)
class FaultAction:
    """One fault to carry out: an outcome (see module docstring) and, for hangs, how long."""

    outcome: str
    hang_seconds: float


@dataclass
class FaultRule:
    id: int
    target: str
    methods: frozenset[str] | None
    path_prefix: str | None
    rates: tuple[tuple[str, float], ...]
    sequence: deque[str]
    hang_seconds: float
    fired: Counter[str] = field(default_factory=Counter)

    def applies_to(self, target: str, method: str, path: str) -> bool:
        return (
            (self.target == "all" or self.target == target)
            and (self.methods is None or method in self.methods)
            and (self.path_prefix is None or path.startswith(self.path_prefix))
        )

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            "methods": sorted(self.methods) if self.methods else None,
            "path_prefix": self.path_prefix,
            "rates": dict(self.rates),
            "sequence_left": list(self.sequence),
            "hang_seconds": self.hang_seconds,
            "fired": dict(self.fired),
        }


def _outcome(value: Any) -> str:
    if isinstance(value, str) and value in SPECIAL_OUTCOMES:
        return value
    if value is None:
        return "pass"
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise FaultSpecError(f"unknown fault outcome {value!r}") from None
    if status == 200:
        return "pass"
    if not 400 <= status <= 599:
        raise FaultSpecError(f"fault status must be 400-599, got {status}")
    return str(status)


def parse_rule(spec: dict[str, Any], rule_id: int, default_hang: float) -> FaultRule:
    """A `FaultRule` from the JSON of `POST /__sandbox/faults`, or raise `FaultSpecError`."""
    target = spec.get("target", "crm")
    if target not in TARGETS:
        raise FaultSpecError(f"target must be one of {', '.join(TARGETS)}")
    methods = spec.get("methods")
    if methods is not None and (
        not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)
    ):
        raise FaultSpecError("methods must be a list of HTTP methods")
    rates_spec = spec.get("rates") or {}
    if not isinstance(rates_spec, dict):
        raise FaultSpecError("rates must map an outcome to a probability")
    rates = []
    for key, rate in rates_spec.items():
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultSpecError(f"rate for {key} must be between 0 and 1")
        rates.append((_outcome(key), float(rate)))
    if sum(rate for _, rate in rates) > 1.000001:
        raise FaultSpecError("rates add up to more than 1")
    sequence = spec.get("sequence") or []
    if not isinstance(sequence, list):
        raise FaultSpecError("sequence must be a list of outcomes")
    hang_seconds = spec.get("hang_seconds", default_hang)
    if not isinstance(hang_seconds, int | float) or hang_seconds < 0:
        raise FaultSpecError("hang_seconds must be a non-negative number")
    path_prefix = spec.get("path_prefix")
    if path_prefix is not None and not isinstance(path_prefix, str):
        raise FaultSpecError("path_prefix must be a string")
    return FaultRule(
        id=rule_id,
        target=target,
        methods=frozenset(m.upper() for m in methods) if methods else None,
        path_prefix=path_prefix,
        rates=tuple(rates),
        sequence=deque(_outcome(entry) for entry in sequence),
        hang_seconds=float(hang_seconds),
    )


class FaultInjector:
    """The active fault rules; `choose` picks the fault (if any) for one call."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._random = random.Random(seed)

    def add(self, spec: dict[str, Any], default_hang: float) -> dict[str, Any]:
        with self._lock:
            rule = parse_rule(spec, self._next_id, default_hang)
            if "seed" in spec:
                self._random.seed(spec["seed"])
            self._next_id += 1
            self._rules.append(rule)
            return rule.describe()

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def choose(self, target: str, method: str, path: str) -> FaultAction | None:
        with self._lock:
            for rule in self._rules:
                if not rule.applies_to(target, method, path):
                    continue
                outcome: str | None
                if rule.sequence:
                    outcome = rule.sequence.popleft()
                else:
                    outcome = self._roll(rule.rates)
                if outcome is None:
                    continue
                rule.fired[outcome] += 1
                if outcome == "pass":
                    return None
                return FaultAction(outcome, rule.hang_seconds)
        return None

    def _roll(self, rates: tuple[tuple[str, float], ...]) -> str | None:
        if not rates:
            return None
        roll = self._random.random()
        for outcome, rate in rates:
            if roll < rate:
                return outcome
            roll -= rate
        return None


def fault_response(action: FaultAction, target: str, concurrency_limit: int) -> Response:
    """The answer for an injected fault, shaped like Zoho's for that status and endpoint."""
    outcome = action.outcome
    if outcome == "drop":
        return Response(0, disconnect=True, fault=outcome)
    if outcome == "hang":
        return Response(0, disconnect=True, delay_seconds=action.hang_seconds, fault=outcome)
    if outcome == "access_denied":
        return Response(200, dict(THROTTLED), fault=outcome)
    status = int(outcome)
    if status in PHRASES:
        page = GATEWAY_PAGE.format(status=status, phrase=PHRASES[status]).encode()
        return Response(status, raw=page, content_type="text/html", fault=outcome)
    if target == "oauth":
        body = dict(THROTTLED) if status == 429 else {"error": "server_error"}
        return Response(status, body, fault=outcome)
    response = _crm_fault(status, concurrency_limit)
    return Response(response.status, response.body, fault=outcome)


def _crm_fault(status: int, concurrency_limit: int) -> Response:
    if status == 429:
        return concurrency_exceeded(concurrency_limit)
    if status == 401:
        return request_error(401, "INVALID_TOKEN", "invalid oauth token")
    if status == 403:
        return request_error(
            403, "NO_PERMISSION", "permission denied", {"permissions": ["Crm_Implied_Api_Access"]}
        )
    if status == 404:
        return request_error(
            404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
        )
    if status >= 500:
        return request_error(status, "INTERNAL_ERROR", "Internal Server Error")
    return request_error(status, "INVALID_REQUEST", "the request was refused")


class Latency:
    """Delay added before answering API calls: fixed, uniform between two bounds, or none."""

    def __init__(self, ms: float = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()
        self.set_fixed(ms)

    def set_fixed(self, ms: float) -> None:
        self.set_range(ms, ms)

    def set_range(self, min_ms: float, max_ms: float) -> None:
        if min_ms < 0 or max_ms < min_ms:
            raise ValueError("latency needs 0 <= min_ms <= max_ms")
        with self._lock:
            self.min_ms, self.max_ms = float(min_ms), float(max_ms)

    def sample_seconds(self) -> float:
        with self._lock:
            if self.max_ms <= 0:
                return 0.0
            return self._random.uniform(self.min_ms, self.max_ms) / 1000.0

    def describe(self) -> dict[str, float]:
        return {"min_ms": self.min_ms, "max_ms": self.max_ms}
