"""The AWS resources of a stage, described once (pure).

``zwa bootstrap`` creates them, ``zwa doctor`` checks them, and the generated
deploy artefacts (``.chalice/policy-{stage}.json``, ``infra/resources.json``)
grant and declare them: all from this one description, so that a new table or
queue cannot be forgotten by one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.mapping.document import QUEUE_MAX_RECEIVE_COUNT
from chalicelib.settings import Settings

# The queue's own redrive is a safety net behind the worker's per-source retry
# limits: a mapping's retry.max_attempts may not exceed it.
MAX_RECEIVE_COUNT = QUEUE_MAX_RECEIVE_COUNT
# AWS advises a visibility timeout of at least six times the function timeout
# for an SQS event source, so that a message is not received again while a
# slow invocation still works on it.
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION_SECONDS = 14 * 86400
QUEUE_RETENTION_SECONDS = 4 * 86400
DEFAULT_WORKER_TIMEOUT_SECONDS = 60
DEFAULT_MAX_CONCURRENCY = 10
WORKER_BATCH_SIZE = 10
WORKER_FUNCTION = "apply_deliveries"
API_FUNCTION = "api_handler"
# The queue whose messages the worker function receives (its SQS event source).
WORKER_QUEUE_ROLE = "deliveries"

# What the functions may do with each resource: the IAM actions the generated
# policy grants (zwa.artifacts). They follow the calls in chalicelib/stores; a
# new call there needs its action here. One policy serves both functions.
# A table the functions read and write item by item.
TABLE_ITEM_ACTIONS = (
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")
# The mappings are only read by the functions; the CLI saves them (TransactWriteItems).
TABLE_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")
# A queue the functions send to (SqsQueue looks its URL up by name first).
QUEUE_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# What Lambda's SQS event source does on the worker's behalf, and the worker's
# own backoff (ChangeMessageVisibility).
QUEUE_CONSUME_ACTIONS = (
    "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage")
# Connections and signing keys are read; the worker writes a refreshed token back.
SECRET_ACTIONS = (
    "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue")


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table: its role, name, key (name, type) pairs, TTL attribute and IAM actions."""

    role: str
    name: str
    key: tuple[tuple[str, str], ...]
    ttl_attribute: str | None = None
    actions: tuple[str, ...] = TABLE_ITEM_ACTIONS
    # Encrypted at rest with the KMS key rather than DynamoDB's own (payloads, audit).
    kms_encrypted: bool = False


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue: its role, name, attributes, the queue it dead-letters into, IAM actions."""

    role: str
    name: str
    visibility_timeout: int
    retention_seconds: int
    dead_letter_role: str | None = None
    max_receive_count: int = MAX_RECEIVE_COUNT
    actions: tuple[str, ...] = QUEUE_SEND_ACTIONS


@dataclass(frozen=True)
class StageResources:
    """Everything the app of one stage uses in AWS."""

    tables: tuple[TableSpec, ...]
    queues: tuple[QueueSpec, ...]
    secret_prefix: str
    worker_timeout_seconds: int
    max_concurrency: int

    def table(self, role: str) -> TableSpec:
        """The table playing ``role`` (mappings, deliveries, records)."""
        return next(table for table in self.tables if table.role == role)

    def queue(self, role: str) -> QueueSpec:
        """The queue playing ``role`` (deliveries, dead_letters)."""
        return next(queue for queue in self.queues if queue.role == role)

    @property
    def secret_patterns(self) -> tuple[str, ...]:
        """Secret names the app reads and writes: connections and webhook signing keys."""
        return (f"{self.secret_prefix}/*",)


def stage_resources(
    settings: Settings,
    *,
    worker_timeout_seconds: int = DEFAULT_WORKER_TIMEOUT_SECONDS,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
) -> StageResources:
    """The resources of a stage with these settings."""
    return StageResources(
        tables=(
            TableSpec("mappings", settings.mappings_table, (("source", "S"), ("version", "N")),
                      actions=TABLE_READ_ACTIONS),
            TableSpec("deliveries", settings.deliveries_table,
                      (("source", "S"), ("delivery_id", "S")), ttl_attribute="expires_at"),
            TableSpec("records", settings.records_table, (("pk", "S"),), ttl_attribute="expires_at",
                      actions=TABLE_ITEM_ACTIONS + ("dynamodb:DeleteItem",
                                                    "dynamodb:TransactWriteItems",
                                                    "dynamodb:ConditionCheckItem")),
            # Payloads for replay: the api writes them, the CLI reads them (SPEC 9).
            TableSpec("archive", settings.archive_table, (("source", "S"), ("delivery_id", "S")),
                      ttl_attribute="expires_at", actions=("dynamodb:PutItem",),
                      kms_encrypted=True),
            # The field-level audit: one partition per Zoho record, newest last by time.
            TableSpec("audit", settings.audit_table, (("record", "S"), ("at_key", "S")),
                      ttl_attribute="expires_at", actions=("dynamodb:PutItem",),
                      kms_encrypted=True),
        ),
        queues=(
            # The dead-letter queue first: the deliveries queue's redrive names it.
            QueueSpec("dead_letters", settings.dead_letter_queue,
                      visibility_timeout=VISIBILITY_TIMEOUT_FACTOR * worker_timeout_seconds,
                      retention_seconds=DLQ_RETENTION_SECONDS),
            QueueSpec("deliveries", settings.deliveries_queue,
                      visibility_timeout=VISIBILITY_TIMEOUT_FACTOR * worker_timeout_seconds,
                      retention_seconds=QUEUE_RETENTION_SECONDS,
                      dead_letter_role="dead_letters",
                      actions=QUEUE_SEND_ACTIONS + QUEUE_CONSUME_ACTIONS),
        ),
        secret_prefix=settings.secret_prefix,
        worker_timeout_seconds=worker_timeout_seconds,
        max_concurrency=max_concurrency,
    )


def event_source_settings(resources: StageResources) -> dict[str, object]:
    """What the worker's SQS event source must say, beyond what Chalice sets.

    Without ``ReportBatchItemFailures`` Lambda ignores the worker's
    ``batchItemFailures`` answer and deletes the whole batch, retries included;
    ``MaximumConcurrency`` keeps the workers within Zoho's concurrency limit.
    """
    return {
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": resources.max_concurrency},
    }
