"""``zwa mapping schema``: the JSON Schema of the mapping document, as kept in the repo (I/O).

``schemas/mapping.schema.json`` is for editors' completion and checking as
you type (point a ``$schema`` or the editor's JSON schema setting at it);
``zwa mapping validate`` remains the check that counts, against Zoho too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zwa.stage import PROJECT_ROOT

SCHEMA_PATH = PROJECT_ROOT / "schemas" / "mapping.schema.json"


def mapping_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """The JSON Schema of a mapping document."""
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema
