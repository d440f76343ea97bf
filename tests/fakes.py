"""Test doubles that are not adapters of ours: a scripted Zoho CRM and failing stores."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from chalicelib.errors import (
    Failure,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnavailableError,
)
from chalicelib.mapping.engine import PlannedUpdate
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.queues import InMemoryQueue
from chalicelib.stores.secrets import InMemorySecretStore
from chalicelib.zoho.fields import StaticFieldMetadata
from chalicelib.zoho.responses import APPLIED, STALE, ZohoOutcome


class FakeZohoCrm:
    """Records in a dict; ``script`` holds outcomes for the next calls.

    A step is 'ok', 'retry' (a Zoho 500), 'permanent' (INVALID_DATA for Email),
    'bug' (a KeyError whose message is the payload's email), 'limit' (a 429 for
    the concurrency cap) or 'modified' (412 ALREADY_MODIFIED). Search matches
    like Zoho's ``equals`` on text: case-insensitive *contains*. An update of a
    record id in ``gone`` (deleted in Zoho) is refused as Zoho refuses it.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.script: list[str] = []
        self.calls: list[PlannedUpdate] = []
        self.searches: list[tuple[str, str]] = []
        self.gone: set[str] = set()
        self.headers: list[str | None] = []  # the If-Unmodified-Since of each call
        self.on_call: Callable[[], None] | None = None  # e.g. a slow Zoho using up time

    def search_records(self, module: str, criteria: str) -> list[dict[str, Any]]:
        self.searches.append((module, criteria))
        match = re.fullmatch(r"\((\w+):equals:(.*)\)", criteria)
        assert match is not None, criteria
        field, wanted = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))
        return [{"id": record_id, **copy.deepcopy(values)}
                for (name, record_id), values in self.records.items()
                if name == module and record_id not in self.gone
                and wanted.casefold() in str(values.get(field, "")).casefold()]

    def client(self, connection: str) -> FakeZohoCrm:
        return self

    def update_record(self, plan: PlannedUpdate, *,
                      if_unmodified_since: str | None = None) -> ZohoOutcome:
        self.calls.append(plan)
        assert plan.search_field is None, "a search plan must be located before it is sent"
        self.headers.append(if_unmodified_since)
        if self.on_call is not None:
            self.on_call()
        if plan.record in self.gone:
            raise PermanentDeliveryError(Failure(
                code="INVALID_DATA", message="the related id given seems to be invalid",
                http_status=400, details={"resource_path_index": 1}))
        step = self.script.pop(0) if self.script else "ok"
        if step == "retry":
            raise RetryableDeliveryError(Failure(
                code="INTERNAL_ERROR", message="Internal Server Error", http_status=500))
        if step == "bug":
            # A bug whose message holds a payload value, as a KeyError's does.
            raise KeyError(plan.body["data"][0].get("Email"))
        if step == "limit":
            raise RetryableDeliveryError(Failure(
                code="TOO_MANY_REQUESTS", message="too many concurrent requests",
                http_status=429))
        if step == "modified":
            return ZohoOutcome(STALE, failure=Failure(
                code="ALREADY_MODIFIED", message="already modified", http_status=412))
        if step == "permanent":
            raise PermanentDeliveryError(Failure(
                code="INVALID_DATA", message="invalid data", api_name="Email",
                expected_data_type="email", http_status=400))
        record = self.records.setdefault((plan.module, plan.record), {})
        record.update(copy.deepcopy(plan.body["data"][0]))
        return ZohoOutcome(APPLIED, record_id=plan.record,
                           modified_time="2026-11-28T10:00:00+00:00")


class BrokenLedger(InMemoryLedger):
    """A ledger whose DynamoDB is down."""

    def create(self, item: dict[str, Any]) -> bool:
        raise UnavailableError("writing the delivery ledger failed (ProvisionedThroughputExceeded)")


