"""Runs the Zoho sandbox as a real process (`python -m devstack.zoho_sandbox`) for these tests.

One process serves the whole session; every test starts from `POST /__sandbox/reset`. The
`sandbox` fixture is a small client: tokens, authenticated CRM calls, seeding and controls.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
READY_PREFIX = "zoho sandbox listening on "
CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
REFRESH_TOKEN = "sandbox-refresh-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(*args: str, timeout: float = 15.0) -> tuple[subprocess.Popen[str], str]:
    """Start the sandbox process and wait for its ready line; returns (process, base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.zoho_sandbox", "--port", str(port), *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith(READY_PREFIX):
            return process, line[len(READY_PREFIX):].strip()
    process.kill()
    raise RuntimeError(f"sandbox did not start (exit code {process.poll()})")


def stop_sandbox(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()


class SandboxClient:
    """Talks to one sandbox: tokens, CRM calls with auth, test controls."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self._token: str | None = None

    def grant(self, **overrides: str) -> requests.Response:
        form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, **CLIENT}
        form.update(overrides)
        return self.http.post(f"{self.url}/oauth/v2/token", data=form, timeout=10)

    def new_token(self) -> str:
        answer = self.grant().json()
        assert "access_token" in answer, answer
        return answer["access_token"]

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.new_token()
        return self._token

    def crm(
        self,
        method: str,
        path: str,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        all_headers = {"Authorization": f"Zoho-oauthtoken {token or self.token}", **(headers or {})}
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, f"{self.url}/crm/v8/{path}", headers=all_headers, **kwargs)

    def control(self, name: str, body: Any = None, method: str = "POST", **kwargs: Any) -> Any:
        answer = self.http.request(
            method, f"{self.url}/__sandbox/{name}", json=body, timeout=10, **kwargs
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def seed(self, module: str, *records: dict[str, Any]) -> list[str]:
        return self.control("seed", {"module": module, "records": list(records)})["ids"]

    def state(self, module: str, record_id: str) -> dict[str, Any]:
        return self.control(f"records/{module}/{record_id}", method="GET")

    def update(self, module: str, record_id: str, fields: dict[str, Any], **kwargs: Any):
        return self.crm("PUT", f"{module}/{record_id}", json={"data": [fields]}, **kwargs)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sandbox_process():
    process, url = start_sandbox()
    yield url
    stop_sandbox(process)


@pytest.fixture
def sandbox(sandbox_process: str) -> SandboxClient:
    client = SandboxClient(sandbox_process)
    client.control("reset")
    return client
