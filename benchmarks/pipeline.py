"""Calls per webhook, throughput and cost: signed webhooks through the real local stack.

    .venv/bin/python -m benchmarks.pipeline                 # 300 webhooks, 2 workers
    .venv/bin/python -m benchmarks.pipeline --webhooks 1000 --json

It starts a local stack of its own on free ports (the moto server with its
request recorder on, the Zoho sandbox at ``--latency-ms`` per call with a
concurrency cap of ``--cap``, ``chalice local``), then:

1. with no worker running, posts N signed webhooks for N Contacts from
   ``--senders`` threads, and counts the AWS calls the api made (at the moto
   server) and the time of each post;
2. starts ``--workers`` local workers, each handling as many messages of a
   batch at once as keeps them all within the cap (``ZWA_ZOHO_CONCURRENCY`` over
   ``ZWA_WORKER_MAX_CONCURRENCY``), and counts, until every delivery is applied,
   the worker's AWS calls (apart: the poller's receives and deletes, which
   Lambda's event source mapping makes), the sandbox's CRM calls and token
   grants, and the deliveries applied per second against the ``cap / latency``
   the sandbox allows.

It prints the calls per delivery by service and operation (and how many of
them the moto server failed itself and the AWS SDK sent again: under load its
``TransactWriteItems`` can fail copying a table another request is writing),
Zoho calls per applied rule, token refreshes, throughput and its ratio to the cap, and the AWS
cost per million webhooks from these counts and durations (prices below) beside
the Zoho credits per million. Figures depend on the machine; the run prints it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.stack_setup import (  # noqa: E402
    PUT_ENDPOINT,
    against_the_cap,
    crm_calls,
    pace_sandbox,
    sandbox_stats,
    seed_signed_source,
    throughput_words,
)
from chalicelib.ingest.signatures import hmac_signature  # noqa: E402
from chalicelib.mapping.document import VerifyConfig  # noqa: E402
from chalicelib.stores.ledger import DynamoLedger  # noqa: E402
from devstack.stack import LocalStack, Ports, free_port  # noqa: E402

SOURCE = "bench"
SIGNING_SECRET = "bench-signing-secret"  # a local stack's own
SIGNATURE = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
FIRST_ID = 5725767000200000001
MAPPING = {
    "source": SOURCE,
    "connection": "default",
    "verify": {"scheme": "hmac", "secret_id": f"zwa/webhook/{SOURCE}", "header": "X-Signature",
               "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="},
    "delivery_id": "id",
    "rules": [{"name": "contact-changed", "module": "Contacts", "record": {"id": "data.zoho_id"},
               "event_time": "created", "trigger": [],
               "fields": {"Last_Name": {"path": "data.last_name", "required": True}}}],
}

# The us-east-1 list prices used for the cost (USD), as written down on 2026-11-29
# (from the AWS pricing pages as last read; the script fetches nothing, so check them
# before relying on the total): API Gateway REST APIs (first 333 million requests a
# month), Lambda x86 (requests, GB-seconds), SQS standard queues (per 64 KB request
# chunk, beyond the free tier), DynamoDB on-demand (write and read request units, after
# the November 2024 reduction), Secrets Manager API calls.
PRICES_DATE = "2026-11-29"
PRICES = {
    "api_gateway_request": 3.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "sqs_request": 0.40 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "secrets_manager_call": 0.05 / 10_000,
}
LAMBDA_MEMORY_MB = 128  # Chalice's default; .chalice/config.json sets no other


def _service_operation(entry: dict[str, Any]) -> tuple[str, str]:
    """``("dynamodb", "PutItem")`` for one recorded request."""
    headers = {key.lower(): value for key, value in entry.get("headers", {}).items()}
    target = headers.get("x-amz-target", "")
    if target:
        prefix, _, operation = target.partition(".")
        service = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs",
                   "secretsmanager": "secretsmanager"}.get(prefix, prefix)
        return service, operation
    body = _body(entry)
    for pair in body.split("&"):
        if pair.startswith("Action="):
            return "sqs", pair.split("=", 1)[1]
    return "other", entry.get("method", "?")


def _body(entry: dict[str, Any]) -> str:
    raw = entry.get("body") or ""
    if entry.get("body_encoded"):
        return base64.b64decode(raw).decode("utf-8", "replace")
    return str(raw)


def capacity_units(entry: dict[str, Any], operation: str) -> tuple[float, float]:
    """(write units, read units) of one DynamoDB call: items under 1 KB, as the ledger's are."""
    try:
        body = json.loads(_body(entry) or "{}")
    except ValueError:
        body = {}
    if operation in {"PutItem", "UpdateItem", "DeleteItem"}:
        return 1.0, 0.0
    if operation == "TransactWriteItems":
        return 2.0 * len(body.get("TransactItems", [])), 0.0
    if operation == "BatchWriteItem":
        return float(sum(len(items) for items in body.get("RequestItems", {}).values())), 0.0
    if operation == "GetItem":
        return 0.0, 1.0 if body.get("ConsistentRead") else 0.5
    if operation == "TransactGetItems":
        return 0.0, 2.0 * len(body.get("TransactItems", []))
    if operation in {"Query", "Scan"}:
        return 0.0, 1.0 if body.get("ConsistentRead") else 0.5
    return 0.0, 0.0


