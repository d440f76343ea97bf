"""``zwa deploy``: bootstrap, ``chalice deploy``, then the worker's event source (I/O).

Before ``chalice deploy``, the package's bytecode (``zwa.bytecode``), so that a
cold start compiles nothing.

Chalice's ``on_sqs_message`` makes the SQS event source without
``ReportBatchItemFailures`` and without a concurrency cap; this step sets both
(``zwa.resources.event_source_settings``) on the mapping Chalice made, every
time, so a redeploy can never quietly drop them. Idempotent: each step says
what it changed, or that nothing needed to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zwa.bootstrap import bootstrap
from zwa.bytecode import compile_bytecode
from zwa.resources import WORKER_FUNCTION, StageResources, event_source_settings
from zwa.stage import PROJECT_ROOT, Stage, chalice_config

Say = Callable[[str], None]


class DeployError(RuntimeError):
    """A deploy step failed; the message says which and what to do."""


@dataclass(frozen=True)
class Deployed:
    """What ``chalice deploy`` recorded in ``.chalice/deployed/{stage}.json``."""

    worker_function: str
    api_url: str | None


def worker_function_name(stage: str, root: Path = PROJECT_ROOT) -> str:
    """The worker's Lambda name as Chalice makes it: ``{app_name}-{stage}-apply_deliveries``."""
    return f"{chalice_config(root)['app_name']}-{stage}-{WORKER_FUNCTION}"


def read_deployed(stage: str, root: Path = PROJECT_ROOT) -> Deployed | None:
    """The worker's function and the API's URL from Chalice's record of the deploy, if any."""
    path = root / ".chalice" / "deployed" / f"{stage}.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    worker, api_url = None, None
    for resource in record.get("resources", []):
        if resource.get("resource_type") == "lambda_function" and \
                resource.get("name") == WORKER_FUNCTION:
            worker = str(resource["lambda_arn"])
        if resource.get("resource_type") == "rest_api":
            api_url = resource.get("rest_api_url")
    return Deployed(worker or worker_function_name(stage, root), api_url) if worker else None


def run_chalice_deploy(stage: str, environment: Mapping[str, str], say: Say) -> None:
    """Run ``chalice deploy --stage STAGE`` in the project, its output on this terminal."""
    chalice = shutil.which("chalice") or str(Path(sys.executable).parent / "chalice")
    say(f"chalice deploy --stage {stage}")
    result = subprocess.run(  # noqa: S603 - a fixed command of our own
        [chalice, "deploy", "--stage", stage], cwd=PROJECT_ROOT, env={**os.environ, **environment},
        check=False)
    if result.returncode != 0:
        raise DeployError(f"chalice deploy failed (exit {result.returncode}); see its output above")


def configure_event_source(
    lambda_client: Any, function: str, queue_arn: str, resources: StageResources, say: Say
) -> list[str]:
    """Set the event source settings on ``function``'s mapping of ``queue_arn``; the changes."""
    pages = lambda_client.get_paginator("list_event_source_mappings").paginate(
        FunctionName=function)
    mappings = [m for page in pages for m in page.get("EventSourceMappings", [])
                if m.get("EventSourceArn") == queue_arn]
    if not mappings:
        raise DeployError(
            f"the function {function} has no event source for {queue_arn}; "
            "did 'chalice deploy' finish?")
    wanted = event_source_settings(resources)
    changes: list[str] = []
    for mapping in mappings:
        update = {key: value for key, value in wanted.items() if mapping.get(key) != value}
        if not update:
            say(f"event source {mapping['UUID']}: ReportBatchItemFailures and "
                f"MaximumConcurrency {resources.max_concurrency} already set")
            continue
        lambda_client.update_event_source_mapping(UUID=mapping["UUID"], **update)
        for key in sorted(update):
            changes.append(
                f"event source {mapping['UUID']}: set {key} to {json.dumps(update[key])}")
    for line in changes:
        say(line)
    return changes


ChaliceRunner = Callable[[str, Mapping[str, str], Say], None]


def deploy(
    stage: Stage, *, run_chalice: ChaliceRunner = run_chalice_deploy, say: Say = print,
    root: Path = PROJECT_ROOT,
) -> Deployed:
    """Deploy ``stage``: its resources, the functions, and the worker's event source settings."""
    if stage.name == "local":
        raise DeployError("the local stage is not deployed: 'make dev' runs it on this machine")
    say(f"1/3 resources of stage {stage.name}")
    sqs = stage.client("sqs")
    urls = bootstrap(stage.resources, stage.client("dynamodb"), sqs, say)
    say("2/3 functions")
    say(compile_bytecode(root).summary())
    # app.py names the worker's queue when Chalice imports it, before any stage
    # variable exists: give the import this stage's name.
    run_chalice(stage.name, {"ZWA_DELIVERIES_QUEUE": stage.settings.deliveries_queue}, say)
    deployed = read_deployed(stage.name, root)
    if deployed is None:
        raise DeployError(
            f".chalice/deployed/{stage.name}.json names no worker function; "
            "did chalice deploy run?")
    say("3/3 the worker's event source")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=urls["deliveries"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    configure_event_source(
        stage.client("lambda"), deployed.worker_function, queue_arn, stage.resources, say)
    if deployed.api_url:
        say(f"stage {stage.name} deployed: webhooks go to "
            f"{deployed.api_url.rstrip('/')}/webhooks/{{source}}")
    return deployed
