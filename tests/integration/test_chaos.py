"""A smaller chaos run in every test run: nothing lost, every record at its newest event."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.stack import ROOT

pytestmark = pytest.mark.integration


def test_a_small_chaos_run_loses_nothing_and_leaves_every_record_at_its_newest_event():
    run = subprocess.run(  # noqa: S603 - our own benchmark
        [sys.executable, "-m", "benchmarks.chaos", "--webhooks", "200", "--records", "10",
         "--expire-every", "25", "--kill-at", "0.3", "--timeout", "400", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(run.stdout)
    assert figures["accepted"] == 160  # 20% of the 200 posts were sent twice
    assert figures["lost"] == 0
    assert figures["differing_records"] == 0
    assert figures["failed"] == figures["dead"] == 0
    assert figures["stale"] > 0  # older events did arrive after newer ones
    # Every applied rule cost one successful PUT; the killed worker may have had
    # one PUT whose answer it never read, which its retry sends once more.
    assert 0 <= figures["repeated_puts"] <= 1
    # One refresh for the first token and one per expiry, whichever worker hit it.
    assert figures["token_expiries"] >= 1
    assert figures["token_refreshes"] == figures["token_expiries"] + 1
