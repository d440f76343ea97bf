"""``zwa dlq list`` and ``zwa dlq redrive``: parsing and printing around ``zwa.dlq`` (I/O).

The verbs only read their options, build the stage's adapters and render what
the service in ``zwa.dlq`` returns; times for people in ISO 8601 (UTC), ages as
durations, numbers in ``--json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.stores.ledger import DynamoLedger, Ledger
from chalicelib.stores.queues import SqsQueue
from zwa.dlq import (
    QUEUED,
    Redriven,
    Selection,
    SentBack,
    list_dead_letters,
    redrive,
    wait_for_outcomes,
)
from zwa.inputs import duration, iso_time
from zwa.progress import ProgressBar
from zwa.stage import Stage

DEFAULT_WAIT_SECONDS = 60


def add_dlq_verbs(
    verbs: Any, json_flag: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add ``dlq list`` and ``dlq redrive`` to the CLI's verbs."""
    dlq = verbs.add_parser("dlq", help="dead letters: list them, send them back").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    listed = dlq.add_parser(
        "list", help="the dead-letter queue: source, delivery id, reason, age",
        description="List every message of the dead-letter queue, oldest first. Nothing is "
                    "removed.")
    json_flag(listed)
    listed.set_defaults(run=run_list)
    again = dlq.add_parser(
        "redrive", help="send dead letters back through the current mapping",
        description="Send the chosen dead letters back to the deliveries queue: each delivery "
                    "is reopened in the ledger, queued again, and only then removed from the "
                    "dead-letter queue; then each one's new outcome is reported.")
    again.add_argument("--source", help="the dead letters of this source")
    again.add_argument("--delivery", action="append", default=[], metavar="ID",
                       help="this delivery (repeat for several)")
    again.add_argument("--all", action="store_true", help="every dead letter")
    wait_flag(again, DEFAULT_WAIT_SECONDS)
    json_flag(again)
    again.set_defaults(run=run_redrive)


def run_list(stage: Stage, args: argparse.Namespace) -> int:
    now = time.time()
    letters = list_dead_letters(_dlq(stage))
    if args.json:
        print(json.dumps([letter.to_dict(now) for letter in letters], indent=2, sort_keys=True))
        return 0
    if not letters:
        print("no dead letters")
    for letter in letters:
        reason = f"{letter.reason} {letter.api_name or ''}".rstrip()
        print(f"{letter.source or '-'}\t{letter.delivery_id or '-'}\t{reason}"
              f"\t{letter.status or '-'}\tage {duration(now - letter.dead_since)}"
              f" (since {iso_time(letter.dead_since)})")
    return 0


def run_redrive(stage: Stage, args: argparse.Namespace) -> int:
    selection = Selection(source=args.source, delivery_ids=frozenset(args.delivery),
                          everything=args.all)
    ledger = DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)
    sqs = stage.client("sqs")
    bar = ProgressBar("sending back")
    results = redrive(_dlq(stage, sqs), SqsQueue(sqs, stage.settings.deliveries_queue), ledger,
                      selection, time.time(), progress=bar.update)
    bar.close()
    follow_outcomes(ledger, results, args.wait)
    missing = sorted(selection.delivery_ids - {r.letter.delivery_id for r in results})
    now = time.time()
    if args.json:
        print(json.dumps({"redriven": [r.to_dict(now) for r in results],
                          "not_found": missing}, indent=2, sort_keys=True))
    else:
        for result in results:
            print(_line(result, stage.name))
        for delivery_id in missing:
            print(f"-\t{delivery_id}\tnot in the dead-letter queue")
        sent = sum(1 for r in results if r.outcome == QUEUED)
        print(f"{sent} of {len(results)} sent back" if results else "no dead letters match")
    return 1 if missing or any_failed(results) else 0


def wait_flag(verb: argparse.ArgumentParser, default: float) -> None:
    """``--wait SECONDS``: how long ``follow_outcomes`` follows what was queued again."""
    verb.add_argument("--wait", type=float, default=default, metavar="SECONDS",
                      help=f"how long to follow the outcomes (default {default:g}; "
                           "0: do not wait)")


def follow_outcomes(ledger: Ledger, results: Sequence[SentBack], wait: float) -> None:
    """Follow what was queued again for up to ``wait`` seconds, with a progress bar."""
    if wait > 0 and any(result.outcome == QUEUED for result in results):
        bar = ProgressBar("waiting for outcomes")
        wait_for_outcomes(ledger, results, timeout=wait, clock=time.time, sleep=time.sleep,
                          progress=bar.update)
        bar.close()


def any_failed(results: Sequence[SentBack]) -> bool:
    """Whether a delivery was not queued again, or ended failed or dead."""
    return any(r.outcome != QUEUED or r.status in ("failed", "dead") for r in results)


def ended(result: SentBack, stage: str) -> str:
    """How a delivery queued again ended: its status and error, or where to follow it."""
    error = result.last_error
    if result.status is None:
        retrying = f" (retrying after {error['code']})" if error.get("code") else ""
        source, delivery_id = result.key
        return (f"queued, not finished yet{retrying}; see: zwa --stage {stage} "
                f"deliveries show {source} {delivery_id}")
    reason = f" {error.get('code', '')} {error.get('api_name') or ''}".rstrip() if error else ""
    return f"{result.status}{reason}"


def _line(result: Redriven, stage: str) -> str:
    letter = result.letter
    where = f"{letter.source or '-'}\t{letter.delivery_id or '-'}"
    if result.outcome != QUEUED:
        return f"{where}\tnot sent back: {result.detail}"
    return f"{where}\t{ended(result, stage)}"


def _dlq(stage: Stage, sqs: Any = None) -> SqsQueue:
    return SqsQueue(sqs or stage.client("sqs"), stage.settings.dead_letter_queue)
