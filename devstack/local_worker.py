"""The local worker: what Lambda's SQS event source does, against the emulated queue.

It long-polls the deliveries queue, hands each batch to the app's real worker
handler as a real SQS event, and then, as Lambda does with
``ReportBatchItemFailures``, deletes the messages that succeeded and leaves the
reported failures on the queue, where their visibility timeout (set by the
worker's backoff) and the queue's redrive policy take over.

Run with ``python -m devstack.local_worker`` in the ``local`` stage's
environment (``devstack.stack`` sets it up).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from types import SimpleNamespace
from typing import Any

import boto3

from zwa.stage import stage_environment

BATCH_SIZE = 10
POLL_SECONDS = 1


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event for received messages, shaped as Lambda delivers it."""
    records = []
    for message in messages:
        records.append({
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType", "String"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


def main() -> int:
    for key, value in stage_environment("local").items():
        os.environ.setdefault(key, value)
    import app as chalice_app  # after the environment: the app reads it lazily

    region = os.environ["AWS_DEFAULT_REGION"]
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=os.environ["ZWA_DELIVERIES_QUEUE"])["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    running = True

    def stop(*_: Any) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"local worker polling {queue_url}", flush=True)
    while running:
        try:
            received = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=BATCH_SIZE, WaitTimeSeconds=POLL_SECONDS,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
        except Exception as exc:  # noqa: BLE001 - the emulator may be stopping
            if running:
                print(f"local worker: receive failed ({type(exc).__name__})", file=sys.stderr)
                time.sleep(1)
            continue
        if not received:
            continue
        context = SimpleNamespace(
            function_name="apply_deliveries", aws_request_id=str(uuid.uuid4()),
            memory_limit_in_mb=128, invoked_function_arn="arn:aws:lambda:local:apply_deliveries",
            get_remaining_time_in_millis=lambda: 60_000,
        )
        response = chalice_app.apply_deliveries(sqs_event(received, queue_arn, region), context)
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
            ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