class Recorder:
    """The moto server's request recorder: what the app asked of AWS since the last reset."""

    def __init__(self, aws_url: str) -> None:
        self.url = f"{aws_url}/moto-api/recorder"

    def reset(self) -> None:
        requests.post(f"{self.url}/reset-recording", timeout=10).raise_for_status()

    def start(self) -> None:
        requests.post(f"{self.url}/start-recording", timeout=10).raise_for_status()

    def stop(self) -> None:
        requests.post(f"{self.url}/stop-recording", timeout=10).raise_for_status()

    def entries(self) -> list[dict[str, Any]]:
        text = requests.get(f"{self.url}/download-recording", timeout=60).text
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def emulator_errors(log_dir: Path) -> int:
    """The moto server's 500 answers so far (its access log): its own failures, which the AWS
    SDK sends again, so that each is one more call counted than the app made."""
    log = log_dir / "aws.log"
    if not log.exists():
        return 0
    with log.open(errors="replace") as lines:
        return sum(1 for line in lines if '" 500 ' in line)


def tally(entries: list[dict[str, Any]]) -> dict[str, Any]:
    calls: Counter[str] = Counter()
    writes = reads = 0.0
    for entry in entries:
        service, operation = _service_operation(entry)
        calls[f"{service} {operation}"] += 1
        if service == "dynamodb":
            write, read = capacity_units(entry, operation)
            writes, reads = writes + write, reads + read
    return {"calls": dict(calls), "write_units": writes, "read_units": reads}


POLLER_OPERATIONS = {"sqs ReceiveMessage", "sqs DeleteMessageBatch", "sqs GetQueueUrl",
                     "sqs GetQueueAttributes"}


def prepare(stack: LocalStack, stage: Any, records: list[str], args: argparse.Namespace) -> None:
    seed_signed_source(stack, stage, records, SOURCE, SIGNING_SECRET, MAPPING)
    pace_sandbox(stack.sandbox_url, cap=args.cap, latency_ms=args.latency_ms)


def post_all(api_url: str, records: list[str], senders: int) -> tuple[Counter[str], list[float]]:
    answers: Counter[str] = Counter()
    durations: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def post(index_record: tuple[int, str]) -> None:
        index, record = index_record
        if not hasattr(local, "http"):
            local.http = requests.Session()
        body = json.dumps({"id": f"bench-{index:06d}", "created": 1_764_331_200 + index,
                           "data": {"zoho_id": record, "last_name": f"Bench {index}"}}).encode()
        signature = hmac_signature(SIGNATURE, SIGNING_SECRET.encode(), body)
        started = time.perf_counter()
        answer = local.http.post(f"{api_url}/webhooks/{SOURCE}", data=body, timeout=30,
                                 headers={"Content-Type": "application/json",
                                          "X-Signature": signature})
        with lock:
            durations.append(time.perf_counter() - started)
            answers[str(answer.status_code)] += 1

    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(post, enumerate(records)))
    return answers, durations


def wait_for_puts(sandbox_url: str, wanted: int,
                  timeout: float) -> tuple[dict[str, Any], float, float]:
    """Sandbox stats once ``wanted`` PUTs succeeded; when the first and the last one did."""
    deadline = time.monotonic() + timeout
    first = 0.0
    while True:
        stats = sandbox_stats(sandbox_url)
        done = int(stats["by_endpoint"].get(PUT_ENDPOINT, {}).get("200", 0))
        if done and not first:
            first = time.monotonic()
        if done >= wanted or time.monotonic() > deadline:
            return stats, first or time.monotonic(), time.monotonic()
        time.sleep(0.02)


