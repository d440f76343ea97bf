"""Zoho connections: store one, and check that it works (I/O: Secrets Manager, Zoho).

A connection is the secret ``{prefix}/connection/{name}`` (SPEC section 5). The
check is the one ``zwa connection test`` and ``zwa doctor`` share: get a token
(refreshed only when the cached one has under 5 minutes left) and make one
cheap Zoho call, ``GET /crm/v8/org``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from chalicelib.errors import Failure, PermanentDeliveryError, RetryableDeliveryError
from chalicelib.stores.secrets import SecretStore
from chalicelib.zoho.responses import REFRESH_TOKEN, classify_zoho_response
from chalicelib.zoho.tokens import ACCOUNTS_BY_DC, AccessToken, TokenProvider

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Scopes the adapter needs, for the Zoho self client's grant: update and search
# records, read field metadata (mapping validation) and the org (the check).
REQUIRED_SCOPES = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.fields.READ",
    "ZohoCRM.org.READ",
)


@dataclass(frozen=True)
class ConnectionCheck:
    """What a working connection told us."""

    name: str
    api_domain: str
    org_id: str
    org_name: str

    def to_dict(self) -> dict[str, str]:
        return {"connection": self.name, "api_domain": self.api_domain,
                "org_id": self.org_id, "org_name": self.org_name}


def check_accounts_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https (or http on this machine's loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url.rstrip("/")
    raise ValueError(
        f"the accounts URL must be https (e.g. {ACCOUNTS_BY_DC['eu']}); "
        "plain http is accepted only on 127.0.0.1 or localhost, for the local stack")


def connection_document(
    client_id: str, client_secret: str, refresh_token: str, *,
    dc: str | None = None, accounts_url: str | None = None,
) -> dict[str, Any]:
    """The secret's JSON for new credentials (no cached token: it belonged to the old ones)."""
    if not client_id.strip():
        raise ValueError("the client id is empty")
    document: dict[str, Any] = {
        "client_id": client_id.strip(),
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    if accounts_url:
        document["accounts_url"] = check_accounts_url(accounts_url)
    else:
        if dc not in ACCOUNTS_BY_DC:
            raise ValueError(f"unknown data centre {dc!r}; one of {', '.join(ACCOUNTS_BY_DC)}")
        document["dc"] = dc
    return document


def store_connection(secrets: SecretStore, secret_id: str, document: dict[str, Any]) -> None:
    """Write the connection secret (creating it when it does not exist)."""
    secrets.put(secret_id, json.dumps(document))


def check_connection(
    name: str, tokens: TokenProvider, session: requests.Session, *, timeout: float = 15.0
) -> ConnectionCheck:
    """Get a token and read the org; raises ``DeliveryError`` with Zoho's reason when it fails.

    As for an update, a token Zoho refuses (a cached token revoked meanwhile) is
    refreshed once and the call made once more.
    """
    token = tokens.token()
    status, body = _get_org(session, token, timeout)
    outcome = classify_zoho_response(status, body)
    if outcome.kind == REFRESH_TOKEN:
        token = tokens.refresh(token)
        status, body = _get_org(session, token, timeout)
        outcome = classify_zoho_response(status, body)
    orgs = body.get("org") if isinstance(body, dict) else None
    if status == 200 and isinstance(orgs, list) and orgs and isinstance(orgs[0], dict):
        org = orgs[0]
        return ConnectionCheck(name, token.api_domain, str(org.get("id", "")),
                               str(org.get("company_name", "")))
    failure = outcome.failure or Failure(
        code=f"HTTP_{status}", message="Zoho did not name the organisation")
    if failure.code == "OAUTH_SCOPE_MISMATCH":
        failure = Failure(
            code=failure.code, http_status=failure.http_status,
            message="the refresh token lacks a scope; grant "
                    f"{','.join(REQUIRED_SCOPES)} to the self client and make a new one")
    raise PermanentDeliveryError(failure)


def _get_org(session: requests.Session, token: AccessToken, timeout: float) -> tuple[int, Any]:
    try:
        response = session.get(
            f"{token.api_domain}/crm/v8/org",
            headers={"Authorization": f"Zoho-oauthtoken {token.value}"}, timeout=timeout)
    except requests.RequestException as exc:
        raise RetryableDeliveryError(Failure(
            code="NETWORK_ERROR",
            message=f"no answer from {token.api_domain} ({type(exc).__name__})")) from exc
    try:
        return response.status_code, response.json() if response.content else None
    except ValueError:
        return response.status_code, None
