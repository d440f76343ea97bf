"""``zwa doctor``: check that a stage can take webhooks and apply them (I/O, read-mostly).

One line per check, each naming what it looked at, what it found and, when it
fails, the command that fixes it. The only write is a token refresh, and only
for a connection whose cached token has under 5 minutes left: at most one per
connection, never more than ``zwa connection test`` would make.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import DeliveryError, MappingDocumentError, UnavailableError
from chalicelib.ingest.signatures import signing_keys
from chalicelib.mapping.document import parse_mapping
from chalicelib.stores.mappings import MappingStore, StoredMapping
from chalicelib.stores.secrets import SecretNotFoundError, SecretStore
from chalicelib.zoho.tokens import TokenProvider, connection_secret_id
from zwa.connections import check_connection
from zwa.resources import QueueSpec, StageResources, TableSpec, event_source_settings


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it is right, and how to fix it if not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """The finding as one line for a person."""
        text = f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text} -> {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DoctorContext:
    """What the checks read: the stage's resources and clients for its services."""

    stage: str
    resources: StageResources
    dynamodb: Any
    sqs: Any
    mappings: MappingStore
    secrets: SecretStore
    tokens: Callable[[str], TokenProvider]  # connection name -> its token provider
    session: requests.Session
    lambda_client: Any = None  # None: the local stack, whose worker polls the queue itself
    worker_function: str = ""

    def command(self, verb: str) -> str:
        return f"run: zwa --stage {self.stage} {verb}"


def run_checks(context: DoctorContext) -> Iterator[Check]:
    """Every check of the stage, in the order a webhook meets what they check."""
    for table in context.resources.tables:
        yield _guarded(f"table {table.name}", partial(_table, context, table))
    arns: dict[str, str] = {}
    for queue in context.resources.queues:
        yield _guarded(f"queue {queue.name}", partial(_queue, context, queue, arns))
    yield _guarded("worker event source", partial(_event_source, context, arns))
    try:
        sources = [s for s in context.mappings.sources() if s.enabled]
    except UnavailableError as exc:
        yield Check("mappings", False, str(exc), context.command("bootstrap"))
        return
    if not sources:
        yield Check("mappings", False, "no enabled mapping: no webhook can be accepted",
                    context.command("mapping put FILE"))
    connections: dict[str, list[str]] = {}
    for stored in sources:
        yield _guarded(f"source {stored.source}", partial(_signing_secret, context, stored))
        connection = str(stored.document.get("connection") or "default")
        connections.setdefault(connection, []).append(stored.source)
    for name, users in sorted(connections.items()):
        yield _guarded(f"connection {name}", partial(_connection, context, name, users))


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except (ClientError, BotoCoreError, UnavailableError) as exc:
        return Check(name, False, f"could not be read ({_reason(exc)})")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "AWS error"))
    return str(exc) if isinstance(exc, UnavailableError) else type(exc).__name__


def _table(context: DoctorContext, table: TableSpec) -> Check:
    name = f"table {table.name}"
    bootstrap = context.command("bootstrap")
    try:
        status = context.dynamodb.describe_table(TableName=table.name)["Table"]["TableStatus"]
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return Check(name, False, "does not exist", bootstrap)
        raise
    found = [f"exists ({status.lower()})"]
    if table.ttl_attribute:
        ttl = context.dynamodb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or \
                ttl.get("AttributeName") != table.ttl_attribute:
            return Check(name, False, f"TTL is not on {table.ttl_attribute}: items never expire",
                         bootstrap)
        found.append(f"TTL on {table.ttl_attribute}")
    backups = context.dynamodb.describe_continuous_backups(TableName=table.name)
    pitr = backups["ContinuousBackupsDescription"].get(
        "PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if pitr != "ENABLED":
        return Check(name, False, "point-in-time recovery is off", bootstrap)
    found.append("point-in-time recovery on")
    return Check(name, True, ", ".join(found))


def _queue(context: DoctorContext, queue: QueueSpec, arns: dict[str, str]) -> Check:
    name = f"queue {queue.name}"
    bootstrap = context.command("bootstrap")
    try:
        url = context.sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
    except ClientError as exc:
        if "NonExistentQueue" in _code(exc):
            return Check(name, False, "does not exist", bootstrap)
        raise
    attributes = context.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["All"])["Attributes"]
    arns[queue.role] = attributes["QueueArn"]
    visibility = int(attributes.get("VisibilityTimeout", 0))
    found = [f"visibility timeout {visibility}s"]
    if visibility < queue.visibility_timeout:
        return Check(name, False, (
            f"visibility timeout {visibility}s is under {queue.visibility_timeout}s (6 times "
            f"the worker's {context.resources.worker_timeout_seconds}s timeout): a slow batch "
            "would be received twice"), bootstrap)
    if queue.dead_letter_role:
        target = arns.get(queue.dead_letter_role, "")
        policy = json.loads(attributes.get("RedrivePolicy") or "{}")
        if not policy or policy.get("deadLetterTargetArn") != target:
            return Check(name, False, (
                f"no redrive policy to {target.rsplit(':', 1)[-1] or 'the dead-letter queue'}: "
                "a message failing forever would never leave the queue"), bootstrap)
        count = int(policy.get("maxReceiveCount", 0))
        if count != queue.max_receive_count:
            return Check(name, False, (
                f"the redrive moves a message after {count} receives, not "
                f"{queue.max_receive_count}: the ledger would not learn of it"), bootstrap)
        found.append(f"redrive to {target.rsplit(':', 1)[-1]} after {count} receives")
    return Check(name, True, ", ".join(found))


