"""``zwa send``: sign a payload as the source's provider does, post it, return the answer (I/O).

The source's mapping says how it is signed (``verify``) and where its secret is;
the newest key of that secret signs the file's exact bytes with the signer of the
scheme (``chalicelib.ingest.signatures.sign_request``, the inverse of what the api
checks). The stage's endpoint is the local stack's (``ZWA_API_PORT``, default
8000) for ``local`` and the deployed API's URL from ``chalice deploy`` otherwise;
``--url`` names another (a custom domain).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from chalicelib.errors import UnavailableError
from chalicelib.ingest.schemes import STANDARD_ID
from chalicelib.ingest.signatures import scheme_keys, sign_request, signing_keys
from chalicelib.mapping.document import parse_mapping
from chalicelib.stores.mappings import DynamoMappingStore, MappingStore
from chalicelib.stores.secrets import SecretsManagerStore, SecretStore
from zwa.deploy import read_deployed
from zwa.stage import Stage

JSON = "application/json"


@dataclass(frozen=True)
class SentWebhook:
    """What the endpoint answered to the signed request."""

    url: str
    status_code: int
    answer: Any  # the JSON answer, or the text when it is not JSON

    @property
    def ok(self) -> bool:
        return self.status_code < 300

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "status_code": self.status_code, "answer": self.answer}

    def line(self) -> str:
        """The answer as a person reads it: ``202 {"delivery_id": ..., "status": "queued"}``."""
        text = self.answer if isinstance(self.answer, str) else json.dumps(self.answer)
        return f"{self.status_code} {text}"


def parse_headers(given: Sequence[str]) -> dict[str, str]:
    """``--header 'Name: value'`` options (``Name:value`` too) as a dict; ``ValueError`` if not."""
    headers: dict[str, str] = {}
    for text in given:
        name, colon, value = text.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"--header takes 'Name: value', not {text[:40]!r}")
        headers[name.strip()] = value.strip()
    return headers


def stage_endpoint(stage: str) -> str:
    """The base URL of the stage's API (no trailing slash)."""
    if stage == "local":
        return f"http://127.0.0.1:{os.environ.get('ZWA_API_PORT', '8000')}"
    deployed = read_deployed(stage)
    if deployed is None or not deployed.api_url:
        raise ValueError(f"stage {stage} has no deployed API yet (run zwa --stage {stage} "
                         "deploy), or give its URL with --url")
    return deployed.api_url.rstrip("/")


def send_webhook(
    mappings: MappingStore,
    secrets: SecretStore,
    session: requests.Session,
    source: str,
    body: bytes,
    headers: Mapping[str, str],
    base_url: str,
    now: float,
) -> SentWebhook:
    """Sign ``body`` as ``source``'s scheme does and POST it to ``base_url``/webhooks/source."""
    stored = mappings.current(source)
    if stored is None:
        raise ValueError(f"no mapping for {source}; store one with zwa mapping put")
    config = parse_mapping(stored.document).verify
    url = f"{base_url.rstrip('/')}/webhooks/{source}"
    sent = dict(headers)
    if not any(name.lower() == "content-type" for name in sent):
        sent["Content-Type"] = JSON
    if config.scheme == "standard-webhooks" and not any(
            name.lower() == STANDARD_ID for name in sent):
        sent[STANDARD_ID] = f"msg_{uuid.uuid4().hex}"
    if config.scheme != "none":
        assert config.secret_id is not None  # a signed scheme always names one
        try:
            key = scheme_keys(config, signing_keys(secrets.get(config.secret_id, force=True)))[0]
        except ValueError as exc:
            raise ValueError(f"the signing secret {config.secret_id} holds no usable key: "
                             f"{exc}") from exc
        sent.update(sign_request(config, key, body, now, url=config.url or url, headers=sent))
    try:
        response = session.post(url, data=body, headers=sent, timeout=30)
    except requests.RequestException as exc:
        raise UnavailableError(f"could not reach {url} ({type(exc).__name__})") from exc
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    return SentWebhook(url, response.status_code, answer)


def add_parser(verbs: Any) -> None:
    """The ``send`` verb's arguments, on the CLI's sub-command parsers."""
    send = verbs.add_parser(
        "send", help="sign a payload as the source's provider does, post it, print the answer",
        description="Sign PAYLOAD_FILE's exact bytes as SOURCE's verify scheme does, with the "
                    "newest key of its stored secret, POST it to the stage's webhook endpoint "
                    "and print the answer. Exit 1 unless the answer is 2xx.")
    send.add_argument("source")
    send.add_argument("payload_file", type=Path)
    send.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                      help="a request header, such as 'X-GitHub-Delivery: 72d3162e' "
                           "(repeatable; Content-Type defaults to application/json)")
    send.add_argument("--url", help="the API's base URL (default: the stage's endpoint)")
    send.add_argument("--json", action="store_true", help="print one JSON document")
    send.set_defaults(run=run)


def run(stage: Stage, args: argparse.Namespace) -> int:
    """``zwa send``: returns the exit status."""
    sent = send_webhook(
        DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table),
        SecretsManagerStore(stage.client("secretsmanager")), requests.Session(), args.source,
        args.payload_file.read_bytes(), parse_headers(args.header),
        args.url or stage_endpoint(stage.name), time.time())
    print(json.dumps(sent.to_dict(), indent=2, sort_keys=True) if args.json else sent.line())
    return 0 if sent.ok else 1
