"""The Chalice app: routes, the SQS worker, and the clients they use. Wiring only.

The api Lambda answers ``POST /webhooks/{source}`` and ``GET /health``; the
worker Lambda consumes the deliveries queue. The work itself is in
``chalicelib``: ``ingest.accept`` for the api, ``delivery.batch`` for the worker.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalice import Chalice, Response

from chalicelib import __version__
from chalicelib.errors import IngestError, UnavailableError
from chalicelib.observability import (
    DELIVERIES_DUPLICATE,
    DELIVERIES_FAILED,
    DELIVERIES_IGNORED,
    DELIVERIES_QUEUED,
    WEBHOOKS_RECEIVED,
    WEBHOOKS_REFUSED,
    WEBHOOKS_UNAVAILABLE,
    count,
    flush_metrics,
    logger,
)
from chalicelib.settings import Settings, load_settings

# Each function imports what only it uses on its first call, not here: an api cold
# start loads none of the worker's modules (batch processing, the Zoho client,
# requests) and a worker cold start none of the api's (tests/unit/test_cold_imports.py).
if TYPE_CHECKING:
    from chalicelib.delivery.worker import WorkerServices
    from chalicelib.ingest.accept import IngestServices
    from chalicelib.ingest.request import WebhookRequest

app = Chalice(app_name="zoho-webhook-adapter")
# API Gateway passes these bodies base64-encoded, so signatures are checked over the
# exact bytes the provider sent. (JSON arrives as UTF-8 text, which round-trips; JSON
# must not be listed: Chalice would then treat our JSON answers as binary.)
app.api.binary_types.extend(["application/x-www-form-urlencoded", "multipart/form-data"])

# The queue the worker consumes is named at deploy time, before any stage
# variable is set, so the name has a fixed default.
DELIVERIES_QUEUE = os.environ.get("ZWA_DELIVERIES_QUEUE", "zwa-deliveries")

_SETTINGS: Settings | None = None
_INGEST: IngestServices | None = None
_WORKER: WorkerServices | None = None


def configure(
    ingest: IngestServices | None = None, worker: WorkerServices | None = None
) -> None:
    """Use these services instead of building AWS ones (the functional tests' fakes)."""
    global _INGEST, _WORKER
    _INGEST, _WORKER = ingest, worker


def get_settings() -> Settings:
    global _SETTINGS
    if _SETTINGS is None:
        _SETTINGS = load_settings(os.environ)
    return _SETTINGS


def get_ingest() -> IngestServices:
    global _INGEST
    if _INGEST is None:
        import boto3

        from chalicelib.ingest.accept import IngestServices
        from chalicelib.stores.archive import DynamoArchive
        from chalicelib.stores.ledger import DynamoLedger
        from chalicelib.stores.mappings import DynamoMappingStore, MappingCache
        from chalicelib.stores.queues import SqsQueue
        from chalicelib.stores.secrets import SecretsManagerStore

        settings = get_settings()
        dynamodb = boto3.client("dynamodb")
        _INGEST = IngestServices(
            mappings=MappingCache(
                DynamoMappingStore(dynamodb, settings.mappings_table),
                settings.mapping_cache_seconds,
            ),
            secrets=SecretsManagerStore(boto3.client("secretsmanager")),
            ledger=DynamoLedger(dynamodb, settings.deliveries_table),
            queue=SqsQueue(boto3.client("sqs"), settings.deliveries_queue),
            ledger_ttl_days=settings.ledger_ttl_days,
            archive=DynamoArchive(dynamodb, settings.archive_table),
        )
    return _INGEST


def get_worker() -> WorkerServices:
    global _WORKER
    if _WORKER is None:
        import boto3

        from chalicelib.delivery.worker import WorkerServices
        from chalicelib.stores.audit import DynamoAudit
        from chalicelib.stores.ledger import DynamoLedger
        from chalicelib.stores.mappings import DynamoMappingStore, MappingCache
        from chalicelib.stores.queues import SqsQueue
        from chalicelib.stores.records import DynamoRecordStore
        from chalicelib.stores.search_cache import DynamoSearchCache
        from chalicelib.stores.secrets import SecretsManagerStore
        from chalicelib.zoho.client import ZohoClient
        from chalicelib.zoho.http import Urllib3Session
        from chalicelib.zoho.tokens import TokenProvider, connection_secret_id

        settings = get_settings()
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        secrets = SecretsManagerStore(boto3.client("secretsmanager"))
        records = DynamoRecordStore(dynamodb, settings.records_table, settings.deliveries_table,
                                    ttl_days=settings.ledger_ttl_days,
                                    audit=DynamoAudit(dynamodb, settings.audit_table,
                                                      ttl_days=settings.ledger_ttl_days))
        clients: dict[str, ZohoClient] = {}
        clients_lock = threading.Lock()

        def zoho_client(connection: str) -> ZohoClient:
            with clients_lock:  # the messages of a batch ask on several threads
                if connection in clients:
                    return clients[connection]
                # One keep-alive session per connection, with a connection for each
                # message handled at once.
                session = Urllib3Session(connections=settings.parallel_messages)
                tokens = TokenProvider(
                    secrets, session, connection_secret_id(settings.secret_prefix, connection),
                    timeout=settings.token_timeout_seconds, leases=records, connection=connection,
                )
                clients[connection] = ZohoClient(
                    session, tokens, timeout=settings.zoho_timeout_seconds
                )
                return clients[connection]

        _WORKER = WorkerServices(
            mappings=MappingCache(
                DynamoMappingStore(dynamodb, settings.mappings_table),
                settings.mapping_cache_seconds,
            ),
            ledger=DynamoLedger(dynamodb, settings.deliveries_table),
            queue=SqsQueue(sqs, settings.deliveries_queue),
            dead_letters=SqsQueue(sqs, settings.dead_letter_queue),
            zoho=zoho_client,
            retry_base_seconds=settings.retry_base_seconds,
            retry_cap_seconds=settings.retry_cap_seconds,
            message_seconds=settings.token_timeout_seconds + settings.zoho_timeout_seconds
            + settings.time_margin_seconds,
            search_cache=DynamoSearchCache(dynamodb, settings.records_table),
            records=records,
            # A claim outlives a Zoho call, a token refresh and a second call.
            record_lease_seconds=settings.token_timeout_seconds
            + 2 * settings.zoho_timeout_seconds + settings.time_margin_seconds,
            pause_seconds=settings.retry_base_seconds,
            parallel_messages=settings.parallel_messages,
        )
    return _WORKER


# What a provider is told when its delivery could not be made durable; the reason
# (which store, which secret) goes to the log only.
UNAVAILABLE_MESSAGE = "the delivery could not be recorded; retry later"


def _outcome_metrics() -> dict[str, str]:
    """Each accepted webhook's outcome, as counted."""
    from chalicelib.delivery.message import FAILED, IGNORED, QUEUED
    from chalicelib.ingest.accept import DUPLICATE

    return {QUEUED: DELIVERIES_QUEUED, DUPLICATE: DELIVERIES_DUPLICATE,
            IGNORED: DELIVERIES_IGNORED, FAILED: DELIVERIES_FAILED}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str | list[str]] | None = None
) -> Response:
    return Response({"code": code, "message": message}, status_code=status, headers=headers)


