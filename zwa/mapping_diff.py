"""``zwa mapping diff SOURCE A B``: what changed between two stored versions of a mapping (I/O).

Both versions are printed as sorted, indented JSON and compared line by line
(a unified diff), so a change reads the same whatever the key order of the
files that were saved.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from chalicelib.stores.mappings import MappingStore


def document_lines(document: Any) -> list[str]:
    """A document as the lines the diff compares."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def mapping_diff(store: MappingStore, source: str, a: int, b: int) -> list[str]:
    """The unified diff from version ``a`` to version ``b``; no lines when they are the same."""
    versions = {}
    for number in (a, b):
        stored = store.version(source, number)
        if stored is None:
            raise ValueError(f"no version {number} of {source}")
        versions[number] = stored.document
    return list(difflib.unified_diff(
        document_lines(versions[a]), document_lines(versions[b]),
        fromfile=f"{source} version {a}", tofile=f"{source} version {b}", lineterm=""))
