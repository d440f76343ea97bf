"""Create the stage's tables and queues if they are missing (idempotent, I/O).

- ``ZWA_MAPPINGS_TABLE``: mapping documents, key (source S, version N).
- ``ZWA_DELIVERIES_TABLE``: the delivery ledger, key (source S, delivery_id S), TTL ``expires_at``.
- ``ZWA_DEAD_LETTER_QUEUE`` and ``ZWA_DELIVERIES_QUEUE``, whose redrive policy moves a
  message received ``MAX_RECEIVE_COUNT`` times to the dead-letter queue: a safety net
  behind the worker's own per-source retry limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.settings import Settings

MAX_RECEIVE_COUNT = 25
# At least six times the worker's Lambda timeout, as AWS advises for SQS sources.
VISIBILITY_TIMEOUT_SECONDS = 360
DLQ_RETENTION_SECONDS = 14 * 86400
QUEUE_RETENTION_SECONDS = 4 * 86400


def bootstrap(
    settings: Settings, dynamodb: Any, sqs: Any, say: Callable[[str], None] = print
) -> dict[str, str]:
    """Make sure every resource exists; returns the queue URLs."""
    _table(dynamodb, settings.mappings_table, [("source", "S"), ("version", "N")], say)
    _table(dynamodb, settings.deliveries_table, [("source", "S"), ("delivery_id", "S")], say)
    _ttl(dynamodb, settings.deliveries_table, "expires_at")
    dlq_url = _queue(sqs, settings.dead_letter_queue, {
        "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}, say)
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = _queue(sqs, settings.deliveries_queue, {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
    }, say)
    return {"deliveries": queue_url, "dead_letters": dlq_url}


def _table(client: Any, name: str, key: list[tuple[str, str]], say: Callable[[str], None]) -> None:
    try:
        client.describe_table(TableName=name)
        say(f"table {name}: exists")
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in key],
        KeySchema=[
            {"AttributeName": key[0][0], "KeyType": "HASH"},
            {"AttributeName": key[1][0], "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name)
    say(f"table {name}: created")


def _ttl(client: Any, table: str, attribute: str) -> None:
    current = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def _queue(client: Any, name: str, attributes: dict[str, str], say: Callable[[str], None]) -> str:
    try:
        url = str(client.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if "NonExistentQueue" not in exc.response["Error"]["Code"]:
            raise
        url = str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        say(f"queue {name}: created")
        return url
    client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    say(f"queue {name}: exists")
    return url
