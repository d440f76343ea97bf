"""Side by side on one Zoho sandbox: the adapter's worker, Zoho's Python SDK, a plain loop.

    .venv/bin/python -m benchmarks.alternatives             # 100 updates each
    .venv/bin/python -m benchmarks.alternatives --updates 300 --json

It starts the Zoho sandbox in a process of its own (no latency; token grants
unlimited, so that the plain loop is not throttled as Zoho would throttle it
after 10 grants in 10 minutes), and first checks that the sandbox is never the
bottleneck: a keep-alive client should see about the time per request a fresh
connection sees, or better. Then each contender updates one Contact N times:

- the adapter's worker: ``process_message`` for each delivery that the api's
  ``accept_webhook`` queued, with in-memory stores and the real Zoho client;
- Zoho's official SDK (``zohocrmsdk8-0``, or the newest of 7-0 and 6-0 that
  installs), installed only in a throwaway venv under /tmp, pointed at the
  sandbox through a ``DataCenter.Environment`` of its own;
- a plain ``requests`` loop that gets a new token before every PUT.

For each: Zoho calls per update (the sandbox's own count), time per update, and
the import time of what it loads (CPU time, in a fresh interpreter), with the
ratios to the adapter's worker. When the SDK cannot be installed or run
offline, the run says so and measures the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import coldstart  # noqa: E402
from benchmarks.stack_setup import (  # noqa: E402
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    connection_secret,
    crm_calls,
    sandbox_stats,
    seed_contacts,
    start_sandbox,
)
from chalicelib.observability import logger, metrics  # noqa: E402
from devstack.stack import free_port  # noqa: E402

SDK_VENV = Path("/tmp/zwa-bench-zoho-sdk")
SDK_PACKAGES = ("zohocrmsdk8-0", "zohocrmsdk7-0", "zohocrmsdk6-0")
RECORD = "5725767000300000001"

_SDK_SCRIPT = r"""
import json, sys, time, tempfile
base, record, updates, package = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
started = time.process_time()
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.record import (
    RecordOperations, BodyWrapper, Record, SuccessResponse, ActionWrapper)
imported = time.process_time() - started
folder = tempfile.mkdtemp(prefix="zwa-sdk-")
environment = DataCenter.Environment(base, base + "/oauth/v2/token", base)
token = OAuthToken(client_id="sandbox-client", client_secret="sandbox-secret",
                   refresh_token="sandbox-refresh-token", find_user=False)
Initializer.initialize(environment=environment, token=token,
                       store=FileStore(folder + "/tokens.txt"),
                       sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
                       resource_path=folder)
times, ok = [], 0
for index in range(updates):
    record_ = Record()
    record_.add_key_value("Last_Name", f"Sdk {index}")
    body = BodyWrapper()
    body.set_data([record_])
    begun = time.perf_counter()
    response = RecordOperations("Contacts").update_record(int(record), body)
    times.append(time.perf_counter() - begun)
    answer = response.get_object() if response is not None else None
    if isinstance(answer, ActionWrapper):
        ok += sum(1 for item in answer.get_data() if isinstance(item, SuccessResponse))
