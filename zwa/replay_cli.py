"""``zwa replay SOURCE ...``: parsing and printing around ``zwa.replay`` (I/O).

The verb reads its options, builds the stage's adapters and renders what the
service returns: each delivery's status before and after, then a summary by
outcome; ``--dry-run`` prints the requests the current mapping would make.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib.mapping.document import MappingDocument
from chalicelib.stores.archive import DynamoArchive
from chalicelib.stores.ledger import DynamoLedger
from chalicelib.stores.mappings import DynamoMappingStore, read_mapping
from chalicelib.stores.queues import SqsQueue
from zwa.dlq_cli import any_failed, ended, follow_outcomes, wait_flag
from zwa.inputs import parse_time
from zwa.mapping_preview import render
from zwa.progress import ProgressBar
from zwa.replay import (
    QUEUED,
    Replayed,
    ReplaySelection,
    dry_run,
    replay,
    summary,
)
from zwa.stage import Stage

DEFAULT_WAIT_SECONDS = 120


def add_replay_verb(verbs: Any, json_flag: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``replay`` to the CLI's verbs."""
    verb = verbs.add_parser(
        "replay", help="run archived deliveries again through the current mapping",
        description="Run a source's archived deliveries again through its current mapping, "
                    "whatever their status: each is a new attempt of the same delivery (the "
                    "ledger keeps its earlier outcomes). A rule whose update equals the last "
                    "one applied to its record sends nothing and ends unchanged; an event "
                    "older than one applied ends stale. Times: ISO 8601 or 15m, 6h, 2d.")
    verb.add_argument("source")
    verb.add_argument("--delivery", action="append", default=[], metavar="ID",
                      help="this delivery (repeat for several)")
    verb.add_argument("--since", metavar="T", help="received at or after T")
    verb.add_argument("--until", metavar="T", help="received at or before T")
    verb.add_argument("--status", help="only deliveries whose status is this (e.g. failed)")
    verb.add_argument("--dry-run", action="store_true",
                      help="print the requests the current mapping would make; send nothing")
    wait_flag(verb, DEFAULT_WAIT_SECONDS)
    json_flag(verb)
    verb.set_defaults(run=run_replay)


def run_replay(stage: Stage, args: argparse.Namespace) -> int:
    now = time.time()
    selection = ReplaySelection(
        source=args.source, delivery_ids=tuple(args.delivery),
        since=parse_time(args.since, now) if args.since else None,
        until=parse_time(args.until, now) if args.until else None, status=args.status)
    dynamodb = stage.client("dynamodb")
    document = _current_mapping(stage, dynamodb, args.source)
    archive = DynamoArchive(dynamodb, stage.settings.archive_table)
    ledger = DynamoLedger(dynamodb, stage.settings.deliveries_table)
    if args.dry_run:
        previews, missing = dry_run(archive, ledger, document, selection, now)
        if args.json:
            print(json.dumps({"previews": [p.to_dict() for p in previews],
                              "not_replayed": [m.to_dict() for m in missing]},
                             indent=2, sort_keys=True, default=str))
        else:
            for preview in previews:
                print("\n".join(render(preview)))
            _print_missing(missing)
            if not previews:
                print(_nothing(document, selection))
        return 1 if missing else 0
    bar = ProgressBar("replaying")
    results = replay(archive, SqsQueue(stage.client("sqs"), stage.settings.deliveries_queue),
                     ledger, selection, now, progress=bar.update)
    bar.close()
    follow_outcomes(ledger, results, args.wait)
    counts = summary(results)
    if args.json:
        print(json.dumps({"replayed": [r.to_dict() for r in results], "summary": counts},
                         indent=2, sort_keys=True))
    elif not results:
        print(_nothing(document, selection))
    else:
        for result in results:
            print(_line(result, stage.name))
        print("summary: " + ", ".join(f"{count} {key}" for key, count in counts.items()))
    return 1 if any_failed(results) else 0


def _current_mapping(stage: Stage, dynamodb: Any, source: str) -> MappingDocument:
    document = read_mapping(DynamoMappingStore(dynamodb, stage.settings.mappings_table), source)
    if document is None:
        raise ValueError(f"no stored mapping for {source}")
    return document


def _nothing(document: MappingDocument, selection: ReplaySelection) -> str:
    if not document.archive_days:
        return (f"nothing to replay: the source {selection.source} keeps no payloads "
                '("archive": false in its mapping)')
    return f"nothing to replay: no archived delivery of {selection.source} matches"


def _print_missing(missing: list[Replayed]) -> None:
    for result in missing:
        print(f"{result.source}\t{result.delivery_id}\tnot replayed: {result.detail}")


def _line(result: Replayed, stage: str) -> str:
    where = f"{result.source}\t{result.delivery_id}"
    if result.outcome != QUEUED:
        return f"{where}\tnot replayed: {result.detail}"
    return f"{where}\t{result.previous} -> {ended(result, stage)}"
