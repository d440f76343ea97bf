"""What the benchmarks that run the sandbox or the local stack set up the same way (I/O)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent


def seed_signed_source(stack: LocalStack, stage: Any, records: list[str], source: str,
                       signing_secret: str, mapping: dict[str, Any]) -> None:
    """Contacts ``records`` in the sandbox, ``source``'s signing secret, and its mapping."""
    requests.post(f"{stack.sandbox_url}/__sandbox/seed", timeout=60, json={
        "module": "Contacts",
        "records": [{"id": record, "Last_Name": "Seeded"} for record in records],
    }).raise_for_status()
    SecretsManagerStore(stage.client("secretsmanager")).put(
        f"zwa/webhook/{source}", signing_secret)
    DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table).save(
        mapping, now=time.time())


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    """The Zoho sandbox alone, in a process of its own on ``port``, once it answers."""
    process = subprocess.Popen([sys.executable, "-m", "devstack.zoho_sandbox", "--port",
                                str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/__sandbox/health", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")
