"""The chaos run: many signed webhooks through the real local stack while everything fails.

    .venv/bin/python -m benchmarks.chaos                    # 2,000 webhooks for 50 records
    .venv/bin/python -m benchmarks.chaos --webhooks 200 --records 10 --json

It starts a local stack of its own on free ports (the moto server, the Zoho
sandbox, ``chalice local`` and ``--workers`` local workers), then:

- posts N signed webhooks for M Contacts, in shuffled order, a share of them
  (``--duplicates``) sent twice, so that many events arrive after newer ones
  for the same record, from ``--senders`` threads;
- while the sandbox answers 15% of the PUTs with 500, 10% with 429, lets 3%
  hang past the client's timeout, and expires every access token every
  ``--expire-every`` CRM calls (100: the ordering guard leaves only a few hundred);
- and kills one worker process (SIGKILL) part-way through the posts, and starts
  it again a few seconds later.

Then it waits until every accepted delivery has a final status and prints what
it counted: accepted, applied, unchanged, stale, failed, dead, lost (accepted
minus every final outcome: must be 0), successful PUTs per applied rule (1.00
when nothing was sent twice), token refreshes, and the records whose final
state in the sandbox differs from the newest event sent for them (must be 0).
The exit status is 1 when lost or the differing records are not 0.

A worker killed while Zoho is answering its PUT can make the retry send that
body once more (the answer never arrived): such repeats are printed apart.
Figures depend on the machine; the run prints the one it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.stack_setup import PUT_ENDPOINT, sandbox_stats, seed_signed_source  # noqa: E402
from chalicelib.ingest.signatures import hmac_signature  # noqa: E402
from chalicelib.mapping.document import VerifyConfig  # noqa: E402
from chalicelib.stores.ledger import DynamoLedger  # noqa: E402
from devstack.stack import LocalStack, Ports, free_port  # noqa: E402

SOURCE = "chaos"
SIGNING_SECRET = "chaos-signing-secret"  # a local stack's own
SIGNATURE = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
FIRST_ID = 5725767000100000001
T0 = 1_764_331_200
FINAL = ("applied", "unchanged", "ignored", "stale", "failed", "dead")
MAPPING = {
    "source": SOURCE,
    "connection": "default",
    "verify": {"scheme": "hmac", "secret_id": f"zwa/webhook/{SOURCE}", "header": "X-Signature",
               "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="},
    "delivery_id": "id",
    # Faults are the point of the run: the attempts allowed are the most the
    # queue's redrive leaves room for, and a day.
    "retry": {"max_attempts": 25, "max_age_seconds": 86400},
    "rules": [{
        "name": "contact-changed",
        "module": "Contacts",
        "record": {"id": "data.zoho_id"},
        "event_time": "created",
        "trigger": [],
        "fields": {
            "Last_Name": {"path": "data.last_name", "required": True},
            "Seats": {"path": "data.seats", "type": "integer"},
            "Notes_Field": "data.note",
        },
    }],
}


@dataclass(frozen=True)
class Event:
    """One webhook: its record, its place in that record's history, its bytes."""

    record: str
    number: int
    created: int
    body: bytes
    delivery_id: str


@dataclass
class Sent:
    """What the api answered, counted."""

    answers: Counter[str] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)
    late: int = 0  # posts older than one already sent for the same record
    lock: threading.Lock = field(default_factory=threading.Lock)


def events_for(records: list[str], webhooks: int, duplicates: float,
               rng: random.Random) -> tuple[list[Event], dict[str, Event]]:
    """The posts, in the order they are sent, and the newest event of each record."""
    unique = max(len(records), round(webhooks * (1 - duplicates)))
    history: list[Event] = []
    for index in range(unique):
        record = records[index % len(records)]
        number = index // len(records)
        created = T0 + 60 * number
        delivery_id = f"chaos-{record[-4:]}-{number:04d}"
        body = {"id": delivery_id, "type": "contact.changed", "created": created,
                "data": {"zoho_id": record, "last_name": f"Chaos {number}", "seats": number,
                         "note": f"event {number} of record {record[-4:]}"}}
        history.append(Event(record, number, created, json.dumps(body).encode(), delivery_id))
    newest: dict[str, Event] = {}
    for event in history:
        if event.record not in newest or event.created > newest[event.record].created:
            newest[event.record] = event
    order = list(history)
    rng.shuffle(order)
    for _ in range(webhooks - unique):  # a provider's retry: the same bytes, later
        original = rng.randrange(len(order))
        order.insert(rng.randint(original + 1, len(order)), order[original])
    return order, newest


def post(api_url: str, event: Event, sent: Sent, session: requests.Session) -> None:
    signature = hmac_signature(SIGNATURE, SIGNING_SECRET.encode(), event.body)
    for _ in range(5):  # as a provider retries a 5xx or no answer
        try:
            answer = session.post(f"{api_url}/webhooks/{SOURCE}", data=event.body, timeout=30,
                                  headers={"Content-Type": "application/json",
                                           "X-Signature": signature})
        except requests.RequestException:
            time.sleep(0.5)
            continue
        if answer.status_code >= 500:
            time.sleep(0.5)
            continue
        status = answer.json().get("status") or answer.json().get("code")
        with sent.lock:
            sent.answers[f"{answer.status_code} {status}"] += 1
            if answer.status_code == 202:
                sent.accepted.add(event.delivery_id)
        return
    with sent.lock:
        sent.answers["no answer"] += 1


