"""What the benchmarks that run the local stack set up the same way: a signed source (I/O)."""

from __future__ import annotations

import time
from typing import Any

import requests

from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from devstack.stack import LocalStack


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
