"""What the benchmarks that run the sandbox or the local stack set up the same way (I/O)."""

from __future__ import annotations

import json
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
# The sandbox's update endpoint, as its stats name it, and its OAuth client.
PUT_ENDPOINT = "PUT /crm/v8/{module}/{id}"
CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"
REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105 - the sandbox's own


def seed_signed_source(stack: LocalStack, stage: Any, records: list[str], source: str,
                       signing_secret: str, mapping: dict[str, Any]) -> None:
    """Contacts ``records`` in the sandbox, ``source``'s signing secret, and its mapping."""
    seed_contacts(stack.sandbox_url, records)
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


def seed_contacts(sandbox_url: str, records: list[str]) -> None:
    """Contacts with these ids in the sandbox, for updates to find."""
    requests.post(f"{sandbox_url}/__sandbox/seed", timeout=60, json={
        "module": "Contacts",
        "records": [{"id": record, "Last_Name": "Seeded"} for record in records],
    }).raise_for_status()


def pace_sandbox(sandbox_url: str, *, cap: int, latency_ms: int) -> None:
    """Zoho's concurrency cap and a latency for every call, in the sandbox."""
    requests.post(f"{sandbox_url}/__sandbox/config", timeout=10,
                  json={"concurrency": cap}).raise_for_status()
    requests.post(f"{sandbox_url}/__sandbox/latency", timeout=10,
                  json={"ms": latency_ms}).raise_for_status()


def sandbox_stats(sandbox_url: str) -> dict[str, Any]:
    """The sandbox's counts: answers by endpoint, token grants, peak calls in flight."""
    return dict(requests.get(f"{sandbox_url}/__sandbox/stats", timeout=10).json())


def crm_calls(stats: dict[str, Any]) -> int:
    """The CRM calls (all but the token endpoint's) in the sandbox's counts."""
    return sum(sum(int(count) for count in answers.values())
               for endpoint, answers in stats["by_endpoint"].items() if "/crm/" in endpoint)


def connection_secret(sandbox_url: str) -> str:
    """A Zoho connection's secret whose token endpoint is the sandbox's."""
    return json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "refresh_token": REFRESH_TOKEN, "accounts_url": sandbox_url})


# Deliveries applied per second through the sandbox, as a share of what its cap allows.
THROUGHPUT_GOAL = 0.9


def against_the_cap(applied: int, seconds: float, cap: int, latency_ms: int) -> dict[str, Any]:
    """Deliveries applied per second, and their ratio to the ``cap / latency`` the sandbox
    allows (None with no latency: then the figure is the machine's ceiling)."""
    throughput = applied / seconds if seconds > 0 else 0.0
    allowed = cap / (latency_ms / 1000) if latency_ms else None
    return {"applied_per_second": round(throughput, 1), "allowed_per_second": allowed,
            "throughput_ratio": round(throughput / allowed, 3) if allowed else None}


def throughput_words(figures: dict[str, Any]) -> str:
    """The figures of ``against_the_cap`` in words, with the goal when there is a ratio."""
    applied = f"{figures['applied_per_second']:.1f} applied/s"
    if figures["throughput_ratio"] is None:
        return f"{applied} with no latency (the machine's ceiling)"
    return (f"{applied} against the {figures['allowed_per_second']:.0f}/s the cap allows: "
            f"{figures['throughput_ratio']}x (goal {THROUGHPUT_GOAL})")
