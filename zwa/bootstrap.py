"""Create the stage's tables and queues if they are missing, and set them right (I/O).

What exists is described once in ``zwa.resources``: the mappings table, the
delivery ledger and the per-record state table (both with TTL ``expires_at``),
the deliveries queue and its dead-letter
queue, whose redrive policy moves a message received ``MAX_RECEIVE_COUNT`` times
to the dead-letter queue: a safety net behind the worker's own per-source retry
limits. Idempotent: a second run changes nothing and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from zwa.resources import QueueSpec, StageResources, TableSpec


def bootstrap(
    resources: StageResources, dynamodb: Any, sqs: Any, say: Callable[[str], None] = print,
    *, point_in_time_recovery: bool = True,
) -> dict[str, str]:
    """Make sure every resource exists; returns the queue URLs by role."""
    for table in resources.tables:
        _table(dynamodb, table, say)
        if table.ttl_attribute:
            _ttl(dynamodb, table, say)
        if point_in_time_recovery:
            _point_in_time_recovery(dynamodb, table, say)
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for queue in resources.queues:
        attributes = queue_attributes(queue, arns)
        urls[queue.role] = _queue(sqs, queue.name, attributes, say)
        arns[queue.role] = sqs.get_queue_attributes(
            QueueUrl=urls[queue.role], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return urls


def queue_attributes(queue: QueueSpec, arns: dict[str, str]) -> dict[str, str]:
    """The SQS attributes of ``queue``; ``arns`` holds the ARNs of the queues made before it."""
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout),
        "MessageRetentionPeriod": str(queue.retention_seconds),
    }
    if queue.dead_letter_role:
        attributes["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": arns[queue.dead_letter_role],
            "maxReceiveCount": queue.max_receive_count,
        })
    return attributes


def _table(client: Any, table: TableSpec, say: Callable[[str], None]) -> None:
    try:
        client.describe_table(TableName=table.name)
        say(f"table {table.name}: exists")
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    # The first key attribute is the partition key, a second one (if any) the sort key.
    client.create_table(
        TableName=table.name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in table.key],
        KeySchema=[{"AttributeName": name, "KeyType": key_type}
                   for (name, _), key_type in zip(table.key, ("HASH", "RANGE"), strict=False)],
        BillingMode="PAY_PER_REQUEST",
        **({"SSESpecification": {"Enabled": True, "SSEType": "KMS"}} if table.kms_encrypted
           else {}),
    )
    client.get_waiter("table_exists").wait(TableName=table.name)
    say(f"table {table.name}: created")


def _ttl(client: Any, table: TableSpec, say: Callable[[str], None]) -> None:
    current = client.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(
        TableName=table.name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
    )
    say(f"table {table.name}: TTL on {table.ttl_attribute} turned on")


def _point_in_time_recovery(client: Any, table: TableSpec, say: Callable[[str], None]) -> None:
    backups = client.describe_continuous_backups(TableName=table.name)
    status = backups["ContinuousBackupsDescription"].get(
        "PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if status == "ENABLED":
        return
    client.update_continuous_backups(
        TableName=table.name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    say(f"table {table.name}: point-in-time recovery turned on")


def _queue(client: Any, name: str, attributes: dict[str, str], say: Callable[[str], None]) -> str:
    try:
        url = str(client.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if "NonExistentQueue" not in exc.response["Error"]["Code"]:
            raise
        url = str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        say(f"queue {name}: created")
        return url
    current = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
    changed = sorted(key for key, value in attributes.items()
                     if _normal(key, current.get(key)) != _normal(key, value))
    if changed:
        client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        say(f"queue {name}: set {', '.join(changed)}")
    else:
        say(f"queue {name}: exists")
    return url


def _normal(key: str, value: str | None) -> Any:
    if key == "RedrivePolicy" and value:
        policy = json.loads(value)
        return (policy.get("deadLetterTargetArn"), int(policy.get("maxReceiveCount", 0)))
    return value