class FlakyQueue(InMemoryQueue):
    """A queue that fails the next ``failures`` sends and ``delay_failures`` delays."""

    def __init__(self, failures: int, delay_failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.delay_failures = delay_failures

    def delay(self, receipt_handle: str, seconds: int) -> None:
        if self.delay_failures > 0:
            self.delay_failures -= 1
            raise UnavailableError("delaying a message failed (ServiceUnavailable)")
        super().delay(receipt_handle, seconds)

    def send(self, body: dict[str, Any], attributes: dict[str, str] | None = None,
             delay_seconds: int = 0) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise UnavailableError("sending to the queue failed (ServiceUnavailable)")
        return super().send(body, attributes, delay_seconds)


class FakeResponse:
    """What ``requests`` answers: a status, a JSON body (or raw text), ``json()``."""

    def __init__(self, status: int, body: Any = None, text: str | None = None) -> None:
        self.status_code = status
        self._body = body
        raw = text if text is not None else ("" if body is None else json.dumps(body))
        self.content = raw.encode("utf-8")

    def json(self) -> Any:
        return json.loads(self.content)


Answer = tuple[int, Any] | FakeResponse | Exception


class FakeZohoSession:
    """A ``requests.Session`` stand-in for Zoho: canned answers, no network.

    ``token_answers`` answer ``post`` (the token endpoint) and ``crm_answers``
    answer ``put`` (the CRM), in order; an answer is ``(status, body)``, a
    ``FakeResponse`` or an exception to raise. When a list runs out, the
    ``default_*`` answer is used. Every request is recorded.
    """

    def __init__(
        self,
        token_answers: list[Answer] | None = None,
        crm_answers: list[Answer] | None = None,
        *,
        default_token: Answer | None = None,
        default_crm: Answer | None = None,
    ) -> None:
        self.token_answers = list(token_answers or [])
        self.crm_answers = list(crm_answers or [])
        self.default_token = default_token
        self.default_crm = default_crm
        self.posts: list[dict[str, Any]] = []
        self.puts: list[dict[str, Any]] = []
        self.gets: list[dict[str, Any]] = []
        self.get_answers: list[Answer] = []
        self.on_post: Callable[[], None] | None = None

    def post(self, url: str, data: Any = None, timeout: float | None = None) -> FakeResponse:
        self.posts.append({"url": url, "data": data, "timeout": timeout})
        if self.on_post is not None:
            self.on_post()
        return _answer(self.token_answers, self.default_token)

    def put(self, url: str, json: Any = None, headers: dict[str, str] | None = None,
            timeout: float | None = None) -> FakeResponse:
        self.puts.append({"url": url, "json": json, "headers": dict(headers or {}),
                          "timeout": timeout})
        return _answer(self.crm_answers, self.default_crm)

    def get(self, url: str, params: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, timeout: float | None = None) -> FakeResponse:
        self.gets.append({"url": url, "params": dict(params or {}),
                          "headers": dict(headers or {}), "timeout": timeout})
        return _answer(self.get_answers, None)


def _answer(answers: list[Answer], default: Answer | None) -> FakeResponse:
    if answers:
        answer = answers.pop(0)
    elif default is not None:
        answer = default
    else:
        raise AssertionError("the fake Zoho session has no answer left")
    if isinstance(answer, Exception):
        raise answer
    if isinstance(answer, FakeResponse):
        return answer
    return FakeResponse(*answer)


def token_grant(token: str = "1000.new", expires_in: Any = 3600,
                api_domain: str = "https://www.zohoapis.eu") -> tuple[int, dict[str, Any]]:
    """Zoho Accounts' answer to a refresh grant."""
    return (200, {"access_token": token, "api_domain": api_domain, "token_type": "Bearer",
                  "expires_in": expires_in})


def crm_success(record_id: str = "5725767000000524157") -> tuple[int, dict[str, Any]]:
    """Zoho CRM's answer to a single-record update that succeeded."""
    return (200, {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                            "details": {"id": record_id,
                                        "Modified_Time": "2026-11-28T10:00:00+05:30"}}]})