print(json.dumps({"times": times, "ok": ok, "import_seconds": imported}))
"""


def crm_and_token_calls(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    return (crm_calls(after) - crm_calls(before),
            int(after["token_grants"]) - int(before["token_grants"]))


def access_token(base: str, session: requests.Session | None = None) -> str:
    post = (session or requests).post
    answer = post(f"{base}/oauth/v2/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN})
    return str(answer.json()["access_token"])


def sandbox_check(base: str, requests_each: int) -> dict[str, float]:
    """Median ms per CRM read over one keep-alive session and over a fresh connection each."""
    headers = {"Authorization": f"Zoho-oauthtoken {access_token(base)}"}
    url = f"{base}/crm/v8/Contacts/{RECORD}"
    session = requests.Session()
    kept, fresh = [], []
    for _ in range(requests_each):
        begun = time.perf_counter()
        session.get(url, headers=headers, timeout=10)
        kept.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        with requests.Session() as once:
            once.get(url, headers=headers, timeout=10)
        fresh.append(time.perf_counter() - begun)
    return {"keep_alive_ms": 1000 * statistics.median(kept),
            "fresh_connection_ms": 1000 * statistics.median(fresh)}


def plain_loop(base: str, updates: int) -> list[float]:
    """What one would write first: a new token, then the PUT, for every update."""
    times = []
    session = requests.Session()
    for index in range(updates):
        begun = time.perf_counter()
        token = access_token(base, session)
        session.put(f"{base}/crm/v8/Contacts/{RECORD}", timeout=10,
                    headers={"Authorization": f"Zoho-oauthtoken {token}"},
                    json={"data": [{"Last_Name": f"Loop {index}"}]}).raise_for_status()
        times.append(time.perf_counter() - begun)
    return times


def adapter_worker(base: str, updates: int) -> list[float]:
    """The worker's own path for each delivery the api queued: stores in memory, real Zoho."""
    from chalicelib.delivery.worker import Attempt, WorkerServices, process_message
    from chalicelib.ingest.accept import IngestServices, accept_webhook
    from chalicelib.ingest.request import WebhookRequest
    from chalicelib.stores.ledger import InMemoryLedger
    from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache
    from chalicelib.stores.queues import InMemoryQueue
    from chalicelib.stores.records import InMemoryRecordStore
    from chalicelib.stores.secrets import InMemorySecretStore
    from chalicelib.zoho.client import ZohoClient
    from chalicelib.zoho.http import Urllib3Session
    from chalicelib.zoho.tokens import TokenProvider

    logger.setLevel("WARNING")  # a line per delivery would measure the terminal
    mappings = InMemoryMappingStore()
    mappings.save({"source": "side", "connection": "default", "verify": {"scheme": "none"},
                   "delivery_id": "id",
                   "rules": [{"name": "name", "module": "Contacts", "record": {"id": "record"},
                              "fields": {"Last_Name": "name"}}]}, now=time.time())
    ledger, queue = InMemoryLedger(), InMemoryQueue("zwa-deliveries")
    secrets = InMemorySecretStore({"zwa/connection/default": connection_secret(base)})
    records = InMemoryRecordStore(ledger)
    session = Urllib3Session(connections=1)  # the worker's own session
    client = ZohoClient(session, TokenProvider(secrets, session, "zwa/connection/default",
                                               leases=records, connection="default"))
    ingest = IngestServices(mappings=MappingCache(mappings, ttl=0), secrets=secrets,
                            ledger=ledger, queue=queue)
    worker = WorkerServices(mappings=MappingCache(mappings, ttl=0), ledger=ledger, queue=queue,
                            dead_letters=InMemoryQueue("zwa-dlq"), zoho=lambda name: client,
                            records=records)
    times = []
    for index in range(updates):
        metrics.clear_metrics()  # the worker's handler flushes them; nobody reads them here
        body = json.dumps({"id": f"side-{index}", "record": RECORD, "name": f"Adapter {index}"})
        accept_webhook(WebhookRequest(source="side", headers={"content-type": "application/json"},
                                      raw_body=body.encode(), method="POST",
                                      path="/webhooks/side", query=""), ingest, time.time())
        message, _ = queue.messages.pop()
        begun = time.perf_counter()
        status = process_message(json.dumps(message) if not isinstance(message, str) else message,
                                 Attempt(1, time.time(), f"r{index}"), worker, time.time())
        times.append(time.perf_counter() - begun)
        if status != "applied":
            raise SystemExit(f"the adapter's update {index} ended {status}")
    metrics.clear_metrics()
    return times


def sdk_python() -> tuple[Path | None, str]:
    """The throwaway venv's python with the newest SDK that installs, or None and why."""
    python = SDK_VENV / "bin" / "python"
    marker = SDK_VENV / "installed"
    if marker.exists():
        return python, marker.read_text().strip()
    subprocess.run([sys.executable, "-m", "venv", str(SDK_VENV)], check=True)
    for package in SDK_PACKAGES:
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", package],
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            marker.write_text(package)
            return python, package
    return None, "none of " + ", ".join(SDK_PACKAGES) + " installs here"


def sdk_run(base: str, updates: int) -> dict[str, Any]:
    python, package = sdk_python()
    if python is None:
        return {"error": package}
    done = subprocess.run([str(python), "-c", _SDK_SCRIPT, base, RECORD, str(updates), package],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{package} did not run against the sandbox: {last[:200]}",
                "package": package}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["package"] = package
    return result


