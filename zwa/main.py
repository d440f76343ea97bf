"""zwa: the operator's command line for the Zoho webhook adapter.

Every verb works on one stage (``--stage``, default ``dev``; ``local`` is the
local stack). Errors are one line on stderr and a non-zero exit; verbs that
print records take ``--json``, and print times as ISO 8601 in UTC otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import AdapterError, DeliveryError, MappingDocumentError, UnavailableError
from chalicelib.stores.ledger import DynamoLedger
from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from chalicelib.zoho.tokens import ACCOUNTS_BY_DC, TokenProvider, connection_secret_id
from zwa.bootstrap import bootstrap
from zwa.connections import check_connection, connection_document, store_connection
from zwa.deploy import DeployError, deploy, read_deployed, worker_function_name
from zwa.dlq_cli import add_dlq_verbs
from zwa.doctor import DoctorContext, run_checks
from zwa.inputs import iso_time, parse_time, read_secret
from zwa.mapping_check import plural, put_file, validate_file
from zwa.mapping_diff import mapping_diff
from zwa.mapping_preview import render, run_preview
from zwa.mapping_schema import mapping_schema
from zwa.mapping_versions import restore_version
from zwa.payloads import show_payload
from zwa.queries import list_deliveries
from zwa.records_cli import add_records_verbs
from zwa.replay_cli import add_replay_verb
from zwa.send import add_parser as add_send_parser
from zwa.stage import Stage, load_stage
from zwa.webhook_secrets import store_signing_secret

DESCRIPTION = "The operator's command line for the Zoho webhook adapter."
EPILOG = "Example: zwa --stage local mapping put examples/mappings/example.json"
TIME_KEYS = frozenset({"received_at", "updated_at", "expires_at", "next_attempt_at", "at",
                       "saved_at", "redriven_at", "replayed_at", "archived_until"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        stage = load_stage(args.stage)
        return int(args.run(stage, args) or 0)
    except MappingDocumentError as exc:
        print(f"zwa: the mapping is invalid ({plural(len(exc.problems), 'problem')}):",
              file=sys.stderr)
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
    except BrokenPipeError:
        # The reader of the output (head, less) went away: stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (AdapterError, DeployError, OSError, ValueError) as exc:
        print(f"zwa: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"zwa: AWS said: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zwa: interrupted; nothing more was done", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zwa", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--stage", default="dev",
                        help="the Chalice stage: dev, prod, or local for the local stack")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    verbs.add_parser("bootstrap", help="create or fix the stage's tables and queues",
                     description="Create the tables and queues if missing and set their "
                                 "TTL, point-in-time recovery and redrive. Idempotent.",
                     ).set_defaults(run=_bootstrap)
    deploy_verb = verbs.add_parser(
        "deploy", help="bootstrap, chalice deploy, then the worker's event source settings",
        description="Deploy the stage: its resources, the api and worker functions, and the "
                    "worker's SQS event source (ReportBatchItemFailures, MaximumConcurrency).")
    deploy_verb.set_defaults(run=_deploy)
    doctor = verbs.add_parser(
        "doctor", help="check the stage, one line per check",
        description="Check tables, queues, the worker's event source, each mapping's "
                    "signing secret and each connection (one token at most). Exit 1 if any fails.")
    _json_flag(doctor)
    doctor.set_defaults(run=_doctor)

    connection = verbs.add_parser("connection", help="Zoho connections").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    put = connection.add_parser(
        "set", help="store a connection's OAuth client and refresh token",
        description="Store a Zoho connection. The client secret and refresh token are read "
                    "from --secrets-file (JSON), from stdin when piped (JSON), or from prompts; "
                    "never from the command line.")
    put.add_argument("name", nargs="?", default="default")
    put.add_argument("--client-id", required=True)
    where = put.add_mutually_exclusive_group(required=True)
    where.add_argument("--dc", choices=sorted(ACCOUNTS_BY_DC), help="the Zoho data centre")
    where.add_argument("--accounts-url", help="e.g. https://accounts.zoho.eu")
    put.add_argument("--secrets-file", type=Path,
                     help='a JSON file {"client_secret": ..., "refresh_token": ...}')
    put.set_defaults(run=_connection_set)
    test = connection.add_parser(
        "test", help="get a token and read the org: prints the api domain and org")
    test.add_argument("name", nargs="?", default="default")
    _json_flag(test)
    test.set_defaults(run=_connection_test)

    secret = verbs.add_parser("webhook-secret", help="webhook signing secrets").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    secret_set = secret.add_parser(
        "set", help="store a source's signing secret where its mapping looks",
        description="Store SOURCE's signing secret in the secret its mapping names "
                    "(verify.secret_id, default zwa/webhook/SOURCE). The value comes from "
                    "--file, from stdin when piped, or from a prompt.")
    secret_set.add_argument("source")
    secret_set.add_argument("--add", action="store_true",
                            help="keep the older keys too, during a provider's rotation")
    secret_set.add_argument("--file", type=Path, help="read the secret from this file")
    secret_set.set_defaults(run=_webhook_secret_set)

    mapping = verbs.add_parser("mapping", help="mapping documents").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    m_put = mapping.add_parser(
        "put", help="check FILE against Zoho's fields and store it as the source's new version")
    m_put.add_argument("file", type=Path)
    _offline_flag(m_put)
    m_put.set_defaults(run=_mapping_put)
    m_validate = mapping.add_parser(
        "validate", help="check FILE, its shape and against Zoho's fields, without storing it")
    m_validate.add_argument("file", type=Path)
    _offline_flag(m_validate)
    m_validate.set_defaults(run=_mapping_validate)
    m_preview = mapping.add_parser(
        "preview", help="the requests a payload would make, sending and writing nothing",
        description="For each rule the payload matches: the exact request (method, URL, headers "
                    "with the token masked, JSON body), or the errors with field and path. "
                    "SOURCE is a mapping file or a stored source. Exit 1 when a rule would fail.")
    m_preview.add_argument("source", help="a mapping file, or the name of a stored source")
    m_preview.add_argument("payload_file", type=Path)
    m_preview.add_argument("--header", action="append", default=[], metavar="K:V",
                           help="a request header, e.g. Content-Type:application/json (repeat)")
    m_preview.add_argument("--version", type=int, help="a stored version (default: current)")
    _offline_flag(m_preview)
    _json_flag(m_preview)
    m_preview.set_defaults(run=_mapping_preview)
    m_diff = mapping.add_parser("diff", help="what changed between two stored versions")
    m_diff.add_argument("source")
    m_diff.add_argument("a", type=int)
    m_diff.add_argument("b", type=int)
    m_diff.set_defaults(run=_mapping_diff)
    mapping.add_parser(
        "schema", help="print the JSON Schema of the mapping document (for editors)",
    ).set_defaults(run=_mapping_schema)
    m_get = mapping.add_parser("get", help="print a source's mapping (current or --version)")
    m_get.add_argument("source")
    m_get.add_argument("--version", type=int)
    m_get.set_defaults(run=_mapping_get)
    m_list = mapping.add_parser("list", help="list the sources")
    _json_flag(m_list)
    m_list.set_defaults(run=_mapping_list)
    m_history = mapping.add_parser("history", help="list a source's versions")
    m_history.add_argument("source")
    _json_flag(m_history)
    m_history.set_defaults(run=_mapping_history)
    m_rollback = mapping.add_parser("rollback", help="store an earlier version as the newest")
    m_rollback.add_argument("source")
    m_rollback.add_argument("version", type=int)
    m_rollback.set_defaults(run=_mapping_rollback)

    deliveries = verbs.add_parser("deliveries", help="the delivery ledger").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    d_list = deliveries.add_parser("list", help="recent deliveries, newest first")
    d_list.add_argument("source", nargs="?", help="one source (default: every source)")
    d_list.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    d_list.add_argument("--status", help="only deliveries with this status")
    d_list.add_argument("--since", help="an ISO 8601 time or a duration back: 15m, 6h, 2d")
    _json_flag(d_list)
    d_list.set_defaults(run=_deliveries_list)
    d_show = deliveries.add_parser("show", help="one delivery's ledger item")
    d_show.add_argument("source")
    d_show.add_argument("delivery_id")
    d_show.add_argument("--payload", action="store_true",
                        help="print the archived payload and headers instead of the ledger item")
    _json_flag(d_show)
    d_show.set_defaults(run=_deliveries_show)

    console = verbs.add_parser(
        "console", help="the operator console in your browser, on 127.0.0.1",
        description="Serve the operator console on 127.0.0.1 only, with your AWS credentials, "
                    "and print its URL with a one-time access token.")
    console.add_argument("--port", type=int, default=8787, help="default: 8787")
    console.set_defaults(run=_console)
    add_send_parser(verbs)
    add_dlq_verbs(verbs, _json_flag)
    add_replay_verb(verbs, _json_flag)
    add_records_verbs(verbs, _json_flag)
    return parser


def _offline_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline", action="store_true",
                        help="do not ask Zoho: check the mapping's shape alone")


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (times as epoch seconds)")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _bootstrap(stage: Stage, args: argparse.Namespace) -> int:
    urls = bootstrap(stage.resources, stage.client("dynamodb"), stage.client("sqs"))
    print(f"stage {stage.name} ready: queue {urls['deliveries']}")
    return 0


def _deploy(stage: Stage, args: argparse.Namespace) -> int:
    deploy(stage)
    return 0


def _doctor(stage: Stage, args: argparse.Namespace) -> int:
    secrets = SecretsManagerStore(stage.client("secretsmanager"))
    session = requests.Session()
    deployed = read_deployed(stage.name) if stage.name != "local" else None
    context = DoctorContext(
        stage=stage.name, resources=stage.resources, dynamodb=stage.client("dynamodb"),
        sqs=stage.client("sqs"), mappings=_mappings(stage), secrets=secrets,
        tokens=lambda name: TokenProvider(
            secrets, session, connection_secret_id(stage.settings.secret_prefix, name)),
        session=session,
        lambda_client=None if stage.name == "local" else stage.client("lambda"),
        worker_function=deployed.worker_function if deployed else worker_function_name(
            stage.name),
    )
    checks = []
    for check in run_checks(context):
        checks.append(check)
        if not args.json:
            print(check.line(), flush=True)
    failed = [check for check in checks if not check.ok]
    if args.json:
        _print_json({"stage": stage.name, "ok": not failed,
                     "checks": [check.to_dict() for check in checks]})
    else:
        print(f"{len(checks) - len(failed)} of {len(checks)} checks passed"
              + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0


def _connection_set(stage: Stage, args: argparse.Namespace) -> int:
    if args.secrets_file is not None or not sys.stdin.isatty():
        text = args.secrets_file.read_text() if args.secrets_file else sys.stdin.read()
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError('the secrets must be JSON: {"client_secret": ..., '
                             '"refresh_token": ...}') from exc
        if not isinstance(given, dict) or not all(
                isinstance(given.get(key), str) and given[key].strip()
                for key in ("client_secret", "refresh_token")):
            raise ValueError("the secrets JSON needs client_secret and refresh_token")
        client_secret, refresh_token = given["client_secret"].strip(), given[
            "refresh_token"].strip()
    else:
        client_secret = read_secret("client secret")
        refresh_token = read_secret("refresh token")
    document = connection_document(args.client_id, client_secret, refresh_token,
                                   dc=args.dc, accounts_url=args.accounts_url)
    secret_id = connection_secret_id(stage.settings.secret_prefix, args.name)
    store_connection(SecretsManagerStore(stage.client("secretsmanager")), secret_id, document)
    print(f"connection {args.name} stored in {secret_id}; "
          f"check it with: zwa --stage {stage.name} connection test {args.name}")
    return 0


def _connection_test(stage: Stage, args: argparse.Namespace) -> int:
    secret_id = connection_secret_id(stage.settings.secret_prefix, args.name)
    session = requests.Session()
    tokens = TokenProvider(SecretsManagerStore(stage.client("secretsmanager")), session, secret_id)
    checked = check_connection(args.name, tokens, session)
    if args.json:
        _print_json(checked.to_dict())
    else:
        print(f"connection {args.name}: token ok, api domain {checked.api_domain}, "
              f"org {checked.org_name} ({checked.org_id})")
    return 0


def _webhook_secret_set(stage: Stage, args: argparse.Namespace) -> int:
    value = read_secret("signing secret", path=args.file, confirm=True)
    stored = store_signing_secret(
        _mappings(stage), SecretsManagerStore(stage.client("secretsmanager")), args.source,
        value, add=args.add)
    where = "" if stored.mapping_found else f" (no mapping for {args.source} yet: its default)"
    keys = "1 key" if stored.keys == 1 else f"{stored.keys} keys, the new one first"
    print(f"signing secret of {args.source} stored in {stored.secret_id}{where}: {keys}")
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
    print("\n".join(put_file(stage, _read_document(args.file), offline=args.offline)))
    return 0


def _mapping_validate(stage: Stage, args: argparse.Namespace) -> int:
    print("\n".join(validate_file(stage, _read_document(args.file), offline=args.offline)))
    return 0


def _mapping_preview(stage: Stage, args: argparse.Namespace) -> int:
    preview = run_preview(stage, args.source, args.payload_file, args.header,
                          version=args.version, offline=args.offline)
    if args.json:
        _print_json(preview.to_dict())
    else:
        print("\n".join(render(preview)))
    return 0 if preview.ok else 1


def _mapping_diff(stage: Stage, args: argparse.Namespace) -> int:
    lines = mapping_diff(_mappings(stage), args.source, args.a, args.b)
    print("\n".join(lines) if lines else
          f"versions {args.a} and {args.b} of {args.source} are the same")
    return 0


def _mapping_schema(stage: Stage, args: argparse.Namespace) -> int:
    _print_json(mapping_schema())
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
    _print_json(stored.document)
    return 0


def _mapping_list(stage: Stage, args: argparse.Namespace) -> int:
    sources = _mappings(stage).sources()
    if args.json:
        _print_json([{"source": s.source, "version": s.version, "enabled": s.enabled,
                      "saved_at": s.saved_at} for s in sources])
        return 0
    for stored in sources:
        state = "enabled" if stored.enabled else "disabled"
        print(f"{stored.source}\tversion {stored.version}\t{state}\t{iso_time(stored.saved_at)}")
    return 0


def _mapping_history(stage: Stage, args: argparse.Namespace) -> int:
    versions = _mappings(stage).history(args.source)
    if not versions:
        raise ValueError(f"no mapping for {args.source}")
    if args.json:
        _print_json([{"version": s.version, "saved_at": s.saved_at, "enabled": s.enabled}
                     for s in versions])
        return 0
    for stored in versions:
        print(f"version {stored.version}\t{iso_time(stored.saved_at)}")
    return 0


def _mapping_rollback(stage: Stage, args: argparse.Namespace) -> int:
    stored = restore_version(_mappings(stage), args.source, args.version, now=time.time())
    if stored is None:
        raise ValueError(f"no version {args.version} of {args.source}")
    print(f"mapping {stored.source}: version {args.version} restored as version {stored.version}")
    return 0


def _ledger(stage: Stage) -> DynamoLedger:
    return DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)


def _deliveries_list(stage: Stage, args: argparse.Namespace) -> int:
    since = parse_time(args.since, time.time()) if args.since else None
    items = list_deliveries(_mappings(stage), _ledger(stage), source=args.source,
                            status=args.status, since=since, limit=args.limit).items
    if args.json:
        _print_json(items)
        return 0
    if not items:
        print("no deliveries" + (f" for {args.source}" if args.source else ""))
    for item in items:
        error = item.get("last_error") or {}
        reason = f"\t{error.get('code')} {error.get('api_name') or ''}".rstrip() if error else ""
        print(f"{iso_time(item.get('received_at'))}\t{item['source']}\t{item['delivery_id']}"
              f"\t{item['status']}\tattempts={item.get('attempts', 0)}{reason}")
    return 0


def _deliveries_show(stage: Stage, args: argparse.Namespace) -> int:
    if args.payload:
        return show_payload(stage, args.source, args.delivery_id, as_json=args.json)
    item = _ledger(stage).get(args.source, args.delivery_id)
    if item is None:
        raise ValueError(f"no delivery {args.delivery_id} for {args.source}")
    if args.json:
        _print_json(item)
        return 0
    for key in sorted(item):
        print(f"{key}: {_for_people(key, item[key])}")
    for rule, outcome in sorted((item.get("rules") or {}).items()):
        if isinstance(outcome, dict) and outcome.get("omitted"):
            print(f"rule {rule} left out for want of a value: {', '.join(outcome['omitted'])}")
    return 0


def _console(stage: Stage, args: argparse.Namespace) -> int:
    # Imported here: the other verbs do not pay for the web library.
    from zwa.console.serve import serve_console
    from zwa.console.services import console_services

    serve_console(console_services(stage), args.port)
    return 0


def _for_people(key: str, value: Any) -> str:
    """A ledger value for a person: times as ISO 8601, the rest as compact JSON."""
    return json.dumps(_times_as_iso(key, value), sort_keys=True)


def _times_as_iso(key: str, value: Any) -> Any:
    if key in TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return iso_time(value)
    if isinstance(value, dict):
        return {k: _times_as_iso(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times_as_iso(key, v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