def send_all(stack: LocalStack, order: list[Event], senders: int, kill_at: float,
             restart_after: float, say: Any) -> tuple[Sent, dict[str, float]]:
    """Post every event; kill a worker when ``kill_at`` of them are sent, restart it later."""
    sent = Sent()
    newest_sent: dict[str, int] = {}
    for event in order:
        if event.created < newest_sent.get(event.record, -1):
            sent.late += 1
        newest_sent[event.record] = max(newest_sent.get(event.record, -1), event.created)
    kill_index = int(len(order) * kill_at)
    times: dict[str, float] = {}
    sessions = threading.local()

    def send(index_event: tuple[int, Event]) -> None:
        index, event = index_event
        if not hasattr(sessions, "http"):
            sessions.http = requests.Session()
        if index == kill_index:
            name = stack.worker_name(0)
            stack.kill(name)
            times["killed"] = time.monotonic()
            say(f"killed {name} after {index} posts")
            threading.Timer(restart_after, restart).start()
        post(stack.api_url, event, sent, sessions.http)

    def restart() -> None:
        stack.start_worker(0)
        times["restarted"] = time.monotonic()
        say(f"started {stack.worker_name(0)} again")

    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(send, enumerate(order)))
    return sent, times


def wait_until_final(ledger: DynamoLedger, accepted: set[str], timeout: float,
                     say: Any) -> list[dict[str, Any]]:
    """Poll the ledger until every accepted delivery has a final status, or ``timeout``."""
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        items = [i for i in ledger.recent(SOURCE, limit=10**6) if i["delivery_id"] in accepted]
        done = sum(1 for item in items if item.get("status") in FINAL)
        if done != last:
            say(f"{done} of {len(accepted)} deliveries final")
            last = done
        if done >= len(accepted) or time.monotonic() > deadline:
            return items
        time.sleep(2)


def differing_records(sandbox_url: str, newest: dict[str, Event]) -> list[str]:
    """Records whose final state is not the newest event sent for them."""
    differing = []
    for record, event in sorted(newest.items()):
        state = requests.get(f"{sandbox_url}/__sandbox/records/Contacts/{record}",
                             timeout=10).json()["fields"]
        if state.get("Last_Name") != f"Chaos {event.number}" or state.get("Seats") != event.number:
            differing.append(record)
    return differing


def run(args: argparse.Namespace) -> dict[str, Any]:
    say = (lambda line: None) if args.json else (lambda line: print(line, flush=True))
    rng = random.Random(args.seed)
    log_dir = Path(tempfile.mkdtemp(prefix="zwa-chaos-"))
    stack = LocalStack(ports=Ports(aws=free_port(), sandbox=free_port(), api=free_port()),
                       log_dir=log_dir, workers=args.workers)
    say(f"starting a local stack with {args.workers} workers (logs in {log_dir})")
    started = time.monotonic()
    stack.start()
    try:
        stage = stack.stage()
        records = [str(FIRST_ID + index) for index in range(args.records)]
        prepare(stack, stage, records, args)
        order, newest = events_for(records, args.webhooks, args.duplicates, rng)
        say(f"posting {len(order)} webhooks for {len(records)} records")
        sending = time.monotonic()
        sent, times = send_all(stack, order, args.senders, args.kill_at, args.restart_after, say)
        posted = time.monotonic()
        ledger = DynamoLedger(stage.client("dynamodb"), stage.settings.deliveries_table)
        items = wait_until_final(ledger, sent.accepted, args.timeout, say)
        finished = time.monotonic()
        stats = sandbox_stats(stack.sandbox_url)
        differing = differing_records(stack.sandbox_url, newest)
    finally:
        stack.stop()
    statuses = Counter(str(item.get("status")) for item in items)
    unfinished = sorted(item["delivery_id"] for item in items if item.get("status") not in FINAL)
    # A rule Zoho accepted: applied, or unchanged on a retry because this very
    # delivery's update was applied but its outcome could not be recorded then.
    applied_rules = sum(1 for item in items if _accepted_by_zoho(
        (item.get("rules") or {}).get("contact-changed") or {}))
    puts_ok = int(stats["by_endpoint"].get(PUT_ENDPOINT, {}).get("200", 0))
    accepted = len(sent.accepted)
    final = sum(statuses[status] for status in FINAL)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
                   f"Python {platform.python_version()}",
        "webhooks": len(order), "records": len(records), "workers": args.workers,
        "answers": dict(sent.answers), "older_than_one_already_sent": sent.late,
        "accepted": accepted,
        **{status: statuses[status] for status in FINAL},
        "lost": accepted - final, "lost_ids": unfinished[:20],
        "applied_rules": applied_rules, "successful_puts": puts_ok,
        "puts_per_applied_rule": round(puts_ok / applied_rules, 2) if applied_rules else None,
        "repeated_puts": puts_ok - applied_rules,
        "put_answers": stats["by_endpoint"].get(PUT_ENDPOINT, {}),
        "token_refreshes": stats["token_grants"], "token_expiries": stats["token_expiries"],
        "token_throttled": stats["throttled"],
        "differing_records": len(differing),
        "worker_killed_after_seconds": round(times.get("killed", sending) - sending, 1),
        "seconds": {"start": round(sending - started, 1), "posting": round(posted - sending, 1),
                    "until_all_final": round(finished - sending, 1)},
    }


