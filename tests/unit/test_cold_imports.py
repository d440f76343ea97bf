"""Each Lambda function loads only what it uses: checked in a fresh interpreter.

Both functions deploy the same ``app.py``; the api's cold start must not pay for
the worker's batch processing, Zoho client and ``requests``, nor the worker's for
the api's signature checks and body parsing. Each test runs one function's real
handler (``app.app`` for an API Gateway event, ``app.apply_deliveries`` for an
SQS event) in a subprocess, with in-memory stores, and lists the modules loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Loaded by the worker only.
WORKER_ONLY = [
    "chalicelib.delivery.batch",
    "chalicelib.delivery.worker",
    "chalicelib.delivery.record_update",
    "chalicelib.zoho.client",
    "chalicelib.zoho.tokens",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "requests",
]
# Loaded by the api only.
API_ONLY = [
    "chalicelib.ingest.answers",
    "chalicelib.ingest.accept",
    "chalicelib.ingest.authenticate",
    "chalicelib.ingest.signatures",
    "chalicelib.ingest.body",
]

_SETUP = """
import json, sys, time
sys.path.insert(0, {root!r})
import app
from chalicelib.mapping.document import parse_mapping
from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.queues import InMemoryQueue
mapping = json.load(open({root!r} + "/examples/mappings/example.json"))
mappings = InMemoryMappingStore()
mappings.save(mapping, now=time.time())
"""

_API = _SETUP + """
from chalicelib.ingest.accept import IngestServices
from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from chalicelib.stores.secrets import InMemorySecretStore
secrets = InMemorySecretStore()
secrets.put("zwa/webhook/example", "cold-secret")
queue = InMemoryQueue("zwa-deliveries")
app.configure(ingest=IngestServices(mappings=MappingCache(mappings, ttl=0), secrets=secrets,
                                    ledger=InMemoryLedger(), queue=queue))
body = open({root!r} + "/examples/events/example-contact-updated.json", "rb").read()
signature = hmac_signature(VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256="),
                           b"cold-secret", body)
event = {{
    "resource": "/webhooks/{{source}}", "path": "/webhooks/example", "httpMethod": "POST",
    "headers": {{"Content-Type": "application/json", "X-Signature": signature}},
    "multiValueHeaders": None, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": {{"source": "example"}},
    "stageVariables": None, "body": body.decode(), "isBase64Encoded": False,
    "requestContext": {{"resourcePath": "/webhooks/{{source}}", "httpMethod": "POST",
                        "path": "/webhooks/example"}},
}}
answer = app.app(event, None)
print(json.dumps({{"status": answer["statusCode"], "queued": len(queue.messages),
                   "modules": sorted(sys.modules)}}))
"""

_WORKER = _SETUP + """
from chalicelib.delivery.worker import WorkerServices
from tests.fakes import FakeZohoCrm
zoho = FakeZohoCrm()
app.configure(worker=WorkerServices(
    mappings=MappingCache(mappings, ttl=0), ledger=InMemoryLedger(),
    queue=InMemoryQueue("zwa-deliveries"), dead_letters=InMemoryQueue("zwa-dlq"),
    zoho=zoho.client, retry_base_seconds=30, retry_cap_seconds=900))
event = {{"Records": [{{
    "messageId": "m1", "receiptHandle": "r1", "body": "not a delivery",
    "attributes": {{"ApproximateReceiveCount": "1", "SentTimestamp": "0"}},
    "messageAttributes": {{}}, "md5OfBody": "", "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:zwa-deliveries",
    "awsRegion": "us-east-1",
}}]}}
answer = app.apply_deliveries(event, None)
print(json.dumps({{"answer": answer, "modules": sorted(sys.modules)}}))
"""


def _run(script: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", script.format(root=str(ROOT))], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_webhook_through_the_api_handler_loads_none_of_the_worker_modules() -> None:
    seen = _run(_API)
    assert seen["status"] == 202
    assert seen["queued"] == 1
    assert [name for name in WORKER_ONLY if name in seen["modules"]] == []
    assert "chalicelib.ingest.accept" in seen["modules"]


def test_a_batch_through_the_worker_handler_loads_none_of_the_api_modules() -> None:
    seen = _run(_WORKER)
    assert "batchItemFailures" in seen["answer"]
    assert [name for name in API_ONLY if name in seen["modules"]] == []
    assert "chalicelib.delivery.batch" in seen["modules"]
