"""The worker's SQS batch: each message handled on its own, failures reported per message.

Powertools' ``BatchProcessor`` runs ``process_message`` for each record and
answers ``{"batchItemFailures": [...]}``: only the messages to retry stay on the
queue, so one bad message never makes the others run again. (The event source
mapping needs ``ReportBatchItemFailures``; see the README's deploy notes.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.delivery.worker import Attempt, WorkerServices, process_message
from chalicelib.errors import RetryLaterError
from chalicelib.observability import logger


def handle_sqs_batch(
    event: dict[str, Any],
    services: WorkerServices,
    context: Any = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Process an SQS event; returns the partial batch response."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle_record(record: SQSRecord) -> str:
        attempt = Attempt(
            number=int(record.attributes.approximate_receive_count or 1),
            first_sent_at=int(record.attributes.sent_timestamp or 0) / 1000,
            receipt_handle=record.receipt_handle,
        )
        try:
            return process_message(record.body, attempt, services, clock())
        except RetryLaterError:
            raise
        except Exception as exc:
            # The batch processor would log this at DEBUG only; the message
            # comes back and, failing each time, ends in the queue's own DLQ.
            logger.error("a message could not be handled; it stays on the queue", extra={
                "error_type": type(exc).__name__, "message_id": record.message_id})
            raise

    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)
