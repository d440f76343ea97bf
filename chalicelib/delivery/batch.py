"""The worker's SQS batch: each message handled on its own, failures reported per message.

``process_message`` runs for each record, and the answer is
``{"batchItemFailures": [...]}``: only the messages to retry stay on the queue,
so one bad message never makes the others run again. (The event source mapping
needs ``ReportBatchItemFailures``; see the README's deploy notes.)

Up to ``WorkerServices.parallel_messages`` messages of a batch are handled at
once, each on its own thread, so that a batch's Zoho calls wait together
instead of one after another; the records' claims and the ordering guard
(``record_update``) keep two messages for one record apart as they keep two
workers apart. Messages start in the batch's order. (A plain loop over the
records, not Powertools' batch utility, which handles one record at a time and
would load its data classes for every event source on each cold start.)

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

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
    records: list[dict[str, Any]] = list(event.get("Records") or [])
    deferred: list[str] = []
    lock = threading.Lock()

    def handle_record(record: dict[str, Any]) -> bool:
        """Whether the message is done (False: it stays on the queue)."""
        with lock:
            if deferred or not _time_for_one_more(context, services.message_seconds):
                deferred.append(record["receiptHandle"])
                return False
        attributes = record.get("attributes") or {}
        attempt = Attempt(
            number=int(attributes.get("ApproximateReceiveCount") or 1),
            first_sent_at=int(attributes.get("SentTimestamp") or 0) / 1000,
            receipt_handle=record["receiptHandle"],
        )
        try:
            process_message(record["body"], attempt, services, clock())
        except RetryLaterError:
            count(DELIVERIES_RETRIED)
            return False
        except Exception as exc:  # noqa: BLE001 - reported as this message's failure
            count(DELIVERIES_RETRIED)
            # The message comes back and, failing each time, ends in the queue's own DLQ.
            logger.error("a message could not be handled; it stays on the queue", extra={
                "error_type": type(exc).__name__, "message_id": record.get("messageId")})
            return False
        return True

    try:
        workers = max(1, min(services.parallel_messages, len(records)))
        if workers == 1:
            done = [handle_record(record) for record in records]
        else:
            with ThreadPoolExecutor(max_workers=workers,
                                    thread_name_prefix="zwa-message") as pool:
                done = list(pool.map(handle_record, records))
        if deferred:
            _release(deferred, services.queue)
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}
                                      for record, ok in zip(records, done, strict=True)
                                      if not ok]}
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