def import_cpu_ms(python: str, imports: str, runs: int) -> float:
    script = (f"import time\nstart = time.process_time()\n{imports}\n"
              "print(time.process_time() - start)")
    values = []
    for _ in range(runs):
        done = subprocess.run([python, "-c", script], cwd=ROOT, capture_output=True, text=True,
                              check=True, env=coldstart.function_environment())
        values.append(float(done.stdout.strip().splitlines()[-1]))
    return 1000 * statistics.median(values)


def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox(port)
    try:
        requests.post(f"{base}/__sandbox/config", timeout=10, json={
            "token_grants_per_window": 10**9, "max_live_tokens": 10**9}).raise_for_status()
        seed_contacts(base, [RECORD])
        check = sandbox_check(base, args.check_requests)
        contenders: dict[str, dict[str, Any]] = {}
        for name, call in (("adapter worker", adapter_worker), ("plain requests loop",
                                                                 plain_loop)):
            before = sandbox_stats(base)
            times = call(base, args.updates)
            crm, grants = crm_and_token_calls(before, sandbox_stats(base))
            contenders[name] = {"times": times, "crm": crm, "grants": grants}
        before = sandbox_stats(base)
        sdk = sdk_run(base, args.updates)
        if "times" in sdk:
            crm, grants = crm_and_token_calls(before, sandbox_stats(base))
            contenders[f"Zoho SDK ({sdk['package']})"] = {
                "times": sdk["times"], "crm": crm, "grants": grants, "ok": sdk["ok"]}
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    env = coldstart.function_environment()
    worker_imports = coldstart.import_lines(coldstart.modules_loaded("worker", env))
    imports = {"adapter worker": import_cpu_ms(sys.executable, worker_imports, args.runs),
               "plain requests loop": import_cpu_ms(sys.executable, "import requests", args.runs)}
    if "times" in sdk:
        python, _ = sdk_python()
        imports[f"Zoho SDK ({sdk['package']})"] = import_cpu_ms(str(python), "\n".join([
            "from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer",
            "from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations",
            "from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken"]),
            args.runs)
    rows = {}
    for name, seen in contenders.items():
        rows[name] = {
            "calls_per_update": (seen["crm"] + seen["grants"]) / args.updates,
            "token_grants_per_update": seen["grants"] / args.updates,
            "ms_per_update": 1000 * statistics.median(seen["times"]),
            "import_ms": imports[name],
        }
    ours = rows["adapter worker"]
    for row in rows.values():
        row["ratios"] = {key: row[key] / ours[key] if ours[key] else None
                         for key in ("calls_per_update", "ms_per_update", "import_ms")}
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
                   f"Python {platform.python_version()}",
        "updates": args.updates, "sandbox_check": check,
        "sandbox_ratio": check["keep_alive_ms"] / check["fresh_connection_ms"],
        "contenders": rows, "sdk_error": sdk.get("error"),
    }


def report(f: dict[str, Any]) -> str:
    check = f["sandbox_check"]
    lines = [
        f"machine: {f['machine']}",
        f"sandbox check: keep-alive {check['keep_alive_ms']:.2f} ms per request, fresh "
        f"connection {check['fresh_connection_ms']:.2f} ms: {f['sandbox_ratio']:.2f}x "
        "(at most about 1: the sandbox is not the bottleneck)",
        f"{f['updates']} single-record updates each; ratios to the adapter's worker",
        f"{'':24}{'calls/update':>14}{'ms/update':>12}{'import ms':>11}"
        f"{'calls x':>9}{'time x':>8}{'import x':>9}",
    ]
    for name, row in f["contenders"].items():
        ratios = row["ratios"]
        lines.append(f"{name[:24]:24}{row['calls_per_update']:14.2f}{row['ms_per_update']:12.2f}"
                     f"{row['import_ms']:11.1f}{ratios['calls_per_update']:9.2f}"
                     f"{ratios['ms_per_update']:8.2f}{ratios['import_ms']:9.2f}")
    if f["sdk_error"]:
        lines.append(f"Zoho SDK: not measured: {f['sdk_error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(prog="python -m benchmarks.alternatives",
                                        description=__doc__.split("\n\n")[0])
    arguments.add_argument("--updates", type=int, default=100)
    arguments.add_argument("--check-requests", type=int, default=200)
    arguments.add_argument("--runs", type=int, default=5, help="fresh interpreters per import")
    arguments.add_argument("--json", action="store_true")
    args = arguments.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