def crm_error(status: int, code: str, **details: Any) -> tuple[int, dict[str, Any]]:
    """Zoho CRM's answer with a record-level error in ``data[0]``."""
    return (status, {"data": [{"code": code, "details": details, "message": code.lower(),
                               "status": "error"}]})


def crm_request_error(status: int, code: str) -> tuple[int, dict[str, Any]]:
    """Zoho CRM's request-level error (auth, scope, URL, server)."""
    return (status, {"code": code, "details": {}, "message": code.lower(), "status": "error"})


class UnwritableSecretStore(InMemorySecretStore):
    """A secret store whose writes fail, as when Secrets Manager throttles ``PutSecretValue``."""

    def put(self, secret_id: str, value: str) -> None:
        raise UnavailableError(f"writing the secret {secret_id} failed (ThrottlingException)")


class UnreadableSecretStore(InMemorySecretStore):
    """A secret store whose reads fail, as when Secrets Manager is down."""

    def get(self, secret_id: str, *, max_age: int = 300, force: bool = False) -> str:
        raise UnavailableError(f"reading the secret {secret_id} failed")


class BuggyLedger(InMemoryLedger):
    """A ledger adapter with a bug: reading an item raises a ``KeyError`` quoting the id."""

    def get(self, source: str, delivery_id: str) -> dict[str, Any] | None:
        raise KeyError(delivery_id)


class LambdaDeadline:
    """The Lambda context's clock: ``remaining_ms`` left, spent by whoever calls ``spend``."""

    def __init__(self, remaining_ms: int, readings: list[int] | None = None) -> None:
        self.remaining_ms = remaining_ms
        self.readings = list(readings or [])  # answers given first, in order, if any
        self.checks = 0

    def spend(self, milliseconds: int) -> None:
        self.remaining_ms -= milliseconds

    def get_remaining_time_in_millis(self) -> int:
        self.checks += 1
        return self.readings.pop(0) if self.readings else self.remaining_ms


class DownLedger(InMemoryLedger):
    """A ledger whose DynamoDB fails reads, or the writes ``failing_write`` picks."""

    def __init__(
        self,
        *,
        reads_fail: bool = False,
        failing_write: Callable[[dict[str, Any], dict[str, Any] | None], bool] | None = None,
    ) -> None:
        super().__init__()
        self.reads_fail = reads_fail
        self.failing_write = failing_write

    def get(self, source: str, delivery_id: str) -> dict[str, Any] | None:
        if self.reads_fail:
            raise UnavailableError("reading the delivery ledger failed (InternalServerError)")
        return super().get(source, delivery_id)

    def update(
        self,
        source: str,
        delivery_id: str,
        changes: dict[str, Any],
        *,
        rule_outcomes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        if self.failing_write is not None and self.failing_write(changes, rule_outcomes):
            raise UnavailableError("updating the delivery ledger failed (InternalServerError)")
        super().update(source, delivery_id, changes, rule_outcomes=rule_outcomes)


class Clock:
    """A clock a test moves by hand: ``clock.now += 60``."""

    def __init__(self, now: float = 1_764_331_200.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def zoho_connection(**extra: Any) -> dict[str, Any]:
    """A connection secret's credentials (Zoho's EU accounts server), plus ``extra``."""
    return {"client_id": "c", "client_secret": "s", "refresh_token": "r",
            "accounts_url": "https://accounts.zoho.eu", **extra}


class RecordingFieldMetadata(StaticFieldMetadata):
    """Fixed field metadata that records each question and whether it asked for fresh."""

    def __init__(self, modules: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(modules)
        self.asked: list[tuple[str, bool]] = []

    def fields(self, module: str, *, fresh: bool = False) -> Any:
        self.asked.append((module, fresh))
        return super().fields(module, fresh=fresh)
