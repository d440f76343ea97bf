"""``zwa``: the operator's command line. ``zwa --stage local mapping put stripe.json``.

Every verb works on one stage (``--stage``, default ``dev``; ``local`` is the
local stack). Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import (
    AdapterError,
    DeliveryError,
    MappingDocumentError,
    UnavailableError,
)
from chalicelib.mapping.document import parse_mapping
from chalicelib.stores.ledger import DynamoLedger
from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from chalicelib.zoho.tokens import TokenProvider, connection_secret_id
from zwa.bootstrap import bootstrap
from zwa.stage import Stage, load_stage


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        stage = load_stage(args.stage)
        return int(args.run(stage, args) or 0)
    except MappingDocumentError as exc:
        print(f"zwa: the mapping is invalid ({len(exc.problems)} problems):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except DeliveryError as exc:
        print(f"zwa: {exc.failure.code}: {exc.failure.message}", file=sys.stderr)
        return 1
    except UnavailableError as exc:
        hint = " (is 'make dev' running?)" if args.stage == "local" else ""
        print(f"zwa: {exc}{hint}", file=sys.stderr)
        return 1
    except (AdapterError, OSError, ValueError) as exc:
        print(f"zwa: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"zwa: AWS said: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zwa", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="the Chalice stage (local: the local stack)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    verbs.add_parser("bootstrap", help="create the tables and queues").set_defaults(run=_bootstrap)

    connection = verbs.add_parser("connection", help="Zoho connections").add_subparsers(
        dest="action", required=True)
    put = connection.add_parser("set", help="store a connection's OAuth client and refresh token")
    put.add_argument("name", nargs="?", default="default")
    put.add_argument("--client-id", required=True)
    put.add_argument("--client-secret", required=True)
    put.add_argument("--refresh-token", required=True)
    where = put.add_mutually_exclusive_group(required=True)
    where.add_argument("--accounts-url", help="e.g. https://accounts.zoho.eu")
    where.add_argument("--dc", choices=["us", "eu", "in", "au", "jp", "ca", "sa", "cn"])
    put.set_defaults(run=_connection_set)
    test = connection.add_parser("test", help="get a token and read the Contacts field list")
    test.add_argument("name", nargs="?", default="default")
    test.set_defaults(run=_connection_test)

    secret = verbs.add_parser("webhook-secret", help="webhook signing secrets").add_subparsers(
        dest="action", required=True)
    secret_set = secret.add_parser(
        "set", help="store a signing secret (value from --value or stdin)")
    secret_set.add_argument("secret_id", help="e.g. zwa/webhook/stripe")
    secret_set.add_argument("--value", help="the secret; read from stdin when absent")
    secret_set.set_defaults(run=_webhook_secret_set)

    mapping = verbs.add_parser("mapping", help="mapping documents").add_subparsers(
        dest="action", required=True)
    m_put = mapping.add_parser("put", help="validate and store FILE as the source's new version")
    m_put.add_argument("file", type=Path)
    m_put.set_defaults(run=_mapping_put)
    m_validate = mapping.add_parser("validate", help="check FILE without storing it")
    m_validate.add_argument("file", type=Path)
    m_validate.set_defaults(run=_mapping_validate)
    m_get = mapping.add_parser("get", help="print a source's mapping (current or --version)")
    m_get.add_argument("source")
    m_get.add_argument("--version", type=int)
    m_get.set_defaults(run=_mapping_get)
    mapping.add_parser("list", help="list the sources").set_defaults(run=_mapping_list)
    m_history = mapping.add_parser("history", help="list a source's versions")
    m_history.add_argument("source")
    m_history.set_defaults(run=_mapping_history)
    m_rollback = mapping.add_parser("rollback", help="store an earlier version as the newest")
    m_rollback.add_argument("source")
    m_rollback.add_argument("version", type=int)
    m_rollback.set_defaults(run=_mapping_rollback)

    deliveries = verbs.add_parser("deliveries", help="the delivery ledger").add_subparsers(
        dest="action", required=True)
    d_list = deliveries.add_parser("list", help="a source's recent deliveries, newest first")
    d_list.add_argument("source")
    d_list.add_argument("--limit", type=int, default=20)
    d_list.add_argument("--status", help="only deliveries with this status")
    d_list.add_argument("--json", action="store_true")
    d_list.set_defaults(run=_deliveries_list)
    d_show = deliveries.add_parser("show", help="one delivery's ledger item")
    d_show.add_argument("source")
    d_show.add_argument("delivery_id")
    d_show.add_argument("--json", action="store_true")
    d_show.set_defaults(run=_deliveries_show)
    return parser


def _bootstrap(stage: Stage, args: argparse.Namespace) -> int:
    urls = bootstrap(stage.resources, stage.client("dynamodb"), stage.client("sqs"))
    print(f"stage {stage.name} ready: queue {urls['deliveries']}")
    return 0


def _connection_set(stage: Stage, args: argparse.Namespace) -> int:
    connection: dict[str, Any] = {
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "refresh_token": args.refresh_token,
    }
    if args.accounts_url:
        connection["accounts_url"] = args.accounts_url.rstrip("/")
    else:
        connection["dc"] = args.dc
    secret_id = connection_secret_id(stage.settings.secret_prefix, args.name)
    SecretsManagerStore(stage.client("secretsmanager")).put(secret_id, json.dumps(connection))
    print(f"connection {args.name} stored in {secret_id}")
    return 0


def _connection_test(stage: Stage, args: argparse.Namespace) -> int:
    secret_id = connection_secret_id(stage.settings.secret_prefix, args.name)
    session = requests.Session()
    tokens = TokenProvider(SecretsManagerStore(stage.client("secretsmanager")), session, secret_id)
    token = tokens.token()
    response = session.get(
        f"{token.api_domain}/crm/v8/settings/fields", params={"module": "Contacts"},
        headers={"Authorization": f"Zoho-oauthtoken {token.value}"}, timeout=15,
    )
    if response.status_code != 200:
        print(f"zwa: Zoho answered HTTP {response.status_code} to the field list", file=sys.stderr)
        return 1
    count = len(response.json().get("fields", []))
    print(f"connection {args.name}: token ok, {token.api_domain} lists {count} Contacts fields")
    return 0


def _webhook_secret_set(stage: Stage, args: argparse.Namespace) -> int:
    value = args.value if args.value is not None else sys.stdin.read().strip()
    if not value:
        raise ValueError("the secret is empty")
    SecretsManagerStore(stage.client("secretsmanager")).put(args.secret_id, value)
    print(f"secret {args.secret_id} stored")
    return 0


def _mappings(stage: Stage) -> DynamoMappingStore:
    return DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table)


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return document


def _mapping_put(stage: Stage, args: argparse.Namespace) -> int:
    stored = _mappings(stage).save(_read_document(args.file), now=time.time())
    print(f"mapping {stored.source} saved as version {stored.version}")
    return 0


def _mapping_validate(stage: Stage, args: argparse.Namespace) -> int:
    parsed = parse_mapping(_read_document(args.file))
    print(f"mapping {parsed.source} is valid ({len(parsed.rules)} rules)")
    return 0


def _mapping_get(stage: Stage, args: argparse.Namespace) -> int:
    store = _mappings(stage)
    if args.version:
        stored = store.version(args.source, args.version)
    else:
        stored = store.current(args.source)
    if stored is None:
        raise ValueError(f"no mapping for {args.source}"
                         + (f" at version {args.version}" if args.version else ""))
    print(json.dumps(stored.document, indent=2, sort_keys=True))
    return 0


def _mapping_list(stage: Stage, args: argparse.Namespace) -> int:
    for stored in _mappings(stage).sources():
        state = "enabled" if stored.enabled else "disabled"
        print(f"{stored.source}\tversion {stored.version}\t{state}\t{_when(stored.saved_at)}")
    return 0


def _mapping_history(stage: Stage, args: argparse.Namespace) -> int:
    versions = _mappings(stage).history(args.source)
    if not versions:
        raise ValueError(f"no mapping for {args.source}")
    for stored in versions:
        print(f"version {stored.version}\t{_when(stored.saved_at)}")
    return 0


def _mapping_rollback(stage: Stage, args: argparse.Namespace) -> int:
    store = _mappings(stage)
    old = store.version(args.source, args.version)
    if old is None:
        raise ValueError(f"no version {args.version} of {args.source}")
    stored = store.save(old.document, now=time.time())
    print(f"mapping {stored.source}: version {args.version} restored as version {stored.version}")
    return 0


def _ledger(stage: Stage) -> DynamoLedger:
    return DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)


def _deliveries_list(stage: Stage, args: argparse.Namespace) -> int:
    items = _ledger(stage).recent(args.source, limit=1000 if args.status else args.limit)
    if args.status:
        items = [item for item in items if item.get("status") == args.status][: args.limit]
    if args.json:
        print(json.dumps(items, indent=2, sort_keys=True))
        return 0
    for item in items:
        error = item.get("last_error") or {}
        reason = f"\t{error.get('code')} {error.get('api_name') or ''}".rstrip() if error else ""
        print(f"{_when(item.get('received_at', 0))}\t{item['delivery_id']}\t{item['status']}"
              f"\tattempts={item.get('attempts', 0)}{reason}")
    return 0


def _deliveries_show(stage: Stage, args: argparse.Namespace) -> int:
    item = _ledger(stage).get(args.source, args.delivery_id)
    if item is None:
        raise ValueError(f"no delivery {args.delivery_id} for {args.source}")
    if args.json:
        print(json.dumps(item, indent=2, sort_keys=True))
        return 0
    for key in sorted(item):
        print(f"{key}: {json.dumps(item[key], sort_keys=True)}")
    return 0


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(float(epoch), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


if __name__ == "__main__":
    sys.exit(main())
