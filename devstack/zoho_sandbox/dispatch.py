"""The sandbox application: routes a parsed request and runs Zoho's pipeline around each API call.

No sockets here (server.py does HTTP); this module only sleeps for injected latency. For every
API call, in order: match the route, injected fault, then for the token endpoint the grant, and
for CRM calls authentication, the concurrency cap, the credit budget, latency and the endpoint
itself. Each API call is written to the request log; `/__sandbox/` control calls are not.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from .clock import RecordClock
from .config import SandboxConfig
from .controls import SandboxControls
from .crm import INVALID_JSON, CrmApi, Headers
from .faults import FaultInjector, Latency, fault_response
from .limits import ConcurrencyGate, CreditBudget
from .oauth import TokenAuthority
from .requestlog import LoggedRequest, RequestLog, mask_headers, mask_params
from .responses import Response, invalid_method, invalid_url, request_error
from .store import RecordStore

CONTROL_PREFIX = "/__sandbox/"


@dataclass(frozen=True)
class SandboxRequest:
    """An HTTP request as the server read it: path without query, raw body bytes."""

    method: str
    path: str
    query_string: str
    headers: Headers
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        """First value of each query parameter (Zoho reads single values)."""
        return {k: v[0] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def json(self) -> Any:
        """The body as JSON; None when empty, `INVALID_JSON` when it does not parse."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body, parse_constant=_reject_constant)
        except ValueError:
            return INVALID_JSON

    def form(self) -> dict[str, str]:
        text = self.body.decode("utf-8", errors="replace")
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class Route:
    """Which endpoint a request is for: `endpoint` names it in stats, `action` picks the code."""

    endpoint: str
    action: str
    target: str  # crm | oauth | other
    params: tuple[str, ...] = ()


_OAUTH_ROUTES = {
    ("token",): ("/oauth/v2/token", {"POST": "token"}),
    ("token", "revoke"): ("/oauth/v2/token/revoke", {"POST": "revoke"}),
}


def match_route(method: str, path: str) -> Route:
    segments = [unquote(segment) for segment in path.strip("/").split("/")]
    endpoint, target = "", "other"
    actions: dict[str, str] = {}
    params: tuple[str, ...] = ()
    if segments[:2] == ["oauth", "v2"] and tuple(segments[2:]) in _OAUTH_ROUTES:
        endpoint, actions = _OAUTH_ROUTES[tuple(segments[2:])]
        target = "oauth"
    elif segments[:2] == ["crm", "v8"]:
        rest = segments[2:]
        target = "crm"
        if rest == ["settings", "fields"]:
            endpoint, actions = "/crm/v8/settings/fields", {"GET": "fields"}
        elif rest == ["org"]:
            endpoint, actions = "/crm/v8/org", {"GET": "org"}
        elif len(rest) == 1 and rest[0]:
            endpoint, actions = "/crm/v8/{module}", {"POST": "insert", "PUT": "update_many"}
        elif len(rest) == 2 and rest[1] == "search":
            endpoint, actions = "/crm/v8/{module}/search", {"GET": "search"}
        elif len(rest) == 2 and rest[1]:
            endpoint, actions = "/crm/v8/{module}/{id}", {
                "GET": "get", "PUT": "update_one", "DELETE": "delete_one"}
        params = tuple(rest)
    if not actions:
        return Route(f"{method} (unknown path)", "not_found", target)
    action = actions.get(method, "bad_method")
    return Route(f"{method} {endpoint}", action, target, params)


