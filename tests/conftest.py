"""Shared fixtures: example documents and payloads from examples/ and tests/events/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_json(relative: str) -> Any:
    return json.loads((ROOT / relative).read_text())


@pytest.fixture
def example_mapping() -> dict[str, Any]:
    return load_json("examples/mappings/example.json")


@pytest.fixture
def example_event_bytes() -> bytes:
    return (ROOT / "examples/events/example-contact-updated.json").read_bytes()
