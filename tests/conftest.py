"""Shared fixtures (example documents and payloads from examples/ and tests/events/) and the
Hypothesis profiles, and the app's log lines as JSON (``logs``).

Hypothesis profiles: "dev" (Hypothesis' defaults: a 200 ms deadline per example, random examples)
on a developer's machine; "ci" when `CI` is set (`.ci/run` sets it) or for `make mutation`: no
deadline, since a loaded two-core machine can take longer than any fixed deadline over an example
that is not slow at all, no too-slow health check for the same reason, and the same examples on
every run, so a red build can be replayed. `HYPOTHESIS_PROFILE=name` picks one explicitly. A test
may ask for fewer or more examples, but not for a deadline of its own: the profile decides.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile("dev", settings.get_profile("default"))
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
    print_blob=True,
)


def hypothesis_profile(environ: dict[str, str]) -> str:
    if environ.get("HYPOTHESIS_PROFILE"):
        return environ["HYPOTHESIS_PROFILE"]
    return "ci" if environ.get("CI", "").lower() not in ("", "0", "false", "no") else "dev"


# Loaded here, before any test module is imported: a test's settings are fixed when it is defined.
settings.load_profile(hypothesis_profile(dict(os.environ)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    test = getattr(item, "obj", None)
    chosen = getattr(test, "_hypothesis_internal_use_settings", None)
    if chosen is None or chosen.deadline is None:
        return
    if chosen.deadline != settings.default.deadline:
        pytest.fail(
            f"{item.nodeid} sets its own Hypothesis deadline ({chosen.deadline}); the profile "
            f"'{settings.get_current_profile_name()}' decides it (see tests/conftest.py)",
            pytrace=False,
        )


def load_json(relative: str) -> Any:
    return json.loads((ROOT / relative).read_text())


@pytest.fixture
def example_mapping() -> dict[str, Any]:
    return load_json("examples/mappings/example.json")


@pytest.fixture
def example_event_bytes() -> bytes:
    return (ROOT / "examples/events/example-contact-updated.json").read_bytes()


@pytest.fixture
def logs() -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """The app's JSON log lines, as CloudWatch would get them: ``logs()`` all of them,
    ``logs("ERROR")`` those of one level."""
    from chalicelib.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)

    def lines(level: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in stream.getvalue().splitlines()]
        return [line for line in found if level is None or line["level"] == level]

    yield lines
    logger.removeHandler(handler)
