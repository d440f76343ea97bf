"""The test controls under `/__sandbox/`: JSON in, JSON out, no authentication. No I/O of its own.

| call | body / query | answer |
|---|---|---|
| `GET health` | | `{"status": "ok"}` |
| `POST reset` | | `{"status": "reset"}` |
| `POST seed` | `{"module", "records": [...]}` | `{"ids": [...]}`; 400 `{"ids", "index", "error"}` |
| `POST latency` | `{"ms"}` or `{"min_ms", "max_ms"}` | `{"latency": {"min_ms", "max_ms"}}` |
| `POST faults` | a rule (see faults.py) or `{"clear": true}` | `{"rules": [...]}` |
| `GET faults` | | `{"rules": [...]}` |
| `POST expire-tokens` | | `{"expired": n}` |
| `POST lock` / `POST unlock` | `{"module", "id"}` | `{"module", "id", "locked"}` |
| `POST clients` | `{"client_id", "client_secret", "refresh_token"?}` | `{"status": "success"}` |
| `GET/POST config` | settings of `SandboxConfig` to change | `{"config": {...}}` |
| `GET records/{module}` | | `{"records": [full state...]}` |
| `GET records/{module}/{id}` | | full state, or 404 |
| `GET requests` | `?since=N&limit=M` | `{"requests": [...], "last_seq": n}` |
| `GET stats` | | counters (see requestlog.py), credits, tokens, in-flight |
| `GET users` | | `{"users": [{"id", "name", "email"}]}` |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .faults import FaultSpecError
from .responses import Response
from .schema import USERS, find_module

if TYPE_CHECKING:
    from .dispatch import SandboxApp, SandboxRequest


def _bad(message: str, status: int = 400) -> Response:
    return Response(status, {"error": message})


class SandboxControls:
    """Answers `/__sandbox/...` by reading or changing the app's state."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def handle(self, request: SandboxRequest) -> Response:
        name = request.path[len("/__sandbox/") :].strip("/")
        body = request.json()
        if body is not None and not isinstance(body, dict):
            return _bad("the body must be a JSON object")
        body = body or {}
        if name.startswith("records/") and request.method == "GET":
            return self._record_state(name.split("/")[1:])
        handler = self._ROUTES.get((request.method, name))
        if handler is None:
            return _bad(f"no control {request.method} /__sandbox/{name}", 404)
        try:
            return handler(self, body, request)
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(str(exc) or exc.__class__.__name__)

    def _health(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        return Response(200, {"status": "ok"})

    def _reset(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        self.app.reset()
        return Response(200, {"status": "reset"})

    def _seed(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        module = find_module(str(body.get("module", "")))
        records = body.get("records")
        if module is None:
            return _bad("module must be one of Leads, Contacts, Accounts, Deals")
        if not isinstance(records, list):
            return _bad("records must be a list of records")
        ids: list[str] = []
        for index, item in enumerate(records):
            result = self.app.crm.seed(module, item, index)
            if result["status"] != "success":
                return Response(400, {"ids": ids, "index": index, "error": result})
            ids.append(result["details"]["id"])
        return Response(200, {"ids": ids})

    def _latency(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        latency = self.app.latency
        if "ms" in body:
            latency.set_fixed(float(body["ms"]))
        elif "min_ms" in body and "max_ms" in body:
            latency.set_range(float(body["min_ms"]), float(body["max_ms"]))
        else:
            return _bad('give {"ms": N} or {"min_ms": A, "max_ms": B}')
        return Response(200, {"latency": latency.describe()})

    def _add_fault(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        if body.get("clear"):
            self.app.faults.clear()
        else:
            try:
                self.app.faults.add(body, self.app.config.hang_seconds)
            except FaultSpecError as exc:
                return _bad(str(exc))
        return Response(200, {"rules": self.app.faults.describe()})

    def _list_faults(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        return Response(200, {"rules": self.app.faults.describe()})

    def _expire_tokens(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        self.app.log.count("token_expiries")
        return Response(200, {"expired": self.app.tokens.expire_all()})

    def _set_lock(self, body: dict[str, Any], locked: bool) -> Response:
        module = find_module(str(body.get("module", "")))
        if module is None:
            return _bad("module must be one of Leads, Contacts, Accounts, Deals")
        record = self.app.store.set_locked(module.api_name, str(body.get("id", "")), locked)
        if record is None:
            return _bad("no such record", 404)
        return Response(200, {"module": module.api_name, "id": record.id, "locked": locked})

    def _lock(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        return self._set_lock(body, True)

    def _unlock(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        return self._set_lock(body, False)

    def _add_client(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        client_id, secret = body.get("client_id"), body.get("client_secret")
        refresh_token = body.get("refresh_token")
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id:
            return _bad("client_id and client_secret are required strings")
        if refresh_token is not None and not isinstance(refresh_token, str):
            return _bad("refresh_token must be a string")
        self.app.tokens.add_client(client_id, secret, refresh_token)
        return Response(200, {"status": "success"})

    def _config(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        if body:
            self.app.apply_config(self.app.config.updated(body))
        return Response(200, {"config": self.app.config.as_dict()})

    def _record_state(self, parts: list[str]) -> Response:
        module = find_module(parts[0]) if parts else None
        if module is None:
            return _bad("module must be one of Leads, Contacts, Accounts, Deals", 404)
        store = self.app.store
        with store.lock:
            if len(parts) == 1:
                states = [record.full_state() for record in store.records(module.api_name)]
                return Response(200, {"records": states})
            record = store.get(module.api_name, parts[1])
            if record is None:
                return _bad("no such record", 404)
            return Response(200, record.full_state())

    def _requests(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        query = request.query
        since = int(query.get("since", "0"))
        limit = int(query["limit"]) if "limit" in query else None
        return Response(
            200, {"requests": self.app.log.entries(since, limit), "last_seq": self.app.log.last_seq}
        )

    def _stats(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        app = self.app
        stats = app.log.stats()
        stats.update(
            {
                "credits": {
                    "used": app.credits.used,
                    "limit": app.credits.limit,
                    "remaining": app.credits.remaining,
                },
                "in_flight": app.gate.in_flight,
                "peak_in_flight": app.gate.peak,
                "tokens": app.tokens.counts(),
            }
        )
        return Response(200, stats)

    def _users(self, body: dict[str, Any], request: SandboxRequest) -> Response:
        return Response(200, {"users": [user.as_owner() for user in USERS]})

    _ROUTES = {
        ("GET", "health"): _health,
        ("POST", "reset"): _reset,
        ("POST", "seed"): _seed,
        ("POST", "latency"): _latency,
        ("POST", "faults"): _add_fault,
        ("GET", "faults"): _list_faults,
        ("POST", "expire-tokens"): _expire_tokens,
        ("POST", "lock"): _lock,
        ("POST", "unlock"): _unlock,
        ("POST", "clients"): _add_client,
        ("GET", "config"): _config,
        ("POST", "config"): _config,
        ("GET", "requests"): _requests,
        ("GET", "stats"): _stats,
        ("GET", "users"): _users,
    }
