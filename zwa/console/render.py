"""The console's templates: a Jinja2 environment that escapes everything (reads templates).

Every value a page shows (delivery ids, mapping documents, error messages) may
hold text an outsider chose, so autoescaping is on for every template and no
filter here returns markup built from such text without escaping it.
"""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from zwa.inputs import iso_time
from zwa.queries import STATUSES

# A delivery's statuses and a rule's outcomes (``pending``: matched, no outcome yet).
KNOWN_STATES = frozenset({*STATUSES, "retrying", "pending"})


def console_environment() -> Environment:
    """The templates under ``zwa/console/templates``, autoescaped, strict about names."""
    environment = Environment(
        loader=PackageLoader("zwa.console", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update({
        "iso": iso_time,
        "pretty_json": pretty_json,
        "status_class": status_class,
        "shell": shell_word,
    })
    environment.globals.update({
        "delivery_url": delivery_url,
        "mapping_url": mapping_url,
        "record_url": record_url,
        "STATUSES": STATUSES,
    })
    return environment


def pretty_json(value: Any) -> str:
    """A document as indented JSON text (escaped by the template like any text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def status_class(status: Any) -> str:
    """The CSS class of a ledger status or rule outcome; an unknown one gets a neutral one."""
    return f"status-{status}" if status in KNOWN_STATES else "status-other"


def shell_word(value: Any) -> str:
    """``value`` quoted for a POSIX shell, for the commands the pages suggest."""
    return shlex.quote(str(value))


def delivery_url(source: str, delivery_id: str) -> str:
    """The path of one delivery's page; the id may hold any character, ``/`` included."""
    return f"/deliveries/{quote(source, safe='')}/{quote(delivery_id, safe='')}"


def mapping_url(source: str) -> str:
    """The path of a source's mapping page."""
    return f"/mappings/{quote(source, safe='')}"


def record_url(module: str, record_id: str) -> str:
    """The path of one Zoho record's field-level audit page."""
    return f"/records/{quote(module, safe='')}/{quote(record_id, safe='')}"