@app.middleware("http")
def answer_errors_in_the_house_shape(event: Any, get_response: Any) -> Response:
    """Chalice's own answers (a 405, say) as ``{"code", "message"}`` like every other."""
    from chalicelib.ingest.answers import house_error

    response: Response = get_response(event)
    reshaped = house_error(response.body)
    if reshaped is not None:
        response.body = reshaped
    return response


def _current_webhook(source: str) -> WebhookRequest:
    from chalicelib.ingest.request import WebhookRequest

    request = app.current_request
    assert request is not None  # Chalice sets it for every route call
    raw = request.raw_body
    params = request.query_params
    query = urlencode([(k, v) for k in params for v in params.getlist(k)]) if params else ""
    return WebhookRequest(
        source=source,
        headers=dict(request.headers),
        raw_body=raw.encode("utf-8") if isinstance(raw, str) else raw or b"",
        method=request.method,
        path=str((request.context or {}).get("path") or f"/webhooks/{source}"),
        query=query,
    )


@app.route("/webhooks/{source}", methods=["POST"], content_types=["*/*"])
def receive_webhook(source: str) -> Response:
    from chalicelib.ingest.accept import accept_webhook

    count(WEBHOOKS_RECEIVED)
    try:
        accepted = accept_webhook(_current_webhook(source), get_ingest(), time.time())
    except IngestError as exc:
        count(WEBHOOKS_REFUSED)
        logger.info("webhook refused", extra={"source": source, "code": exc.code})
        return error_response(exc.status, exc.code, exc.message)
    except UnavailableError as exc:
        count(WEBHOOKS_UNAVAILABLE)
        logger.warning("webhook not accepted", extra={"source": source, "reason": str(exc)})
        return error_response(503, "UNAVAILABLE", UNAVAILABLE_MESSAGE)
    except Exception as exc:  # noqa: BLE001 - the caller must never see a 500
        count(WEBHOOKS_UNAVAILABLE)
        logger.error("unexpected error", extra={"source": source, "error": type(exc).__name__})
        return error_response(503, "UNAVAILABLE", UNAVAILABLE_MESSAGE)
    else:
        for status in accepted.statuses:
            count(_outcome_metrics()[status])
        logger.info("webhook accepted", extra={"source": source, **accepted.body()})
        return Response(accepted.body(), status_code=accepted.http_status)
    finally:
        flush_metrics()


# Declared so that API Gateway hands these to the function (else it answers them itself).
@app.route("/webhooks/{source}", methods=["GET", "PUT", "PATCH", "DELETE"])
def webhook_method_not_allowed(source: str) -> Response:
    from chalicelib.ingest.answers import METHOD_NOT_ALLOWED

    return error_response(405, METHOD_NOT_ALLOWED, "a webhook is sent with POST",
                          headers={"Allow": "POST"})


@app.route("/health", methods=["GET"])
def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@app.on_sqs_message(queue=DELIVERIES_QUEUE, batch_size=10)
def apply_deliveries(event: Any) -> dict[str, Any]:
    from chalicelib.delivery.batch import handle_sqs_batch

    return handle_sqs_batch(event.to_dict(), get_worker(), event.context)
