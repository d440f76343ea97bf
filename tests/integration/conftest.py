"""The real local stack for the pipeline's integration tests.

The moto server, the Zoho sandbox, ``chalice local`` and the local worker run as
real processes on free ports of 127.0.0.1, once per test session; tests talk to
them over HTTP only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from chalicelib.stores.ledger import DynamoLedger
from devstack.stack import EXAMPLE_SIGNING_SECRET, ROOT, LocalStack, Ports, free_port


def started_stack(prefix: str) -> Iterator[LocalStack]:
    """A whole local stack on free ports, its logs in a temporary folder, stopped at the end."""
    log_dir = Path(tempfile.mkdtemp(prefix=prefix))
    local = LocalStack(
        ports=Ports(aws=free_port(), sandbox=free_port(), api=free_port()), log_dir=log_dir
    )
    try:
        local.start()
    except Exception:
        local.stop()
        for log in sorted(log_dir.glob("*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text()[-3000:]}\n")
        raise
    yield local
    local.stop()


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    yield from started_stack("zwa-stack-")


@pytest.fixture
def sandbox(stack: LocalStack) -> str:
    """The sandbox URL, reset to the example records for each test.

    What the adapter knew of Zoho's records (the records table) is forgotten
    too: after a reset it would no longer be true.
    """
    requests.post(f"{stack.sandbox_url}/__sandbox/reset", timeout=10).raise_for_status()
    forget_records(stack)
    stack.seed_example_records()
    return stack.sandbox_url


def forget_records(stack: LocalStack) -> None:
    """Empty the records table: record states, search cache, leases."""
    stage = stack.stage()
    dynamodb = stage.client("dynamodb")
    table = stage.settings.records_table
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk"):
        for item in page.get("Items", []):
            dynamodb.delete_item(TableName=table, Key={"pk": item["pk"]})


def sign(body: bytes) -> str:
    config = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
    return hmac_signature(config, EXAMPLE_SIGNING_SECRET.encode(), body)


def post_webhook(stack: LocalStack, source: str, body: bytes, **headers: str) -> requests.Response:
    all_headers = {"Content-Type": "application/json", "X-Signature": sign(body), **headers}
    return requests.post(f"{stack.api_url}/webhooks/{source}", data=body,
                         headers=all_headers, timeout=15)


def zwa(stack: LocalStack, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the operator CLI against the stack, as a user would (``stdin`` piped in)."""
    env = {**os.environ, "ZWA_AWS_PORT": str(stack.ports.aws)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "zwa.main", "--stage", "local", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )


def ledger_item(stack: LocalStack, source: str, delivery_id: str) -> dict[str, Any]:
    """The ledger item as ``zwa deliveries show --json`` prints it."""
    result = zwa(stack, "deliveries", "show", source, delivery_id, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def ledger(stack: LocalStack) -> DynamoLedger:
    """The ledger table in the emulator, for polling without starting a CLI each time."""
    stage = stack.stage()
    return DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)


def final_status(ledger: DynamoLedger, source: str, delivery_id: str, timeout: float = 40) -> str:
    """Wait until the delivery's ledger status is final; return it."""
    finals = {"applied", "unchanged", "ignored", "stale", "failed", "dead"}

    def check() -> str | None:
        item = ledger.get(source, delivery_id)
        return item["status"] if item and item["status"] in finals else None

    return str(wait_for(check, timeout))


def wait_for(check: Callable[[], Any], timeout: float = 30, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"gave up waiting after {timeout}s; last saw {last!r}")