class SandboxApp:
    """All of the sandbox's state and its request pipeline; one per server."""

    def __init__(self, config: SandboxConfig, api_domain: str = "") -> None:
        self.startup_config = config
        self.config = config
        self.api_domain = api_domain
        self.stopping = threading.Event()
        self.store = RecordStore(RecordClock())
        self.crm = CrmApi(self.store)
        self.tokens = TokenAuthority(time.monotonic, config.token_policy())
        self.faults = FaultInjector()
        self.latency = Latency(config.latency_ms)
        self.gate = ConcurrencyGate(config.concurrency)
        self.credits = CreditBudget(config.daily_credits)
        self.log = RequestLog(config.request_log_size)
        self.controls = SandboxControls(self)
        self._crm_calls = 0
        self._calls_lock = threading.Lock()

    def apply_config(self, config: SandboxConfig) -> None:
        self.config = config
        self.tokens.policy = config.token_policy()
        self.gate.limit = config.concurrency
        self.credits.limit = config.daily_credits

    def reset(self) -> None:
        """Back to the start-up state: no records, tokens, faults, counters or overrides."""
        self.store.reset()
        self.tokens.reset()
        self.faults.clear()
        self.latency.set_fixed(self.startup_config.latency_ms)
        self.apply_config(self.startup_config)
        self.credits.reset()
        self.log.reset()
        self.gate.reset_peak()
        with self._calls_lock:
            self._crm_calls = 0

    def handle(self, request: SandboxRequest) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            try:
                return self.controls.handle(request)
            except Exception:  # noqa: BLE001 - a sandbox bug must still answer, and be counted
                return self._own_error()
        started = time.perf_counter()
        route = match_route(request.method, request.path)
        body = request.json() if route.target == "crm" else None
        if route.target == "crm":
            self._count_crm_call()
        try:
            response = self._serve(request, route, body)
        except Exception:  # noqa: BLE001 - as above
            response = self._own_error()
        self.log.record(
            self._loggable(request, route, body), response.status, started, response.fault
        )
        return response

    def _count_crm_call(self) -> None:
        """With `expire_tokens_every` N, every N-th CRM call finds every token expired."""
        every = self.config.expire_tokens_every
        with self._calls_lock:
            self._crm_calls += 1
            due = every > 0 and self._crm_calls % every == 0
        if due:
            self.tokens.expire_all()
            self.log.count("token_expiries")

    def _own_error(self) -> Response:
        traceback.print_exc()
        self.log.count("sandbox_errors")
        return request_error(500, "INTERNAL_ERROR", "Internal Server Error")

    def _serve(self, request: SandboxRequest, route: Route, body: Any) -> Response:
        if route.target in ("crm", "oauth"):
            fault = self.faults.choose(route.target, request.method, request.path)
            if fault is not None:
                return fault_response(fault, route.target, self.gate.limit)
        if route.action == "not_found":
            return invalid_url()
        if route.action == "bad_method":
            return invalid_method()
        if route.target == "oauth":
            return self._serve_oauth(request, route)
        return self._serve_crm(request, route, body)

    def _serve_oauth(self, request: SandboxRequest, route: Route) -> Response:
        self.stopping.wait(self.latency.sample_seconds())
        params = {**request.query, **request.form()}
        if route.action == "revoke":
            return self.tokens.revoke(params)
        outcome = self.tokens.grant(params, self.api_domain)
        self.log.count(f"token:{outcome.result}")
        return outcome.response

    def _serve_crm(self, request: SandboxRequest, route: Route, body: Any) -> Response:
        denied = self.tokens.check(request.headers.get("Authorization"))
        if denied is not None:
            self.log.count("auth_failures")
            return denied
        denied = self.gate.try_enter()
        if denied is not None:
            self.log.count("concurrency_rejections")
            return denied
        try:
            denied = self.credits.try_spend()
            if denied is not None:
                self.log.count("credit_rejections")
                return denied
            self.stopping.wait(self.latency.sample_seconds())
            return self._crm_action(request, route, body)
        finally:
            self.gate.leave()

    def _crm_action(self, request: SandboxRequest, route: Route, body: Any) -> Response:
        action, params, headers = route.action, route.params, request.headers
        if action == "fields":
            return self.crm.describe_fields(request.query)
        if action == "org":
            return self.crm.describe_org()
        if action == "insert":
            return self.crm.insert(params[0], body)
        if action == "update_many":
            return self.crm.update_many(params[0], body, headers)
        if action == "search":
            return self.crm.search(params[0], request.query, self.config.search_index_lag_seconds)
        if action == "get":
            return self.crm.get_record(params[0], params[1])
        if action == "delete_one":
            return self.crm.delete_record(params[0], params[1])
        return self.crm.update_by_path(params[0], params[1], body, headers)

    @staticmethod
    def _loggable(request: SandboxRequest, route: Route, body: Any) -> LoggedRequest:
        if route.target == "oauth":
            logged_body: Any = mask_params(request.form()) if request.body else None
        elif body is INVALID_JSON:
            logged_body = {"invalid_json_bytes": len(request.body)}
        else:
            logged_body = body
        query = {
            key: values[0] if len(values) == 1 else values
            for key, values in parse_qs(request.query_string, keep_blank_values=True).items()
        }
        return LoggedRequest(
            method=request.method,
            path=request.path,
            query=mask_params(query),
            headers=mask_headers(dict(request.headers.items())),
            body=logged_body,
            endpoint=route.endpoint,
        )
