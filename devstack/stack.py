"""Start and stop the local stack as real processes (``make dev`` and integration tests).

Order: the AWS emulator (moto server) and the Zoho sandbox; then the stage's
tables and queues, the ``default`` connection (the sandbox, or real Zoho when
credentials are given), the example mappings with their signing secrets (the
local values of ``examples/local-signing-secrets.json``) and records; then
``chalice local`` and the local worker (or several: ``workers``). Every process
gets its own process group, so stopping the stack stops all it started; a
worker can also be killed outright and started again (``kill``,
``start_worker``), as the chaos benchmark does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from chalicelib.mapping.document import parse_mapping
from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from chalicelib.zoho.tokens import connection_secret_id
from zwa.bootstrap import bootstrap
from zwa.stage import Stage, load_stage, stage_environment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SANDBOX_CLIENT = {
    "client_id": "sandbox-client",
    "client_secret": "sandbox-secret",  # noqa: S105 (the sandbox's published default)
    "refresh_token": "sandbox-refresh-token",  # noqa: S105
}
# The signing secret of each example source on the local stack, by source (local values only).
LOCAL_SIGNING_SECRETS: dict[str, str] = json.loads(
    (EXAMPLES / "local-signing-secrets.json").read_text())
EXAMPLE_SECRET_ID = "zwa/webhook/example"  # noqa: S105 (a secret's name)
EXAMPLE_SIGNING_SECRET = LOCAL_SIGNING_SECRETS["example"]
EXAMPLE_CONTACT_ID = "5725767000000524157"


@dataclass(frozen=True)
class Ports:
    """Where each local service listens, all on 127.0.0.1."""

    aws: int = 5000
    sandbox: int = 8810
    api: int = 8000

    @classmethod
    def from_environ(cls) -> Ports:
        return cls(
            aws=int(os.environ.get("ZWA_AWS_PORT", 5000)),
            sandbox=int(os.environ.get("ZWA_SANDBOX_PORT", 8810)),
            api=int(os.environ.get("ZWA_API_PORT", 8000)),
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def zoho_from_environ() -> dict[str, str] | None:
    """A real Zoho connection from ZOHO_CLIENT_ID/SECRET/REFRESH_TOKEN (+ ZOHO_DC or
    ZOHO_ACCOUNTS_URL), or None to use the sandbox."""
    keys = ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN")
    if not all(os.environ.get(key) for key in keys):
        return None
    connection = {
        "client_id": os.environ["ZOHO_CLIENT_ID"],
        "client_secret": os.environ["ZOHO_CLIENT_SECRET"],
        "refresh_token": os.environ["ZOHO_REFRESH_TOKEN"],
    }
    if os.environ.get("ZOHO_ACCOUNTS_URL"):
        connection["accounts_url"] = os.environ["ZOHO_ACCOUNTS_URL"]
    else:
        connection["dc"] = os.environ.get("ZOHO_DC", "us")
    return connection


@dataclass
class LocalStack:
    """The whole local stack; ``start()`` returns once every part answers."""

    ports: Ports = field(default_factory=Ports)
    log_dir: Path = ROOT / ".devstack" / "logs"
    zoho: dict[str, str] | None = None
    autoreload: bool = False
    # Where chalice local's and the worker's output goes: a log file, or the terminal.
    app_output: str = "file"
    # How many local worker processes poll the queue (as Lambda runs several).
    workers: int = 1
    # Environment variables set last, over the stage's (a benchmark's settings).
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.aws}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sandbox}"

    def environment(self) -> dict[str, str]:
        """The environment of every process: the local stage's, pointing at these ports."""
        env = dict(os.environ)
        env["ZWA_AWS_PORT"] = str(self.ports.aws)
        env.update(stage_environment("local", ROOT) | {"AWS_ENDPOINT_URL": self.aws_url})
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        self._spawn("aws", [python, "-m", "moto.server", "-H", "127.0.0.1",
                            "-p", str(self.ports.aws)])
        if self.zoho is None:
            self._spawn("zoho-sandbox", [python, "-m", "devstack.zoho_sandbox",
                                         "--port", str(self.ports.sandbox)])
        self._wait_for_port("aws", self.ports.aws)
        if self.zoho is None:
            self._wait_for_port("zoho-sandbox", self.ports.sandbox)
        self.provision()
        chalice = [str(Path(python).parent / "chalice"), "local", "--host", "127.0.0.1",
                   "--port", str(self.ports.api), "--stage", "local"]
        if not self.autoreload:
            chalice.append("--no-autoreload")
        to_terminal = self.app_output == "terminal"
        self._spawn("chalice-local", chalice, to_terminal=to_terminal)
        for index in range(self.workers):
            self.start_worker(index)
        self._wait_for_http("chalice-local", f"{self.api_url}/health")

    @staticmethod
    def worker_name(index: int = 0) -> str:
        """The process name of the ``index``-th local worker (0: ``local-worker``)."""
        return "local-worker" if index == 0 else f"local-worker-{index + 1}"

    def start_worker(self, index: int = 0) -> None:
        """Start (or start again) the ``index``-th local worker."""
        self._spawn(self.worker_name(index), [sys.executable, "-m", "devstack.local_worker"],
                    to_terminal=self.app_output == "terminal")

    def kill(self, name: str) -> None:
        """Kill a process outright (SIGKILL), as a crash would: no clean-up of its own."""
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stage(self) -> Stage:
        """The ``local`` stage, pointing at this stack's AWS emulator."""
        stage = load_stage("local", ROOT)
        stage.environment["AWS_ENDPOINT_URL"] = self.aws_url
        return stage

    def provision(self) -> None:
        """Tables, queues, the connection, the example mappings, their secrets and records."""
        stage = self.stage()
        bootstrap(stage.resources, stage.client("dynamodb"), stage.client("sqs"),
                  say=lambda line: None)
        secrets = SecretsManagerStore(stage.client("secretsmanager"))
        connection = self.zoho or {**SANDBOX_CLIENT, "accounts_url": self.sandbox_url}
        secrets.put(connection_secret_id(stage.settings.secret_prefix, "default"),
                    json.dumps(connection))
        store = DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table)
        for path in sorted((EXAMPLES / "mappings").glob("*.json")):
            document = json.loads(path.read_text())
            stored = store.save(document, now=time.time())
            secret_id = parse_mapping(document).verify.secret_id
            if secret_id and stored.source in LOCAL_SIGNING_SECRETS:
                secrets.put(secret_id, LOCAL_SIGNING_SECRETS[stored.source])
        if self.zoho is None:
            self.seed_example_records()

    def seed_example_records(self) -> None:
        """The Account and Contact that the example webhook updates, in the sandbox."""
        seed = json.loads((EXAMPLES / "sandbox-seed.json").read_text())
        for module, records in seed.items():
            response = requests.post(f"{self.sandbox_url}/__sandbox/seed",
                                     json={"module": module, "records": records}, timeout=10)
            response.raise_for_status()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _spawn(self, name: str, command: list[str], *, to_terminal: bool = False) -> None:
        output: Any = None
        if not to_terminal:
            log = self.log_path(name).open("ab")
            self._logs.append(log)
            output = log
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own fixed commands
            command, cwd=ROOT, env=self.environment(), stdout=output,
            stderr=subprocess.STDOUT if output else None, start_new_session=True,
        )

    def _check_alive(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode}; "
                               f"see {self.log_path(name)}")

    def _wait_for_port(self, name: str, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(name)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen on port {port} within {timeout}s")

    def _wait_for_http(self, name: str, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(name)
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {url} within {timeout}s")