def _event_source(context: DoctorContext, arns: dict[str, str]) -> Check:
    name = "worker event source"
    if context.lambda_client is None:
        return Check(name, True, "the local worker polls the queue and reports partial "
                                 "batch failures itself")
    deploy = context.command("deploy")
    queue_arn = arns.get("deliveries")
    if not queue_arn:
        return Check(name, False, "the deliveries queue is missing", context.command("bootstrap"))
    try:
        pages = context.lambda_client.get_paginator("list_event_source_mappings").paginate(
            FunctionName=context.worker_function)
        mappings = [m for page in pages for m in page.get("EventSourceMappings", [])
                    if m.get("EventSourceArn") == queue_arn]
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return Check(name, False, f"the function {context.worker_function} does not exist",
                         deploy)
        raise
    if not mappings:
        return Check(name, False, f"{context.worker_function} does not consume the queue", deploy)
    wanted = event_source_settings(context.resources)
    for mapping in mappings:
        wrong = sorted(key for key, value in wanted.items() if mapping.get(key) != value)
        if wrong:
            return Check(name, False, (
                f"{', '.join(wrong)} not as required ({json.dumps({k: wanted[k] for k in wrong})})"
                ": without ReportBatchItemFailures a failed batch loses its retries"), deploy)
        if mapping.get("State") not in (None, "Enabled", "Enabling", "Updating"):
            return Check(name, False, f"the event source is {mapping.get('State')}", deploy)
    return Check(name, True, (
        f"{context.worker_function}: ReportBatchItemFailures, MaximumConcurrency "
        f"{context.resources.max_concurrency}"))


def _signing_secret(context: DoctorContext, stored: StoredMapping) -> Check:
    name = f"source {stored.source}"
    try:
        document = parse_mapping(stored.document, version=stored.version)
    except MappingDocumentError as exc:
        return Check(name, False, f"version {stored.version} is invalid: {exc.problems[0]}",
                     context.command(f"mapping rollback {stored.source} N"))
    verify = document.verify
    if verify.scheme == "none" or not verify.secret_id:
        return Check(name, True, f"version {stored.version}, no signature check (scheme none)")
    fix = context.command(f"webhook-secret set {stored.source}")
    try:
        keys = signing_keys(context.secrets.get(verify.secret_id, force=True))
    except SecretNotFoundError:
        return Check(name, False, f"the signing secret {verify.secret_id} does not exist: "
                                  "every webhook is answered 503", fix)
    except ValueError as exc:
        return Check(name, False, f"the signing secret {verify.secret_id}: {exc}", fix)
    prefix = f"{context.resources.secret_prefix}/"
    if context.lambda_client is not None and not verify.secret_id.startswith(prefix):
        return Check(name, False, (
            f"the signing secret {verify.secret_id} is outside {prefix}*, which the "
            "functions' policy grants"), f"store it under {prefix} and update the mapping")
    return Check(name, True, (
        f"version {stored.version}, {verify.scheme} signatures, secret {verify.secret_id} "
        f"({len(keys)} key{'s' if len(keys) > 1 else ''})"))


def _connection(context: DoctorContext, connection: str, sources: list[str]) -> Check:
    name = f"connection {connection}"
    secret_id = connection_secret_id(context.resources.secret_prefix, connection)
    try:
        checked = check_connection(connection, context.tokens(connection), context.session)
    except DeliveryError as exc:
        fix = context.command(f"connection set {connection} ...")
        return Check(name, False, f"{exc.failure.code}: {exc.failure.message}", fix)
    except requests.RequestException as exc:
        return Check(name, False, f"no answer from Zoho ({type(exc).__name__})")
    return Check(name, True, (
        f"secret {secret_id}, token ok, {checked.api_domain}, org {checked.org_name} "
        f"({checked.org_id}), used by {', '.join(sorted(sources))}"))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