def _accepted_by_zoho(outcome: dict[str, Any]) -> bool:
    return outcome.get("outcome") == "applied" or (
        outcome.get("outcome") == "unchanged"
        and str(outcome.get("reason", "")).startswith("this delivery's update was applied"))


def prepare(stack: LocalStack, stage: Any, records: list[str], args: argparse.Namespace) -> None:
    """Records, the mapping, its signing secret, the faults, a shorter visibility timeout."""
    seed_signed_source(stack, stage, records, SOURCE, SIGNING_SECRET, MAPPING)
    sandbox = stack.sandbox_url
    requests.post(f"{sandbox}/__sandbox/faults", timeout=10, json={
        "rates": {"500": 0.15, "429": 0.10, "hang": 0.03}, "methods": ["PUT"],
        "hang_seconds": args.hang_seconds, "seed": args.seed}).raise_for_status()
    requests.post(f"{sandbox}/__sandbox/config", timeout=10,
                  json={"expire_tokens_every": args.expire_every}).raise_for_status()
    # A killed worker's messages come back after the queue's visibility timeout:
    # 6 minutes by default, shortened here so that the run does not wait for it.
    sqs = stage.client("sqs")
    url = sqs.get_queue_url(QueueName=stage.settings.deliveries_queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": str(args.visibility_timeout)})


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"machine: {figures['machine']}",
        f"webhooks posted: {figures['webhooks']} for {figures['records']} records, "
        f"{figures['workers']} workers ({figures['older_than_one_already_sent']} older than "
        "one already sent for their record)",
        f"api answers: {json.dumps(figures['answers'], sort_keys=True)}",
        f"accepted: {figures['accepted']}",
    ]
    lines += [f"{status}: {figures[status]}" for status in FINAL if status != "ignored"]
    lines += [
        f"lost: {figures['lost']}",
        f"PUTs per applied rule: {figures['puts_per_applied_rule']:.2f} "
        f"({figures['successful_puts']} successful PUTs for {figures['applied_rules']} rules "
        f"Zoho accepted; {figures['repeated_puts']} sent twice)"
        if figures["puts_per_applied_rule"] is not None else "PUTs per applied rule: -",
        f"PUT answers: {json.dumps(figures['put_answers'], sort_keys=True)}",
        f"token refreshes: {figures['token_refreshes']} (tokens expired "
        f"{figures['token_expiries']} times; throttled {figures['token_throttled']})",
        f"records whose final state differs from the newest event: "
        f"{figures['differing_records']}",
        f"seconds: {json.dumps(figures['seconds'], sort_keys=True)}",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(prog="python -m benchmarks.chaos",
                                        description=__doc__.split("\n\n")[0])
    arguments.add_argument("--webhooks", type=int, default=2000)
    arguments.add_argument("--records", type=int, default=50)
    arguments.add_argument("--duplicates", type=float, default=0.2,
                           help="share of the webhooks sent a second time")
    arguments.add_argument("--workers", type=int, default=2)
    arguments.add_argument("--senders", type=int, default=4, help="threads posting webhooks")
    arguments.add_argument("--expire-every", type=int, default=100,
                           help="every access token expires every N CRM calls (the guard skips "
                                "most events, so the default run makes a few hundred calls)")
    arguments.add_argument("--kill-at", type=float, default=0.4,
                           help="kill a worker once this share of the webhooks is posted")
    arguments.add_argument("--restart-after", type=float, default=3.0)
    arguments.add_argument("--hang-seconds", type=float, default=6.0,
                           help="how long a hanging PUT hangs (past the 5 s client timeout)")
    arguments.add_argument("--visibility-timeout", type=int, default=30)
    arguments.add_argument("--timeout", type=float, default=900,
                           help="give up waiting for final statuses after this long")
    arguments.add_argument("--seed", type=int, default=7)
    arguments.add_argument("--json", action="store_true", help="print one JSON document")
    return arguments


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # the stack is stopped on the way out

    signal.signal(signal.SIGTERM, stop)
    figures = run(args)
    print(json.dumps(figures, indent=2, sort_keys=True) if args.json else report(figures))
    return 1 if figures["lost"] or figures["differing_records"] else 0


if __name__ == "__main__":
    sys.exit(main())
