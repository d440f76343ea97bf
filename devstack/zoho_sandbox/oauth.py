"""Zoho Accounts' token endpoint for the refresh-token grant, and access-token checks for CRM calls.

No I/O; time comes from the `now` callable (monotonic seconds). Token values never leave this
module except in the token response itself.

Behaviour (zoho-api-facts section 1), with the choices where Zoho's pages disagree:

- At most `grants_per_window` (10) tokens per refresh token per rolling `grant_window_seconds`
  (600); past that, HTTP 200 with the `Access Denied` body of the v8 "Token Validity" page (the
  older of the two documented texts, which is what clients match on).
- At most `max_live_tokens` (15, the v8 figure; an older page says 10, others 30) live access
  tokens per refresh token: issuing one more invalidates the oldest.
- Errors answer HTTP 200 with `{"error": "invalid_client"}` (unknown client or wrong secret) or
  `{"error": "invalid_code"}` (unknown or revoked refresh token), as Zoho is observed to do.
- Parameters are read from the form body and the query string alike (the docs show the query,
  the SDK posts a form); a refresh token never rotates.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .responses import Response, request_error

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - a published test credential
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105 - a published test credential

THROTTLED = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


@dataclass(frozen=True)
class TokenPolicy:
    """Lifetimes and limits of the token endpoint."""

    token_lifetime: float = 3600
    grants_per_window: int = 10
    grant_window_seconds: float = 600
    max_live_tokens: int = 15


@dataclass
class _RefreshToken:
    client_id: str
    grants: deque[float] = field(default_factory=deque)
    live: deque[str] = field(default_factory=deque)


@dataclass(frozen=True)
class GrantOutcome:
    """What a token request produced: the response and a word for the stats."""

    response: Response
    result: str  # granted | throttled | invalid_client | invalid_code | unsupported_grant_type


class TokenAuthority:
    """Clients, refresh tokens and live access tokens; thread-safe."""

    def __init__(self, now: Callable[[], float], policy: TokenPolicy) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.policy = policy
        self._clients: dict[str, str] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._access: dict[str, tuple[str, float]] = {}  # token -> (refresh token, expires at)
        self.reset()

    def reset(self) -> None:
        """Forget every token and client but the default ones."""
        with self._lock:
            self._clients = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
            self._refresh = {DEFAULT_REFRESH_TOKEN: _RefreshToken(DEFAULT_CLIENT_ID)}
            self._access = {}

    def add_client(self, client_id: str, client_secret: str, refresh_token: str | None) -> None:
        with self._lock:
            self._clients[client_id] = client_secret
            if refresh_token:
                self._refresh[refresh_token] = _RefreshToken(client_id)

    def grant(self, params: Mapping[str, str], api_domain: str) -> GrantOutcome:
        """`POST /oauth/v2/token`: the refresh-token grant."""
        if params.get("grant_type") != "refresh_token":
            return GrantOutcome(
                Response(200, {"error": "unsupported_grant_type"}), "unsupported_grant_type"
            )
        with self._lock:
            client_id = params.get("client_id", "")
            if self._clients.get(client_id) is None or not secrets.compare_digest(
                self._clients[client_id], params.get("client_secret", "")
            ):
                return GrantOutcome(Response(200, {"error": "invalid_client"}), "invalid_client")
            refresh = self._refresh.get(params.get("refresh_token", ""))
            if refresh is None or refresh.client_id != client_id:
                return GrantOutcome(Response(200, {"error": "invalid_code"}), "invalid_code")
            now = self._now()
            while refresh.grants and refresh.grants[0] <= now - self.policy.grant_window_seconds:
                refresh.grants.popleft()
            if len(refresh.grants) >= self.policy.grants_per_window:
                return GrantOutcome(Response(200, dict(THROTTLED)), "throttled")
            refresh.grants.append(now)
            token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self._issue(params["refresh_token"], refresh, token, now)
        body = {
            "access_token": token,
            "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.fields.READ",
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": int(self.policy.token_lifetime),
        }
        return GrantOutcome(Response(200, body), "granted")

    def _issue(self, refresh_value: str, refresh: _RefreshToken, token: str, now: float) -> None:
        live = deque(t for t in refresh.live if self._access.get(t, ("", 0.0))[1] > now)
        while len(live) >= self.policy.max_live_tokens:
            self._access.pop(live.popleft(), None)
        live.append(token)
        refresh.live = live
        self._access[token] = (refresh_value, now + self.policy.token_lifetime)

    def revoke(self, params: Mapping[str, str]) -> Response:
        """`POST /oauth/v2/token/revoke?token=<refresh token>`: kills it and its access tokens."""
        with self._lock:
            value = params.get("token", "")
            refresh = self._refresh.pop(value, None)
            if refresh is None:
                return Response(200, {"error": "invalid_code"})
            for token in refresh.live:
                self._access.pop(token, None)
        return Response(200, {"status": "success"})

    def expire_all(self) -> int:
        with self._lock:
            now = self._now()
            self._access = {t: (r, min(at, now)) for t, (r, at) in self._access.items()}
            return len(self._access)

    def check(self, authorization: str | None) -> Response | None:
        """None when the `Authorization` header carries a live token, else the 401 to send."""
        if not authorization or not authorization.startswith("Zoho-oauthtoken "):
            return request_error(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        token = authorization[len("Zoho-oauthtoken ") :].strip()
        with self._lock:
            entry = self._access.get(token)
            live = entry is not None and entry[1] > self._now()
        if not live:
            return request_error(401, "INVALID_TOKEN", "invalid oauth token")
        return None

    def counts(self) -> dict[str, Any]:
        with self._lock:
            now = self._now()
            return {
                "live_access_tokens": sum(1 for _, at in self._access.values() if at > now),
                "refresh_tokens": len(self._refresh),
                "clients": len(self._clients),
            }
