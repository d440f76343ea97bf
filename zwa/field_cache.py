"""Zoho's field metadata kept between runs of zwa, one small JSON file per module (I/O).

``mapping validate`` and ``mapping put`` read a module's fields once per
``FIELD_CACHE_SECONDS`` instead of on every run (each read costs a Zoho API
credit). Files live under ``$XDG_CACHE_HOME/zwa`` (``~/.cache/zwa``). The cache
is a convenience: a file that cannot be read or written is as good as none.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from chalicelib.zoho.fields import Fields

FIELD_CACHE_SECONDS = 600.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def cache_directory() -> Path:
    """Where zwa keeps what it caches for the operator."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zwa"


class JsonFileFieldCache:
    """``FieldCacheStore`` in files named after the key (stage, connection, module)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _path(self, key: str) -> Path:
        name = "--".join(_UNSAFE.sub("_", part) for part in key.split("/"))
        return self._directory / f"fields--{name}.json"

    def read(self, key: str) -> tuple[float, Fields | None] | None:
        try:
            kept = json.loads(self._path(key).read_text())
            return float(kept["fetched_at"]), kept["fields"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, key: str, fetched_at: float, fields: Fields | None) -> None:
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._path(key).write_text(json.dumps({"fetched_at": fetched_at, "fields": fields}))
        except OSError:
            pass