def run(args: argparse.Namespace) -> dict[str, Any]:
    say = (lambda line: None) if args.json else (lambda line: print(line, flush=True))
    log_dir = Path(tempfile.mkdtemp(prefix="zwa-bench-"))
    os.environ["MOTO_RECORDER_FILEPATH"] = str(log_dir / "moto-recording.jsonl")
    stack = LocalStack(ports=Ports(aws=free_port(), sandbox=free_port(), api=free_port()),
                       log_dir=log_dir, workers=0,
                       env={"ZWA_WORKER_MAX_CONCURRENCY": str(args.workers),
                            "ZWA_ZOHO_CONCURRENCY": str(args.cap)})
    say(f"starting a local stack (logs in {log_dir})")
    stack.start()
    try:
        stage = stack.stage()
        records = [str(FIRST_ID + index) for index in range(args.webhooks)]
        prepare(stack, stage, records, args)
        recorder = Recorder(stack.aws_url)
        recorder.reset()
        recorder.start()
        errors_before = emulator_errors(log_dir)
        say(f"posting {args.webhooks} signed webhooks, no worker running")
        answers, durations = post_all(stack.api_url, records, args.senders)
        recorder.stop()
        api = tally(recorder.entries())
        api["emulator_errors"] = emulator_errors(log_dir) - errors_before
        recorder.reset()
        recorder.start()
        errors_before = emulator_errors(log_dir)
        say(f"starting {args.workers} workers")
        started = time.monotonic()
        for index in range(args.workers):
            stack.start_worker(index)
        stats, first_put, last_put = wait_for_puts(stack.sandbox_url, args.webhooks,
                                                   args.timeout)
        time.sleep(3)  # the outcomes of the last PUTs are written after them
        recorder.stop()
        worker = tally(recorder.entries())
        worker["emulator_errors"] = emulator_errors(log_dir) - errors_before
        ledger = DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)
        statuses = Counter(str(item.get("status"))
                           for item in ledger.recent(SOURCE, limit=10**6))
    finally:
        stack.stop()
    # Throughput from the first applied update to the last: the workers' start-up
    # (a process, its imports, its clients) is a cold start, measured apart.
    return figures(args, answers, durations, api, worker, stats, statuses,
                   last_put - first_put, last_put - started)


def figures(args: argparse.Namespace, answers: Counter[str], durations: list[float],
            api: dict[str, Any], worker: dict[str, Any], stats: dict[str, Any],
            statuses: Counter[str], seconds: float, busy_seconds: float) -> dict[str, Any]:
    n = args.webhooks
    applied = statuses["applied"]
    puts = stats["by_endpoint"].get(PUT_ENDPOINT, {})
    zoho_calls = crm_calls(stats)
    poller = {k: v for k, v in worker["calls"].items() if k in POLLER_OPERATIONS}
    worker_own = {k: v for k, v in worker["calls"].items() if k not in POLLER_OPERATIONS}
    batches = max(1, poller.get("sqs DeleteMessageBatch", 0))
    gb = LAMBDA_MEMORY_MB / 1024
    # Billed time: the api's answer time per webhook (as its client saw it, an upper
    # bound); the worker's, every worker busy from its start to the last PUT.
    api_seconds = statistics.median(durations)
    worker_seconds = args.workers * busy_seconds / n
    sqs_calls = sum(v for k, v in {**api["calls"], **worker["calls"]}.items()
                    if k.startswith("sqs "))
    secrets_calls = sum(v for k, v in {**api["calls"], **worker["calls"]}.items()
                        if k.startswith("secretsmanager "))
    cost = {
        "api_gateway": PRICES["api_gateway_request"] * n,
        "lambda_requests": PRICES["lambda_request"] * (n + batches),
        "lambda_duration": PRICES["lambda_gb_second"] * gb * (api_seconds * n
                                                              + worker_seconds * n),
        "sqs": PRICES["sqs_request"] * sqs_calls,
        "dynamodb": PRICES["dynamodb_write_unit"] * (api["write_units"] + worker["write_units"])
        + PRICES["dynamodb_read_unit"] * (api["read_units"] + worker["read_units"]),
        "secrets_manager": PRICES["secrets_manager_call"] * secrets_calls,
    }
    per_million = {key: value * 1e6 / n for key, value in cost.items()}
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
                   f"Python {platform.python_version()}",
        "webhooks": n, "workers": args.workers, "latency_ms": args.latency_ms, "cap": args.cap,
        "api_answers": dict(answers), "statuses": dict(statuses),
        "api_calls_per_delivery": {k: v / n for k, v in sorted(api["calls"].items())},
        "worker_calls_per_delivery": {k: v / n for k, v in sorted(worker_own.items())},
        "poller_calls_per_delivery": {k: v / n for k, v in sorted(poller.items())},
        "emulator_errors": {"api": api["emulator_errors"], "worker": worker["emulator_errors"]},
        "dynamodb_units_per_delivery": {
            "write": (api["write_units"] + worker["write_units"]) / n,
            "read": (api["read_units"] + worker["read_units"]) / n},
        "zoho_calls_per_applied_rule": zoho_calls / applied if applied else None,
        "put_answers": puts, "token_refreshes": stats["token_grants"],
        "peak_in_flight": stats.get("peak_in_flight"),
        "seconds_to_apply": round(seconds, 2),
        **against_the_cap(applied, seconds, args.cap, args.latency_ms),
        "api_answer_ms": {"p50": 1000 * statistics.median(durations),
                          "p99": 1000 * sorted(durations)[int(0.99 * (len(durations) - 1))]},
        "cost_per_million_usd": {k: round(v, 3) for k, v in per_million.items()},
        "cost_per_million_total_usd": round(sum(per_million.values()), 2),
        "zoho_credits_per_million": round(zoho_calls / n * 1e6),
        "prices_date": PRICES_DATE,
    }


