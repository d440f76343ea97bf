"""The adapter's own time: per webhook in the api handler, per message in the worker.

    .venv/bin/python -m benchmarks.overhead                 # 2,000 of each
    .venv/bin/python -m benchmarks.overhead --n 5000 --json

Every outside call is answered at once by the in-process fakes (in-memory
stores, a Zoho that applies each update), so what is timed is the adapter's own
work: for the api, the Lambda handler ``app.app`` with an API Gateway event of a
signed webhook (routing, signature, parsing, mapping, ledger claim, queueing,
metrics); for the worker, ``app.apply_deliveries`` with an SQS event of one
message (its parsing, the mapping, the record's state, the update, the ledger).
It prints p50 and p99 in milliseconds. Figures depend on the machine; the run
prints it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import app  # noqa: E402
from chalicelib.delivery.worker import WorkerServices  # noqa: E402
from chalicelib.ingest.accept import IngestServices  # noqa: E402
from chalicelib.ingest.signatures import hmac_signature  # noqa: E402
from chalicelib.mapping.document import VerifyConfig  # noqa: E402
from chalicelib.observability import logger  # noqa: E402
from chalicelib.stores.ledger import InMemoryLedger  # noqa: E402
from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache  # noqa: E402
from chalicelib.stores.queues import InMemoryQueue  # noqa: E402
from chalicelib.stores.secrets import InMemorySecretStore  # noqa: E402
from devstack.local_worker import sqs_event  # noqa: E402
from tests.fakes import FakeZohoCrm  # noqa: E402

SECRET = "overhead-secret"  # noqa: S105 - this run's own
SIGNATURE = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:zwa-deliveries"


def api_event(body: bytes) -> dict[str, Any]:
    return {
        "resource": "/webhooks/{source}", "path": "/webhooks/example", "httpMethod": "POST",
        "headers": {"Content-Type": "application/json",
                    "X-Signature": hmac_signature(SIGNATURE, SECRET.encode(), body)},
        "multiValueHeaders": None, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": {"source": "example"},
        "stageVariables": None, "body": body.decode(), "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/webhooks/{source}", "httpMethod": "POST",
                           "path": "/webhooks/example"},
    }


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"p50": 1000 * statistics.median(ordered),
            "p99": 1000 * ordered[int(0.99 * (len(ordered) - 1))]}


def run(n: int) -> dict[str, Any]:
    mapping = json.loads((ROOT / "examples/mappings/example.json").read_text())
    example = json.loads((ROOT / "examples/events/example-contact-updated.json").read_text())
    mappings, ledger = InMemoryMappingStore(), InMemoryLedger()
    mappings.save(mapping, now=time.time())
    queue = InMemoryQueue("zwa-deliveries")
    zoho = FakeZohoCrm()
    app.configure(
        ingest=IngestServices(mappings=MappingCache(mappings, ttl=60),
                              secrets=InMemorySecretStore({"zwa/webhook/example": SECRET}),
                              ledger=ledger, queue=queue),
        worker=WorkerServices(mappings=MappingCache(mappings, ttl=60), ledger=ledger,
                              queue=queue, dead_letters=InMemoryQueue("zwa-dlq"),
                              zoho=zoho.client))
    logger.setLevel("WARNING")
    # Each one a new event for a record of its own, so that each is sent.
    bodies = [json.dumps({**example, "id": f"evt_{index:06d}", "created": 1_764_331_200 + index,
                          "data": {**example["data"], "zoho_id": f"{5725767000100000000 + index}",
                                   "seats": str(index)}}).encode() for index in range(n)]
    api_times, worker_times = [], []
    with redirect_stdout(io.StringIO()):  # the metrics' lines, one per invocation
        for body in bodies:
            event = api_event(body)
            begun = time.perf_counter()
            answer = app.app(event, None)
            api_times.append(time.perf_counter() - begun)
            if answer["statusCode"] != 202:
                raise SystemExit(f"the api answered {answer['statusCode']}: {answer['body']}")
        messages = list(queue.messages)
        for index, (message, _) in enumerate(messages):
            event = sqs_event([{"MessageId": f"m{index}", "ReceiptHandle": f"r{index}",
                                "Body": json.dumps(message),
                                "Attributes": {"ApproximateReceiveCount": "1",
                                               "SentTimestamp": str(int(time.time() * 1000))}}],
                              QUEUE_ARN, "us-east-1")
            begun = time.perf_counter()
            answer = app.apply_deliveries(event, None)
            worker_times.append(time.perf_counter() - begun)
            if answer["batchItemFailures"]:
                raise SystemExit(f"the worker left message {index} on the queue")
    app.configure(None, None)
    if len(zoho.calls) != n:
        raise SystemExit(f"{len(zoho.calls)} updates sent for {n} messages")
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
                   f"Python {platform.python_version()}",
        "n": n, "api_ms": percentiles(api_times), "worker_ms": percentiles(worker_times),
        "zoho_updates": len(zoho.calls),
    }


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(prog="python -m benchmarks.overhead",
                                        description=__doc__.split("\n\n")[0])
    arguments.add_argument("--n", type=int, default=2000)
    arguments.add_argument("--json", action="store_true")
    args = arguments.parse_args(argv)
    result = run(args.n)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"machine: {result['machine']}")
    print(f"adapter's own time, I/O answered at once by in-process fakes, {result['n']} each:")
    for name, key in (("api handler, per webhook", "api_ms"),
                      ("worker, per message", "worker_ms")):
        print(f"  {name:26} p50 {result[key]['p50']:6.2f} ms   p99 {result[key]['p99']:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
