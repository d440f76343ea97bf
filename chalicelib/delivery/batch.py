"""The worker's SQS batch: each message handled on its own, failures reported per message.

Powertools' ``BatchProcessor`` runs ``process_message`` for each record and
answers ``{"batchItemFailures": [...]}``: only the messages to retry stay on the
queue, so one bad message never makes the others run again. (The event source
mapping needs ``ReportBatchItemFailures``; see the README's deploy notes.)

The batch keeps to the invocation's time: before each message it asks the
Lambda context how much is left, and when that cannot cover one more message
(``WorkerServices.message_seconds``: the token and Zoho timeouts and a margin),
it starts neither that message nor any later one. They are reported as failures
and made visible again at once, so another invocation takes them, instead of a
timeout cutting a PUT short and running the whole batch again. A deferred
message's receive still counts as an SQS receive: its ApproximateReceiveCount,
which the worker reads as the attempt number, and the queue's redrive count both
go up by one.

Each message handled counts once by its outcome (the worker counts the final
ones, the batch every message left on the queue for a retry; a deferred message
counts nothing), and the metrics are flushed once, at the batch's end.
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
from chalicelib.errors import RetryLaterError, UnavailableError
from chalicelib.observability import DELIVERIES_RETRIED, count, flush_metrics, logger
from chalicelib.stores.queues import Queue


def handle_sqs_batch(
    event: dict[str, Any],
    services: WorkerServices,
    context: Any = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Process an SQS event; returns the partial batch response."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    deferred: list[str] = []

    def handle_record(record: SQSRecord) -> str:
        if deferred or not _time_for_one_more(context, services.message_seconds):
            deferred.append(record.receipt_handle)
            raise RetryLaterError("not started: too little time left in this invocation")
        attempt = Attempt(
            number=int(record.attributes.approximate_receive_count or 1),
            first_sent_at=int(record.attributes.sent_timestamp or 0) / 1000,
            receipt_handle=record.receipt_handle,
        )
        try:
            return process_message(record.body, attempt, services, clock())
        except RetryLaterError:
            count(DELIVERIES_RETRIED)
            raise
        except Exception as exc:
            count(DELIVERIES_RETRIED)
            # The batch processor would log this at DEBUG only; the message
            # comes back and, failing each time, ends in the queue's own DLQ.
            logger.error("a message could not be handled; it stays on the queue", extra={
                "error_type": type(exc).__name__, "message_id": record.message_id})
            raise

    try:
        response = process_partial_response(
            event=event, record_handler=handle_record, processor=processor, context=context
        )
        if deferred:
            _release(deferred, services.queue)
        return dict(response)
    finally:
        flush_metrics()


def _time_for_one_more(context: Any, message_seconds: float) -> bool:
    """Whether the invocation has time left for one more message (always, without a context)."""
    if context is None:
        return True
    return bool(context.get_remaining_time_in_millis() >= message_seconds * 1000)


def _release(receipt_handles: list[str], queue: Queue) -> None:
    """Make messages that were not started visible again now, for another invocation."""
    logger.info("messages left for another invocation", extra={"count": len(receipt_handles)})
    try:
        for handle in receipt_handles:
            queue.delay(handle, 0)
    except UnavailableError:
        logger.warning("could not release the messages left; they come back after the "
                       "queue's visibility timeout")
