"""Throughput of the workers' own code: how much of Zoho's concurrency cap they fill.

    .venv/bin/python -m benchmarks.throughput               # 1,000 deliveries, 2 workers
    .venv/bin/python -m benchmarks.throughput --deliveries 3000 --json

``benchmarks.pipeline`` measures throughput through the whole local stack, where
each delivery's AWS calls go to the moto server: on a small machine that
emulator, not the adapter, sets the pace. This script takes it out of the way
to measure the part that is the adapter's. The api's code accepts N signed
deliveries for N Contacts into in-memory stores; then ``--workers`` worker
containers, each a thread with its own Zoho client and keep-alive session as a
Lambda container has, call the worker's batch handler (``handle_sqs_batch``) on
batches of up to 10 messages, each handling as many messages of a batch at
once as the settings give it (``ZWA_ZOHO_CONCURRENCY`` over
``ZWA_WORKER_MAX_CONCURRENCY``), against the Zoho sandbox in a process of its
own at ``--latency-ms`` per call with a concurrency cap of ``--cap``. The stores
answer at once and are shared, as DynamoDB is between containers.

It prints the deliveries applied per second, their ratio to the ``cap /
latency`` the sandbox allows (the goal: at least 0.9; it exits 1 below), the
peak of calls in flight the sandbox saw, Zoho calls per applied delivery and
token grants. The time counts from the containers' start, their first token and
connections included. Figures depend on the machine; the run prints it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import threading
import time
from collections import Counter, deque
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.stack_setup import (  # noqa: E402
    PUT_ENDPOINT,
    THROUGHPUT_GOAL,
    against_the_cap,
    connection_secret,
    crm_calls,
    pace_sandbox,
    sandbox_stats,
    seed_contacts,
    start_sandbox,
    throughput_words,
)
from chalicelib.delivery.batch import handle_sqs_batch  # noqa: E402
from chalicelib.delivery.worker import WorkerServices  # noqa: E402
from chalicelib.ingest.accept import IngestServices, accept_webhook  # noqa: E402
from chalicelib.ingest.request import WebhookRequest  # noqa: E402
from chalicelib.observability import logger, metrics  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from chalicelib.stores.ledger import InMemoryLedger  # noqa: E402
from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache  # noqa: E402
from chalicelib.stores.queues import InMemoryQueue  # noqa: E402
from chalicelib.stores.records import InMemoryRecordStore  # noqa: E402
from chalicelib.stores.secrets import InMemorySecretStore  # noqa: E402
from chalicelib.zoho.client import ZohoClient  # noqa: E402
from chalicelib.zoho.http import Urllib3Session  # noqa: E402
from chalicelib.zoho.tokens import TokenProvider  # noqa: E402
from devstack.local_worker import sqs_event  # noqa: E402
from devstack.stack import free_port  # noqa: E402

SOURCE = "throughput"
SECRET_ID = "zwa/connection/default"  # noqa: S105 - a name
FIRST_ID = 5725767000400000001
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:zwa-deliveries"
MAPPING = {
    "source": SOURCE, "connection": "default", "verify": {"scheme": "none"},
    "delivery_id": "id",
    "rules": [{"name": "contact-changed", "module": "Contacts", "record": {"id": "zoho_id"},
               "event_time": "created", "trigger": [],
               "fields": {"Last_Name": {"path": "last_name", "required": True}}}],
}
BATCH_SIZE = 10  # the worker's event source hands it at most 10 messages at a time


def parallel_messages(cap: int, workers: int) -> int:
    """Messages of a batch handled at once by one container, as the settings decide it."""
    return Settings(mappings_table="m", deliveries_table="d", deliveries_queue="q",
                    dead_letter_queue="dlq", zoho_concurrency=cap,
                    worker_max_concurrency=workers).parallel_messages


def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox(port)
    try:
        records = [str(FIRST_ID + index) for index in range(args.deliveries)]
        seed_contacts(base, records)
        pace_sandbox(base, cap=args.cap, latency_ms=args.latency_ms)
        return measure(base, records, args)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


def measure(base: str, records: list[str], args: argparse.Namespace) -> dict[str, Any]:
    logger.setLevel("WARNING")  # a line per delivery would measure the terminal
    mappings, ledger = InMemoryMappingStore(), InMemoryLedger()
    mappings.save(MAPPING, now=time.time())
    queue, dead_letters = InMemoryQueue("zwa-deliveries"), InMemoryQueue("zwa-dlq")
    secrets = InMemorySecretStore({SECRET_ID: connection_secret(base)})
    states = InMemoryRecordStore(ledger)
    ingest = IngestServices(mappings=MappingCache(mappings, ttl=60), secrets=secrets,
                            ledger=ledger, queue=queue)
    for index, record in enumerate(records):
        body = json.dumps({"id": f"throughput-{index:06d}", "created": 1_764_331_200 + index,
                           "zoho_id": record, "last_name": f"Throughput {index}"})
        accept_webhook(WebhookRequest(source=SOURCE, headers={"content-type": "application/json"},
                                      raw_body=body.encode(), method="POST",
                                      path=f"/webhooks/{SOURCE}", query=""), ingest, time.time())
    pending = deque(json.dumps(message) for message, _ in queue.messages)
    queue.messages.clear()
    at_once = parallel_messages(args.cap, args.workers)
    lock = threading.Lock()
    outcomes: Counter[str] = Counter()

    def container(number: int) -> None:
        session = Urllib3Session(connections=at_once)  # as app.get_worker makes them
        client = ZohoClient(session, TokenProvider(secrets, session, SECRET_ID, leases=states,
                                                   connection="default"))
        services = WorkerServices(mappings=MappingCache(mappings, ttl=60), ledger=ledger,
                                  queue=queue, dead_letters=dead_letters,
                                  zoho=lambda name: client, records=states,
                                  parallel_messages=at_once)
        received = 0
        while True:
            with lock:
                batch = [pending.popleft() for _ in range(min(BATCH_SIZE, len(pending)))]
            if not batch:
                return
            messages: list[dict[str, Any]] = []
            for body in batch:
                received += 1
                messages.append({"MessageId": f"{number}-{received}",
                                 "ReceiptHandle": f"{number}-{received}", "Body": body,
                                 "Attributes": {"ApproximateReceiveCount": "1",
                                                "SentTimestamp": str(int(time.time() * 1000))}})
            answer = handle_sqs_batch(sqs_event(messages, QUEUE_ARN, "us-east-1"), services)
            failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
            with lock:
                outcomes["left on the queue"] += len(failed)
                # As the event source would, a message left on the queue comes back.
                pending.extend(message["Body"] for message in messages
                               if message["MessageId"] in failed)

    before = sandbox_stats(base)
    threads = [threading.Thread(target=container, args=(number,))
               for number in range(args.workers)]
    started = time.monotonic()
    with redirect_stdout(io.StringIO()):  # each batch prints its metrics line
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.monotonic() - started
    metrics.clear_metrics()
    after = sandbox_stats(base)
    statuses = Counter(str(item.get("status")) for item in ledger.recent(SOURCE, limit=10**6))
    puts = after["by_endpoint"].get(PUT_ENDPOINT, {})
    applied = statuses["applied"]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
                   f"Python {platform.python_version()}",
        "deliveries": len(records), "workers": args.workers, "messages_at_once": at_once,
        "latency_ms": args.latency_ms, "cap": args.cap, "statuses": dict(statuses),
        "left_on_the_queue": outcomes["left on the queue"], "put_answers": puts,
        "zoho_calls_per_applied": (crm_calls(after) - crm_calls(before)) / applied
        if applied else None,
        "token_grants": int(after["token_grants"]) - int(before["token_grants"]),
        "peak_in_flight": after.get("peak_in_flight"),
        "seconds": round(seconds, 2),
        **against_the_cap(applied, seconds, args.cap, args.latency_ms),
    }


def report(f: dict[str, Any]) -> str:
    return "\n".join([
        f"machine: {f['machine']}",
        f"{f['deliveries']} deliveries, {f['workers']} worker containers handling "
        f"{f['messages_at_once']} messages of a batch at once, AWS answered in-process; "
        f"sandbox at {f['latency_ms']} ms and a cap of {f['cap']}",
        f"final statuses {json.dumps(f['statuses'])}; left on the queue and tried again "
        f"{f['left_on_the_queue']}; PUT answers {json.dumps(f['put_answers'])}",
        f"Zoho calls per applied delivery {f['zoho_calls_per_applied']:.2f}; token grants "
        f"{f['token_grants']}; peak in flight at the sandbox {f['peak_in_flight']}",
        f"throughput: {throughput_words(f)}, {f['seconds']:.1f} s",
    ])


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(prog="python -m benchmarks.throughput",
                                        description=__doc__.split("\n\n")[0])
    arguments.add_argument("--deliveries", type=int, default=1000)
    arguments.add_argument("--workers", type=int, default=2)
    arguments.add_argument("--latency-ms", type=int, default=100)
    arguments.add_argument("--cap", type=int, default=10)
    arguments.add_argument("--json", action="store_true")
    return arguments


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else report(result))
    ratio = result["throughput_ratio"]
    return 1 if ratio is not None and ratio < THROUGHPUT_GOAL else 0


if __name__ == "__main__":
    sys.exit(main())
