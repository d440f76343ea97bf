"""What the console's pages read and change: one stage's stores and a clock.

``console_services`` builds them from a stage with the operator's credentials,
as the CLI does (I/O only when the stores are used); tests build
``ConsoleServices`` from the in-memory fakes instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.stores.archive import DeliveryArchive, DynamoArchive
from chalicelib.stores.audit import DynamoAudit, RecordAudit
from chalicelib.stores.ledger import DynamoLedger, Ledger
from chalicelib.stores.mappings import DynamoMappingStore, MappingStore
from chalicelib.stores.queues import Queue, QueueReader, SqsQueue
from zwa.console.zoho_fields import FieldMetadataFor, stage_field_metadata
from zwa.deploy import read_deployed
from zwa.stage import Stage


@dataclass(frozen=True)
class ConsoleServices:
    """The stores of one stage, the clock, and where providers send webhooks."""

    stage: str
    mappings: MappingStore
    ledger: Ledger
    clock: Callable[[], float]
    # The endpoint's base, ``.../webhooks``, for the empty states' example commands.
    webhooks_url: str
    # The dead letters and where a redrive or a replay sends them (``zwa.dlq``); None: no queues.
    dead_letters: QueueReader | None = None
    deliveries_queue: Queue | None = None
    # A connection's Zoho field metadata for previews; None: previews are offline.
    field_metadata: FieldMetadataFor | None = None
    sleep: Callable[[float], None] = time.sleep
    # Replay and the field-level audit (None: the pages say they are not available).
    archive: DeliveryArchive | None = None
    audit: RecordAudit | None = None


def console_services(stage: Stage) -> ConsoleServices:
    """The services of ``stage``, with the same clients and table names as the CLI."""
    return ConsoleServices(
        stage=stage.name,
        mappings=DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table),
        ledger=DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table),
        clock=time.time,
        webhooks_url=_webhooks_url(stage),
        dead_letters=SqsQueue(stage.client("sqs"), stage.settings.dead_letter_queue),
        deliveries_queue=SqsQueue(stage.client("sqs"), stage.settings.deliveries_queue),
        field_metadata=stage_field_metadata(stage),
        archive=DynamoArchive(stage.client("dynamodb"), stage.settings.archive_table),
        audit=DynamoAudit(stage.client("dynamodb"), stage.settings.audit_table),
    )


def _webhooks_url(stage: Stage) -> str:
    if stage.name == "local":
        return f"http://127.0.0.1:{os.environ.get('ZWA_API_PORT', '8000')}/webhooks"
    deployed = read_deployed(stage.name)
    if deployed is not None and deployed.api_url:
        return f"{deployed.api_url.rstrip('/')}/webhooks"
    return "https://YOUR-API-ID.execute-api.REGION.amazonaws.com/api/webhooks"
