"""The Zoho CRM v8 Update Records call for one planned update (I/O over ``requests``).

``PUT {api_domain}/crm/v8/{module}/{record}`` with ``{"data": [record], ...}``;
with an External ID locator the external value stands in for the id and
``X-EXTERNAL: {module}.{field}`` says which field it is. With an
``If-Unmodified-Since`` time, Zoho refuses the update (412 ``ALREADY_MODIFIED``,
the ``stale`` outcome) when the record changed after it. A 401 ``INVALID_TOKEN``
gets one refresh and one more try (two, when the first refresh found a token
another worker stored and Zoho refused that one too); every other answer is
classified once.
Each call's latency is recorded (``ZohoLatency``, in milliseconds).
"""

from __future__ import annotations

import time
from typing import Protocol
from urllib.parse import quote

import requests

from chalicelib.errors import Failure, PermanentDeliveryError, RetryableDeliveryError
from chalicelib.mapping.engine import PlannedUpdate, record_key_problem
from chalicelib.observability import ZOHO_LATENCY, milliseconds
from chalicelib.zoho.responses import (
    APPLIED,
    PERMANENT,
    REFRESH_TOKEN,
    RETRY,
    STALE,
    ZohoOutcome,
    classify_zoho_response,
    network_failure,
)
from chalicelib.zoho.tokens import AccessToken, TokenProvider, token_rejected


def record_url(plan: PlannedUpdate) -> str:
    """The path of the one record ``plan`` updates, every segment quoted.

    The engine already refuses keys that could address anything else; this is
    the second line, so that no planned update can reach another URL.
    """
    problem = record_key_problem(plan.record)
    if problem is not None:
        raise PermanentDeliveryError(Failure(
            code="MAPPING_ERROR",
            message=f"the record key {problem}: a record key must address exactly one record"))
    return f"/crm/v8/{quote(plan.module, safe='')}/{quote(plan.record, safe='')}"


class RecordUpdater(Protocol):
    """What the worker needs of Zoho: apply one planned update."""

    def update_record(
        self, plan: PlannedUpdate, *, if_unmodified_since: str | None = None
    ) -> ZohoOutcome: ...


class ZohoClient:
    """Sends planned updates to Zoho CRM for one connection."""

    def __init__(
        self, session: requests.Session, tokens: TokenProvider, *, timeout: float = 15.0
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._timeout = timeout

    def update_record(
        self, plan: PlannedUpdate, *, if_unmodified_since: str | None = None
    ) -> ZohoOutcome:
        """Apply ``plan``; returns the applied or stale outcome, raises for the rest.

        ``if_unmodified_since`` (ISO 8601 with an offset) goes as the header of
        that name.
        """
        url = record_url(plan)
        extra = {"If-Unmodified-Since": if_unmodified_since} if if_unmodified_since else {}
        token = self._tokens.token()
        outcome = self._put(url, plan, token, extra)
        if outcome.kind == REFRESH_TOKEN:
            token = self._tokens.refresh(token)
            outcome = self._put(url, plan, token, extra)
            if outcome.kind == REFRESH_TOKEN and not self._tokens.made_last_token:
                # The token another worker stored is refused too: make one.
                outcome = self._put(url, plan, self._tokens.refresh(token), extra)
            if outcome.kind == REFRESH_TOKEN:
                # A fresh token refused too: refreshing again would only spend
                # Zoho's 10 tokens per 10 minutes; the delivery waits instead.
                assert outcome.failure is not None
                self._tokens.refused()
                raise RetryableDeliveryError(
                    token_rejected(outcome.failure.http_status, outcome.failure.code))
        if outcome.kind in (APPLIED, STALE):
            return outcome
        assert outcome.failure is not None
        if outcome.kind == PERMANENT:
            raise PermanentDeliveryError(outcome.failure)
        raise RetryableDeliveryError(outcome.failure)

    def _put(
        self, url: str, plan: PlannedUpdate, token: AccessToken, extra: dict[str, str]
    ) -> ZohoOutcome:
        url = token.api_domain + url
        headers = {"Authorization": f"Zoho-oauthtoken {token.value}", **extra}
        if plan.external_header:
            headers["X-EXTERNAL"] = plan.external_header
        started = time.monotonic()
        try:
            response = self._session.put(
                url, json=plan.body, headers=headers, timeout=self._timeout
            )
        except requests.Timeout:
            return ZohoOutcome(RETRY, failure=network_failure("timeout"))
        except requests.RequestException as exc:
            return ZohoOutcome(RETRY, failure=network_failure(type(exc).__name__))
        finally:
            milliseconds(ZOHO_LATENCY, (time.monotonic() - started) * 1000)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return classify_zoho_response(response.status_code, body)