def report(f: dict[str, Any]) -> str:
    def calls(per: dict[str, float]) -> str:
        return ", ".join(f"{name} {value:.2f}" for name, value in per.items()) or "none"

    return "\n".join([
        f"machine: {f['machine']}",
        f"{f['webhooks']} webhooks, {f['workers']} workers, sandbox at {f['latency_ms']} ms "
        f"and a cap of {f['cap']}; api answers {json.dumps(f['api_answers'])}; "
        f"final statuses {json.dumps(f['statuses'])}",
        f"api calls per delivery: {calls(f['api_calls_per_delivery'])}",
        f"worker calls per delivery: {calls(f['worker_calls_per_delivery'])}",
        f"poller (event source) calls per delivery: {calls(f['poller_calls_per_delivery'])}",
        f"of those, answered 500 by the moto server itself and sent again by the AWS SDK: "
        f"{f['emulator_errors']['api']} of the api's, {f['emulator_errors']['worker']} of the "
        "worker's",
        f"DynamoDB units per delivery: {f['dynamodb_units_per_delivery']['write']:.2f} write, "
        f"{f['dynamodb_units_per_delivery']['read']:.2f} read",
        f"Zoho calls per applied rule: {f['zoho_calls_per_applied_rule']:.2f} (limit 1.00); "
        f"token refreshes: {f['token_refreshes']}; PUT answers {json.dumps(f['put_answers'])}",
        f"throughput: {throughput_words(f)}; peak in flight at the sandbox "
        f"{f['peak_in_flight']}",
        f"api answer time: p50 {f['api_answer_ms']['p50']:.1f} ms, "
        f"p99 {f['api_answer_ms']['p99']:.1f} ms",
        f"AWS cost per million webhooks: ${f['cost_per_million_total_usd']:.2f} ("
        + ", ".join(f"{k} ${v:.2f}" for k, v in f["cost_per_million_usd"].items())
        + f"; us-east-1 list prices of {f['prices_date']}); "
        f"Zoho credits per million: {f['zoho_credits_per_million']:,}",
    ])


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(prog="python -m benchmarks.pipeline",
                                        description=__doc__.split("\n\n")[0])
    arguments.add_argument("--webhooks", type=int, default=300)
    arguments.add_argument("--workers", type=int, default=2)
    arguments.add_argument("--senders", type=int, default=4)
    arguments.add_argument("--latency-ms", type=int, default=100)
    arguments.add_argument("--cap", type=int, default=10)
    arguments.add_argument("--timeout", type=float, default=90)
    arguments.add_argument("--json", action="store_true")
    return arguments


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
