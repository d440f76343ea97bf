"""The Zoho CRM v8 calls of a connection (I/O over an HTTP session: ``zoho.http``).

``PUT {api_domain}/crm/v8/{module}/{record}`` with ``{"data": [record], ...}``;
with an External ID locator the external value stands in for the id and
``X-EXTERNAL: {module}.{field}`` says which field it is. With an
``If-Unmodified-Since`` time, Zoho refuses the update (412 ``ALREADY_MODIFIED``,
the ``stale`` outcome) when the record changed after it. Besides the update:
``GET /crm/v8/{module}/search`` (the ``search`` locator) and
``GET /crm/v8/settings/fields`` (checking a mapping against the module's fields).
A 401 ``INVALID_TOKEN`` gets one refresh and one more try (two, when the first
refresh found a token another worker stored and Zoho refused that one too);
every other answer is classified once. Each call's latency is recorded
(``ZohoLatency``, in milliseconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from chalicelib.errors import Failure, PermanentDeliveryError, RetryableDeliveryError
from chalicelib.mapping.engine import PlannedUpdate, record_key_problem
from chalicelib.observability import ZOHO_LATENCY, milliseconds
from chalicelib.zoho.http import HttpSession, is_timeout, is_transport_error
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

T = TypeVar("T")


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


class CrmRecords(RecordUpdater, Protocol):
    """Update records and search for them (the ``search`` locator)."""

    def search_records(self, module: str, criteria: str) -> list[dict[str, Any]]: ...


# Zoho's search answers at most 200 records a page and 2,000 in all.
SEARCH_PAGE_SIZE = 200
MAX_SEARCH_PAGES = 10


class ZohoClient:
    """Sends planned updates to Zoho CRM for one connection."""

    def __init__(
        self, session: HttpSession, tokens: TokenProvider, *, timeout: float = 15.0
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
        outcome = self._authorized(
            lambda token: self._put(url, plan, token, extra),
            lambda answer: answer.failure if answer.kind == REFRESH_TOKEN else None)
        if outcome.kind in (APPLIED, STALE):
            return outcome
        assert outcome.failure is not None
        if outcome.kind == PERMANENT:
            raise PermanentDeliveryError(outcome.failure)
        raise RetryableDeliveryError(outcome.failure)

    def _authorized(
        self, send: Callable[[AccessToken], T], refusal: Callable[[T], Failure | None]
    ) -> T:
        """``send`` with the connection's token; when Zoho refuses it, with a new one.

        A refused token is replaced once (by another worker's newer one from the
        secret, else a refresh). If that one was another process's and is refused
        too, it may be as old as the first (Zoho keeps 15 live tokens, and revoking
        drops them all): its refusal says nothing of a new token, so one is made.
        A token made here and refused at once stops the refreshes for a while:
        more would only spend Zoho's 10 tokens per 10 minutes.
        """
        token = self._tokens.token()
        answer = send(token)
        if refusal(answer) is None:
            return answer
        token = self._tokens.refresh(token)
        answer = send(token)
        if refusal(answer) is not None and not self._tokens.made_here(token):
            token = self._tokens.refresh(token)
            answer = send(token)
        refused = refusal(answer)
        if refused is not None:
            self._tokens.refused()
            raise RetryableDeliveryError(token_rejected(refused.http_status, refused.code))
        return answer

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
        except Exception as exc:
            if is_timeout(exc):
                return ZohoOutcome(RETRY, failure=network_failure("timeout"))
            if is_transport_error(exc):
                return ZohoOutcome(RETRY, failure=network_failure(type(exc).__name__))
            raise
        finally:
            milliseconds(ZOHO_LATENCY, (time.monotonic() - started) * 1000)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return classify_zoho_response(response.status_code, body)

    # --- reads: search and field metadata ------------------------------------------------

    def search_records(self, module: str, criteria: str) -> list[dict[str, Any]]:
        """Every record Zoho's search answers for ``criteria``; none when it answers 204."""
        path = f"/crm/v8/{quote(module, safe='')}/search"
        rows: list[dict[str, Any]] = []
        for page in range(1, MAX_SEARCH_PAGES + 1):
            status, body = self._get(path, {
                "criteria": criteria, "page": str(page), "per_page": str(SEARCH_PAGE_SIZE)})
            if status == 204:  # Zoho's answer when nothing matches: no body at all
                break
            data = body.get("data") if status == 200 and isinstance(body, dict) else None
            if not isinstance(data, list):
                raise _error(status, body)
            rows.extend(row for row in data if isinstance(row, dict))
            info = body.get("info")
            if not (isinstance(info, dict) and info.get("more_records") is True):
                break
        return rows

    def field_metadata(self, module: str) -> list[dict[str, Any]] | None:
        """The fields of ``module`` as ``GET /crm/v8/settings/fields`` lists them; None when
        Zoho has no such module."""
        status, body = self._get("/crm/v8/settings/fields", {"module": module})
        fields = body.get("fields") if status == 200 and isinstance(body, dict) else None
        if isinstance(fields, list):
            return [field for field in fields if isinstance(field, dict)]
        if isinstance(body, dict) and body.get("code") == "INVALID_MODULE":
            return None
        raise _error(status, body)

    def api_domain(self) -> str:
        """Where this connection's calls go (the token answer's ``api_domain``)."""
        return self._tokens.token().api_domain

    def _get(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        """A GET with the connection's token, replaced as an update's is if Zoho refuses it."""
        return self._authorized(
            lambda token: self._get_once(token, path, params),
            lambda answer: _refusal(*answer))

    def _get_once(
        self, token: AccessToken, path: str, params: dict[str, str]
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Zoho-oauthtoken {token.value}"}
        started = time.monotonic()
        try:
            response = self._session.get(
                token.api_domain + path, params=params, headers=headers, timeout=self._timeout)
        except Exception as exc:
            if is_timeout(exc):
                raise RetryableDeliveryError(network_failure("timeout")) from exc
            if is_transport_error(exc):
                raise RetryableDeliveryError(network_failure(type(exc).__name__)) from exc
            raise
        finally:
            milliseconds(ZOHO_LATENCY, (time.monotonic() - started) * 1000)
        try:
            return response.status_code, response.json() if response.content else None
        except ValueError:
            return response.status_code, None


def _refusal(status: int, body: Any) -> Failure | None:
    """Zoho's refusal of the token (its answer to an expired or revoked one), if it is one."""
    outcome = classify_zoho_response(status, body)
    return outcome.failure if status == 401 and outcome.kind == REFRESH_TOKEN else None


def _error(status: int, body: Any) -> RetryableDeliveryError | PermanentDeliveryError:
    """The error for a read Zoho did not answer as documented, retryable when it may pass."""
    outcome = classify_zoho_response(status, body)
    failure = outcome.failure or Failure(
        code=f"HTTP_{status}", message=f"Zoho answered HTTP {status}", http_status=status)
    if outcome.kind == RETRY or 200 <= status < 300:
        return RetryableDeliveryError(failure)
    return PermanentDeliveryError(failure)
