"""``zwa records history MODULE RECORD_ID``: one Zoho record's field-level audit (I/O).

Newest first: when, the outcome (``applied``, or ``unchanged``/``stale``, which
sent nothing), the field API names, and which delivery, rule and mapping
version. Names only: the audit holds no value.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from chalicelib.stores.audit import AuditEntry, DynamoAudit
from zwa.inputs import iso_time
from zwa.stage import Stage


def add_records_verbs(verbs: Any, json_flag: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``records history`` to the CLI's verbs."""
    records = verbs.add_parser("records", help="what the adapter did to Zoho records") \
        .add_subparsers(dest="action", required=True, metavar="ACTION")
    history = records.add_parser(
        "history", help="which delivery set which fields on one Zoho record, newest first",
        description="The field-level audit of one Zoho record: for each update Zoho accepted, "
                    "the field API names it set, by which delivery, rule and mapping version, "
                    "and when; unchanged and stale outcomes (nothing sent) are marked so. "
                    "Names only, never values.")
    history.add_argument("module", help="the Zoho module, e.g. Contacts")
    history.add_argument("record_id", help="the Zoho record id")
    history.add_argument("--connection", default="default",
                         help="the connection the record belongs to (default: default)")
    json_flag(history)
    history.set_defaults(run=run_history)


def run_history(stage: Stage, args: argparse.Namespace) -> int:
    audit = DynamoAudit(stage.client("dynamodb"), stage.settings.audit_table)
    entries = audit.history(args.connection, args.module, args.record_id)
    if args.json:
        print(json.dumps([entry.to_dict() for entry in entries], indent=2, sort_keys=True))
        return 0
    if not entries:
        print(f"no recorded update of {args.module} {args.record_id} "
              f"(connection {args.connection})")
    for entry in entries:
        print(history_line(entry))
    return 0


def history_line(entry: AuditEntry) -> str:
    """One entry for a person; ``unchanged`` and ``stale`` say that nothing was sent."""
    marker = {"applied": "set", "unchanged": "unchanged (not sent)",
              "stale": "stale (not applied)"}.get(entry.outcome, entry.outcome)
    version = f"v{entry.mapping_version}" if entry.mapping_version is not None else "v-"
    return (f"{iso_time(entry.at)}\t{marker}\t{', '.join(entry.fields) or '-'}"
            f"\t{entry.source}/{entry.delivery_id}\trule {entry.rule}\tmapping {version}")
